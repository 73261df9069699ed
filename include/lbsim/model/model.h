/* The backend service model: the truth about each simulated backend, how a
 * copy of it serves one request, and how it changes over time. Pure code:
 * no sockets, no clock reads. Time comes in as arguments and through the
 * timers of an lbsim_clock_t, so the same model runs on sockets (the real
 * clock) and on a discrete-event heap (the virtual clock).
 *
 * A *model* is one backend's truth: its latency and how that drifts, its
 * faults (error rate, outage, stall, slow start) and load settings
 * (capacity, jitter). A *copy* is what serves one balancer's requests: the
 * demo has one copy of every model, compare mode one per policy, all
 * reading the same models, so that every policy faces the same conditions
 * at the same moment. A copy has its own queue and its own per-request
 * draws (jitter, errors), seeded alike, so that the k-th request to a
 * backend gets the same draw in every copy.
 *
 * The *farm* (the server farm) holds the models, steps their drift and
 * plays the scenario back, and tells its owner of every change. (The
 * clients that share it are the *fleet*: balancer/assembly.h.) */
#ifndef LBSIM_MODEL_H
#define LBSIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/base/clock.h"
#include "lbsim/cli/config.h"
#include "lbsim/model/latency.h"
#include "lbsim/model/scenario.h"
#include "lbsim/model/service.h"

typedef struct lbsim_model_s {
  /* What serving a request reads comes first: one cache line, mostly. */
  uint64_t generation;        /* bumped on every change */
  double error_rate;
  uint64_t slow_start_ns;     /* 0: none */
  bool down;
  bool stalled;
  uint32_t capacity;          /* 0: unlimited */
  lbsim_jitter_t jitter;
  lbsim_latency_t latency;
  uint64_t slow_start_from_ns;
  double slow_start_factor;
  lbsim_jitter_t jitter_before; /* what the last jitter change replaced (for the reports) */
  uint32_t index;             /* 0-based; printed 1-based */
} lbsim_model_t;

/* Initial latency drawn from backend `index`'s stream of `seed`; capacity,
 * jitter and error rate from the command line. */
void lbsim_model_init(lbsim_model_t *model, const lbsim_config_t *cfg, uint64_t seed, uint32_t index);
/* Applies an event (its backend field is ignored); returns the value it
 * replaced (the old latency, error rate, capacity; 1/0 for the flags). */
double lbsim_model_apply(lbsim_model_t *model, const lbsim_event_t *event, uint64_t now_ns);
/* The base latency of a request sent now: slowed down for a while after a
 * recovery with slow start. */
double lbsim_model_latency_ms(const lbsim_model_t *model, uint64_t now_ns);
/* The same, or INFINITY when the backend cannot answer at all (down, stalled). */
double lbsim_model_true_ms(const lbsim_model_t *model, uint64_t now_ns);
/* Whether the latency is still changing by itself (slow start under way). */
bool lbsim_model_ramping(const lbsim_model_t *model, uint64_t now_ns);

/* ---- copies ---------------------------------------------------------------- */

typedef struct lbsim_copy_s {
  const lbsim_model_t *model;
  uint64_t service_generation; /* the model's generation service_ns is for (0: none) */
  uint64_t service_ns;        /* a request's service time then, when it is the same for all */
  lbsim_servers_t servers;    /* the FIFO in front of `capacity` servers */
  bool down;                  /* the outage the copy has taken in */
  lbsim_rng_t jitter_rng;
  lbsim_rng_t error_rng;
} lbsim_copy_t;

/* 0, or LBSIM_ENOMEM. */
int lbsim_copy_init(lbsim_copy_t *copy, const lbsim_model_t *model, uint64_t seed);
void lbsim_copy_free(lbsim_copy_t *copy);
/* lbsim_copy_serve, every case. */
int lbsim_copy_serve_any(lbsim_copy_t *copy, uint64_t now_ns, uint64_t *due_ns);

/* Whether the copy serves the model's next request in its common case: at
 * once, in service_ns, with success — its service time known for the model
 * as it is (this generation: no jitter, no slow start under way), no queue
 * (none configured), no injected errors, not stalled, not down. Both
 * clocks' fast paths ask this, and nothing else. */
static inline bool lbsim_copy_fast(const lbsim_copy_t *copy) {
  const lbsim_model_t *m = copy->model;
  return m->generation == copy->service_generation && copy->servers.capacity == 0 && m->capacity == 0 &&
         !(m->error_rate > 0) && !m->stalled && !m->down && !copy->down;
}

/* A request reaching the copy at now_ns: sets *due_ns to when its answer is
 * ready (LBSIM_NEVER while the backend is stalled: it is never answered) and
 * returns its status, 200 or 503 (an injected failure). Inline for the
 * common case (lbsim_copy_fast). */
static inline int lbsim_copy_serve(lbsim_copy_t *copy, uint64_t now_ns, uint64_t *due_ns) {
  if (lbsim_copy_fast(copy)) {
    *due_ns = now_ns + copy->service_ns;
    return 200;
  }
  return lbsim_copy_serve_any(copy, now_ns, due_ns);
}

/* Takes in a change of the model. A new capacity resizes the queue; an
 * outage empties it (the work in it is lost). Returns whether the copy went
 * down (-1), came back up (+1) or neither (0). Out of memory for the queue,
 * it says so on stderr and serves without one. */
int lbsim_copy_sync(lbsim_copy_t *copy, uint64_t now_ns);

/* ---- the farm: every backend's model ------------------------------------------------ */

typedef struct lbsim_farm_s lbsim_farm_t;

/* A change of a model: a drift step or an event (scenario, admin). `old` is
 * the value replaced. */
typedef void (*lbsim_farm_change_cb)(lbsim_farm_t *farm, lbsim_model_t *model, const lbsim_event_t *event,
                                      double old, uint64_t now_ns);

struct lbsim_farm_s {
  lbsim_model_t *models;
  uint32_t n;
  lbsim_clock_t *clock;
  uint64_t start_ns;
  uint64_t drift_period_ns;   /* 0: no drift */
  lbsim_timer_t drift;        /* the next drift step of every model */
  const lbsim_scenario_t *scenario;
  double time_scale;
  uint32_t next_event;
  lbsim_timer_t playback;     /* the next scripted change */
  lbsim_farm_change_cb on_change;
  void *data;
};

/* Models for cfg->backends backends. 0, or LBSIM_ENOMEM. */
int lbsim_farm_init(lbsim_farm_t *farm, const lbsim_config_t *cfg, uint64_t seed, lbsim_clock_t *clock);
void lbsim_farm_free(lbsim_farm_t *farm);
/* Applies the scenario's events at 0 s now, and schedules the rest and the
 * drift steps from now_ns on. */
int lbsim_farm_start(lbsim_farm_t *farm, uint64_t now_ns);
/* Applies an event to one backend (0-based) or to all (LBSIM_ALL_BACKENDS). */
void lbsim_farm_apply(lbsim_farm_t *farm, int32_t backend, const lbsim_event_t *event, uint64_t now_ns);
/* Cancels the pending drift step and scripted change. */
void lbsim_farm_stop(lbsim_farm_t *farm);

#endif
