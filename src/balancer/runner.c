/* Traffic shapes and the run. See lbsim/balancer/runner.h. */
#include "lbsim/balancer/runner.h"

#include <errno.h>
#include <string.h>

#include "lbsim/balancer/tools.h"
#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"

static void round_start(lbsim_runner_t *r, uint64_t now_ns);
static void client_round(lbsim_runner_t *r, lbsim_balancer_t *b, uint64_t now_ns);

static double since_s(uint64_t from_ns, uint64_t now_ns) {
  return (double)(now_ns - from_ns) / LBSIM_NS_PER_S;
}

/* The first instant, counted from the start, at which since_s reaches
 * `seconds`: the same verdict as the division, found once (the quotient
 * grows with the time, so a binary search finds where it gets there). */
static uint64_t seconds_ns(double seconds) {
  uint64_t lo = 0, hi = UINT64_MAX;
  if (!((double)hi / LBSIM_NS_PER_S >= seconds))
    return UINT64_MAX;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((double)mid / LBSIM_NS_PER_S >= seconds)
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
  for (uint32_t w = 0; w < r->nfleets; w++)
    n += lbsim_fleet_in_flight(&r->fleets[w]);
  return n;
}

/* Client c of every fleet, for each of them. */
#define FOR_EACH_CLIENT(r, b)                                                                                      \
  for (uint32_t w_ = 0; w_ < (r)->nfleets; w_++)                                                                  \
    for (lbsim_balancer_t *b = (r)->fleets[w_].clients; b < (r)->fleets[w_].clients + (r)->fleets[w_].nclients; b++)

static void cancel_timers(lbsim_runner_t *r) {
  lbsim_clock_cancel(r->clock, &r->pause);
  lbsim_clock_cancel(r->clock, &r->interval);
  lbsim_clock_cancel(r->clock, &r->arrival);
  lbsim_clock_cancel(r->clock, &r->warmup);
  if (!r->lockstep)
    FOR_EACH_CLIENT(r, b)
      lbsim_clock_cancel(r->clock, &b->pause);
  for (uint32_t w = 0; w < r->nfleets; w++)
    if (r->fleets[w].tools != NULL)
      lbsim_fleet_tools_stop(r->fleets[w].tools);
  lbsim_timeline_stop(&r->timeline);
}

/* What the transports sent again by themselves since the last block. */
static void tally_resent(lbsim_fleet_t *f) {
  uint64_t now = lbsim_fleet_resent(f), seen = f->stats.tally.resent + f->resent_before;
  if (now > seen)
    LBSIM_TALLY(&f->stats, resent, now - seen);
}

static bool counts_reached(const lbsim_runner_t *r);

static void finish(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->finished)
    return;
  r->finished = true;
  if (r->end_ns == 0)
    r->end_ns = now_ns;
  cancel_timers(r);
  for (uint32_t w = 0; w < r->nfleets; w++)
    if (r->fleets[w].tools != NULL)
      tally_resent(&r->fleets[w]);
  if (r->cfg->duration_s == 0 && !r->stopping && time_up(r, r->end_ns) && !counts_reached(r)) {
    char max[40];
    r->out_of_time = true;
    lbsim_log_error("the run reached %s s, the longest a run may last: it ends there",
                    lbsim_number_text(LBSIM_RUN_MAX_S, max, sizeof(max)));
  }
  uint64_t from = r->end_ns > r->count_from_ns ? r->count_from_ns : r->end_ns;
  lbsim_report_run(r->report, since_s(from, r->end_ns), r->end_ns);
  if (r->cfg->report_path[0] != '\0' && lbsim_timeline_finish(&r->timeline, now_ns, r->cfg, r->seed) != 0)
    r->report_failed = true;
  if (r->on_finished)
    r->on_finished(r, now_ns);
}

/* Requests a client may still launch under --requests (its share). */
static uint64_t requests_left(const lbsim_runner_t *r, const lbsim_balancer_t *b) {
  if (r->cfg->requests == 0)
    return UINT64_MAX;
  uint64_t limit = lbsim_fleet_share(r->cfg->requests, r->nclients, b->client);
  return b->launched < limit ? limit - b->launched : 0;
}

static bool all_spent(const lbsim_runner_t *r) {
  if (r->cfg->requests == 0)
    return false;
  FOR_EACH_CLIENT(r, b)
    if (requests_left(r, b) > 0)
      return false;
  return true;
}

/* Rounds in step, intervals (--rounds counts them with --rate and
 * --concurrency, however many clients) or requests used up? A fleet's
 * clients out of step count their own rounds (client_done). */
static bool counts_reached(const lbsim_runner_t *r) {
  bool intervals = r->cfg->shape != LBSIM_SHAPE_BURST;
  if ((r->lockstep || intervals) && r->cfg->rounds > 0 && r->round >= r->cfg->rounds)
    return true;
  return all_spent(r);
}

/* Rounds (in step), requests or time used up? */
static bool limits_reached(const lbsim_runner_t *r, uint64_t now_ns) {
  return counts_reached(r) || time_up(r, now_ns);
}

/* A round or interval ended: reported once --warmup is over. The fleets'
 * measures of an interval are taken here. */
static void report_block(lbsim_runner_t *r, uint64_t now_ns) {
  if (!r->counting)
    return;
  r->round++;
  for (uint32_t w = 0; w < r->nfleets; w++)
    if (r->fleets[w].tools != NULL)
      tally_resent(&r->fleets[w]);
  for (uint32_t w = 0; w < r->nfleets; w++)
    lbsim_fleet_measure(&r->fleets[w], now_ns, &r->fleets[w].measures);
  lbsim_report_round(r->report, r->round, now_ns);
  lbsim_timeline_round(&r->timeline, now_ns);
}

/* ---- bursts, the fleets' rounds in step ---------------------------------- */

/* When the pause after a round ends: after --sleep, or when the run's time
 * is up if that comes first: no round starts after it, and the run would
 * otherwise go on for nothing but drift steps (a day of them, with
 * --sleep 86400). */
static uint64_t pause_end(const lbsim_runner_t *r, uint64_t now_ns) {
  uint64_t next = now_ns + lbsim_ms_to_ns(r->cfg->sleep_s * 1000.0);
  uint64_t up = r->duration_ns > UINT64_MAX - r->start_ns ? UINT64_MAX : r->start_ns + r->duration_ns;
  return next < up ? next : up > now_ns ? up : now_ns;
}

static void on_pause_done(lbsim_timer_t *timer, uint64_t now_ns) {
  round_start(LBSIM_CONTAINER_OF(timer, lbsim_runner_t, pause), now_ns);
}

static void on_lockstep_round_done(lbsim_runner_t *r, uint64_t now_ns) {
  if (--r->busy > 0)
    return;
  /* Every fleet is done with this round: report it side by side. */
  r->end_ns = now_ns;
  report_block(r, now_ns);
  if (r->stopping || limits_reached(r, now_ns)) {
    finish(r, now_ns);
    return;
  }
  lbsim_clock_set(r->clock, &r->pause, pause_end(r, now_ns), on_pause_done);
}

static void round_start(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->stopping || limits_reached(r, now_ns)) {
    finish(r, now_ns);
    return;
  }
  r->busy = r->nfleets;
  /* Launch order rotates so that no fleet always goes first. */
  for (uint32_t k = 0; k < r->nfleets; k++) {
    lbsim_balancer_t *b = &r->fleets[(k + r->round) % r->nfleets].clients[0];
    uint64_t left = requests_left(r, b);
    lbsim_balancer_round(b, left < r->cfg->burst ? (uint32_t)left : r->cfg->burst, now_ns);
  }
}

/* ---- bursts, each client's own rounds ------------------------------------ */

static void maybe_finish_drained(lbsim_runner_t *r, uint64_t now_ns);

static uint32_t burst_of(const lbsim_runner_t *r, const lbsim_balancer_t *b) {
  uint64_t share = lbsim_fleet_share(r->cfg->burst, r->nclients, b->client);
  uint64_t left = requests_left(r, b);
  return (uint32_t)(left < share ? left : share);
}

/* A client's rounds are over: its rounds, its requests or the time used
 * up, or a signal. */
static bool client_done(const lbsim_runner_t *r, const lbsim_balancer_t *b, uint64_t now_ns) {
  return r->stopping || r->launching_stopped || (r->cfg->rounds > 0 && b->rounds >= r->cfg->rounds) ||
         burst_of(r, b) == 0 || time_up(r, now_ns);
}

static void client_stops(lbsim_runner_t *r, uint64_t now_ns) {
  if (--r->bursting == 0) {
    r->launching_stopped = true;
    maybe_finish_drained(r, now_ns);
  }
}

static void on_client_pause_done(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_balancer_t *b = LBSIM_CONTAINER_OF(timer, lbsim_balancer_t, pause);
  client_round(b->data, b, now_ns);
}

static void client_round(lbsim_runner_t *r, lbsim_balancer_t *b, uint64_t now_ns) {
  if (client_done(r, b, now_ns)) {
    client_stops(r, now_ns);
    return;
  }
  lbsim_balancer_round(b, burst_of(r, b), now_ns);
}

static void on_client_round_done(lbsim_runner_t *r, lbsim_balancer_t *b, uint64_t now_ns) {
  if (r->counting)
    b->rounds++;
  if (client_done(r, b, now_ns)) {
    client_stops(r, now_ns);
    return;
  }
  lbsim_clock_set(r->clock, &b->pause, pause_end(r, now_ns), on_client_pause_done);
}

static void on_balancer_round_done(lbsim_balancer_t *b, uint64_t now_ns) {
  lbsim_runner_t *r = b->data;
  if (r->lockstep)
    on_lockstep_round_done(r, now_ns);
  else
    on_client_round_done(r, b, now_ns);
}

/* ---- open and closed loops ---------------------------------------------- */

static void maybe_finish_drained(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->launching_stopped && !r->finished && lbsim_runner_in_flight(r) == 0) {
    r->end_ns = now_ns;
    /* The last, partial interval is reported too when anything ended in
     * it: the answers (and failures) of the requests drained. */
    uint64_t ended = 0;
    for (uint32_t w = 0; w < r->nfleets; w++)
      ended += r->fleets[w].stats.round.requests;
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
  FOR_EACH_CLIENT(r, b) {
    lbsim_balancer_cancel_queued(b);
    if (!r->lockstep && lbsim_timer_pending(&b->pause)) {
      /* Between its rounds: it has nothing in flight. */
      lbsim_clock_cancel(r->clock, &b->pause);
      r->bursting--;
    }
  }
  maybe_finish_drained(r, now_ns);
}

static void on_arrival(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(timer, lbsim_runner_t, arrival);
  if (limits_reached(r, now_ns) || r->launching_stopped) {
    stop_launching(r, now_ns);
    return;
  }
  /* One arrival is one request of the same client in every fleet, at the
   * same instant. */
  uint32_t c = r->nclients > 1 ? (uint32_t)lbsim_rng_below(&r->arrivals, r->nclients) : 0;
  for (uint32_t w = 0; w < r->nfleets; w++) {
    lbsim_balancer_t *b = &r->fleets[w].clients[c];
    if (requests_left(r, b) > 0)
      lbsim_balancer_launch(b, now_ns);
  }
  /* The next instant follows the process, not the wake-up: no drift. */
  uint64_t next = timer->due_ns + lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate));
  lbsim_clock_set(r->clock, &r->arrival, next, on_arrival);
}

static uint64_t concurrency_of(const lbsim_runner_t *r, const lbsim_balancer_t *b) {
  return lbsim_fleet_share(r->cfg->concurrency, r->nclients, b->client);
}

static void on_balancer_requests_done(lbsim_balancer_t *b, uint32_t count, uint64_t now_ns) {
  lbsim_runner_t *r = b->data;
  for (uint32_t k = 0; k < count; k++) {
    if (r->cfg->shape == LBSIM_SHAPE_CONCURRENCY && !r->launching_stopped) {
      /* Closed loop: each answer launches the client's next request. */
      bool over = time_up(r, now_ns);
      if (!over && requests_left(r, b) > 0) {
        lbsim_balancer_launch(b, now_ns);
        continue;
      }
      /* This client is done; the run is once every one of them is. */
      if (over || all_spent(r))
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
  FOR_EACH_CLIENT(r, b) {
    while (b->in_flight < concurrency_of(r, b) && requests_left(r, b) > 0) {
      uint64_t launched = b->launched;
      lbsim_balancer_launch(b, now_ns);
      if (b->launched == launched)
        break;
    }
  }
}

static void on_interval(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(timer, lbsim_runner_t, interval);
  r->end_ns = now_ns;
  report_block(r, now_ns);
  for (uint32_t w = 0; w < r->nfleets; w++)
    lbsim_stats_new_round(&r->fleets[w].stats);
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

static bool by_interval(const lbsim_runner_t *r) {
  return r->cfg->shape != LBSIM_SHAPE_BURST || !r->lockstep;
}

/* The run counts from now on (after --warmup, what was counted so far is
 * forgotten), and the intervals start. */
static void start_counting(lbsim_runner_t *r, uint64_t now_ns, bool forget) {
  r->counting = true;
  r->count_from_ns = now_ns;
  for (uint32_t w = 0; w < r->nfleets; w++)
    lbsim_fleet_reset(&r->fleets[w], now_ns, forget);
  if (by_interval(r) && !r->finished && !r->launching_stopped)
    lbsim_clock_set(r->clock, &r->interval, now_ns + lbsim_ms_to_ns(r->cfg->interval_s * 1000.0), on_interval);
}

static void on_warmup_done(lbsim_timer_t *timer, uint64_t now_ns) {
  start_counting(LBSIM_CONTAINER_OF(timer, lbsim_runner_t, warmup), now_ns, true);
}

/* ---- public ------------------------------------------------------------- */

int lbsim_runner_init(lbsim_runner_t *r, lbsim_clock_t *clock, const lbsim_config_t *cfg, uint64_t seed,
                      lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_oracle_t *oracle, lbsim_report_t *report) {
  memset(r, 0, sizeof(*r));
  r->clock = clock;
  r->cfg = cfg;
  r->seed = seed;
  r->fleets = fleets;
  r->nfleets = nfleets;
  r->nclients = nfleets > 0 ? fleets[0].nclients : 0;
  r->lockstep = r->nclients <= 1;
  r->oracle = oracle;
  r->report = report;
  lbsim_timer_init(&r->pause, LBSIM_ORDER_TRAFFIC);
  lbsim_timer_init(&r->arrival, LBSIM_ORDER_TRAFFIC);
  lbsim_timer_init(&r->interval, LBSIM_ORDER_REPORT);
  lbsim_timer_init(&r->warmup, LBSIM_ORDER_REPORT);
  lbsim_rng_init(&r->arrivals, seed, LBSIM_STREAM_ARRIVALS);
  FOR_EACH_CLIENT(r, b) {
    b->data = r;
    b->on_round_done = on_balancer_round_done;
    b->on_requests_done = on_balancer_requests_done;
  }
  if (cfg->report_path[0] != '\0' && nfleets > 0) {
    if (lbsim_timeline_record(&r->timeline, clock, fleets, nfleets, oracle) != 0)
      return LBSIM_ENOMEM;
    /* Before the run: a report that cannot be written is known now. */
    return lbsim_timeline_open(&r->timeline, cfg->report_path);
  }
  return 0;
}

/* An ejection or a return of some client's: the report's, and the SVG's. */
static void on_ejection(void *data, lbsim_fleet_t *f, const lbsim_ejection_t *e, uint64_t now_ns) {
  lbsim_runner_t *r = data;
  lbsim_report_ejection(r->report, f, e, now_ns);
  lbsim_timeline_ejection(&r->timeline, f->index, e, now_ns);
}

void lbsim_runner_start(lbsim_runner_t *r, uint64_t now_ns, lbsim_runner_cb on_finished) {
  r->on_finished = on_finished;
  r->started = true;
  r->start_ns = now_ns;
  r->duration_ns = seconds_ns(r->cfg->duration_s > 0 ? r->cfg->duration_s : LBSIM_RUN_MAX_S);
  lbsim_timeline_start(&r->timeline, now_ns);
  for (uint32_t w = 0; w < r->nfleets; w++)
    if (r->fleets[w].tools != NULL)
      lbsim_fleet_tools_start(r->fleets[w].tools, r->clock, now_ns, on_ejection, r);
  if (r->cfg->warmup_s > 0)
    lbsim_clock_set(r->clock, &r->warmup, now_ns + seconds_ns(r->cfg->warmup_s), on_warmup_done);
  else
    start_counting(r, now_ns, false);
  switch (r->cfg->shape) {
  case LBSIM_SHAPE_BURST:
    if (r->lockstep) {
      round_start(r, now_ns);
      return;
    }
    /* Each client's first round, spread evenly over the first --sleep. */
    FOR_EACH_CLIENT(r, b) {
      r->bursting++;
      uint64_t at = now_ns + lbsim_ms_to_ns(r->cfg->sleep_s * 1000.0 * b->client / r->nclients);
      lbsim_clock_set(r->clock, &b->pause, at, on_client_pause_done);
    }
    return;
  case LBSIM_SHAPE_RATE:
    lbsim_clock_set(r->clock, &r->arrival,
                    now_ns + lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate)), on_arrival);
    return;
  case LBSIM_SHAPE_CONCURRENCY:
    FOR_EACH_CLIENT(r, b)
      for (uint64_t k = 0; k < concurrency_of(r, b) && requests_left(r, b) > 0; k++)
        lbsim_balancer_launch(b, now_ns);
    return;
  }
}

/* A signal: the retries waiting in their backoff end now, none follows. */
static void cancel_retries(lbsim_runner_t *r, uint64_t now_ns) {
  FOR_EACH_CLIENT(r, b)
    lbsim_balancer_cancel_retries(b, now_ns);
}

void lbsim_runner_stop(lbsim_runner_t *r, uint64_t now_ns) {
  if (r->stopping || r->finished)
    return;
  r->stopping = true;
  if (!r->started) {
    finish(r, now_ns);
    return;
  }
  if (by_interval(r)) {
    lbsim_clock_cancel(r->clock, &r->interval);
    stop_launching(r, now_ns);
    cancel_retries(r, now_ns);
    return;
  }
  if (r->busy == 0) {
    finish(r, now_ns); /* between rounds */
    return;
  }
  /* Mid-round: what has not been sent is cancelled now; the rest ends by its
   * deadline, and the round's last completion ends the run. */
  for (uint32_t w = 0; w < r->nfleets; w++)
    lbsim_balancer_cancel_queued(&r->fleets[w].clients[0]);
  cancel_retries(r, now_ns);
}

void lbsim_runner_close(lbsim_runner_t *r) {
  if (r->clock)
    cancel_timers(r);
  FOR_EACH_CLIENT(r, b)
    lbsim_balancer_detach(b);
}

void lbsim_runner_free(lbsim_runner_t *r) {
  lbsim_timeline_free(&r->timeline);
}
