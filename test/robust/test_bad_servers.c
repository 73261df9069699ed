/* The client against misbehaving servers. Each server gets its share of a
 * round-robin run next to a healthy lbsim backend: its requests must end
 * with the right result, within the deadline, the healthy backend must keep
 * answering, and nothing may leak (descriptors back to where they were). */
#include <unistd.h>
#include <string.h>
#include <stdio.h>

#include "client_fixture.h"
#include "fakeserver.h"
#include "harness.h"
#include "lbsim/base/common.h"

#define TIMEOUT_S 0.4

typedef struct bad_server_s {
  const char *name;
  fake_behavior_t behavior;
  lbsim_result_t result;   /* what each request to it ends with */
} bad_server_t;

/* libuv opens a pipe for signals once per process, with the first loop:
 * count descriptors after that. */
static int baseline_fds(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_loop_close(&loop);
  return cfx_open_fds();
}

/* Runs one bad server next to a healthy backend. */
static int against(const bad_server_t *bad) {
  int fds_before = baseline_fds();
  client_fixture_t f;
  REQUIRE(cfx_setup(&f) == 0);
  f.cfg.rounds = 3;
  f.cfg.burst = 4;
  f.cfg.timeout_s = TIMEOUT_S;
  strcpy(f.cfg.policies[0], "round-robin");
  fake_server_t server;
  REQUIRE(fake_server_start(&server, &f.loop, &bad->behavior) == 0);
  REQUIRE(cfx_add_url(&f, server.port) == 0);
  REQUIRE(cfx_add_backend(&f, 2) == 0);
  REQUIRE(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  int ok = 0;
  if (s->backend[0].by_result[bad->result] != 6) {
    const uint64_t *k = s->backend[0].by_result;
    lbsim_test_fail(__FILE__, __LINE__, "%s: %llu of 6 requests ended '%s' (ok %llu connect %llu reset %llu "
                    "timeout %llu bad_response %llu status %llu cancelled %llu)", bad->name,
                    (unsigned long long)k[bad->result], lbsim_result_name(bad->result), (unsigned long long)k[0],
                    (unsigned long long)k[1], (unsigned long long)k[2], (unsigned long long)k[3],
                    (unsigned long long)k[4], (unsigned long long)k[5], (unsigned long long)k[6]);
    ok = -1;
  }
  if (s->backend[1].ok != 6) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: the healthy backend answered %llu of 6", bad->name,
                    (unsigned long long)s->backend[1].ok);
    ok = -1;
  }
  /* Three rounds, each ended by its slowest request: the deadline bounds it. */
  if (lbsim_test_timing() && f.elapsed_s > 3 * (TIMEOUT_S + 0.15)) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: three rounds took %.3f s", bad->name, f.elapsed_s);
    ok = -1;
  }
  if (s->total.ok + s->total.failed != s->launched) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: requests lost", bad->name);
    ok = -1;
  }
  fake_server_stop(&server);
  REQUIRE(cfx_teardown(&f) == 0);
  int fds_after = cfx_open_fds();
  if (fds_after != fds_before) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: %d descriptors open before, %d after", bad->name, fds_before, fds_after);
    ok = -1;
  }
  return ok;
}

#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

TEST(servers_that_hang_up) {
  static const bad_server_t cases[] = {
      {"reset on accept", {.reset_on_accept = true}, LBSIM_RESULT_RESET},
      {"close on accept", {.close_on_accept = true}, LBSIM_RESULT_RESET},
      {"close without an answer", {.answer_first = -1}, LBSIM_RESULT_RESET},
      {"close mid-body", {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", .close_after = true},
       LBSIM_RESULT_RESET},
      {"short Content-Length", {.reply = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", .reset_after = true},
       LBSIM_RESULT_RESET},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++)
    CHECK(against(&cases[i]) == 0);
}

TEST(servers_that_stall) {
  static const bad_server_t cases[] = {
      {"accept and never answer", {.reply = NULL}, LBSIM_RESULT_TIMEOUT},
      {"trickle past the deadline", {.reply = OK200, .trickle = 1, .gap_ms = 100}, LBSIM_RESULT_TIMEOUT},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++)
    CHECK(against(&cases[i]) == 0);
}

TEST(servers_that_garble) {
  static char huge[1 << 20];
  size_t n = (size_t)snprintf(huge, sizeof(huge), "HTTP/1.1 200 OK\r\n");
  while (n + 40 < sizeof(huge))
    n += (size_t)snprintf(huge + n, sizeof(huge) - n, "X-Pad: %030d\r\n", 0);
  bad_server_t cases[] = {
      {"garbage for a status line", {.reply = "SSH-2.0-OpenSSH_9.2\r\n"}, LBSIM_RESULT_BAD_RESPONSE},
      {"1 MiB of headers", {.reply = huge}, LBSIM_RESULT_BAD_RESPONSE},
      {"malformed chunked",
       {.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
       LBSIM_RESULT_BAD_RESPONSE},
      {"status 007", {.reply = "HTTP/1.1 007 OK\r\nContent-Length: 0\r\n\r\n"}, LBSIM_RESULT_BAD_RESPONSE},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++)
    CHECK(against(&cases[i]) == 0);
}

TEST(servers_that_refuse) {
  static const bad_server_t cases[] = {
      {"503", {.reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"}, LBSIM_RESULT_STATUS},
      {"500", {.reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"}, LBSIM_RESULT_STATUS},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++)
    CHECK(against(&cases[i]) == 0);
}

TEST(unusual_but_valid_servers) {
  static const bad_server_t cases[] = {
      {"100-continue then 200", {.reply = "HTTP/1.1 100 Continue\r\n\r\n" OK200}, LBSIM_RESULT_OK},
      {"close-delimited body", {.reply = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody", .close_after = true},
       LBSIM_RESULT_OK},
      {"valid chunked", {.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
       LBSIM_RESULT_OK},
      {"Connection: close on every answer",
       {.reply = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", .close_after = true},
       LBSIM_RESULT_OK},
      /* an answer nobody asked for follows each one: the connection is not reused */
      {"an unsolicited extra answer", {.reply = OK200 OK200}, LBSIM_RESULT_OK},
      {"HTTP/1.0 answers", {.reply = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"}, LBSIM_RESULT_OK},
      {"answer trickled byte by byte in time", {.reply = OK200, .trickle = 1, .gap_ms = 1}, LBSIM_RESULT_OK},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++)
    CHECK(against(&cases[i]) == 0);
}

TEST(a_server_that_never_accepts) {
  int fds_before = baseline_fds();
  uint16_t port;
  int fd = stuck_listener(&port);
  CHECK(fd >= 0);
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 6;
  f.cfg.timeout_s = TIMEOUT_S;
  strcpy(f.cfg.policies[0], "round-robin");
  CHECK(cfx_add_url(&f, port) == 0);
  CHECK(cfx_add_backend(&f, 2) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  /* The backlog takes one or two; the rest wait for the handshake. */
  CHECK_EQ(s->backend[0].failed, 6);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_TIMEOUT], 6);
  CHECK_EQ(s->backend[1].ok, 6);
  CHECK_TIME(f.elapsed_s < 2 * (TIMEOUT_S + 0.15), "took %.3f s", f.elapsed_s);
  CHECK(cfx_teardown(&f) == 0);
  close(fd);
  CHECK_EQ(cfx_open_fds(), fds_before);
}
