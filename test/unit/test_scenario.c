/* Scenario files and the actions they script (lbsim/model/scenario.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/model/scenario.h"

TEST(parses_every_action_sorted_by_time) {
  lbsim_scenario_t sc;
  char err[256];
  const char *text = "# outage drill\n"
                     "at 45s backend 4 up slow-start 10s   # comes back slowly\n"
                     "at 15s backend 3 latency 2000ms\n"
                     "\n"
                     "at 20s backend 2 error-rate 0.5\n"
                     "at 30s backend 4 down\n"
                     "at 0s all capacity 50\n"
                     "at 1.5m backend 1 stall\n"
                     "at 91s backend 1 resume\n"
                     "at 500ms all jitter lognormal:0.3\n"
                     "at 46s backend 4 up slow-start 2s x8\n";
  CHECK_EQ(lbsim_scenario_parse(&sc, text, "drill", 5, err, sizeof(err)), 0);
  CHECK_EQ(sc.nevents, 9);
  CHECK_NEAR(sc.events[0].at_s, 0, 0);
  CHECK_EQ(sc.events[0].backend, LBSIM_ALL_BACKENDS);
  CHECK_EQ(sc.events[0].action, LBSIM_ACTION_CAPACITY);
  CHECK_NEAR(sc.events[0].value, 50, 0);
  CHECK_NEAR(sc.events[1].at_s, 0.5, 1e-12);
  CHECK_EQ(sc.events[1].jitter.kind, LBSIM_JITTER_LOGNORMAL);
  CHECK_EQ(sc.events[2].action, LBSIM_ACTION_LATENCY);
  CHECK_EQ(sc.events[2].backend, 2);
  CHECK_NEAR(sc.events[2].value, 2000, 1e-9);
  CHECK_EQ(sc.events[3].action, LBSIM_ACTION_ERROR_RATE);
  CHECK_NEAR(sc.events[3].value, 0.5, 0);
  CHECK_EQ(sc.events[4].action, LBSIM_ACTION_DOWN);
  CHECK_EQ(sc.events[5].action, LBSIM_ACTION_UP);
  CHECK_NEAR(sc.events[5].slow_start_s, 10, 0);
  CHECK_NEAR(sc.events[5].slow_start_factor, 5, 0);
  CHECK_EQ(sc.events[5].line, 2);
  CHECK_NEAR(sc.events[6].slow_start_factor, 8, 0);
  CHECK_EQ(sc.events[7].action, LBSIM_ACTION_STALL);
  CHECK_NEAR(sc.events[7].at_s, 90, 0);
  CHECK_EQ(sc.events[8].action, LBSIM_ACTION_RESUME);
  lbsim_scenario_free(&sc);
}

/* Each bad line is refused with "name:line: reason". */
static int refuses(const char *text, const char *expect) {
  lbsim_scenario_t sc;
  char err[256] = "";
  int r = lbsim_scenario_parse(&sc, text, "s.txt", 4, err, sizeof(err));
  lbsim_scenario_free(&sc);
  if (r != LBSIM_EINVAL || strstr(err, expect) == NULL) {
    lbsim_test_fail(__FILE__, __LINE__, "'%s': got %d '%s', wanted '%s'", text, r, err, expect);
    return -1;
  }
  return 0;
}

TEST(refuses_bad_lines_with_file_and_line) {
  CHECK(refuses("at 1s backend 1 down\nbogus\n", "s.txt:2: expected 'at TIME") == 0);
  CHECK(refuses("at 10 backend 1 down", "s.txt:1: bad time '10'") == 0);
  CHECK(refuses("at -1s backend 1 down", "bad time") == 0);
  CHECK(refuses("at 1s backend 5 down", "s.txt:1: backend 5 does not exist (there are 4)") == 0);
  CHECK(refuses("at 1s backend 0 down", "bad backend number") == 0);
  CHECK(refuses("at 1s backend x down", "bad backend number") == 0);
  CHECK(refuses("at 1s server 1 down", "bad target 'server'") == 0);
  CHECK(refuses("at 1s all", "missing action") == 0);
  CHECK(refuses("at 1s all explode", "unknown action 'explode'") == 0);
  CHECK(refuses("at 1s all latency", "'latency' needs a value") == 0);
  CHECK(refuses("at 1s all latency 5", "bad latency '5'") == 0);
  CHECK(refuses("at 1s all error-rate 1.5", "bad error rate") == 0);
  CHECK(refuses("at 1s all capacity 2.5", "bad capacity") == 0);
  CHECK(refuses("at 1s all jitter gauss:1", "unknown jitter") == 0);
  CHECK(refuses("at 1s all jitter exp:-3", "bad exp parameter") == 0);
  CHECK(refuses("at 1s all down now", "unexpected 'now'") == 0);
  CHECK(refuses("at 1s all up slowly", "unexpected 'slowly'") == 0);
  CHECK(refuses("at 1s all up slow-start 2s y3", "bad slow-start factor") == 0);
  CHECK(refuses("at 1s all latency 10ms extra", "unexpected 'extra'") == 0);
}

/* The options' grammar and ranges: no hex, nothing a run cannot hold. */
TEST(values_have_the_options_grammar_and_ranges) {
  CHECK(refuses("at 1e12s backend 1 down", "bad time '1e12s': expected a duration such as 15s, 1500ms or 2m: "
                                           "0..31536000 s") == 0);
  CHECK(refuses("at 0x1s backend 1 down", "bad time '0x1s'") == 0);
  CHECK(refuses("at 1s backend 1 latency 0x20ms", "bad latency '0x20ms'") == 0);
  CHECK(refuses("at 1s backend 1 latency 3601s", "0 or 0.000001..3600000 ms") == 0);
  CHECK(refuses("at 1s backend 1 latency 1e-12ms", "bad latency") == 0);
  CHECK(refuses("at 1s backend 1 up slow-start 1e300s", "bad slow-start duration '1e300s'") == 0);
  CHECK(refuses("at 1s backend 1 up slow-start 10s x0.5", "bad slow-start factor 'x0.5'") == 0);
  CHECK(refuses("at 1s backend 1 up slow-start 10s x0.5", ": 1..1000") == 0);
  CHECK(refuses("at 1s backend 1 error-rate 0x1", "bad error rate") == 0);
  CHECK(refuses("at 1s backend 1 capacity 1e7", "0..1000000") == 0);
  CHECK(refuses("at 1s backend 1 jitter exp:0x14", "bad exp parameter '0x14'") == 0);
  CHECK(refuses("at 1s backend 0x1 down", "bad backend number '0x1'") == 0);
  CHECK(refuses("at 1s backend \v1 down", "bad backend number '\\v1'") == 0);
  lbsim_scenario_t sc;
  char err[256];
  CHECK_EQ(lbsim_scenario_parse(&sc, "at 1e3ms backend 1e0 up slow-start 2.5e1s x1\n", "e", 3, err, sizeof(err)), 0);
  CHECK(sc.events[0].at_s == 1 && sc.events[0].backend == 0 && sc.events[0].slow_start_s == 25 &&
        sc.events[0].slow_start_factor == 1);
  lbsim_scenario_free(&sc);
}

TEST(a_byte_order_mark_at_the_start_is_skipped) {
  lbsim_scenario_t sc;
  char err[256];
  CHECK_EQ(lbsim_scenario_parse(&sc, "\xef\xbb\xbf" "at 1s backend 1 down\n", "bom", 3, err, sizeof(err)), 0);
  CHECK_EQ(sc.nevents, 1);
  lbsim_scenario_free(&sc);
  /* Elsewhere it is no blank: refused, and shown escaped. */
  CHECK(refuses("at 1s backend 1 down\n\xef\xbb\xbf" "at 2s all up", "s.txt:2: expected 'at TIME ...', got "
                                                                    "'\\xef\\xbb\\xbfat'") == 0);
}

TEST(a_directory_or_a_file_too_large_is_refused) {
  lbsim_scenario_t sc;
  char err[256];
  CHECK_EQ(lbsim_scenario_load(&sc, "/tmp", 3, err, sizeof(err)), -EISDIR);
  CHECK(strstr(err, "cannot read scenario /tmp: Is a directory") != NULL);
  char path[] = "/tmp/lbsim-test-scenario-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(ftruncate(fd, LBSIM_SCENARIO_MAX_BYTES + 1) == 0); /* NUL bytes, but the size is seen first */
  close(fd);
  CHECK_EQ(lbsim_scenario_load(&sc, path, 3, err, sizeof(err)), LBSIM_EINVAL);
  unlink(path);
  CHECK(strstr(err, "larger than 8388608 bytes (8 MiB), the most a scenario file may hold") != NULL);
}

TEST(empty_and_comment_only_files_are_fine) {
  lbsim_scenario_t sc;
  char err[256];
  CHECK_EQ(lbsim_scenario_parse(&sc, "", "e", 3, err, sizeof(err)), 0);
  CHECK_EQ(sc.nevents, 0);
  lbsim_scenario_free(&sc);
  CHECK_EQ(lbsim_scenario_parse(&sc, "# nothing\n   \n\t# more\n", "e", 3, err, sizeof(err)), 0);
  CHECK_EQ(sc.nevents, 0);
  lbsim_scenario_free(&sc);
}

TEST(load_reports_missing_files) {
  lbsim_scenario_t sc;
  char err[256];
  CHECK_EQ(lbsim_scenario_load(&sc, "/nonexistent/scenario.txt", 3, err, sizeof(err)), LBSIM_ENOENT);
  CHECK(strstr(err, "cannot read scenario /nonexistent/scenario.txt") != NULL);
  char path[] = "/tmp/lbsim-scenario-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("at 2s backend 2 latency 1s\nat 3s backend 9 down\n", f);
  fclose(f);
  CHECK_EQ(lbsim_scenario_load(&sc, path, 3, err, sizeof(err)), LBSIM_EINVAL);
  char expect[300];
  snprintf(expect, sizeof(expect), "%s:2: backend 9 does not exist", path);
  CHECK_MSG(strstr(err, expect) != NULL, "%s", err);
  remove(path);
}

TEST(action_parse_serves_the_admin_endpoint_too) {
  lbsim_event_t ev;
  char err[200];
  char *w1[] = {"up", "slow-start", "3s"};
  CHECK_EQ(lbsim_action_parse(&ev, w1, 3, err, sizeof(err)), 0);
  CHECK_EQ(ev.action, LBSIM_ACTION_UP);
  CHECK_NEAR(ev.slow_start_s, 3, 0);
  char *w2[] = {"latency", "2s"};
  CHECK_EQ(lbsim_action_parse(&ev, w2, 2, err, sizeof(err)), 0);
  CHECK_NEAR(ev.value, 2000, 0);
  CHECK_STR_EQ(lbsim_action_name(LBSIM_ACTION_ERROR_RATE), "error-rate");
}

TEST(a_formatted_script_reads_back_as_itself) {
  const char *text = "at 1m all jitter exp:0.1\n"
                     "at 45s backend 2 up slow-start 10s x3\n"
                     "at 1.5s backend 3 latency 2000ms  # stuck\n"
                     "at 2s backend 1 error-rate 0.25\n"
                     "at 2s backend 1 capacity 7\n"
                     "at 3s backend 2 down\n"
                     "at 3s all jitter none\n";
  lbsim_scenario_t sc, again;
  char err[200];
  CHECK_EQ(lbsim_scenario_parse(&sc, text, "t", 3, err, sizeof(err)), 0);
  lbsim_buf_t a = LBSIM_BUF_INIT, b = LBSIM_BUF_INIT;
  lbsim_scenario_format(&sc, &a);
  lbsim_buf_append(&a, "", 1);
  CHECK_STR_EQ(a.data, "at 1.5s backend 3 latency 2000ms\n"
                       "at 2s backend 1 error-rate 0.25\n"
                       "at 2s backend 1 capacity 7\n"
                       "at 3s backend 2 down\n"
                       "at 3s all jitter none\n"
                       "at 45s backend 2 up slow-start 10s x3\n"
                       "at 60s all jitter exp:0.1\n");
  CHECK_EQ(lbsim_scenario_parse(&again, a.data, "t", 3, err, sizeof(err)), 0);
  lbsim_scenario_format(&again, &b);
  lbsim_buf_append(&b, "", 1);
  CHECK_STR_EQ(a.data, b.data);
  lbsim_buf_free(&a);
  lbsim_buf_free(&b);
  lbsim_scenario_free(&sc);
  lbsim_scenario_free(&again);
}
