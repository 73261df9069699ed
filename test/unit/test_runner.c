/* The traffic shapes (lbsim/balancer/runner.h) on the virtual clock, over a
 * transport that answers every request a fixed time after it is sent and
 * keeps a log of what it was sent and when: rounds of bursts and their
 * pauses, Poisson arrivals (--rate), a fixed number in flight
 * (--concurrency), the limits that end a run (--rounds, --requests,
 * --duration) and the reports of intervals. */
#include <math.h>
#include <stdio.h>

#include "cmdline.h"
#include "harness.h"
#include "lbsim/balancer/balancer.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/runner.h"
#include "lbsim/base/common.h"
#include "lbsim/report/report.h"
#include "lbsim/virtual/engine.h"

#define MS UINT64_C(1000000)
#define MAX_SENT 4096
#define MAX_BALANCERS 2

/* ---- a transport that answers after a fixed time ------------------------------- */

typedef struct sent_s {
  lbsim_request_t base;
  lbsim_timer_t answer;
  struct fixed_s *transport;
  bool done;
} sent_t;

typedef struct fixed_s {
  lbsim_transport_t base;
  lbsim_clock_t *clock;
  uint64_t service_ns;
  sent_t sent[MAX_SENT];   /* every request, in the order sent; never reused */
  uint32_t nsent;
  uint32_t in_flight, most_in_flight;
} fixed_t;

static lbsim_request_t *fixed_request(lbsim_transport_t *t) {
  fixed_t *f = (fixed_t *)t;
  return f->nsent < MAX_SENT ? &f->sent[f->nsent].base : NULL;
}

static void on_answer(lbsim_timer_t *timer, uint64_t now_ns) {
  sent_t *s = LBSIM_CONTAINER_OF(timer, sent_t, answer);
  s->done = true;
  s->transport->in_flight--;
  s->transport->base.on_done(s->transport->base.done_data, &s->base, LBSIM_RESULT_OK, now_ns, 1);
}

static void fixed_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  fixed_t *f = (fixed_t *)t;
  sent_t *s = LBSIM_CONTAINER_OF(req, sent_t, base);
  f->nsent++;
  s->transport = f;
  if (++f->in_flight > f->most_in_flight)
    f->most_in_flight = f->in_flight;
  lbsim_timer_init(&s->answer, LBSIM_ORDER_COMPLETION);
  lbsim_clock_set(f->clock, &s->answer, req->start_ns + f->service_ns, on_answer);
}

static void fixed_cancel(lbsim_transport_t *t) {
  (void)t; /* nothing waits to be sent */
}

static const lbsim_transport_ops_t fixed_ops = {
    .request = fixed_request, .submit = fixed_submit, .cancel_queued = fixed_cancel};

/* ---- a run ------------------------------------------------------------------------ */

typedef struct run_s {
  lbsim_config_t cfg;
  lbsim_engine_t engine;
  lbsim_report_t report;
  FILE *out;
  lbsim_fleet_t fleets[MAX_BALANCERS];
  fixed_t transports[MAX_BALANCERS]; /* one per fleet, its clients' */
  uint32_t nbalancers;
  lbsim_runner_t runner;
  lbsim_timer_t signal;    /* a SIGINT, as the driver passes it on */
  uint64_t finished_ns;
  int finished;
} run_t;

static const char *names[] = {"http://127.0.0.1:9001/ping", "http://127.0.0.1:9002/ping"};

static void on_finished(lbsim_runner_t *runner, uint64_t now_ns) {
  run_t *r = LBSIM_CONTAINER_OF(runner, run_t, runner);
  r->finished++;
  r->finished_ns = now_ns;
}

static void on_signal(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_stop(&LBSIM_CONTAINER_OF(timer, run_t, signal)->runner, now_ns);
}

/* Runs the command line `line` (two backends) with answers service_ms
 * after each request is sent, to the end; stopped at signal_ms when that
 * is above 0. */
static int run(run_t *r, const char *line, double service_ms, double signal_ms) {
  static run_t zero;
  *r = zero;
  char err[256], full[512];
  snprintf(full, sizeof(full), "--clock virtual --backends 2 --quiet %s", line);
  if (cmdline_parse_line(&r->cfg, err, sizeof(err), full) != LBSIM_PARSE_RUN) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: %s", full, err);
    return -1;
  }
  lbsim_engine_init(&r->engine, 0);
  r->out = tmpfile();
  REQUIRE(r->out != NULL);
  lbsim_report_init(&r->report, &r->cfg, 1, r->out, 0);
  r->nbalancers = r->cfg.compare ? r->cfg.npolicies : 1;
  REQUIRE(r->nbalancers <= MAX_BALANCERS);
  for (uint32_t w = 0; w < r->nbalancers; w++) {
    fixed_t *t = &r->transports[w];
    t->base.ops = &fixed_ops;
    t->clock = &r->engine.clock;
    t->service_ns = lbsim_ms_to_ns(service_ms);
    REQUIRE(lbsim_fleet_init(&r->fleets[w], &r->cfg, 1, w, names, 2, NULL) == 0);
    lbsim_fleet_attach(&r->fleets[w], &t->base, true);
  }
  REQUIRE(lbsim_runner_init(&r->runner, &r->engine.clock, &r->cfg, 1, r->fleets, r->nbalancers, NULL,
                            &r->report) == 0);
  lbsim_report_bind(&r->report, r->fleets, r->nbalancers, names, 2, NULL, 0);
  lbsim_report_start(&r->report, 0);
  lbsim_runner_start(&r->runner, 0, on_finished);
  lbsim_timer_init(&r->signal, LBSIM_ORDER_TRAFFIC);
  if (signal_ms > 0)
    lbsim_clock_set(&r->engine.clock, &r->signal, lbsim_ms_to_ns(signal_ms), on_signal);
  lbsim_engine_run(&r->engine);
  REQUIRE(r->finished == 1);
  REQUIRE(lbsim_runner_in_flight(&r->runner) == 0);
  return 0;
}

static void run_free(run_t *r) {
  lbsim_clock_cancel(&r->engine.clock, &r->signal);
  lbsim_runner_close(&r->runner);
  lbsim_runner_free(&r->runner);
  for (uint32_t w = 0; w < r->nbalancers; w++)
    lbsim_fleet_free(&r->fleets[w]);
  lbsim_report_free(&r->report);
  fclose(r->out);
  lbsim_engine_free(&r->engine);
  lbsim_config_free(&r->cfg);
}

/* ---- rounds ------------------------------------------------------------------------ */

TEST(rounds_are_bursts_at_one_instant_each_after_the_last_answer_and_the_pause) {
  run_t r;
  CHECK_EQ(run(&r, "--burst 4 --rounds 3 --sleep 0.5", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 12);
  /* Round k starts when round k-1's last answer is in (10 ms) plus the pause. */
  for (uint32_t i = 0; i < t->nsent; i++)
    CHECK_EQ(t->sent[i].base.start_ns, (i / 4) * 510 * MS);
  CHECK_EQ(t->most_in_flight, 4);
  CHECK_EQ(r.runner.round, 3);
  CHECK_EQ(r.finished_ns, 1030 * MS); /* no pause after the last round */
  run_free(&r);
}

TEST(requests_cut_the_last_burst_short) {
  run_t r;
  CHECK_EQ(run(&r, "--burst 4 --requests 10 --sleep 0", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 10);
  CHECK_EQ(t->sent[8].base.start_ns, 20 * MS);
  CHECK_EQ(t->sent[9].base.start_ns, 20 * MS);
  CHECK_EQ(r.runner.round, 3);
  CHECK_EQ(r.fleets[0].stats.total.ok, 10);
  run_free(&r);
}

TEST(every_balancer_of_a_comparison_gets_its_rounds_at_the_same_instants) {
  run_t r;
  CHECK_EQ(run(&r, "--compare round-robin,random --burst 3 --rounds 4 --sleep 0.1", 7, 0), 0);
  CHECK_EQ(r.transports[0].nsent, 12);
  CHECK_EQ(r.transports[1].nsent, 12);
  for (uint32_t i = 0; i < 12; i++)
    CHECK_EQ(r.transports[0].sent[i].base.start_ns, r.transports[1].sent[i].base.start_ns);
  CHECK_EQ(r.runner.round, 4);
  run_free(&r);
}

/* ---- arrivals ----------------------------------------------------------------------- */

TEST(rate_sends_poisson_arrivals_until_the_duration_and_reports_each_interval) {
  run_t r;
  CHECK_EQ(run(&r, "--rate 200 --duration 5 --interval 1", 3, 0), 0);
  const fixed_t *t = &r.transports[0];
  /* 1000 arrivals expected; a Poisson count is within 5 sigma (158) of it. */
  CHECK_MSG(t->nsent > 842 && t->nsent < 1158, "%u arrivals in 5 s at 200/s", t->nsent);
  double sum_gap = 0, sum_sq = 0;
  for (uint32_t i = 0; i < t->nsent; i++) {
    CHECK(t->sent[i].base.start_ns < 5000 * MS);
    if (i > 0) {
      double gap = (double)(t->sent[i].base.start_ns - t->sent[i - 1].base.start_ns) / (double)MS;
      CHECK(gap >= 0);
      sum_gap += gap;
      sum_sq += gap * gap;
    }
  }
  /* Exponential gaps: mean 5 ms, and a standard deviation as large as the mean. */
  double n = t->nsent - 1, mean = sum_gap / n, sd = sqrt(sum_sq / n - mean * mean);
  CHECK_MSG(mean > 4.25 && mean < 5.75, "mean gap %.3f ms", mean);
  CHECK_MSG(sd > 0.8 * mean && sd < 1.2 * mean, "gaps' deviation %.3f ms for a mean of %.3f", sd, mean);
  /* Five whole intervals; the answers drained after the last are in the fifth. */
  CHECK_EQ(r.runner.round, 5);
  CHECK_EQ(r.fleets[0].stats.total.ok, t->nsent);
  run_free(&r);
}

TEST(concurrency_keeps_that_many_in_flight_replacing_each_answer_at_once) {
  run_t r;
  CHECK_EQ(run(&r, "--concurrency 3 --requests 9", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 9);
  CHECK_EQ(t->most_in_flight, 3);
  for (uint32_t i = 0; i < 9; i++)
    CHECK_EQ(t->sent[i].base.start_ns, (i / 3) * 10 * MS);
  CHECK_EQ(r.finished_ns, 30 * MS);
  run_free(&r);
}

TEST(an_interval_cut_by_the_duration_is_reported_with_what_drained) {
  run_t r;
  CHECK_EQ(run(&r, "--concurrency 3 --duration 0.35 --interval 0.1", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  /* Launched at 0, 10, ... 340 ms: 35 instants of 3; the answers at 350 ms
   * find the time up and launch nothing more. */
  CHECK_EQ(t->nsent, 35 * 3);
  CHECK_EQ(t->sent[t->nsent - 1].base.start_ns, 340 * MS);
  CHECK_EQ(r.finished_ns, 350 * MS);
  CHECK_EQ(r.runner.round, 4); /* 0.1, 0.2, 0.3 and the partial one to 0.35 */
  run_free(&r);
}

/* ---- a signal ----------------------------------------------------------------------- */

TEST(a_signal_mid_round_lets_the_round_end_and_starts_no_other) {
  run_t r;
  CHECK_EQ(run(&r, "--burst 2 --rounds 100 --sleep 0.1", 10, 5), 0);
  CHECK_EQ(r.transports[0].nsent, 2);
  CHECK_EQ(r.finished_ns, 10 * MS); /* the round's answers still count */
  CHECK_EQ(r.runner.round, 1);
  CHECK_EQ(r.fleets[0].stats.total.ok, 2);
  run_free(&r);
}

TEST(a_signal_between_rounds_ends_the_run_at_once) {
  run_t r;
  CHECK_EQ(run(&r, "--burst 2 --rounds 100 --sleep 0.1", 10, 50), 0);
  CHECK_EQ(r.transports[0].nsent, 2);
  CHECK_EQ(r.finished_ns, 50 * MS);
  run_free(&r);
}

TEST(a_signal_stops_arrivals_and_the_run_ends_once_they_drained) {
  run_t r;
  CHECK_EQ(run(&r, "--rate 100 --duration 100 --interval 1", 30, 1000), 0);
  const fixed_t *t = &r.transports[0];
  CHECK(t->nsent > 0);
  CHECK(t->sent[t->nsent - 1].base.start_ns <= 1000 * MS);
  CHECK_EQ(r.finished_ns, t->sent[t->nsent - 1].base.start_ns + 30 * MS);
  CHECK_EQ(r.fleets[0].stats.total.ok, t->nsent);
  run_free(&r);
}

/* ---- fleets: the traffic shared by many clients -------------------------------------- */

/* Requests of client c among those sent. */
static uint32_t sent_by(const fixed_t *t, uint32_t c) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < t->nsent; i++)
    n += t->sent[i].base.client == c;
  return n;
}

TEST(a_fleets_burst_is_shared_out_and_its_clients_first_rounds_spread_over_the_pause) {
  run_t r;
  CHECK_EQ(run(&r, "--clients 3 --burst 10 --rounds 2 --sleep 0.3", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 20);
  /* 10 over 3 clients: 4, 3, 3, each round. */
  CHECK_EQ(sent_by(t, 0), 8);
  CHECK_EQ(sent_by(t, 1), 6);
  CHECK_EQ(sent_by(t, 2), 6);
  /* Client c's rounds start at c x 0.1 s, then after each answer and its pause. */
  for (uint32_t i = 0; i < t->nsent; i++) {
    const lbsim_request_t *q = &t->sent[i].base;
    uint64_t first = q->client * 100 * MS;
    CHECK_MSG(q->start_ns == first || q->start_ns == first + 310 * MS, "client %u sent at %.3f ms", q->client,
              (double)q->start_ns / (double)MS);
  }
  CHECK_EQ(r.fleets[0].clients[2].rounds, 2);
  CHECK_EQ(r.fleets[0].stats.total.ok, 20);
  /* No rounds in step: the run is summed up by interval. */
  CHECK(r.runner.round >= 1);
  run_free(&r);
}

TEST(a_fleets_concurrency_and_requests_are_shared_out_remainder_first) {
  run_t r;
  CHECK_EQ(run(&r, "--clients 4 --concurrency 10 --requests 22", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 22);
  /* 22 requests: 6, 6, 5, 5; 10 in flight: 3, 3, 2, 2. */
  CHECK_EQ(sent_by(t, 0), 6);
  CHECK_EQ(sent_by(t, 1), 6);
  CHECK_EQ(sent_by(t, 2), 5);
  CHECK_EQ(sent_by(t, 3), 5);
  uint32_t at_zero[4] = {0};
  for (uint32_t i = 0; i < t->nsent; i++)
    if (t->sent[i].base.start_ns == 0)
      at_zero[t->sent[i].base.client]++;
  CHECK_EQ(at_zero[0], 3);
  CHECK_EQ(at_zero[1], 3);
  CHECK_EQ(at_zero[2], 2);
  CHECK_EQ(at_zero[3], 2);
  CHECK_EQ(t->most_in_flight, 10);
  run_free(&r);
}

/* The fleet's arrivals are one Poisson process whose requests go to a
 * client drawn uniformly: each client's share is about a third here (a
 * binomial of 3000 draws, p = 1/3: sd 26). */
TEST(a_fleets_arrivals_go_to_clients_drawn_uniformly) {
  run_t r;
  CHECK_EQ(run(&r, "--clients 3 --rate 1000 --requests 3000", 1, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 3000);
  for (uint32_t c = 0; c < 3; c++)
    CHECK_MSG(sent_by(t, c) > 870 && sent_by(t, c) < 1130, "client %u sent %u of 3000", c, sent_by(t, c));
  run_free(&r);
}

TEST(a_comparisons_fleets_get_the_same_instants_client_by_client) {
  run_t r;
  CHECK_EQ(run(&r, "--compare round-robin,random --clients 5 --rate 500 --duration 1", 3, 0), 0);
  CHECK_EQ(r.transports[0].nsent, r.transports[1].nsent);
  for (uint32_t i = 0; i < r.transports[0].nsent; i++) {
    CHECK_EQ(r.transports[0].sent[i].base.start_ns, r.transports[1].sent[i].base.start_ns);
    CHECK_EQ(r.transports[0].sent[i].base.client, r.transports[1].sent[i].base.client);
  }
  run_free(&r);
}

/* --warmup: run, not counted; the intervals start when it ends. */
TEST(a_warmup_is_run_but_not_counted) {
  run_t r;
  CHECK_EQ(run(&r, "--concurrency 2 --duration 1 --warmup 0.3 --interval 0.1", 10, 0), 0);
  const fixed_t *t = &r.transports[0];
  CHECK_EQ(t->nsent, 2 * 100);                      /* sent all along: 0 to 990 ms */
  CHECK_EQ(r.fleets[0].stats.total.ok, 2 * 70);     /* counted: the answers from 300 ms on ... */
  CHECK_EQ(r.runner.count_from_ns, 300 * MS);
  CHECK_EQ(r.runner.round, 7);                      /* ... in intervals from 300 ms to 1 s */
  run_free(&r);
}
