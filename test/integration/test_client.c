/* The balancer end to end on one loop: backends (or misbehaving servers) on
 * port 0, one balancer, the runner, output captured in a temporary file. */
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_fixture.h"
#include "fakeserver.h"
#include "harness.h"
#include "lbsim/net/backend.h"
#include "lbsim/balancer/runner.h"
#include "rawclient.h"
#include "tnet.h"

TEST(the_fastest_backend_gets_the_traffic) {
  /* What the client measures includes its own work on the burst (much of it
   * under valgrind): small bursts, and latencies far apart, so that a slow
   * machine cannot make the fast backend look slower than the others. An
   * unmeasured backend looks best, so each is tried in rounds 1 and 2. */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 8;
  f.cfg.burst = 20;
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_add_backend(&f, 150) == 0);
  CHECK(cfx_add_backend(&f, 300) == 0);
  CHECK(cfx_run(&f) == 0);
  uint64_t picks[8][CFX_MAX_BACKENDS] = {{0}};
  CHECK_EQ(cfx_read_blocks(&f, picks, 8), 8);
  for (int r = 0; r < 8; r++) {
    CHECK_EQ(picks[r][0] + picks[r][1] + picks[r][2], 20); /* every block adds up to the burst */
    if (r >= 2)
      CHECK_MSG(picks[r][0] >= 17, "round %d: the 5 ms backend got %llu", r + 1, (unsigned long long)picks[r][0]);
  }
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->launched, 160);
  CHECK_EQ(s->total.requests, s->launched);
  CHECK_EQ(s->total.ok + s->total.failed, s->launched);
  CHECK_EQ(s->total.ok, 160);
  /* Keep-alive: far fewer connections than requests. */
  uint64_t accepted = 0;
  for (int i = 0; i < 3; i++)
    accepted += f.backends[i].httpd.accepted;
  CHECK_MSG(accepted <= 50, "%llu connections for 160 requests", (unsigned long long)accepted);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_refused_backend_is_counted_and_left) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 5;
  CHECK(cfx_add_url(&f, refused_port()) == 0);
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK(s->backend[0].failed > 0);
  CHECK_EQ(s->backend[0].ok, 0);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_CONNECT], s->backend[0].failed);
  CHECK_NEAR(f.fleet.clients[0].ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
  uint64_t picks[5][CFX_MAX_BACKENDS] = {{0}};
  CHECK_EQ(cfx_read_blocks(&f, picks, 5), 5);
  CHECK(picks[0][0] >= 85); /* round 1: unmeasured, first in order, it looked best */
  for (int r = 2; r < 5; r++)
    CHECK_MSG(picks[r][0] <= 12, "round %d still sent %llu to the dead backend", r + 1,
              (unsigned long long)picks[r][0]);
  CHECK_EQ(s->total.ok + s->total.failed, s->launched);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_silent_server_fails_by_timeout_in_time) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 4;
  f.cfg.timeout_s = 0.3;
  fake_server_t silent;
  fake_behavior_t b = {.reply = NULL};
  CHECK(fake_server_start(&silent, &f.loop, &b) == 0);
  CHECK(cfx_add_url(&f, silent.port) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_TIMEOUT], 4);
  CHECK(f.elapsed_s >= 0.29);
  CHECK_TIME(f.elapsed_s <= 0.5, "the round took %.3f s", f.elapsed_s);
  fake_server_stop(&silent);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_keep_alive_race_is_retried_not_failed) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 3;
  f.cfg.burst = 1;
  /* Answers one request per connection, then closes when the next arrives:
   * what a server whose keep-alive timeout just expired does. */
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  fake_server_t once;
  fake_behavior_t b = {.reply = reply, .answer_first = 1};
  CHECK(fake_server_start(&once, &f.loop, &b) == 0);
  CHECK(cfx_add_url(&f, once.port) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 3);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.client.retries, 2);
  CHECK_EQ(once.accepted, 3);
  fake_server_stop(&once);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_small_pool_queues_and_still_counts_everything) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 50;
  f.cfg.pool_size = 4;
  f.cfg.explore = 0;
  CHECK(cfx_add_backend(&f, 10) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 100);
  CHECK(f.backends[0].httpd.accepted <= 4);
  /* 50 requests through 4 connections at 10 ms: at least 13 waves. */
  CHECK_MSG(lbsim_counts_quantile_ms(&s->total, 0.99) >= 120, "p99 %.1f ms",
            lbsim_counts_quantile_ms(&s->total, 0.99));
  CHECK(cfx_teardown(&f) == 0);
}

/* Applies an event to backend i and brings its copy in line, as the
 * simulation does. */
static void apply(client_fixture_t *f, uint32_t i, lbsim_action_t action, double value) {
  lbsim_event_t ev = {.backend = (int32_t)i, .action = action, .value = value, .slow_start_factor = 1};
  lbsim_model_apply(&f->farm.models[i], &ev, uv_hrtime());
  lbsim_backend_sync(&f->backends[i], uv_hrtime());
}

/* Runs the balancer of a finished cfx_run for one more round. */
static void run_one_more_round(client_fixture_t *f) {
  f->finished = false;
  f->runner.finished = f->runner.stopping = false;
  f->cfg.rounds++;
  lbsim_runner_start(&f->runner, uv_hrtime(), cfx_on_finished);
  while (!f->finished)
    uv_run(&f->loop, UV_RUN_ONCE);
}

TEST(capacity_turns_a_burst_into_waves) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 40;
  f.cfg.explore = 0;
  CHECK(cfx_add_backend(&f, 200) == 0);
  apply(&f, 0, LBSIM_ACTION_CAPACITY, 10);
  CHECK(cfx_run(&f) == 0);
  const lbsim_hist_t *h = &f.fleet.stats.total.latency;
  CHECK_EQ(h->count, 40);
  /* Four waves of ten, 200 ms apart: no wave ends before its slot (a loaded
   * machine only makes them later), and each lands in its slot (the time to
   * reach the backend, under load too, is less than a slot). The margins
   * of 5 and 10 ms are the histogram's resolution (0.4 %). */
  for (int wave = 1; wave <= 4; wave++) {
    uint64_t before = lbsim_hist_count_le(h, (wave * 200 - 5) * 1000.0);
    CHECK_MSG(before <= (uint64_t)(wave - 1) * 10, "%llu answers before %d ms", (unsigned long long)before,
              wave * 200);
    uint64_t upto = lbsim_hist_count_le(h, (wave * 200 + 190) * 1000.0);
    CHECK_TIME(upto == (uint64_t)wave * 10, "by %d ms: %llu answers", wave * 200 + 190, (unsigned long long)upto);
  }
  CHECK(cfx_teardown(&f) == 0);
}

TEST(an_error_rate_answers_503) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 20;
  CHECK(cfx_add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_ERROR_RATE, 1.0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_STATUS], 40);
  CHECK_EQ(f.backends[0].answered_503, 40);
  CHECK_NEAR(f.fleet.clients[0].ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
  CHECK(cfx_teardown(&f) == 0);
}

static bool listener_closed(void *httpd) {
  const lbsim_httpd_t *h = httpd;
  return !h->listening && !h->listener_closing;
}

static bool listening(void *httpd) {
  return ((const lbsim_httpd_t *)httpd)->listening;
}

TEST(an_outage_refuses_and_recovery_serves_again) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 5;
  CHECK(cfx_add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_DOWN, 0);
  CHECK(tnet_run_until(&f.loop, listener_closed, &f.backends[0].httpd, 10000));
  CHECK(cfx_run(&f) == 0);
  CHECK_EQ(f.fleet.stats.total.by_result[LBSIM_RESULT_CONNECT], 5);
  apply(&f, 0, LBSIM_ACTION_UP, 0);
  CHECK(tnet_run_until(&f.loop, listening, &f.backends[0].httpd, 10000));
  /* A second run on the same balancer: served again. */
  run_one_more_round(&f);
  CHECK_EQ(f.fleet.stats.total.ok, 5);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_stalled_backend_is_a_timeout) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 3;
  f.cfg.timeout_s = 0.2;
  CHECK(cfx_add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_STALL, 0);
  CHECK(cfx_run(&f) == 0);
  CHECK_EQ(f.fleet.stats.total.by_result[LBSIM_RESULT_TIMEOUT], 3);
  CHECK_TIME(f.elapsed_s < 0.5, "took %.3f s", f.elapsed_s);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_cap_on_all_connections_moves_connections_then_pipelines) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 3;
  f.cfg.burst = 30;
  strcpy(f.cfg.policies[0], "round-robin");
  f.max_connections = 4;
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 90);
  CHECK_EQ(s->total.failed, 0);
  CHECK(f.client.nconns <= 4);
  /* Each backend got connections, so some were closed to make room ... */
  uint64_t accepted = 0, served = 0;
  for (int i = 0; i < 3; i++) {
    CHECK(f.backends[i].httpd.accepted >= 1);
    accepted += f.backends[i].httpd.accepted;
    served += f.backends[i].answered_200;
  }
  CHECK(accepted >= 4);
  CHECK_EQ(served, 90);
  /* ... and the 10 requests a round for each backend did not all wait for
   * a connection of their own: at most 8 on one connection at a time. */
  CHECK(f.client.pipelined >= 3 * 6);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(pipelined_requests_go_again_when_the_server_closes) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 12;
  f.max_connections = 2;
  /* One answer per connection, then a close when the next request is
   * seen: every pipelined request but the first loses its connection. */
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  fake_server_t once;
  fake_behavior_t b = {.reply = reply, .answer_first = 1};
  CHECK(fake_server_start(&once, &f.loop, &b) == 0);
  CHECK(cfx_add_url(&f, once.port) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 24);
  CHECK_EQ(s->total.failed, 0);
  CHECK(f.client.pipelined > 0);
  CHECK(f.client.retries > 0);
  CHECK(f.client.nconns <= 2);
  fake_server_stop(&once);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_server_that_answers_pipelined_requests_in_one_write) {
  /* lbsim's backend sends answers that are due together in one write:
   * the client splits them by response, none is taken for garbage. */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 4;
  f.cfg.burst = 16;
  f.max_connections = 1;
  CHECK(cfx_add_backend(&f, 3) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 64);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.backends[0].answered_200, 64);
  CHECK(f.client.pipelined >= 4 * 7);
  CHECK(cfx_teardown(&f) == 0);
}

/* ---- several addresses per backend (a name such as localhost) ------------ */

/* [::1]:port where connections are refused: a socket bound there and never
 * listening, kept open (returned) so that nothing else takes the port.
 * Without IPv6 the connect fails too (address not available), which the
 * client must get past just the same. */
static int refusing_ipv6_loopback(struct sockaddr_in6 *a) {
  uv_ip6_addr("::1", 0, a);
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  socklen_t len = sizeof(*a);
  if (fd < 0 || bind(fd, (struct sockaddr *)a, len) != 0 || getsockname(fd, (struct sockaddr *)a, &len) != 0)
    a->sin6_port = htons(1);
  return fd;
}

static bool no_connection_open(void *arg) {
  client_fixture_t *f = arg;
  uint32_t open, idle;
  lbsim_client_pool_counts(&f->client, 0, &open, &idle);
  return open == 0;
}

TEST(a_refused_ipv6_address_falls_back_to_ipv4_and_sticks) {
  /* localhost on a fresh Debian: ::1 first, then 127.0.0.1, where the
   * backend listens. */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 10;
  CHECK(cfx_add_backend(&f, 2) == 0);
  struct sockaddr_in6 v6;
  struct sockaddr_in v4;
  int v6_fd = refusing_ipv6_loopback(&v6);
  uv_ip4_addr("127.0.0.1", f.backends[0].port, &v4);
  f.addrs[0][0] = (struct sockaddr *)&v6;
  f.addrs[0][1] = (struct sockaddr *)&v4;
  f.naddrs[0] = 2;
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 10);
  CHECK_EQ(s->total.failed, 0);
  /* Each of the 10 connections opened at once was refused at ::1 first. */
  CHECK_EQ(f.client.fallbacks, 10);
  CHECK_EQ(f.client.connects, 20);
  CHECK_EQ(f.backends[0].httpd.accepted, 10);
  /* Twice as many at once: 10 connections are reused, the 10 new ones go
   * straight to 127.0.0.1, the address that answered. */
  f.cfg.burst = 20;
  run_one_more_round(&f);
  CHECK_EQ(s->total.ok, 30);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.client.fallbacks, 10);
  CHECK_EQ(f.client.connects, 30);
  CHECK_EQ(f.backends[0].httpd.accepted, 20);
  CHECK(cfx_teardown(&f) == 0);
  if (v6_fd >= 0)
    close(v6_fd);
}

TEST(a_backend_fails_as_connect_once_every_address_has_refused) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 5;
  CHECK(cfx_add_url(&f, refused_port()) == 0);
  struct sockaddr_in6 v6;
  struct sockaddr_in unreachable, v4;
  int v6_fd = refusing_ipv6_loopback(&v6);
  uv_ip4_addr("255.255.255.255", f.urls[0].port, &unreachable);
  uv_ip4_addr("127.0.0.1", f.urls[0].port, &v4);
  f.addrs[0][0] = (struct sockaddr *)&v6;
  f.addrs[0][1] = (struct sockaddr *)&unreachable;
  f.addrs[0][2] = (struct sockaddr *)&v4;
  f.addrs[0][3] = (struct sockaddr *)&v6; /* listed twice, as resolvers may: tried once */
  f.naddrs[0] = 4;
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_CONNECT], 5);
  CHECK_EQ(s->total.failed, 5);
  /* Each request tried each address once. */
  CHECK_EQ(f.client.connects, 15);
  CHECK_EQ(f.client.fallbacks, 10);
  CHECK(cfx_teardown(&f) == 0);
  if (v6_fd >= 0)
    close(v6_fd);
}

TEST(an_address_that_fails_at_once_is_passed_over) {
  /* TCP to a broadcast address fails in connect() itself (ENETUNREACH), as
   * ::1 does where IPv6 is off (EADDRNOTAVAIL). */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 5;
  CHECK(cfx_add_backend(&f, 2) == 0);
  struct sockaddr_in unreachable, v4;
  uv_ip4_addr("255.255.255.255", f.backends[0].port, &unreachable);
  uv_ip4_addr("127.0.0.1", f.backends[0].port, &v4);
  f.addrs[0][0] = (struct sockaddr *)&unreachable;
  f.addrs[0][1] = (struct sockaddr *)&v4;
  f.naddrs[0] = 2;
  CHECK(cfx_run(&f) == 0);
  CHECK_EQ(f.fleet.stats.total.ok, 5);
  CHECK_EQ(f.fleet.stats.total.failed, 0);
  CHECK_EQ(f.client.fallbacks, 5);
  CHECK_EQ(f.backends[0].answered_200, 5);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(when_the_address_in_use_stops_answering_the_list_is_tried_again) {
  /* One backend URL whose two addresses are two lbsim backends. */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 4;
  CHECK(cfx_add_backend(&f, 2) == 0);
  CHECK(cfx_add_backend(&f, 2) == 0);
  f.nurls = 1;
  struct sockaddr_in first, second;
  uv_ip4_addr("127.0.0.1", f.backends[0].port, &first);
  uv_ip4_addr("127.0.0.1", f.backends[1].port, &second);
  f.addrs[0][0] = (struct sockaddr *)&first;
  f.addrs[0][1] = (struct sockaddr *)&second;
  f.naddrs[0] = 2;
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.fleet.stats;
  CHECK_EQ(s->total.ok, 4);
  CHECK_EQ(f.backends[0].answered_200, 4); /* the first address answers: it is used */
  CHECK_EQ(f.backends[1].answered_200, 0);
  CHECK_EQ(f.client.fallbacks, 0);

  /* The first goes down (its connections reset): the list is tried again
   * from it, and the second answers. */
  apply(&f, 0, LBSIM_ACTION_DOWN, 0);
  CHECK(tnet_run_until(&f.loop, no_connection_open, &f, 5000));
  run_one_more_round(&f);
  CHECK_EQ(s->total.ok, 8);
  CHECK_EQ(f.backends[1].answered_200, 4);
  CHECK_EQ(f.client.fallbacks, 4);

  /* The first is back, but the second answers: 4 connections reused and 4
   * new ones, all to the second. */
  apply(&f, 0, LBSIM_ACTION_UP, 0);
  f.cfg.burst = 8;
  run_one_more_round(&f);
  CHECK_EQ(s->total.ok, 16);
  CHECK_EQ(f.backends[0].answered_200, 4);
  CHECK_EQ(f.backends[1].answered_200, 12);
  CHECK_EQ(f.client.fallbacks, 4);

  /* The second goes down: round the list to the first again. */
  apply(&f, 1, LBSIM_ACTION_DOWN, 0);
  CHECK(tnet_run_until(&f.loop, no_connection_open, &f, 5000));
  run_one_more_round(&f);
  CHECK_EQ(s->total.ok, 24);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.backends[0].answered_200, 12);
  CHECK_EQ(f.client.fallbacks, 12);
  apply(&f, 1, LBSIM_ACTION_UP, 0);
  CHECK(cfx_teardown(&f) == 0);
}
