/* The backend service model. See lbsim/model/model.h. */
#include "lbsim/model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

/* ---- models ------------------------------------------------------------- */

void lbsim_model_init(lbsim_model_t *model, const lbsim_config_t *cfg, uint64_t seed, uint32_t index) {
  memset(model, 0, sizeof(*model));
  model->index = index;
  lbsim_latency_init(&model->latency, &cfg->latency, seed, index);
  model->generation = 1;
  model->error_rate = cfg->error_rate;
  model->capacity = cfg->capacity;
  model->jitter = cfg->jitter;
  model->slow_start_factor = 1;
}

double lbsim_model_apply(lbsim_model_t *model, const lbsim_event_t *ev, uint64_t now_ns) {
  double old = 0;
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    old = model->latency.latency_ms;
    model->latency.latency_ms = ev->value;
    break;
  case LBSIM_ACTION_ERROR_RATE:
    old = model->error_rate;
    model->error_rate = ev->value;
    break;
  case LBSIM_ACTION_DOWN:
    old = model->down;
    model->down = true;
    break;
  case LBSIM_ACTION_UP:
    old = model->down;
    model->down = false;
    model->slow_start_from_ns = now_ns;
    model->slow_start_ns = lbsim_ms_to_ns(ev->slow_start_s * 1000.0);
    model->slow_start_factor = ev->slow_start_factor > 1 ? ev->slow_start_factor : 1;
    break;
  case LBSIM_ACTION_STALL:
    old = model->stalled;
    model->stalled = true;
    break;
  case LBSIM_ACTION_RESUME:
    old = model->stalled;
    model->stalled = false;
    break;
  case LBSIM_ACTION_CAPACITY:
    old = model->capacity;
    model->capacity = (uint32_t)ev->value;
    break;
  case LBSIM_ACTION_JITTER:
    model->jitter_before = model->jitter;
    model->jitter = ev->jitter;
    break;
  }
  model->generation++;
  return old;
}

bool lbsim_model_ramping(const lbsim_model_t *model, uint64_t now_ns) {
  return model->slow_start_ns > 0 && now_ns < model->slow_start_from_ns + model->slow_start_ns;
}

double lbsim_model_latency_ms(const lbsim_model_t *model, uint64_t now_ns) {
  double ms = model->latency.latency_ms;
  if (lbsim_model_ramping(model, now_ns)) {
    double left = 1.0 - (double)(now_ns - model->slow_start_from_ns) / (double)model->slow_start_ns;
    ms *= 1.0 + (model->slow_start_factor - 1.0) * left;
  }
  return ms;
}

double lbsim_model_true_ms(const lbsim_model_t *model, uint64_t now_ns) {
  if (model->down || model->stalled)
    return INFINITY;
  return lbsim_model_latency_ms(model, now_ns);
}

/* ---- copies ------------------------------------------------------------------ */

int lbsim_copy_init(lbsim_copy_t *copy, const lbsim_model_t *model, uint64_t seed) {
  memset(copy, 0, sizeof(*copy));
  copy->model = model;
  lbsim_rng_init(&copy->jitter_rng, seed, LBSIM_STREAM_JITTER + model->index);
  lbsim_rng_init(&copy->error_rng, seed, LBSIM_STREAM_ERRORS + model->index);
  return lbsim_servers_init(&copy->servers, model->capacity) == 0 ? 0 : LBSIM_ENOMEM;
}

void lbsim_copy_free(lbsim_copy_t *copy) {
  lbsim_servers_free(&copy->servers);
}

int lbsim_copy_serve_any(lbsim_copy_t *copy, uint64_t now_ns, uint64_t *due_ns) {
  const lbsim_model_t *m = copy->model;
  if (m->stalled) {
    /* Accepted, never answered: the client's deadline decides. */
    *due_ns = LBSIM_NEVER;
    return 200;
  }
  uint64_t service_ns;
  if (m->generation == copy->service_generation) {
    service_ns = copy->service_ns;
  } else {
    double service_ms = lbsim_model_latency_ms(m, now_ns);
    if (m->jitter.kind != LBSIM_JITTER_NONE)
      service_ms = lbsim_jitter_apply(&m->jitter, service_ms, &copy->jitter_rng);
    service_ns = lbsim_ms_to_ns(service_ms);
    /* Without jitter or slow start, every request until the model's next
     * change takes as long. */
    if (m->jitter.kind == LBSIM_JITTER_NONE && !lbsim_model_ramping(m, now_ns)) {
      copy->service_generation = m->generation;
      copy->service_ns = service_ns;
    }
  }
  /* Without a capacity limit every request is served at once. */
  *due_ns = copy->servers.capacity == 0 ? now_ns + service_ns
                                        : lbsim_servers_schedule(&copy->servers, now_ns, service_ns);
  if (m->error_rate > 0 && lbsim_rng_double(&copy->error_rng) < m->error_rate)
    return 503;
  return 200;
}

int lbsim_copy_sync(lbsim_copy_t *copy, uint64_t now_ns) {
  const lbsim_model_t *m = copy->model;
  int went = 0;
  bool nomem = false;
  if (m->down && !copy->down) {
    /* A crash: the work queued in it is lost with its connections. */
    copy->down = true;
    uint32_t capacity = copy->servers.capacity;
    lbsim_servers_free(&copy->servers);
    nomem = lbsim_servers_init(&copy->servers, capacity) != 0;
    went = -1;
  } else if (!m->down && copy->down) {
    copy->down = false;
    went = 1;
  }
  if (m->capacity != copy->servers.capacity && lbsim_servers_resize(&copy->servers, m->capacity, now_ns) != 0)
    nomem = true;
  if (nomem)
    lbsim_log_error("backend %u: out of memory for capacity %u", m->index + 1, m->capacity);
  return went;
}

/* ---- the farm ------------------------------------------------------------------ */

static void changed(lbsim_farm_t *f, lbsim_model_t *model, const lbsim_event_t *ev, double old, uint64_t now_ns) {
  if (f->on_change)
    f->on_change(f, model, ev, old, now_ns);
}

static void on_drift(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_farm_t *f = LBSIM_CONTAINER_OF(timer, lbsim_farm_t, drift);
  /* Every model steps at the same instant, in order. */
  for (uint32_t i = 0; i < f->n; i++) {
    lbsim_model_t *m = &f->models[i];
    double old = m->latency.latency_ms;
    lbsim_latency_drift(&m->latency);
    m->generation++;
    /* A drift step is reported as a latency event without a line number. */
    lbsim_event_t ev = {.backend = (int32_t)i, .origin = LBSIM_ORIGIN_DRIFT, .action = LBSIM_ACTION_LATENCY,
                        .value = m->latency.latency_ms};
    changed(f, m, &ev, old, now_ns);
  }
  /* From the due time, not the wake-up: steps do not creep later. */
  lbsim_clock_set(f->clock, &f->drift, timer->due_ns + f->drift_period_ns, on_drift);
}

void lbsim_farm_apply(lbsim_farm_t *f, int32_t backend, const lbsim_event_t *ev, uint64_t now_ns) {
  uint32_t first = backend == LBSIM_ALL_BACKENDS ? 0 : (uint32_t)backend;
  uint32_t end = backend == LBSIM_ALL_BACKENDS ? f->n : first + 1;
  for (uint32_t i = first; i < end; i++) {
    double old = lbsim_model_apply(&f->models[i], ev, now_ns);
    changed(f, &f->models[i], ev, old, now_ns);
  }
}

static void on_playback(lbsim_timer_t *timer, uint64_t now_ns);

static uint64_t event_due_ns(const lbsim_farm_t *f, const lbsim_event_t *ev) {
  return f->start_ns + lbsim_ms_to_ns(ev->at_s * f->time_scale * 1000.0);
}

/* Applies every event due by now_ns, in file order, and waits for the next. */
static void play(lbsim_farm_t *f, uint64_t now_ns) {
  const lbsim_scenario_t *sc = f->scenario;
  while (f->next_event < sc->nevents && event_due_ns(f, &sc->events[f->next_event]) <= now_ns) {
    const lbsim_event_t *ev = &sc->events[f->next_event++];
    lbsim_farm_apply(f, ev->backend, ev, now_ns);
  }
  if (f->next_event < sc->nevents)
    lbsim_clock_set(f->clock, &f->playback, event_due_ns(f, &sc->events[f->next_event]), on_playback);
}

static void on_playback(lbsim_timer_t *timer, uint64_t now_ns) {
  play(LBSIM_CONTAINER_OF(timer, lbsim_farm_t, playback), now_ns);
}

int lbsim_farm_init(lbsim_farm_t *f, const lbsim_config_t *cfg, uint64_t seed, lbsim_clock_t *clock) {
  memset(f, 0, sizeof(*f));
  f->n = cfg->backends;
  f->clock = clock;
  f->scenario = &cfg->scenario;
  f->time_scale = cfg->time_scale;
  f->drift_period_ns = lbsim_ms_to_ns(cfg->drift_period_s * 1000.0);
  lbsim_timer_init(&f->drift, LBSIM_ORDER_DRIFT);
  lbsim_timer_init(&f->playback, LBSIM_ORDER_CHANGE);
  f->models = calloc(f->n, sizeof(*f->models));
  if (f->models == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t i = 0; i < f->n; i++)
    lbsim_model_init(&f->models[i], cfg, seed, i);
  return 0;
}

int lbsim_farm_start(lbsim_farm_t *f, uint64_t now_ns) {
  f->start_ns = now_ns;
  play(f, now_ns);
  if (f->drift_period_ns > 0)
    return lbsim_clock_set(f->clock, &f->drift, now_ns + f->drift_period_ns, on_drift);
  return 0;
}

void lbsim_farm_stop(lbsim_farm_t *f) {
  if (f->clock == NULL)
    return;
  lbsim_clock_cancel(f->clock, &f->drift);
  lbsim_clock_cancel(f->clock, &f->playback);
}

void lbsim_farm_free(lbsim_farm_t *f) {
  free(f->models);
  f->models = NULL;
  f->n = 0;
}
