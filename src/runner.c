/* Traffic shapes and the run. See lbsim/runner.h. */
#include "lbsim/runner.h"

#include <errno.h>
#include <math.h>

#include "internal.h"
#include "lbsim/report.h"

static void round_start(lbsim_runner_t *r);

static double since_start_s(const lbsim_runner_t *r, uint64_t now_ns) {
  return (double)(now_ns - r->start_ns) / LBSIM_NS_PER_S;
}

uint64_t lbsim_runner_in_flight(const lbsim_runner_t *r) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < r->nworlds; i++)
    n += r->worlds[i].in_flight;
  return n;
}

static void write_report(lbsim_runner_t *r) {
  const char *path = r->cfg->report_path;
  const char *policies[LBSIM_MAX_POLICIES];
  for (uint32_t w = 0; w < r->nworlds; w++)
    policies[w] = r->worlds[w].policy_name;
  char title[160];
  snprintf(title, sizeof(title), "lbsim: %u backends, %s%s, seed %llu", r->worlds[0].n,
           r->nworlds > 1 ? "compare " : "policy ", r->nworlds > 1 ? "mode" : policies[0], (unsigned long long)r->seed);
  FILE *f = fopen(path, "w");
  int err = f ? lbsim_svg_write(f, &r->timeline, r->worlds[0].names, policies, title) : -1;
  if (f && fclose(f) != 0)
    err = -1;
  if (err != 0) {
    lbsim_log_error("cannot write the report %s: %s", path, strerror(errno));
    r->report_failed = true;
  } else {
    lbsim_log("report written to %s", path);
  }
}

static void finish(lbsim_runner_t *r) {
  if (r->finished)
    return;
  r->finished = true;
  if (r->end_ns == 0)
    r->end_ns = uv_hrtime();
  uv_timer_stop(&r->timer);
  lbsim_sched_cancel(r->sched, &r->arrival);
  lbsim_report_run(r->out, r->cfg, r->worlds, r->nworlds, r->oracle, since_start_s(r, r->end_ns));
  if (r->cfg->report_path[0] != '\0')
    write_report(r);
  if (r->on_finished)
    r->on_finished(r);
}

/* Requests a balancer may still launch under --requests. */
static uint64_t requests_left(const lbsim_runner_t *r, const lbsim_traffic_t *t) {
  uint64_t limit = r->cfg->requests;
  if (limit == 0)
    return UINT64_MAX;
  return t->stats.launched < limit ? limit - t->stats.launched : 0;
}

/* Rounds, intervals, requests or time used up? */
static bool limits_reached(const lbsim_runner_t *r, uint64_t now_ns) {
  const lbsim_config_t *cfg = r->cfg;
  if (cfg->rounds > 0 && r->round >= cfg->rounds)
    return true;
  bool all_spent = cfg->requests > 0;
  for (uint32_t i = 0; i < r->nworlds && all_spent; i++)
    all_spent = requests_left(r, &r->worlds[i]) == 0;
  if (all_spent)
    return true;
  return cfg->duration_s > 0 && since_start_s(r, now_ns) >= cfg->duration_s;
}

/* One snapshot of every balancer for the visual report. */
static void record(lbsim_runner_t *r, double t_s) {
  lbsim_timeline_t *tl = &r->timeline;
  int at = lbsim_timeline_push(tl, t_s);
  if (at < 0)
    return;
  float *truth = lbsim_timeline_true(tl, (uint32_t)at);
  for (uint32_t i = 0; i < tl->n; i++)
    truth[i] = r->oracle ? (float)lbsim_oracle_true_ms(r->oracle, i) : NAN;
  for (uint32_t w = 0; w < r->nworlds; w++) {
    const lbsim_traffic_t *t = &r->worlds[w];
    float *ema = lbsim_timeline_ema(tl, (uint32_t)at, w);
    uint32_t *picks = lbsim_timeline_picks(tl, (uint32_t)at, w);
    for (uint32_t i = 0; i < tl->n; i++) {
      ema[i] = t->ema.measured[i] ? (float)t->ema.value_ms[i] : NAN;
      picks[i] = (uint32_t)t->stats.round_picks[i];
    }
    tl->failed[(size_t)at * r->nworlds + w] = (uint32_t)t->stats.round.failed;
  }
}

static void report_block(lbsim_runner_t *r, uint64_t now_ns) {
  r->round++;
  lbsim_report_round(r->out, r->cfg, r->round, since_start_s(r, now_ns), r->worlds, r->nworlds, r->oracle);
  if (r->cfg->report_path[0] != '\0')
    record(r, since_start_s(r, now_ns));
}

/* ---- bursts ------------------------------------------------------------- */

static void on_sleep_done(uv_timer_t *timer) {
  round_start(timer->data);
}

static void on_world_round_done(lbsim_traffic_t *t) {
  lbsim_runner_t *r = t->data;
  if (--r->worlds_busy > 0)
    return;
  /* Every balancer is done with this round: report it side by side. */
  uint64_t now = uv_hrtime();
  r->end_ns = now;
  report_block(r, now);
  if (r->stopping || limits_reached(r, now)) {
    finish(r);
    return;
  }
  uv_timer_start(&r->timer, on_sleep_done, lbsim_s_to_ms(r->cfg->sleep_s), 0);
}

static void round_start(lbsim_runner_t *r) {
  if (r->stopping || limits_reached(r, uv_hrtime())) {
    finish(r);
    return;
  }
  r->worlds_busy = r->nworlds;
  /* Launch order rotates so that no balancer always goes first. */
  for (uint32_t k = 0; k < r->nworlds; k++) {
    lbsim_traffic_t *t = &r->worlds[(k + r->round) % r->nworlds];
    uint64_t left = requests_left(r, t);
    lbsim_traffic_round(t, left < r->cfg->burst ? (uint32_t)left : r->cfg->burst);
  }
}

/* ---- open and closed loops ---------------------------------------------- */

static void maybe_finish_drained(lbsim_runner_t *r) {
  if (r->launching_stopped && !r->finished && lbsim_runner_in_flight(r) == 0) {
    uint64_t now = uv_hrtime();
    r->end_ns = now;
    /* The last, partial interval is reported too when anything happened. */
    uint64_t picks = 0;
    for (uint32_t i = 0; i < r->nworlds; i++)
      picks += r->worlds[i].stats.round.requests;
    if (picks > 0)
      report_block(r, now);
    finish(r);
  }
}

static void stop_launching(lbsim_runner_t *r) {
  if (r->launching_stopped)
    return;
  r->launching_stopped = true;
  lbsim_sched_cancel(r->sched, &r->arrival);
  for (uint32_t i = 0; i < r->nworlds; i++)
    lbsim_traffic_cancel_queued(&r->worlds[i]);
  maybe_finish_drained(r);
}

static void on_arrival(lbsim_sched_entry_t *entry, uint64_t now_ns) {
  lbsim_runner_t *r = LBSIM_CONTAINER_OF(entry, lbsim_runner_t, arrival);
  if (limits_reached(r, now_ns) || r->launching_stopped) {
    stop_launching(r);
    return;
  }
  /* One arrival is one request in every balancer, at the same instant. */
  for (uint32_t i = 0; i < r->nworlds; i++)
    lbsim_traffic_launch(&r->worlds[i]);
  /* The next instant follows the process, not the wake-up: no drift. */
  r->next_arrival_ns += lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate));
  lbsim_sched_set(r->sched, &r->arrival, r->next_arrival_ns, on_arrival);
}

static void on_world_request_done(lbsim_traffic_t *t) {
  lbsim_runner_t *r = t->data;
  if (r->cfg->shape == LBSIM_SHAPE_CONCURRENCY && !r->launching_stopped) {
    bool time_up = r->cfg->duration_s > 0 && since_start_s(r, uv_hrtime()) >= r->cfg->duration_s;
    if (!time_up && requests_left(r, t) > 0) {
      lbsim_traffic_launch(t);
      return;
    }
    /* This balancer is done; the run is once every one of them is. */
    bool everyone = true;
    for (uint32_t i = 0; i < r->nworlds; i++)
      everyone = everyone && requests_left(r, &r->worlds[i]) == 0;
    if (time_up || everyone)
      stop_launching(r);
  }
  maybe_finish_drained(r);
}

/* A closed loop replaces each request as it ends; one that could not be
 * launched at all (out of memory) is tried again here, at each interval, or
 * the loop would be left short, or with nothing in flight and no end. */
static void top_up(lbsim_runner_t *r) {
  for (uint32_t i = 0; i < r->nworlds; i++) {
    lbsim_traffic_t *t = &r->worlds[i];
    for (uint32_t k = 0; k < r->cfg->concurrency && t->in_flight < r->cfg->concurrency && requests_left(r, t) > 0;
         k++) {
      uint64_t launched = t->stats.launched;
      lbsim_traffic_launch(t);
      if (t->stats.launched == launched)
        break;
    }
  }
}

static void on_interval(uv_timer_t *timer) {
  lbsim_runner_t *r = timer->data;
  uint64_t now = uv_hrtime();
  r->end_ns = now;
  report_block(r, now);
  for (uint32_t i = 0; i < r->nworlds; i++)
    lbsim_stats_new_round(&r->worlds[i].stats);
  if (limits_reached(r, now))
    stop_launching(r);
  else if (r->cfg->shape == LBSIM_SHAPE_CONCURRENCY && !r->launching_stopped)
    top_up(r);
}

/* ---- public ------------------------------------------------------------- */

int lbsim_runner_init(lbsim_runner_t *r, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg,
                      uint64_t seed, lbsim_traffic_t *worlds, uint32_t nworlds, lbsim_oracle_t *oracle, FILE *out) {
  memset(r, 0, sizeof(*r));
  r->loop = loop;
  r->sched = sched;
  r->cfg = cfg;
  r->seed = seed;
  r->worlds = worlds;
  r->nworlds = nworlds;
  r->oracle = oracle;
  r->out = out;
  lbsim_rng_init(&r->arrivals, seed, LBSIM_STREAM_ARRIVALS);
  int err = 0;
  if (cfg->report_path[0] != '\0' && nworlds > 0 && lbsim_timeline_init(&r->timeline, nworlds, worlds[0].n) != 0)
    err = UV_ENOMEM;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  r->open_handles = 1;
  for (uint32_t i = 0; i < nworlds; i++) {
    worlds[i].data = r;
    worlds[i].on_round_done = on_world_round_done;
    worlds[i].on_request_done = on_world_request_done;
  }
  return err;
}

void lbsim_runner_start(lbsim_runner_t *r, lbsim_runner_cb on_finished) {
  r->on_finished = on_finished;
  r->started = true;
  r->start_ns = uv_hrtime();
  r->interval_start_ns = r->start_ns;
  lbsim_report_start(r->out, r->cfg, r->seed, r->worlds, r->nworlds, r->oracle);
  switch (r->cfg->shape) {
  case LBSIM_SHAPE_BURST:
    round_start(r);
    return;
  case LBSIM_SHAPE_RATE:
    r->next_arrival_ns = r->start_ns + lbsim_ms_to_ns(lbsim_rng_exponential(&r->arrivals, 1000.0 / r->cfg->rate));
    lbsim_sched_set(r->sched, &r->arrival, r->next_arrival_ns, on_arrival);
    break;
  case LBSIM_SHAPE_CONCURRENCY:
    for (uint32_t i = 0; i < r->nworlds; i++)
      for (uint32_t k = 0; k < r->cfg->concurrency; k++)
        lbsim_traffic_launch(&r->worlds[i]);
    break;
  }
  uint64_t every = lbsim_s_to_ms(r->cfg->interval_s);
  uv_timer_start(&r->timer, on_interval, every ? every : 1, every ? every : 1);
}

void lbsim_runner_stop(lbsim_runner_t *r) {
  if (r->stopping || r->finished)
    return;
  r->stopping = true;
  if (!r->started) {
    finish(r);
    return;
  }
  if (r->cfg->shape != LBSIM_SHAPE_BURST) {
    uv_timer_stop(&r->timer);
    stop_launching(r);
    return;
  }
  if (r->worlds_busy == 0) {
    finish(r); /* between rounds */
    return;
  }
  /* Mid-round: what has not been sent is cancelled now; the rest ends by its
   * deadline, and the round's last completion ends the run. */
  for (uint32_t i = 0; i < r->nworlds; i++)
    lbsim_traffic_cancel_queued(&r->worlds[i]);
}

static void runner_handle_closed(lbsim_runner_t *r) {
  if (--r->open_handles == 0 && r->on_closed)
    r->on_closed(r);
}

static void on_timer_closed(uv_handle_t *handle) {
  runner_handle_closed(handle->data);
}

static void on_world_closed(lbsim_traffic_t *t) {
  runner_handle_closed(t->data);
}

void lbsim_runner_close(lbsim_runner_t *r, lbsim_runner_cb on_closed) {
  r->on_closed = on_closed;
  lbsim_timeline_free(&r->timeline);
  lbsim_sched_cancel(r->sched, &r->arrival);
  r->open_handles += r->nworlds;
  for (uint32_t i = 0; i < r->nworlds; i++)
    lbsim_traffic_close(&r->worlds[i], on_world_closed);
  uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
