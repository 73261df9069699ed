/* The admin endpoint on a real loop, port 0, over models and backend copies
 * that do not listen (the admin only reads them), driven by a raw client. */
#include <stdlib.h>

#include "harness.h"
#include "internal.h"
#include "lbsim/admin.h"
#include "lbsim/sched.h"
#include "rawclient.h"

typedef struct admin_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;
  lbsim_fleet_t fleet;
  lbsim_backend_t *copies;    /* world-major, as in compare mode */
  lbsim_admin_t admin;
} admin_fixture_t;

static const char *const policies[] = {"ema-greedy", "round-robin"};

/* nmodels backends, one copy of each per policy (npolicies 1: the demo). */
static int afx_start(admin_fixture_t *f, uint32_t nmodels, uint32_t npolicies) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->cfg.backends = nmodels;
  REQUIRE(lbsim_fleet_init(&f->fleet, &f->cfg, 1, &f->sched.clock) == 0);
  f->copies = calloc((size_t)nmodels * npolicies, sizeof(*f->copies));
  REQUIRE(f->copies != NULL);
  for (uint32_t i = 0; i < nmodels; i++)
    f->fleet.models[i].latency.latency_ms = 10;
  for (uint32_t k = 0; k < nmodels * npolicies; k++) {
    lbsim_backend_t *b = &f->copies[k];
    b->model = &f->fleet.models[k % nmodels];
    b->policy = npolicies > 1 ? policies[k / nmodels] : NULL;
    snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%u/ping", 7000 + k);
  }
  f->admin.fleet = &f->fleet;
  f->admin.backends = f->copies;
  f->admin.nbackends = nmodels * npolicies;
  REQUIRE(lbsim_admin_start(&f->admin, &f->loop, &f->sched, 0) == 0);
  REQUIRE(f->admin.port != 0);
  return 0;
}

static int afx_stop(admin_fixture_t *f) {
  lbsim_admin_close(&f->admin, NULL);
  for (int i = 0; i < 50 && f->admin.httpd.nhandles > 0; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  REQUIRE(f->admin.httpd.nhandles == 0);
  lbsim_sched_close(&f->sched, NULL);
  int rc = close_loop(&f->loop);
  lbsim_fleet_free(&f->fleet);
  free(f->copies);
  return rc;
}

static void afx_exchange(admin_fixture_t *f, const char *req, int want, raw_result_t *r) {
  /* Generous: /metrics of 4,200 copies takes seconds under valgrind. */
  raw_opts_t o = {.want_responses = want, .wait_ms = 60000};
  raw_exchange(&f->loop, f->admin.port, req, strlen(req), &o, r);
}

/* The n-th answer (0-based) of a pipelined exchange, copied into buf. */
static const char *answer(raw_result_t *r, int n, char *buf, size_t len) {
  const char *p = raw_text(r);
  for (int i = 0; p != NULL && i <= n; i++) {
    p = strstr(p, "HTTP/1.1 ");
    if (p != NULL && i < n)
      p++;
  }
  if (p == NULL)
    return "";
  const char *end = strstr(p + 1, "HTTP/1.1 ");
  size_t size = end ? (size_t)(end - p) : strlen(p);
  if (size >= len)
    size = len - 1;
  memcpy(buf, p, size);
  buf[size] = '\0';
  return buf;
}

#define POST(path, body) "POST " path " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n" body

TEST(pipelined_requests_get_their_own_results) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  static const char *const bodies[] = {"latency_ms=200", "latency_ms=fast", "colour=red", "latency_ms=300"};
  lbsim_buf_t req = {0};
  lbsim_buf_printf(&req, POST("/backends/1", "%s"), strlen(bodies[0]), bodies[0]);
  lbsim_buf_append_str(&req, "GET /backends/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  for (int i = 1; i < 4; i++)
    lbsim_buf_printf(&req, POST("/backends/1", "%s"), strlen(bodies[i]), bodies[i]);
  lbsim_buf_append_str(&req, "GET /backends HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  lbsim_buf_append(&req, "", 1);
  raw_result_t r;
  afx_exchange(&f, req.data, 6, &r);
  lbsim_buf_free(&req);
  CHECK_EQ(r.responses, 6);
  char a[4096];
  /* Each answer shows the state right after its own request: the first
   * change, and a GET between two changes, see 200 ms, not the last 300. */
  CHECK_MSG(strncmp(answer(&r, 0, a, sizeof(a)), "HTTP/1.1 200 ", 13) == 0, "%s", a);
  CHECK_MSG(strstr(a, "\"backend\":1,") && strstr(a, "\"latency_ms\":200.000,"), "%s", a);
  CHECK_MSG(strstr(answer(&r, 1, a, sizeof(a)), "\"latency_ms\":200.000,") != NULL, "%s", a);
  /* Each refusal carries its own reason. */
  CHECK_MSG(strncmp(answer(&r, 2, a, sizeof(a)), "HTTP/1.1 400 ", 13) == 0, "%s", a);
  CHECK_MSG(strstr(a, "fast") != NULL && strstr(a, "colour") == NULL, "%s", a);
  CHECK_MSG(strncmp(answer(&r, 3, a, sizeof(a)), "HTTP/1.1 400 ", 13) == 0, "%s", a);
  CHECK_MSG(strstr(a, "'colour'") != NULL, "%s", a);
  CHECK_MSG(strstr(answer(&r, 4, a, sizeof(a)), "\"latency_ms\":300.000,") != NULL, "%s", a);
  answer(&r, 5, a, sizeof(a));
  CHECK_MSG(strstr(a, "{\"backend\":1,") && strstr(a, "\"latency_ms\":300.000,"), "%s", a);
  CHECK_MSG(strstr(a, "{\"backend\":2,") && strstr(a, "\"latency_ms\":10.000,"), "%s", a);
  CHECK(!r.peer_closed);
  raw_result_free(&r);
  CHECK_EQ(f.fleet.models[0].latency.latency_ms, 300);
  CHECK(afx_stop(&f) == 0);
}

/* More pipelined requests than the first batch of answer slots, the last
 * one closing: every answer arrives, in order. */
TEST(a_long_pipeline_is_answered_in_full) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 3, 1) == 0);
  lbsim_buf_t req = {0};
  for (int i = 0; i < 40; i++)
    lbsim_buf_printf(&req, "GET /backends/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i % 3 + 1);
  lbsim_buf_append_str(&req, "GET /backends/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  lbsim_buf_append(&req, "", 1);
  raw_result_t r;
  afx_exchange(&f, req.data, 0, &r);
  lbsim_buf_free(&req);
  CHECK_EQ(r.responses, 41);
  CHECK(r.peer_closed);
  char a[2048], want[32];
  for (int i = 0; i < 41; i++) {
    snprintf(want, sizeof(want), "{\"backend\":%d,", i < 40 ? i % 3 + 1 : 1);
    CHECK_MSG(strstr(answer(&r, i, a, sizeof(a)), want) != NULL, "answer %d: %s", i, a);
  }
  raw_result_free(&r);
  CHECK(afx_stop(&f) == 0);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Compare mode: every copy of every backend, well past 4,096 copies. */
TEST(metrics_cover_every_copy_in_compare_mode) {
  enum { N = 2100 };
  admin_fixture_t f;
  CHECK(afx_start(&f, N, 2) == 0);
  f.copies[2 * N - 1].answered_200 = 7;
  raw_result_t r;
  afx_exchange(&f, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1, &r);
  const char *text = raw_text(&r);
  CHECK(strncmp(text, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK_EQ(count(text, "\nlbsim_backend_up{"), 2 * N);
  CHECK_EQ(count(text, "\nlbsim_backend_latency_seconds{"), 2 * N);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"1\",policy=\"ema-greedy\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"2100\",policy=\"round-robin\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_requests_total{backend=\"2100\",policy=\"round-robin\",code=\"200\"} 7\n") !=
        NULL);
  raw_result_free(&r);
  CHECK(afx_stop(&f) == 0);
}
