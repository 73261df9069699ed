/* The tools around the pick (lbsim/balancer/tools.h) in whole runs on the
 * virtual clock, through the command line as `lbsim --clock virtual`
 * parses it: the counters' identities, retries that go elsewhere, the
 * deadline, the budget, the throttle, ejections, and a run stopped with
 * retries waiting in their backoff. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "harness.h"
#include "lbsim/balancer/tools.h"
#include "lbsim/virtual/vsim.h"

#define MS(x) ((uint64_t)((x) * 1000000.0 + 0.5))

typedef struct run_s {
  lbsim_config_t cfg;
  lbsim_vsim_t v;
  FILE *out;
  lbsim_timer_t stop;
} run_t;

static void on_stop(lbsim_timer_t *timer, uint64_t now_ns) {
  run_t *r = LBSIM_CONTAINER_OF(timer, run_t, stop);
  lbsim_runner_stop(&r->v.run.runner, now_ns);
}

/* Runs `args` on the virtual clock to its end; a signal at stop_ms (0: none). */
static int run(run_t *r, const char *args, double stop_ms) {
  memset(r, 0, sizeof(*r));
  char line[1024], err[512];
  snprintf(line, sizeof(line), "--clock virtual -q %s", args);
  if (cmdline_parse_line(&r->cfg, err, sizeof(err), line) != LBSIM_PARSE_RUN) {
    fprintf(stderr, "cannot parse '%s': %s\n", args, err);
    return -1;
  }
  r->out = tmpfile();
  REQUIRE(r->out != NULL);
  REQUIRE(lbsim_vsim_init(&r->v, &r->cfg, r->cfg.seed, r->out) == 0);
  lbsim_timer_init(&r->stop, LBSIM_ORDER_TRAFFIC);
  if (stop_ms > 0)
    lbsim_clock_set(&r->v.engine.clock, &r->stop, MS(stop_ms), on_stop);
  lbsim_vsim_execute(&r->v, NULL);
  REQUIRE(r->v.finished);
  return 0;
}

/* run() with `scenario` in a file of its own given as --scenario. */
static int run_scenario(run_t *r, const char *scenario, const char *args) {
  char path[] = "/tmp/lbsim-test-tools-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  size_t len = strlen(scenario);
  REQUIRE(write(fd, scenario, len) == (ssize_t)len);
  close(fd);
  char line[768];
  snprintf(line, sizeof(line), "%s --scenario %s", args, path);
  int rc = run(r, line, 0);
  unlink(path);
  return rc;
}

static void run_free(run_t *r) {
  lbsim_vsim_free(&r->v);
  lbsim_config_free(&r->cfg);
  fclose(r->out);
}

static const lbsim_stats_t *stats_of(const run_t *r) {
  return &r->v.run.fleets[0].stats;
}

/* The backends' counts are attempts'. */
static uint64_t attempts_by(const lbsim_stats_t *s, lbsim_result_t result) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < s->n; i++)
    n += result == LBSIM_RESULT_COUNT ? s->backend[i].requests : s->backend[i].by_result[result];
  return n;
}

static uint64_t attempts_failed(const lbsim_stats_t *s) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < s->n; i++)
    n += s->backend[i].failed;
  return n;
}

/* What every run must add up to (stats.h): user requests, their attempts,
 * what became of each failed attempt. 0, or the line of the first that
 * does not. */
static int identities(const run_t *r) {
  const lbsim_stats_t *s = stats_of(r);
  const lbsim_tally_t *t = &s->tally;
  const lbsim_counts_t *users = &s->total;
  if (users->requests != users->ok + users->failed)
    return __LINE__;
  if (t->users != users->requests) /* every user request started has ended */
    return __LINE__;
  if (t->attempts != t->users + t->retries)
    return __LINE__;
  if (attempts_by(s, LBSIM_RESULT_COUNT) != t->attempts) /* every attempt sent has ended */
    return __LINE__;
  if (users->failed != attempts_failed(s) - t->retries) /* a retried failure is not the user's */
    return __LINE__;
  if (users->ok != attempts_by(s, LBSIM_RESULT_OK))
    return __LINE__;
  /* With retries on, a failed attempt (not cancelled) is retried or says why not. */
  uint64_t ended_otherwise = t->retries + t->backoff_cancelled + t->exhausted + t->refused_budget +
                             t->refused_throttle + t->refused_deadline + t->not_retryable;
  if (r->cfg.retry.retries > 0 && attempts_failed(s) - attempts_by(s, LBSIM_RESULT_CANCELLED) != ended_otherwise)
    return __LINE__;
  if (r->v.run.fleets[0].in_flight != 0)
    return __LINE__;
  return 0;
}

#define CHECK_IDENTITIES(r)                                                                                        \
  do {                                                                                                             \
    int line_ = identities(r);                                                                                     \
    CHECK_MSG(line_ == 0, "the identity at test_tools.c:%d does not hold", line_);                                 \
  } while (0)

TEST(every_user_request_and_attempt_is_counted_and_adds_up) {
  run_t r;
  CHECK(run(&r, "-n 4 --latency 5 --drift-period 0 --rate 2000 --duration 5 --error-rate 0.3 --retries 2 "
                "--clients 3 --seed 3",
            0) == 0);
  CHECK_IDENTITIES(&r);
  const lbsim_tally_t *t = &stats_of(&r)->tally;
  CHECK(t->users > 9000 && t->retries > 2000 && t->exhausted > 100);
  /* 30 % fail: each user request fails its three attempts 2.7 % of the time. */
  CHECK_NEAR((double)t->exhausted / (double)t->users, 0.027, 0.006);
  CHECK_NEAR((double)t->attempts / (double)t->users, 1 + 0.3 + 0.09, 0.03);
  run_free(&r);
  /* Bursts in rounds, a budget and a deadline among them. */
  CHECK(run(&r, "-n 3 --latency 20:60 --drift-period 0 --burst 50 --rounds 40 --sleep 0.05 --error-rate 0.4 "
                "--retries 3 --retry-budget 30,1 --deadline 0.2 --timeout 0.05 --seed 4",
            0) == 0);
  CHECK_IDENTITIES(&r);
  t = &stats_of(&r)->tally;
  CHECK(t->refused_budget > 0 && t->refused_deadline + t->exhausted > 0);
  run_free(&r);
}

/* A retry goes to another backend: with one of two down from the start,
 * every user request gets through on its second attempt at worst. */
TEST(a_retry_goes_to_another_backend) {
  run_t r;
  CHECK(run_scenario(&r, "at 0s backend 1 down\n",
                     "-n 2 --latency 5 --drift-period 0 --rate 500 --duration 4 --retries 1 --policy round-robin "
                     "--seed 5") == 0);
  const lbsim_stats_t *s = stats_of(&r);
  CHECK_IDENTITIES(&r);
  CHECK_EQ(s->total.failed, 0);
  CHECK(s->backend[0].by_result[LBSIM_RESULT_CONNECT] > 900);
  CHECK_EQ(s->backend[1].requests, s->tally.users); /* every user request once, first or second */
  run_free(&r);
}

/* --deadline bounds the user request over its attempts; --timeout each. */
TEST(a_deadline_bounds_the_user_request) {
  run_t r;
  CHECK(run(&r, "-n 2 --latency 40 --drift-period 0 --rate 200 --duration 3 --timeout 0.03 --retries 5 "
                "--retry-backoff 0 --deadline 0.075 --seed 6",
            0) == 0);
  const lbsim_stats_t *s = stats_of(&r);
  CHECK_IDENTITIES(&r);
  CHECK_EQ(s->total.ok, 0);
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_TIMEOUT], s->total.requests);
  /* 30 + 30 + 15 ms: the third attempt is cut at the deadline, and none follows. */
  CHECK_EQ(s->tally.retries, 2 * s->tally.users);
  CHECK_EQ(s->tally.refused_deadline, s->tally.users);
  CHECK_NEAR(lbsim_counts_quantile_ms(&s->backend[0], 0.5), 0, 0); /* no answer: no latency */
  run_free(&r);
  /* Without retries a deadline below the timeout is the attempt's. */
  CHECK(run(&r, "-n 1 --latency 40 --drift-period 0 --rate 100 --duration 2 --deadline 0.02 --seed 6", 0) == 0);
  CHECK_EQ(stats_of(&r)->total.by_result[LBSIM_RESULT_TIMEOUT], stats_of(&r)->total.requests);
  CHECK_EQ(stats_of(&r)->tally.attempts, stats_of(&r)->tally.users);
  run_free(&r);
}

/* Finagle's budget: retries at most PCT % of the requests over 10 s. */
TEST(a_budget_caps_the_retries) {
  run_t r;
  CHECK(run(&r, "-n 2 --latency 5 --drift-period 0 --rate 1000 --duration 8 --error-rate 1 --retries 3 "
                "--retry-budget 20,0 --seed 7",
            0) == 0);
  const lbsim_tally_t *t = &stats_of(&r)->tally;
  CHECK_IDENTITIES(&r);
  CHECK_NEAR((double)t->retries / (double)t->users, 0.20, 0.005);
  CHECK(t->refused_budget > 0);
  run_free(&r);
  /* Its reserve: MIN a second, 10 s worth at once, earned by no request. */
  CHECK(run(&r, "-n 2 --latency 5 --drift-period 0 --rate 1000 --duration 8 --error-rate 1 --retries 3 "
                "--retry-budget 0,10 --seed 7",
            0) == 0);
  CHECK_EQ(stats_of(&r)->tally.retries, 100);
  run_free(&r);
}

/* gRPC's throttle: from 10 tokens, 5 failures and no retry until successes
 * bring it back above 5. */
TEST(a_throttle_stops_retrying_a_failing_fleet) {
  run_t r;
  CHECK(run(&r, "-n 2 --latency 5 --drift-period 0 --rate 1000 --duration 3 --error-rate 1 --retries 3 "
                "--retry-throttle 10,0.1 --clients 2 --seed 8",
            0) == 0);
  const lbsim_tally_t *t = &stats_of(&r)->tally;
  CHECK_IDENTITIES(&r);
  CHECK_EQ(t->retries, 2 * 4); /* each client's first four failures */
  CHECK_EQ(t->refused_throttle, t->users); /* the retried ones too, at their second failure */
  run_free(&r);
}

/* Ejection: a backend that fails is left out of the picks until it
 * returns, as events, with the tally counting them. */
TEST(a_failing_backend_is_ejected_and_returns) {
  run_t r;
  CHECK(run_scenario(&r, "at 0s backend 3 error-rate 1\n"
                          "at 5s backend 3 error-rate 0\n",
                     "-n 5 --latency 5 --drift-period 0 --rate 500 --duration 12 --policy round-robin "
                     "--outlier-ejection --outlier-interval 1 --outlier-base-ejection-time 2 --seed 9") == 0);
  const lbsim_stats_t *s = stats_of(&r);
  CHECK_IDENTITIES(&r);
  /* Ejected after 5 failures for 2 s, back at the sweep of 3 s, 5 more
   * failures, 4 s, back at 8 s: 10 failures in all instead of a fifth of
   * the 2,500 requests of its first 5 s. */
  CHECK(s->tally.ejections >= 2 && s->tally.ejections <= 3);
  CHECK_EQ(s->tally.returns, s->tally.ejections);
  CHECK(s->backend[2].failed >= 10 && s->backend[2].failed <= 15);
  CHECK(s->backend[2].ok > 300); /* in service again from 8 s */
  run_free(&r);
}

/* A backend that goes down resets what it holds; a request on a connection
 * that had carried another goes again by itself (the keep-alive race): the
 * tally's resent, not an attempt. */
TEST(the_transparent_retry_of_a_keep_alive_race_is_counted_apart) {
  run_t r;
  CHECK(run_scenario(&r, "at 1s backend 2 down\nat 1.5s backend 2 up\n",
                     "-n 2 --latency 50 --drift-period 0 --rate 400 --duration 3 --retries 1 --policy round-robin "
                     "--seed 12") == 0);
  const lbsim_stats_t *s = stats_of(&r);
  CHECK_IDENTITIES(&r);
  CHECK(s->tally.resent > 0);
  CHECK(s->tally.retries > 0);
  CHECK_EQ(s->total.failed, 0); /* what the outage ended was retried on the other */
  run_free(&r);
}

/* A signal with retries waiting in their backoff: they end as cancelled,
 * and nothing is lost. */
TEST(a_run_stopped_mid_backoff_loses_nothing) {
  run_t r;
  CHECK(run(&r, "-n 3 --latency 5 --drift-period 0 --rate 3000 --duration 20 --error-rate 0.5 --retries 3 "
                "--retry-backoff 200 --retry-backoff-max 2000 --seed 10 --clients 4",
            1500) == 0);
  const lbsim_stats_t *s = stats_of(&r);
  CHECK_IDENTITIES(&r);
  /* Those waiting end as cancelled; those failing afterwards are not retried. */
  CHECK(s->total.by_result[LBSIM_RESULT_CANCELLED] > 100);
  CHECK(s->tally.backoff_cancelled >= s->total.by_result[LBSIM_RESULT_CANCELLED]);
  CHECK(r.v.run.runner.end_ns < MS(1600));
  run_free(&r);
  /* Bursts in step, stopped mid-round. */
  CHECK(run(&r, "-n 3 --latency 5 --drift-period 0 --burst 200 --rounds 10 --error-rate 0.5 --retries 3 "
                "--retry-backoff 300 --seed 11",
            100) == 0);
  CHECK_IDENTITIES(&r);
  CHECK(stats_of(&r)->tally.backoff_cancelled > 0);
  run_free(&r);
}
