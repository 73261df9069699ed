/* Whole runs on the virtual clock (lbsim/virtual/vsim.h), through the same
 * command-line parsing, models, balancers, runner and reports as
 * `lbsim --clock virtual`, with the output in a temporary file. Every
 * expected figure is computed by hand: request counts, latencies to the
 * microsecond, the instants of drift steps and scripted changes, when a
 * run ends. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "cmdline.h"
#include "harness.h"
#include "lbsim/base/rng.h"
#include "lbsim/virtual/vsim.h"

#define MS(x) ((uint64_t)((x) * 1000000.0 + 0.5))
#define MAX_CHANGES 256

typedef struct change_log_s {
  uint64_t at_ns[MAX_CHANGES];
  uint32_t backend[MAX_CHANGES];
  lbsim_origin_t origin[MAX_CHANGES];
  lbsim_action_t action[MAX_CHANGES];
  uint32_t n;
  lbsim_farm_change_cb next;
} change_log_t;

typedef struct run_s {
  lbsim_config_t cfg;
  lbsim_vsim_t v;
  FILE *out;
  char *text;                 /* what it printed */
  change_log_t changes;
} run_t;

static change_log_t *current_log;

/* Sees every change of a model, then passes it on to the simulation. */
static void on_change(lbsim_farm_t *farm, lbsim_model_t *model, const lbsim_event_t *ev, double old,
                      uint64_t now_ns) {
  change_log_t *log = current_log;
  if (log->n < MAX_CHANGES) {
    log->at_ns[log->n] = now_ns;
    log->backend[log->n] = model->index;
    log->origin[log->n] = ev->origin;
    log->action[log->n] = ev->action;
    log->n++;
  }
  log->next(farm, model, ev, old, now_ns);
}

/* Parses `args` (words separated by spaces) as the command line, runs it
 * on the virtual clock to the end, keeps the output. */
static int run(run_t *r, const char *args) {
  memset(r, 0, sizeof(*r));
  char line[512], err[256];
  snprintf(line, sizeof(line), "--clock virtual %s", args);
  lbsim_parse_result_t parsed = cmdline_parse_line(&r->cfg, err, sizeof(err), line);
  if (parsed != LBSIM_PARSE_RUN) {
    fprintf(stderr, "cannot parse '%s': %s\n", args, err);
    return -1;
  }
  r->out = tmpfile();
  REQUIRE(r->out != NULL);
  REQUIRE(lbsim_vsim_init(&r->v, &r->cfg, r->cfg.seed, r->out) == 0);
  r->changes.next = r->v.run.farm.on_change;
  r->v.run.farm.on_change = on_change;
  current_log = &r->changes;
  lbsim_vsim_execute(&r->v, NULL);
  REQUIRE(r->v.finished);
  REQUIRE(!r->v.engine.stuck);
  REQUIRE(fflush(r->out) == 0);
  long len = ftell(r->out);
  REQUIRE(len > 0);
  r->text = calloc(1, (size_t)len + 1);
  rewind(r->out);
  REQUIRE(fread(r->text, 1, (size_t)len, r->out) == (size_t)len);
  return 0;
}

static void run_free(run_t *r) {
  lbsim_vsim_free(&r->v);
  lbsim_config_free(&r->cfg);
  if (r->out)
    fclose(r->out);
  free(r->text);
}

static uint32_t occurrences(const char *text, const char *what) {
  uint32_t n = 0;
  for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
    n++;
  return n;
}

static const lbsim_stats_t *stats_of(const run_t *r, uint32_t policy) {
  return &r->v.run.fleets[policy].stats;
}

/* 1 backend serving 10 at once at 50 ms, a burst of 35, no network delay
 * (so none that varies): waves of 10, 10, 10 and 5 answers at 50, 100, 150
 * and 200 ms. Counts, minimum, maximum and every quantile are those of
 * exactly these latencies, and the round ends with the last wave. */
TEST(capacity_waves_match_the_hand_computed_latencies) {
  run_t r;
  CHECK(run(&r, "-n 1 --capacity 10 --latency 50 --drift-period 0 --burst 35 --rounds 1 --net-delay 0 "
                "--seed 1 -q") == 0);
  const lbsim_counts_t *c = &stats_of(&r, 0)->backend[0];
  CHECK_EQ(c->requests, 35);
  CHECK_EQ(c->ok, 35);
  CHECK_EQ(c->latency.count, 35);
  CHECK_EQ(c->latency.min_us, 50000);
  CHECK_EQ(c->latency.max_us, 200000);
  lbsim_hist_t want;
  lbsim_hist_init(&want);
  lbsim_hist_record_n(&want, 50000, 10);
  lbsim_hist_record_n(&want, 100000, 10);
  lbsim_hist_record_n(&want, 150000, 10);
  lbsim_hist_record_n(&want, 200000, 5);
  static const double qs[] = {0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};
  for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
    CHECK_NEAR(lbsim_hist_quantile(&c->latency, qs[k]), lbsim_hist_quantile(&want, qs[k]), 0);
  CHECK_NEAR(lbsim_hist_mean(&c->latency), (10 * 50000 + 10 * 100000 + 10 * 150000 + 5 * 200000) / 35.0, 1e-6);
  for (uint64_t us = 50000; us <= 201000; us += 100)
    CHECK_EQ(lbsim_hist_count_le(&c->latency, (double)us), lbsim_hist_count_le(&want, (double)us));
  lbsim_hist_free(&want);
  CHECK_EQ(r.v.run.runner.end_ns - r.v.run.runner.start_ns, MS(200));
  CHECK(strstr(r.text, "http://127.0.0.1:5001/ping: avg=") != NULL);
  CHECK(strstr(r.text, "requests=35 ok=35 failed=0 elapsed=0.20 s") != NULL);
  CHECK_EQ(r.v.engine.events, 4); /* the four waves; the round starts with the run */
  run_free(&r);
}

/* Requests sent one by one meet a network that varies: 0.1 ms out, 0 to
 * 0.2 ms back. A round's burst is one instant and does not vary. */
TEST(the_network_varies_for_requests_sent_one_by_one_not_for_bursts) {
  run_t r;
  CHECK(run(&r, "-n 3 --latency 20 --drift-period 0 --rate 200 --duration 2 --policy round-robin --net-delay 0.2 "
                "--seed 1 -q") == 0);
  const lbsim_counts_t *c = &stats_of(&r, 0)->total;
  CHECK(c->ok > 300);
  CHECK(c->latency.min_us >= 20100 && c->latency.min_us < 20150);
  CHECK(c->latency.max_us > 20250 && c->latency.max_us <= 20300);
  run_free(&r);
  CHECK(run(&r, "-n 3 --latency 20 --drift-period 0 --burst 50 --rounds 4 --sleep 0.1 --policy round-robin "
                "--net-delay 0.2 --seed 1 -q") == 0);
  c = &stats_of(&r, 0)->total;
  CHECK_EQ(c->ok, 200);
  CHECK_EQ(c->latency.min_us, 20200);
  CHECK_EQ(c->latency.max_us, 20200);
  run_free(&r);
}

/* Answers later than --timeout end as timeouts exactly at the deadline: two
 * rounds of 10 on 300 ms backends with a 250 ms deadline, 100 ms apart. */
TEST(timeouts_end_each_round_at_the_deadline) {
  run_t r;
  CHECK(run(&r, "-n 2 --latency 300 --drift-period 0 --burst 10 --rounds 2 --sleep 0.1 --timeout 0.25 --seed 3 -q") ==
        0);
  const lbsim_stats_t *s = stats_of(&r, 0);
  CHECK_EQ(s->total.requests, 20);
  CHECK_EQ(s->total.ok, 0);
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_TIMEOUT], 20);
  CHECK_EQ(r.v.run.runner.end_ns - r.v.run.runner.start_ns, MS(250 + 100 + 250));
  CHECK(strstr(r.text, "failures: connect=0 reset=0 timeout=20 bad_response=0 status=0 cancelled=0") != NULL);
  run_free(&r);
}

/* Drift steps come at exact multiples of the period, every backend in
 * order at each step. */
TEST(drift_steps_come_at_exact_multiples_of_the_period) {
  run_t r;
  CHECK(run(&r, "-n 3 --drift-period 0.3 --rounds 12 --sleep 0.1 --latency 20:60 --burst 5 --seed 9 -q") == 0);
  CHECK(r.changes.n >= 9);
  CHECK_EQ(r.changes.n % 3, 0);
  for (uint32_t k = 0; k < r.changes.n; k++) {
    CHECK_EQ(r.changes.origin[k], LBSIM_ORIGIN_DRIFT);
    CHECK_EQ(r.changes.backend[k], k % 3);
    CHECK_EQ(r.changes.at_ns[k], MS(300) * (k / 3 + 1));
  }
  CHECK(r.changes.at_ns[r.changes.n - 1] <= r.v.run.runner.end_ns);
  run_free(&r);
}

static char *write_scenario(const char *text) {
  static char path[64];
  snprintf(path, sizeof(path), "/tmp/lbsim-test-vsim-%ld.txt", (long)getpid());
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return NULL;
  fputs(text, f);
  fclose(f);
  return path;
}

/* Scripted changes happen at their times, scaled by --time-scale, to the
 * nanosecond; at the instant of a change, requests launched then already
 * see it (a change runs before traffic due at the same instant). */
TEST(scenario_changes_happen_at_their_scaled_times_before_traffic) {
  char *path = write_scenario("at 0s all latency 100ms\n"
                              "at 0.6s backend 2 down\n"
                              "at 1.2s backend 2 up\n"
                              "at 1.5s backend 1 latency 300ms\n");
  CHECK(path != NULL);
  char args[256];
  snprintf(args, sizeof(args),
           "-n 2 --drift-period 0 --policy round-robin --burst 4 --rounds 8 --sleep 0.2 --net-delay 0 "
           "--time-scale 0.5 --seed 2 -q --scenario %s",
           path);
  run_t r;
  CHECK(run(&r, args) == 0);
  unlink(path);
  CHECK_EQ(r.changes.n, 5);
  CHECK_EQ(r.changes.at_ns[0], 0);
  CHECK_EQ(r.changes.at_ns[2], MS(300));
  CHECK_EQ(r.changes.action[2], LBSIM_ACTION_DOWN);
  CHECK_EQ(r.changes.at_ns[3], MS(600));
  CHECK_EQ(r.changes.at_ns[4], MS(750));
  /* Rounds start every 300 ms (100 ms of latency, 200 of sleep): the one at
   * 300 ms finds backend 2 down and its two requests to it are refused at
   * once; the one at 600 ms finds it up. */
  const lbsim_stats_t *s = stats_of(&r, 0);
  CHECK_EQ(s->total.requests, 32);
  CHECK_EQ(s->backend[1].by_result[LBSIM_RESULT_CONNECT], 2);
  CHECK_EQ(s->total.failed, 2);
  run_free(&r);
}

/* Faults in virtual time, counted: an outage mid-flight, a stall, a
 * recovery with slow start, an error rate. Three backends at 100 ms, one
 * request to each per round (round-robin), no pause, a 350 ms deadline. */
TEST(faults_end_requests_as_the_model_says) {
  char *path = write_scenario("at 0.05s backend 1 down\n"
                              "at 0.5s backend 1 up slow-start 1s x3\n"
                              "at 0.05s backend 2 stall\n"
                              "at 0.4s backend 2 resume\n");
  CHECK(path != NULL);
  char args[256];
  snprintf(args, sizeof(args),
           "-n 3 --latency 100 --drift-period 0 --policy round-robin --burst 3 --rounds 4 --sleep 0 --net-delay 0 "
           "--timeout 0.35 --error-rate 0.5 --seed 4 -q --scenario %s",
           path);
  run_t r;
  CHECK(run(&r, args) == 0);
  unlink(path);
  const lbsim_stats_t *s = stats_of(&r, 0);
  /* Round 1 at 0: backend 1 is reset at 50 ms (a new connection); backend
   * 2 was served before its stall and answers at 100 ms. Round 2 at 100 ms:
   * backend 1 refuses; backend 2 is stalled and times out at 450 ms.
   * Round 3 at 450 ms: backend 1 still refuses, backend 2 answers again.
   * Round 4 at 550 ms: backend 1 is back since 500 ms, slowed down 3x at
   * first, 2.9x now: 290 ms, the end of the run. */
  CHECK_EQ(s->total.requests, 12);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_RESET], 1);
  CHECK_EQ(s->backend[0].by_result[LBSIM_RESULT_CONNECT], 2);
  CHECK_EQ(s->backend[1].by_result[LBSIM_RESULT_TIMEOUT], 1);
  CHECK_EQ(r.v.run.runner.end_ns, MS(550 + 290));
  /* The answers fail with 503 as each backend's error stream draws: a
   * request draws when it is served (a stalled backend serves nothing). */
  static const uint32_t first[3] = {2, 1, 1}, last[3] = {2, 3, 4};
  uint64_t want = 0;
  for (uint32_t i = 0; i < 3; i++) {
    lbsim_rng_t rng;
    lbsim_rng_init(&rng, 4, LBSIM_STREAM_ERRORS + i);
    for (uint32_t k = 1; k <= last[i]; k++) {
      bool failed = lbsim_rng_double(&rng) < 0.5;
      want += k >= first[i] && failed;
    }
  }
  CHECK_EQ(s->total.by_result[LBSIM_RESULT_STATUS], want);
  CHECK_EQ(s->total.ok + s->total.failed, 12);
  CHECK_EQ(s->total.ok, 12 - 4 - want);
  run_free(&r);
}

/* --requests: exactly that many per balancer, in every traffic shape;
 * --rounds: exactly that many blocks. */
TEST(requests_and_rounds_end_the_run_exactly) {
  static const char *const shapes[] = {
      "--burst 30 --sleep 0.1",
      "--rate 2000",
      "--concurrency 7",
  };
  for (size_t k = 0; k < 3; k++) {
    char args[256];
    snprintf(args, sizeof(args), "-n 4 --latency 10:40 --jitter exp:5 --requests 100 --seed 6 -q %s", shapes[k]);
    run_t r;
    CHECK(run(&r, args) == 0);
    CHECK_EQ(stats_of(&r, 0)->launched, 100);
    CHECK_EQ(stats_of(&r, 0)->total.requests, 100);
    if (k == 0)
      CHECK_EQ(occurrences(r.text, "=== Traffic Round "), 4); /* 30, 30, 30, 10 */
    run_free(&r);
  }
  run_t r;
  CHECK(run(&r, "-n 4 --latency 10:40 --rounds 7 --sleep 0 --seed 6 -q") == 0);
  CHECK_EQ(occurrences(r.text, "=== Traffic Round "), 7);
  CHECK_EQ(stats_of(&r, 0)->launched, 700);
  run_free(&r);
  CHECK(run(&r, "-n 4 --latency 10:40 --rate 500 --interval 0.25 --rounds 6 --seed 6 -q") == 0);
  /* six intervals, and the answers that came after the last one */
  CHECK_EQ(occurrences(r.text, "=== Traffic Interval "), 7);
  CHECK_EQ(r.v.run.runner.round, 7);
  run_free(&r);
}

/* --duration: no round starts at or after it. 100 ms rounds, 250 ms apart:
 * rounds start at 0, 350 and 700 ms; the next would at 1050 ms. */
TEST(duration_starts_no_round_after_it) {
  run_t r;
  CHECK(run(&r, "-n 2 --latency 100 --drift-period 0 --burst 10 --sleep 0.25 --duration 1 --net-delay 0 --seed 1 -q") ==
        0);
  CHECK_EQ(occurrences(r.text, "=== Traffic Round "), 3);
  CHECK_EQ(r.v.run.runner.end_ns, MS(800));
  run_free(&r);
  CHECK(run(&r, "-n 2 --latency 100 --drift-period 0 --rate 100 --duration 2 --seed 1 -q") == 0);
  const lbsim_stats_t *s = stats_of(&r, 0);
  CHECK(s->launched > 150 && s->launched < 250);
  CHECK_EQ(s->total.requests, s->launched);
  CHECK(r.v.run.runner.end_ns <= MS(2000 + 100.1));
  CHECK(r.v.run.runner.end_ns > MS(2000));
  run_free(&r);
}

/* A closed loop with jitter, and answers that overtake one another: every
 * request ends once (this once reused a batch still in the heap). */
TEST(a_closed_loop_with_jitter_runs_to_the_end) {
  run_t r;
  CHECK(run(&r, "--replay tower --time-scale 0.01 --seed 1") == 0);
  for (uint32_t w = 0; w < r.v.run.nfleets; w++) {
    CHECK_EQ(stats_of(&r, w)->launched, 500);
    CHECK_EQ(stats_of(&r, w)->total.requests, 500);
    CHECK_EQ(stats_of(&r, w)->total.ok, 500);
  }
  CHECK_EQ(r.v.nets[0].in_flight, 0);
  run_free(&r);
}

/* The same options twice: the same bytes, in every traffic shape. */
TEST(the_same_options_print_the_same_bytes) {
  static const char *const configs[] = {
      "--rounds 5 --sleep 0.3 --seed 12 -q",
      "--compare ema-greedy,p2c-peak-ewma,ema-softmax --rounds 4 --capacity 20 --jitter lognormal:0.3 --seed 5 -q",
      "--rate 800 --duration 3 --policy p2c-peak-ewma --error-rate 0.1 --format json --seed 8 -q",
      "--replay linkerd --time-scale 0.02 --seed 3 -q",
  };
  for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++) {
    run_t a, b;
    CHECK(run(&a, configs[k]) == 0);
    CHECK(run(&b, configs[k]) == 0);
    CHECK(strlen(a.text) > 200);
    CHECK_MSG(strcmp(a.text, b.text) == 0, "'%s' printed different output twice", configs[k]);
    CHECK_EQ(a.v.engine.events, b.v.engine.events);
    run_free(&a);
    run_free(&b);
  }
}

/* ---- fleets ------------------------------------------------------------------------------- */

/* Ten clients of the seed's policy without exploration on three backends
 * of fixed, different latencies: once every client has measured the three,
 * each sends everything to the fastest. The last interval's herd is the
 * whole fleet, and the load sits on one backend of three (imbalance 3). */
TEST(a_greedy_fleet_herds_onto_the_fastest_backend) {
  run_t r;
  CHECK(run(&r, "--seed 3 -n 3 --latency 10:100 --drift-period 0 --clients 10 --explore 0 --rate 500 "
                "--duration 3 --interval 1") == 0);
  const lbsim_fleet_measures_t *m = &r.v.run.fleets[0].measures;
  CHECK_NEAR(m->herd, 1.0, 1e-12);
  CHECK_NEAR(m->imbalance, 3.0, 1e-9);
  CHECK_EQ(m->clients_heard, 10);
  CHECK_NEAR(m->success.min, 100.0, 1e-12);
  CHECK_NEAR(m->clients.mean, 10.0, 1e-12); /* no subsets: every client uses every backend */
  CHECK(strstr(r.text, "=== Fleet Interval 3 Summary (ema-greedy, 10 clients, t=3.") != NULL);
  CHECK(strstr(r.text, "backends: imbalance=3.00 herd=100.0%") != NULL);
  CHECK(strstr(r.text, "fleet: policy=ema-greedy clients=10 subset=all imbalance=") != NULL);
  run_free(&r);
}

/* Random picks on backends alike spread the load evenly, and no client's
 * last picks agree with more than a few others'. */
TEST(a_random_fleet_spreads_its_load) {
  run_t r;
  CHECK(run(&r, "--seed 4 -n 4 --latency 20 --drift-period 0 --clients 100 --policy random --rate 4000 "
                "--duration 4 --interval 2") == 0);
  const lbsim_fleet_measures_t *m = &r.v.run.fleets[0].measures;
  CHECK_MSG(m->imbalance > 1.0 && m->imbalance < 1.3, "imbalance %.3f", m->imbalance);
  /* 100 last picks over 4 backends: at most some 40 on the busiest. */
  CHECK_MSG(m->herd > 0.25 && m->herd < 0.40, "herd %.3f", m->herd);
  /* Every request in flight holds a connection; idle ones stay a while. */
  CHECK(m->conns.min >= 1 && m->conns.max >= m->conns.min);
  run_free(&r);
}

/* Subsets: each client talks to its K backends only, and the clients per
 * backend are what the subsets say. */
TEST(a_fleet_with_subsets_sends_each_client_to_its_own_backends) {
  run_t r;
  CHECK(run(&r, "--seed 5 -n 12 --latency 5 --drift-period 0 --clients 8 --subset 3 --subset-mode deterministic "
                "--policy random --concurrency 16 --duration 1") == 0);
  const lbsim_fleet_t *f = &r.v.run.fleets[0];
  CHECK_EQ(f->subset_size, 3);
  /* Rounds of 4 clients: 2 whole rounds, each backend in 2 subsets. */
  CHECK_NEAR(f->measures.clients.min, 2.0, 1e-12);
  CHECK_NEAR(f->measures.clients.max, 2.0, 1e-12);
  for (uint32_t c = 0; c < f->nclients; c++) {
    const lbsim_balancer_t *b = &f->clients[c];
    CHECK_EQ(b->n, 3);
    CHECK(b->launched > 0);
  }
  /* Every backend got traffic, from exactly the clients that hold it. */
  for (uint32_t i = 0; i < 12; i++)
    CHECK(f->stats.backend[i].requests > 0);
  CHECK(strstr(r.text, "subset=3 (deterministic)") != NULL);
  run_free(&r);
}

/* A fleet of one client prints exactly what the seed's balancer did. */
TEST(a_fleet_of_one_client_prints_the_seeds_blocks) {
  run_t one, plain;
  CHECK(run(&one, "--seed 6 --rounds 5 --sleep 0.2 --clients 1") == 0);
  CHECK(run(&plain, "--seed 6 --rounds 5 --sleep 0.2") == 0);
  CHECK(strcmp(one.text, plain.text) == 0);
  CHECK(strstr(one.text, "=== Traffic Round 5 Summary ===") != NULL);
  CHECK(strstr(one.text, "fleet:") == NULL);
  run_free(&one);
  run_free(&plain);
}
