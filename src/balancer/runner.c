/* Traffic shapes and the run. See lbsim/balancer/runner.h. */
#include "lbsim/balancer/runner.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"

static void round_start(lbsim_runner_t *r, uint64_t now_ns);

static double since_start_s(const lbsim_runner_t *r, uint64_t now_ns) {
  return (double)(now_ns - r->start_ns) / LBSIM_NS_PER_S;
}

/* The first instant, counted from the start, at which since_start_s reaches
 * --duration: the same verdict as the division, found once (the quotient
 * grows with the time, so a binary search finds where it gets there). */
static uint64_t duration_ns(double duration_s) {
  uint64_t lo = 0, hi = UINT64_MAX;
  if (!((double)hi / LBSIM_NS_PER_S >= duration_s))
    return UINT64_MAX;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((double)mid / LBSIM_NS_PER_S >= duration_s)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* --duration, or the longest run when there is none. */
static bool time_up(const lbsim_runner_t *r, uint64_t now_ns) {
  return now_ns - r->start_ns >= r->duration_ns;
}

uint64_t lbsim_runner_in_flight(const lbsim_runner_t *r) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < r->nbalancers; i++)
    n += r->balancers[i].in_flight;
  return n;
}

/* ---- the visual report ---------------------------------------------------- */

static bool reporting(const lbsim_runner_t *r) {
  return r->cfg->report_path[0] != '\0' && r->timeline.nbalancers > 0;
}

/* The truth and every balancer's estimates now. */
static void record_sample(lbsim_runner_t *r, uint64_t now_ns, bool keep) {
  lbsim_timeline_t *tl = &r->timeline;
  int at = lbsim_timeline_sample(tl, since_start_s(r, now_ns), keep);
  if (at < 0)
    return;
  float *truth = lbsim_timeline_true(tl, (uint32_t)at);
  float *cost = lbsim_timeline_cost(tl, (uint32_t)at);
  for (uint32_t i = 0; i < tl->n; i++) {
    truth[i] = r->oracle ? (float)lbsim_oracle_true_ms(r->oracle, i, now_ns) : NAN;
    cost[i] = r->oracle ? (float)lbsim_oracle_cost_ms(r->oracle, i, now_ns) : NAN;
  }
  for (uint32_t w = 0; w < r->nbalancers; w++) {
    const lbsim_balancer_t *b = &r->balancers[w];
    float *ema = lbsim_timeline_ema(tl, (uint32_t)at, w);
    for (uint32_t i = 0; i < tl->n; i++)
      ema[i] = b->ema.measured[i] ? (float)b->ema.value_ms[i] : NAN;
  }
}

static void on_sample(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(timer, lbsim_runner_t, sample);
  record_sample(r, now_ns, false);
  /* Every LBSIM_SAMPLE_MS of the run's clock; a late wake-up skips ahead. */
  uint64_t period = lbsim_ms_to_ns(LBSIM_SAMPLE_MS);
  uint64_t next = timer->due_ns + period;
  lbsim_clock_set(r->clock, timer, next > now_ns ? next : now_ns + period, on_sample);
}

/* The round or interval just summarised: what each balancer sent where, and
 * how many of its answers failed. */
static void record_block(lbsim_runner_t *r, uint64_t now_ns) {
  lbsim_timeline_t *tl = &r->timeline;
  int at = lbsim_timeline_block(tl, since_start_s(r, now_ns));
  if (at < 0)
    return;
  for (uint32_t w = 0; w < r->nbalancers; w++) {
    const lbsim_stats_t *s = &r->balancers[w].stats;
    uint32_t *picks = lbsim_timeline_picks(tl, (uint32_t)at, w);
    for (uint32_t i = 0; i < tl->n; i++)
      picks[i] += (uint32_t)s->round_picks[i];
    tl->answered[(size_t)at * r->nbalancers + w] += (uint32_t)s->round.requests;
    tl->failed[(size_t)at * r->nbalancers + w] += (uint32_t)s->round.failed;
  }
}

typedef struct report_args_s {
  const lbsim_runner_t *runner;
  const char *const *policies;
  const char *title;
} report_args_t;

static int draw_report(FILE *out, const void *arg) {
  const report_args_t *a = arg;
  return lbsim_svg_write(out, &a->runner->timeline, a->runner->balancers[0].names, a->policies, a->title);
}

static void write_report(lbsim_runner_t *r) {
  const char *path = r->cfg->report_path;
  const char *policies[LBSIM_MAX_POLICIES];
  for (uint32_t w = 0; w < r->nbalancers; w++)
    policies[w] = r->balancers[w].policy_name;
  char title[160];
  snprintf(title, sizeof(title), "lbsim: %u backends, %s%s, seed %llu", r->balancers[0].n,
           r->nbalancers > 1 ? "compare " : "policy ", r->nbalancers > 1 ? "mode" : policies[0],
           (unsigned long long)r->seed);
  report_args_t args = {r, policies, title};
  int err = lbsim_file_commit(&r->report_file, draw_report, &args);
  if (err != 0) {
    lbsim_log_error("cannot write the report %s: %s", path, lbsim_strerror(err));
    r->report_failed = true;
  } else {
    lbsim_log("report written to %s", path);
  }
}

static bool counts_reached(const lbsim_runner_t *r);

static void cancel_timers(lbsim_runner_t *r) {
  lbsim_clock_cancel(r->clock, &r->pause);
  lbsim_clock_cancel(r->clock, &r->interval);
  lbsim_clock_cancel(r->clock, &r->arrival);
  lbsim_clock_cancel(r->clock, &r->sample);
}

static void finish(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->finished)
    return;
  r->finished = true;
  if (r->end_ns == 0)
    r->end_ns = now_ns;
  cancel_timers(r);
  if (r->cfg->duration_s == 0 && !r->stopping && time_up(r, r->end_ns) && !counts_reached(r)) {
    char max[40];
    r->out_of_time = true;
    lbsim_log_error("the run reached %s s, the longest a run may last: it ends there",
                    lbsim_number_text(LBSIM_RUN_MAX_S, max, sizeof(max)));
  }
  lbsim_report_run(r->report, since_start_s(r, r->end_ns), r->end_ns);
  if (r->cfg->report_path[0] != '\0') {
    if (reporting(r) && r->started)
      record_sample(r, now_ns, true); /* the truth as the run ends */
    write_report(r);
  }
  if (r->on_finished)
    r->on_finished(r, now_ns);
}

/* Requests a balancer may still launch under --requests. */
static uint64_t requests_left(const lbsim_runner_t *r, const lbsim_balancer_t *b) {
  uint64_t limit = r->cfg->requests;
  if (limit == 0)
    return UINT64_MAX;
  return b->stats.launched < limit ? limit - b->stats.launched : 0;
}

/* Rounds (or intervals) done, or requests spent? */
static bool counts_reached(const lbsim_runner_t *r) {
  const lbsim_config_t *cfg = r->cfg;
  if (cfg->rounds > 0 && r->round >= cfg->rounds)
    return true;
  bool all_spent = cfg->requests > 0;
  for (uint32_t i = 0; i < r->nbalancers && all_spent; i++)
    all_spent = requests_left(r, &r->balancers[i]) == 0;
  return all_spent;
}

/* Rounds, intervals, requests or time used up? */
static bool limits_reached(const lbsim_runner_t *r, uint64_t now_ns) {
  return counts_reached(r) || time_up(r, now_ns);
}

static void report_block(lbsim_runner_t *r, uint64_t now_ns) {
  r->round++;
  lbsim_report_round(r->report, r->round, now_ns);
  if (reporting(r))
    record_block(r, now_ns);
}

/* ---- bursts ------------------------------------------------------------- */

static void on_pause_done(lbsim_timer_t *timer, uint64_t now_ns) {
  round_start(LBSIM_CONTAINER_OF(timer, lbsim_runner_t, pause), now_ns);
}

static void on_balancer_round_done(lbsim_balancer_t *b, uint64_t now_ns) {
  lbsim_runner_t *r = b->data;
  if (--r->busy > 0)
    return;
  /* Every balancer is done with this round: report it side by side. */
  r->end_ns = now_ns;
  report_block(r, now_ns);
  if (r->stopping || limits_reached(r, now_ns)) {
    finish(r, now_ns);
    return;
  }
  lbsim_clock_set(r->clock, &r->pause, now_ns + lbsim_ms_to_ns(r->cfg->sleep_s * 1000.0), on_pause_done);
}

static void round_start(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->stopping || limits_reached(r, now_ns)) {
    finish(r, now_ns);
    return;
  }
  r->busy = r->nbalancers;
  /* Launch order rotates so that no balancer always goes first. */
  for (uint32_t k = 0; k < r->nbalancers; k++) {
    lbsim_balancer_t *b = &r->balancers[(k + r->round) % r->nbalancers];
    uint64_t left = requests_left(r, b);
    lbsim_balancer_round(b, left < r->cfg->burst ? (uint32_t)left : r->cfg->burst, now_ns);
  }
}

/* ---- open and closed loops ---------------------------------------------- */

static void maybe_finish_drained(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->launching_stopped && !r->finished && lbsim_runner_in_flight(r) == 0) {
    r->end_ns = now_ns;
    /* The last, partial interval is reported too when anything ended in
     * it: the answers (and failures) of the requests drained. */
    uint64_t ended = 0;
    for (uint32_t i = 0; i < r->nbalancers; i++)
      ended += r->balancers[i].stats.round.requests;
    if (ended > 0)
      report_block(r, now_ns);
    finish(r, now_ns);
  }
}

static void stop_launching(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->launching_stopped)
    return;
  r->launching_stopped = true;
  lbsim_clock_cancel(r->clock, &r->arrival);
  for (uint32_t i = 0; i < r->nbalancers; i++)
    lbsim_balancer_cancel_queued(&r->balancers[i]);
  maybe_finish_drained(r, now_ns);
}

static void on_arrival(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(timer, lbsim_runner_t, arrival);
  if (limits_reached(r, now_ns) || r->launching_stopped) {
    stop_launching(r, now_ns);
    return;
  }
  /* One arrival is one request in every balancer, at the same instant. */
  for (uint32_t i = 0; i < r->nbalancers; i++)
    lbsim_balancer_launch(&r->balancers[i], now_ns);
  /* The next instant follows the process, not the wake-up: no drift. */
  uint64_t next = timer->due_ns + lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate));
  lbsim_clock_set(r->clock, &r->arrival, next, on_arrival);
}

static void on_balancer_requests_done(lbsim_balancer_t *b, uint32_t count, uint64_t now_ns) {
  lbsim_runner_t *r = b->data;
  for (uint32_t k = 0; k < count; k++) {
    if (r->cfg->shape == LBSIM_SHAPE_CONCURRENCY && !r->launching_stopped) {
      /* Closed loop: each answer launches the next request. */
      bool over = time_up(r, now_ns);
      if (!over && requests_left(r, b) > 0) {
        lbsim_balancer_launch(b, now_ns);
        continue;
      }
      /* This balancer is done; the run is once every one of them is. */
      bool everyone = true;
      for (uint32_t i = 0; i < r->nbalancers; i++)
        everyone = everyone && requests_left(r, &r->balancers[i]) == 0;
      if (over || everyone)
        stop_launching(r, now_ns);
    }
    maybe_finish_drained(r, now_ns);
    if (r->cfg->shape != LBSIM_SHAPE_CONCURRENCY || r->launching_stopped)
      break; /* the other answers would only repeat that check */
  }
}

/* A closed loop replaces each request as it ends; one that could not be
 * launched at all (out of memory) is tried again here, at each interval, or
 * the loop would be left short, or with nothing in flight and no end. */
static void top_up(lbsim_runner_t *r, uint64_t now_ns) {
  for (uint32_t i = 0; i < r->nbalancers; i++) {
    lbsim_balancer_t *b = &r->balancers[i];
    while (b->in_flight < r->cfg->concurrency && requests_left(r, b) > 0) {
      uint64_t launched = b->stats.launched;
      lbsim_balancer_launch(b, now_ns);
      if (b->stats.launched == launched)
        break;
    }
  }
}

static void on_interval(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(timer, lbsim_runner_t, interval);
  r->end_ns = now_ns;
  report_block(r, now_ns);
  for (uint32_t i = 0; i < r->nbalancers; i++)
    lbsim_stats_new_round(&r->balancers[i].stats);
  if (limits_reached(r, now_ns)) {
    stop_launching(r, now_ns);
    return;
  }
  if (r->cfg->shape == LBSIM_SHAPE_CONCURRENCY && !r->launching_stopped)
    top_up(r, now_ns);
  if (!r->finished)
    lbsim_clock_set(r->clock, &r->interval, timer->due_ns + lbsim_ms_to_ns(r->cfg->interval_s * 1000.0),
                    on_interval);
}

/* ---- public ------------------------------------------------------------- */

int lbsim_runner_init(lbsim_runner_t *r, lbsim_clock_t *clock, const lbsim_config_t *cfg, uint64_t seed,
                       lbsim_balancer_t *balancers, uint32_t nbalancers, lbsim_oracle_t *oracle,
                       lbsim_report_t *report) {
  memset(r, 0, sizeof(*r));
  r->clock = clock;
  r->cfg = cfg;
  r->seed = seed;
  r->balancers = balancers;
  r->nbalancers = nbalancers;
  r->oracle = oracle;
  r->report = report;
  lbsim_timer_init(&r->pause, LBSIM_ORDER_TRAFFIC);
  lbsim_timer_init(&r->arrival, LBSIM_ORDER_TRAFFIC);
  lbsim_timer_init(&r->interval, LBSIM_ORDER_REPORT);
  lbsim_timer_init(&r->sample, LBSIM_ORDER_REPORT);
  lbsim_rng_init(&r->arrivals, seed, LBSIM_STREAM_ARRIVALS);
  for (uint32_t i = 0; i < nbalancers; i++) {
    balancers[i].data = r;
    balancers[i].on_round_done = on_balancer_round_done;
    balancers[i].on_requests_done = on_balancer_requests_done;
  }
  if (cfg->report_path[0] != '\0' && nbalancers > 0) {
    if (lbsim_timeline_init(&r->timeline, nbalancers, balancers[0].n) != 0)
      return LBSIM_ENOMEM;
    /* Before the run: a report that cannot be written is known now. */
    return lbsim_file_open(&r->report_file, cfg->report_path);
  }
  return 0;
}

void lbsim_runner_start(lbsim_runner_t *r, uint64_t now_ns, lbsim_runner_cb on_finished) {
  r->on_finished = on_finished;
  r->started = true;
  r->start_ns = now_ns;
  r->duration_ns = duration_ns(r->cfg->duration_s > 0 ? r->cfg->duration_s : LBSIM_RUN_MAX_S);
  if (reporting(r)) {
    record_sample(r, now_ns, true);
    lbsim_clock_set(r->clock, &r->sample, now_ns + lbsim_ms_to_ns(LBSIM_SAMPLE_MS), on_sample);
  }
  switch (r->cfg->shape) {
  case LBSIM_SHAPE_BURST:
    round_start(r, now_ns);
    return;
  case LBSIM_SHAPE_RATE:
    lbsim_clock_set(r->clock, &r->arrival,
                    now_ns + lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate)), on_arrival);
    break;
  case LBSIM_SHAPE_CONCURRENCY:
    for (uint32_t i = 0; i < r->nbalancers; i++)
      for (uint32_t k = 0; k < r->cfg->concurrency && requests_left(r, &r->balancers[i]) > 0; k++)
        lbsim_balancer_launch(&r->balancers[i], now_ns);
    break;
  }
  if (!r->finished)
    lbsim_clock_set(r->clock, &r->interval, now_ns + lbsim_ms_to_ns(r->cfg->interval_s * 1000.0), on_interval);
}

void lbsim_runner_stop(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->stopping || r->finished)
    return;
  r->stopping = true;
  if (!r->started) {
    finish(r, now_ns);
    return;
  }
  if (r->cfg->shape != LBSIM_SHAPE_BURST) {
    lbsim_clock_cancel(r->clock, &r->interval);
    stop_launching(r, now_ns);
    return;
  }
  if (r->busy == 0) {
    finish(r, now_ns); /* between rounds */
    return;
  }
  /* Mid-round: what has not been sent is cancelled now; the rest ends by its
   * deadline, and the round's last completion ends the run. */
  for (uint32_t i = 0; i < r->nbalancers; i++)
    lbsim_balancer_cancel_queued(&r->balancers[i]);
}

void lbsim_runner_close(lbsim_runner_t *r) {
  if (r->clock)
    cancel_timers(r);
  for (uint32_t i = 0; i < r->nbalancers; i++)
    lbsim_balancer_detach(&r->balancers[i]);
}

void lbsim_runner_free(lbsim_runner_t *r) {
  lbsim_file_abandon(&r->report_file); /* not written: the run did not end */
  lbsim_timeline_free(&r->timeline);
}
