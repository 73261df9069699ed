/* ORCA's load report in a header (lbsim/net/http/orca.h): what a backend
 * writes reads back the same; either separator, blanks, the other metrics
 * ORCA has; what makes a header malformed; and the response parser keeping
 * the header's value (any case, in pieces, the last interim response's
 * forgotten, repeated, too long). */
#include <string.h>

#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/net/http/hresp.h"
#include "lbsim/net/http/orca.h"

static int parse(const char *value, lbsim_load_report_t *out, const char **why) {
  return lbsim_orca_parse(value, strlen(value), out, why);
}

TEST(what_a_backend_writes_reads_back_the_same) {
  lbsim_load_report_t r = {.rif = 3, .queue = 1, .rps = 812.3, .cpu = 0.9712,
                           .has = LBSIM_LOAD_RIF | LBSIM_LOAD_QUEUE | LBSIM_LOAD_RPS | LBSIM_LOAD_CPU};
  char line[192];
  size_t n = lbsim_orca_header(&r, line, sizeof(line));
  CHECK_STR_EQ(line, "endpoint-load-metrics: TEXT named_metrics.rif=3, named_metrics.queue=1, rps_fractional=812.3, "
                     "cpu_utilization=0.9712\r\n");
  CHECK_EQ(n, strlen(line));
  const char *value = line + strlen("endpoint-load-metrics: ");
  lbsim_load_report_t back;
  const char *why = NULL;
  CHECK_EQ(lbsim_orca_parse(value, strlen(value) - 2, &back, &why), 0);
  CHECK_EQ(back.rif, 3);
  CHECK_EQ(back.queue, 1);
  CHECK(back.rps == 812.3 && back.cpu == 0.9712);
  CHECK_EQ(back.has, r.has);
  /* Without a capacity: no utilisation, and whole numbers stay whole. */
  r = (lbsim_load_report_t){.rif = 0, .queue = 0, .rps = 40, .has = LBSIM_LOAD_RIF | LBSIM_LOAD_QUEUE | LBSIM_LOAD_RPS};
  lbsim_orca_header(&r, line, sizeof(line));
  CHECK_STR_EQ(line, "endpoint-load-metrics: TEXT named_metrics.rif=0, named_metrics.queue=0, rps_fractional=40\r\n");
}

TEST(either_separator_blanks_and_the_other_metrics_are_read) {
  lbsim_load_report_t r;
  const char *why = NULL;
  CHECK_EQ(parse("TEXT named_metrics.rif:7,cpu_utilization:0.5", &r, &why), 0); /* Envoy's parser's form */
  CHECK_EQ(r.rif, 7);
  CHECK(r.cpu == 0.5);
  CHECK_EQ(r.has, LBSIM_LOAD_RIF | LBSIM_LOAD_CPU);
  CHECK_EQ(parse("  TEXT   named_metrics.rif = 2 ,\tmem_utilization=0.3, eps=1, application_utilization=0.2, "
                 "named_metrics.kv_cache=0.4, rps_fractional=1e3  ",
                 &r, &why),
           0);
  CHECK_EQ(r.rif, 2);
  CHECK(r.rps == 1000);
  CHECK_EQ(r.has, LBSIM_LOAD_RIF | LBSIM_LOAD_RPS);
  CHECK_EQ(parse("TEXT named_metrics.rif=2.6", &r, &why), 0); /* rounded */
  CHECK_EQ(r.rif, 3);
  CHECK_EQ(parse("TEXT ", &r, &why), 0); /* a report of nothing */
  CHECK_EQ(r.has, 0);
}

TEST(malformed_headers_say_why) {
  static const struct {
    const char *value, *why;
  } bad[] = {
      {"", "not the TEXT format"},
      {"JSON {\"cpu_utilization\": 0.3}", "not the TEXT format"},
      {"text named_metrics.rif=1", "not the TEXT format"},
      {"TEXT named_metrics.rif=1,,cpu_utilization=0.1", "an empty metric"},
      {"TEXT named_metrics.rif=1,", "an empty metric"},
      {"TEXT not-a-list-of-key-value-pairs", "a metric without a value"},
      {"TEXT =3", "a metric without a name"},
      {"TEXT named_metrics.r if=3", "a metric name with a character"},
      {"TEXT named_metrics.rif=", "not a finite number"},
      {"TEXT named_metrics.rif=\"3\"", "not a finite number"},
      {"TEXT named_metrics.rif=nan", "not a finite number"},
      {"TEXT cpu_utilization=inf", "not a finite number"},
      {"TEXT cpu_utilization=0x10", "not a finite number"},
      {"TEXT cpu_utilization=1e999", "not a finite number"},
      {"TEXT cpu=0.3", "a metric name ORCA does not have"},
      {"TEXT named_metrics.=1", "a named metric without a key"},
      {"TEXT named_metrics.rif=1, named_metrics.rif=2", "a metric given twice"},
      {"TEXT named_metrics.rif=-1", "a count of requests below 0"},
      {"TEXT named_metrics.queue=5000000000", "above 4294967295"},
      {"TEXT cpu_utilization=-0.5", "a utilization below 0"},
  };
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    lbsim_load_report_t r;
    const char *why = NULL;
    CHECK_MSG(parse(bad[k].value, &r, &why) == LBSIM_EINVAL, "'%s' read", bad[k].value);
    CHECK_MSG(why != NULL && strstr(why, bad[k].why) != NULL, "'%s': %s", bad[k].value, why ? why : "(null)");
  }
}

static const char *const with_load = "HTTP/1.1 200 OK\r\n"
                                     "Content-Length: 2\r\n"
                                     "Endpoint-Load-Metrics: TEXT named_metrics.rif=4\r\n"
                                     "\r\n"
                                     "ok";

TEST(the_parser_keeps_the_header_in_any_case_and_in_any_pieces) {
  for (size_t piece = 1; piece <= strlen(with_load); piece++) {
    lbsim_hresp_t h;
    lbsim_hresp_init(&h);
    h.capture_load = true;
    lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
    for (size_t at = 0; at < strlen(with_load); at += piece) {
      size_t len = strlen(with_load) - at < piece ? strlen(with_load) - at : piece;
      st = lbsim_hresp_feed(&h, with_load + at, len);
    }
    CHECK_EQ(st, LBSIM_HRESP_DONE);
    lbsim_load_report_t r;
    const char *why = NULL;
    CHECK_MSG(lbsim_orca_from_response(&h, &r, &why) == 0, "pieces of %zu: %s", piece, why ? why : "");
    CHECK_EQ(r.rif, 4);
  }
}

TEST(the_parser_says_what_is_wrong_with_the_header) {
  lbsim_hresp_t h;
  lbsim_load_report_t r;
  const char *why;
  /* Not asked for: not kept. */
  lbsim_hresp_init(&h);
  CHECK_EQ(lbsim_hresp_feed(&h, with_load, strlen(with_load)), LBSIM_HRESP_DONE);
  CHECK_EQ(h.load_count, 0);
  /* Missing; a header whose name only starts alike is another. */
  lbsim_hresp_init(&h);
  h.capture_load = true;
  static const char other[] = "HTTP/1.1 200 OK\r\nEndpoint-Load-Metrics-Bin: AAAA\r\nEndpoint-Load: x\r\n"
                              "Content-Length: 0\r\n\r\n";
  CHECK_EQ(lbsim_hresp_feed(&h, other, strlen(other)), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_orca_from_response(&h, &r, &why), LBSIM_EINVAL);
  CHECK_STR_EQ(why, "missing");
  /* An interim response's is forgotten; the next response starts afresh. */
  lbsim_hresp_next(&h);
  static const char interim[] = "HTTP/1.1 103 Early Hints\r\nendpoint-load-metrics: TEXT named_metrics.rif=9\r\n\r\n"
                                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ(lbsim_hresp_feed(&h, interim, strlen(interim)), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_orca_from_response(&h, &r, &why), LBSIM_EINVAL);
  CHECK_STR_EQ(why, "missing");
  /* Twice. */
  lbsim_hresp_next(&h);
  static const char twice[] = "HTTP/1.1 200 OK\r\nendpoint-load-metrics: TEXT named_metrics.rif=1\r\n"
                              "endpoint-load-metrics: TEXT named_metrics.rif=2\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ(lbsim_hresp_feed(&h, twice, strlen(twice)), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_orca_from_response(&h, &r, &why), LBSIM_EINVAL);
  CHECK_STR_EQ(why, "given more than once");
  /* Too long to keep. */
  lbsim_hresp_next(&h);
  char big[1024];
  int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nendpoint-load-metrics: TEXT named_metrics.rif=1");
  while (n < 600)
    n += snprintf(big + n, sizeof(big) - (size_t)n, ", named_metrics.m%d=1", n);
  n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\nContent-Length: 0\r\n\r\n");
  CHECK_EQ(lbsim_hresp_feed(&h, big, (size_t)n), LBSIM_HRESP_DONE);
  CHECK(h.load_too_long);
  CHECK_EQ(lbsim_orca_from_response(&h, &r, &why), LBSIM_EINVAL);
  CHECK(strstr(why, "longer than") != NULL);
  /* In a chunked answer's trailers. */
  lbsim_hresp_next(&h);
  static const char trailer[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
                                "endpoint-load-metrics: TEXT named_metrics.rif=6\r\n\r\n";
  CHECK_EQ(lbsim_hresp_feed(&h, trailer, strlen(trailer)), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_orca_from_response(&h, &r, &why), 0);
  CHECK_EQ(r.rif, 6);
}
