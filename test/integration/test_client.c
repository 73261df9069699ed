/* The balancer end to end on one loop: backends (or misbehaving servers) on
 * port 0, one balancer, the runner, output captured in a temporary file. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "client_fixture.h"
#include "fakeserver.h"
#include "harness.h"
#include "lbsim/backend.h"
#include "lbsim/runner.h"
#include "rawclient.h"
#include "tnet.h"

TEST(the_fastest_backend_gets_the_traffic) {
  /* What the client measures includes its own work on the whole burst: the
   * latencies are far apart, so that a slow machine (or valgrind) cannot
   * make the fast backend look slower than the others. */
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 6;
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_add_backend(&f, 150) == 0);
  CHECK(cfx_add_backend(&f, 300) == 0);
  CHECK(cfx_run(&f) == 0);
  uint64_t picks[6][CFX_MAX_BACKENDS] = {{0}};
  CHECK_EQ(cfx_read_blocks(&f, picks, 6), 6);
  for (int r = 0; r < 6; r++) {
    CHECK_EQ(picks[r][0] + picks[r][1] + picks[r][2], 100); /* every block adds up to the burst */
    if (r >= 1)
      CHECK_MSG(picks[r][0] >= 90, "round %d: the 5 ms backend got %llu", r + 1, (unsigned long long)picks[r][0]);
  }
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->launched, 600);
  CHECK_EQ(s->total.requests, s->launched);
  CHECK_EQ(s->total.ok + s->total.failed, s->launched);
  CHECK_EQ(s->total.ok, 600);
  /* Keep-alive: far fewer connections than requests. */
  uint64_t accepted = 0;
  for (int i = 0; i < 3; i++)
    accepted += f.backends[i].httpd.accepted;
  CHECK_MSG(accepted <= 150, "%llu connections for 600 requests", (unsigned long long)accepted);
  CHECK(cfx_teardown(&f) == 0);
}

TEST(a_refused_backend_is_counted_and_left) {
  client_fixture_t f;
  CHECK(cfx_setup(&f) == 0);
  f.cfg.rounds = 5;
  CHECK(cfx_add_url(&f, refused_port()) == 0);
  CHECK(cfx_add_backend(&f, 5) == 0);
  CHECK(cfx_run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK(s->backend[0].failed > 0);
  CHECK_EQ(s->backend[0].ok, 0);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_CONNECT], s->backend[0].failed);
  CHECK_NEAR(f.world.ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
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
  const lbsim_stats_t *s = &f.world.stats;
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
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 3);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.world.client.retries, 2);
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
  const lbsim_stats_t *s = &f.world.stats;
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
  lbsim_model_apply(&f->models[i], &ev, uv_hrtime());
  lbsim_backend_sync(&f->backends[i], uv_hrtime());
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
  const lbsim_hist_t *h = &f.world.stats.total.latency;
  CHECK_EQ(h->count, 40);
  /* Four waves of ten, 200 ms apart: no wave ends before its slot (a loaded
   * machine only makes them later), and each lands within half a slot. */
  for (int wave = 1; wave <= 4; wave++) {
    uint64_t before = lbsim_hist_count_le(h, (wave * 200 - 1) * 1000.0);
    CHECK_MSG(before <= (uint64_t)(wave - 1) * 10, "%llu answers before %d ms", (unsigned long long)before,
              wave * 200);
    uint64_t upto = lbsim_hist_count_le(h, (wave * 200 + 100) * 1000.0);
    CHECK_TIME(upto == (uint64_t)wave * 10, "by %d ms: %llu answers", wave * 200 + 100, (unsigned long long)upto);
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
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_STATUS], 40);
  CHECK_EQ(f.backends[0].answered_503, 40);
  CHECK_NEAR(f.world.ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
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
  CHECK_EQ(f.world.stats.total.by_result[LBSIM_RESULT_CONNECT], 5);
  apply(&f, 0, LBSIM_ACTION_UP, 0);
  CHECK(tnet_run_until(&f.loop, listening, &f.backends[0].httpd, 10000));
  /* A second run on the same balancer: served again. */
  f.finished = false;
  f.runner.finished = f.runner.stopping = false;
  f.cfg.rounds = 2;
  lbsim_runner_start(&f.runner, cfx_on_finished);
  while (!f.finished)
    uv_run(&f.loop, UV_RUN_ONCE);
  CHECK_EQ(f.world.stats.total.ok, 5);
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
  CHECK_EQ(f.world.stats.total.by_result[LBSIM_RESULT_TIMEOUT], 3);
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
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 90);
  CHECK_EQ(s->total.failed, 0);
  CHECK(f.world.client.nconns <= 4);
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
  CHECK(f.world.client.pipelined >= 3 * 6);
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
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 24);
  CHECK_EQ(s->total.failed, 0);
  CHECK(f.world.client.pipelined > 0);
  CHECK(f.world.client.retries > 0);
  CHECK(f.world.client.nconns <= 2);
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
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 64);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.backends[0].answered_200, 64);
  CHECK(f.world.client.pipelined >= 4 * 7);
  CHECK(cfx_teardown(&f) == 0);
}
