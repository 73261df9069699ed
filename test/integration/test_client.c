/* The balancer end to end on one loop: backends (or misbehaving servers) on
 * port 0, one balancer, the runner, output captured in a temporary file. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "fakeserver.h"
#include "harness.h"
#include "lbsim/backend.h"
#include "lbsim/runner.h"
#include "rawclient.h"

#define MAXB 8

typedef struct fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;
  lbsim_model_t models[MAXB];
  lbsim_backend_t backends[MAXB];
  uint32_t nbackends;
  lbsim_url_t urls[MAXB];
  uint32_t nurls;
  lbsim_traffic_t world;
  lbsim_runner_t runner;
  FILE *out;
  bool finished;
  double elapsed_s;
  uint32_t max_connections;   /* the client's cap over all backends */
} fixture_t;

static void noop_close(uv_handle_t *h) {
  (void)h;
}

static int setup(fixture_t *f) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
  f->cfg.sleep_s = 0;
  f->cfg.seed = 1;
  f->cfg.timeout_s = 2;
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->out = tmpfile();
  REQUIRE(f->out != NULL);
  return 0;
}

static int add_url(fixture_t *f, uint16_t port) {
  char text[64], why[128];
  snprintf(text, sizeof(text), "http://127.0.0.1:%u/ping", port);
  REQUIRE(lbsim_url_parse(&f->urls[f->nurls++], text, why, sizeof(why)) == 0);
  return 0;
}

static int add_backend(fixture_t *f, double latency_ms) {
  uint32_t i = f->nbackends++;
  lbsim_model_init(&f->models[i], &f->loop, &f->cfg, 1, i);
  f->models[i].latency.latency_ms = latency_ms;
  REQUIRE(lbsim_backend_start(&f->backends[i], &f->loop, &f->sched, &f->models[i], &f->cfg, 0, 1) == 0);
  return add_url(f, f->backends[i].port);
}

static void on_finished(lbsim_runner_t *r) {
  fixture_t *f = LBSIM_CONTAINER_OF(r, fixture_t, runner);
  f->finished = true;
}

static void on_runner_closed(lbsim_runner_t *r) {
  (void)r;
}

/* Runs the balancer to the end of its rounds. */
static int run(fixture_t *f) {
  REQUIRE(lbsim_traffic_init(&f->world, &f->loop, &f->sched, &f->cfg, f->cfg.seed, 0, f->urls, f->nurls, NULL,
                               f->max_connections) == 0);
  for (uint32_t i = 0; i < f->nurls; i++) {
    struct sockaddr_in a;
    uv_ip4_addr(f->urls[i].host, f->urls[i].port, &a);
    lbsim_traffic_set_address(&f->world, i, (struct sockaddr *)&a);
  }
  lbsim_runner_init(&f->runner, &f->loop, &f->sched, &f->cfg, f->cfg.seed, &f->world, 1, NULL, f->out);
  uint64_t t0 = uv_hrtime();
  lbsim_runner_start(&f->runner, on_finished);
  while (!f->finished)
    uv_run(&f->loop, UV_RUN_ONCE);
  f->elapsed_s = (double)(uv_hrtime() - t0) / 1e9;
  return 0;
}

static int teardown(fixture_t *f) {
  lbsim_runner_close(&f->runner, on_runner_closed);
  for (uint32_t i = 0; i < f->nbackends; i++) {
    lbsim_backend_close(&f->backends[i], NULL);
    lbsim_model_close(&f->models[i], noop_close);
  }
  for (int i = 0; i < 50; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  lbsim_sched_close(&f->sched, NULL);
  int ok = close_loop(&f->loop);
  lbsim_traffic_free(&f->world);
  fclose(f->out);
  return ok;
}

/* The requests= column of every round block, in order. */
static int read_blocks(fixture_t *f, uint64_t picks[][MAXB], int max_rounds) {
  rewind(f->out);
  char line[512];
  int round = -1;
  uint32_t i = 0;
  while (fgets(line, sizeof(line), f->out)) {
    if (strncmp(line, "=== Traffic Round ", 18) == 0) {
      round++;
      i = 0;
      continue;
    }
    const char *p = strstr(line, ", requests=");
    if (round >= 0 && round < max_rounds && p && strstr(line, ": avg=") && i < MAXB)
      picks[round][i++] = strtoull(p + 11, NULL, 10);
    if (strncmp(line, "=== Run Summary ===", 19) == 0)
      break;
  }
  return round + 1;
}

TEST(the_fastest_backend_gets_the_traffic) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 6;
  CHECK(add_backend(&f, 5) == 0);
  CHECK(add_backend(&f, 20) == 0);
  CHECK(add_backend(&f, 50) == 0);
  CHECK(run(&f) == 0);
  uint64_t picks[6][MAXB] = {{0}};
  CHECK_EQ(read_blocks(&f, picks, 6), 6);
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
  CHECK(teardown(&f) == 0);
}

TEST(a_refused_backend_is_counted_and_left) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 5;
  CHECK(add_url(&f, refused_port()) == 0);
  CHECK(add_backend(&f, 5) == 0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK(s->backend[0].failed > 0);
  CHECK_EQ(s->backend[0].ok, 0);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_CONNECT], s->backend[0].failed);
  CHECK_NEAR(f.world.ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
  uint64_t picks[5][MAXB] = {{0}};
  CHECK_EQ(read_blocks(&f, picks, 5), 5);
  CHECK(picks[0][0] >= 85); /* round 1: unmeasured, first in order, it looked best */
  for (int r = 2; r < 5; r++)
    CHECK_MSG(picks[r][0] <= 12, "round %d still sent %llu to the dead backend", r + 1,
              (unsigned long long)picks[r][0]);
  CHECK_EQ(s->total.ok + s->total.failed, s->launched);
  CHECK(teardown(&f) == 0);
}

TEST(a_silent_server_fails_by_timeout_in_time) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 4;
  f.cfg.timeout_s = 0.3;
  fake_server_t silent;
  fake_behavior_t b = {.reply = NULL};
  CHECK(fake_server_start(&silent, &f.loop, &b) == 0);
  CHECK(add_url(&f, silent.port) == 0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_TIMEOUT], 4);
  CHECK(f.elapsed_s >= 0.29);
  CHECK_TIME(f.elapsed_s <= 0.5, "the round took %.3f s", f.elapsed_s);
  fake_server_stop(&silent);
  CHECK(teardown(&f) == 0);
}

TEST(a_keep_alive_race_is_retried_not_failed) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 3;
  f.cfg.burst = 1;
  /* Answers one request per connection, then closes when the next arrives:
   * what a server whose keep-alive timeout just expired does. */
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  fake_server_t once;
  fake_behavior_t b = {.reply = reply, .answer_first = 1};
  CHECK(fake_server_start(&once, &f.loop, &b) == 0);
  CHECK(add_url(&f, once.port) == 0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 3);
  CHECK_EQ(s->total.failed, 0);
  CHECK_EQ(f.world.client.retries, 2);
  CHECK_EQ(once.accepted, 3);
  fake_server_stop(&once);
  CHECK(teardown(&f) == 0);
}

TEST(a_small_pool_queues_and_still_counts_everything) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 50;
  f.cfg.pool_size = 4;
  f.cfg.explore = 0;
  CHECK(add_backend(&f, 10) == 0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 100);
  CHECK(f.backends[0].httpd.accepted <= 4);
  /* 50 requests through 4 connections at 10 ms: at least 13 waves. */
  CHECK_MSG(lbsim_counts_quantile_ms(&s->total, 0.99) >= 120, "p99 %.1f ms",
            lbsim_counts_quantile_ms(&s->total, 0.99));
  CHECK(teardown(&f) == 0);
}

/* Applies an event to backend i and brings its copy in line, as the
 * simulation does. */
static void apply(fixture_t *f, uint32_t i, lbsim_action_t action, double value) {
  lbsim_event_t ev = {.backend = (int32_t)i, .action = action, .value = value, .slow_start_factor = 1};
  lbsim_model_apply(&f->models[i], &ev, uv_hrtime());
  lbsim_backend_sync(&f->backends[i], uv_hrtime());
}

TEST(capacity_turns_a_burst_into_waves) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.explore = 0;
  CHECK(add_backend(&f, 50) == 0);
  apply(&f, 0, LBSIM_ACTION_CAPACITY, 10);
  CHECK(run(&f) == 0);
  const lbsim_hist_t *h = &f.world.stats.total.latency;
  CHECK_EQ(h->count, 100);
  /* Ten waves of ten, 50 ms apart: each wave lands in its own 50 ms slot
   * (half a slot of slack for the client's own work, sanitizers included). */
  for (int wave = 1; wave <= 10; wave++) {
    uint64_t upto = lbsim_hist_count_le(h, (wave * 50 + 25) * 1000.0);
    CHECK_TIME(upto == (uint64_t)wave * 10, "by %d ms: %llu answers", wave * 50 + 25, (unsigned long long)upto);
  }
  CHECK(teardown(&f) == 0);
}

TEST(an_error_rate_answers_503) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 2;
  f.cfg.burst = 20;
  CHECK(add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_ERROR_RATE, 1.0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_STATUS], 40);
  CHECK_EQ(f.backends[0].answered_503, 40);
  CHECK_NEAR(f.world.ema.value_ms[0], f.cfg.failure_latency_ms, 1e-6);
  CHECK(teardown(&f) == 0);
}

TEST(an_outage_refuses_and_recovery_serves_again) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 5;
  CHECK(add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_DOWN, 0);
  run_for(&f.loop, 20); /* the listener closes */
  CHECK(run(&f) == 0);
  CHECK_EQ(f.world.stats.total.by_result[LBSIM_RESULT_CONNECT], 5);
  apply(&f, 0, LBSIM_ACTION_UP, 0);
  run_for(&f.loop, 20);
  /* A second run on the same balancer: served again. */
  f.finished = false;
  f.runner.finished = f.runner.stopping = false;
  f.cfg.rounds = 2;
  lbsim_runner_start(&f.runner, on_finished);
  while (!f.finished)
    uv_run(&f.loop, UV_RUN_ONCE);
  CHECK_EQ(f.world.stats.total.ok, 5);
  CHECK(teardown(&f) == 0);
}

TEST(a_stalled_backend_is_a_timeout) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 1;
  f.cfg.burst = 3;
  f.cfg.timeout_s = 0.2;
  CHECK(add_backend(&f, 2) == 0);
  apply(&f, 0, LBSIM_ACTION_STALL, 0);
  CHECK(run(&f) == 0);
  CHECK_EQ(f.world.stats.total.by_result[LBSIM_RESULT_TIMEOUT], 3);
  CHECK_TIME(f.elapsed_s < 0.5, "took %.3f s", f.elapsed_s);
  CHECK(teardown(&f) == 0);
}

TEST(a_cap_on_all_connections_queues_and_moves_connections) {
  fixture_t f;
  CHECK(setup(&f) == 0);
  f.cfg.rounds = 3;
  f.cfg.burst = 30;
  f.cfg.policies[0][0] = '\0';
  strcpy(f.cfg.policies[0], "round-robin");
  f.max_connections = 4;
  CHECK(add_backend(&f, 5) == 0);
  CHECK(add_backend(&f, 5) == 0);
  CHECK(add_backend(&f, 5) == 0);
  CHECK(run(&f) == 0);
  const lbsim_stats_t *s = &f.world.stats;
  CHECK_EQ(s->total.ok, 90);
  CHECK(f.world.client.nconns <= 4);
  /* Each backend got connections, so some were closed to make room. */
  uint64_t accepted = 0;
  for (int i = 0; i < 3; i++) {
    CHECK(f.backends[i].httpd.accepted >= 1);
    accepted += f.backends[i].httpd.accepted;
  }
  CHECK(accepted >= 4);
  /* 30 requests through 4 connections at 5 ms: at least 8 waves. */
  CHECK_MSG(lbsim_counts_quantile_ms(&s->total, 1.0) >= 40, "max %.1f ms", lbsim_counts_quantile_ms(&s->total, 1.0));
  CHECK(teardown(&f) == 0);
}
