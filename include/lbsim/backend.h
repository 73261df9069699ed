/* Simulated backends.
 *
 * A backend's *model* is the truth about it: its latency and how that
 * drifts (one uv_timer per model). A backend *copy* is an HTTP listener that
 * answers GET /ping after the model's current latency. The demo has one copy
 * of every model; compare mode has one copy per policy, all reading the same
 * models, so every policy faces the same latency at the same moment. */
#ifndef LBSIM_BACKEND_H
#define LBSIM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/config.h"
#include "lbsim/httpd.h"
#include "lbsim/latency.h"

typedef struct lbsim_model_s lbsim_model_t;
typedef void (*lbsim_model_changed_cb)(lbsim_model_t *model, double old_ms, void *data);

struct lbsim_model_s {
  uint32_t index;             /* 0-based; printed 1-based */
  lbsim_latency_t latency;
  uv_timer_t drift_timer;
  uint64_t drift_period_ms;
  uint64_t generation;        /* bumped on every change */
  lbsim_model_changed_cb on_change;
  void *on_change_data;
};

/* One listening copy of a backend. */
typedef struct lbsim_backend_s {
  lbsim_model_t *model;
  lbsim_httpd_t httpd;
  uint16_t port;
  char url[300];              /* http://host:port/ping */

  /* The 200 answer's Content-Type/Length and body, rebuilt when the model
   * changes, so that answering formats nothing. */
  char ping_tail[192];
  uint32_t ping_tail_len;
  uint32_t ping_body_len;
  uint64_t ping_generation;

  uint64_t answered[6];       /* by status class: [0] other, [2] 2xx, [4] 4xx, [5] 5xx */
  uint64_t in_flight;         /* routed, not yet answered */
} lbsim_backend_t;

/* Models: initial latency drawn from backend `index`'s stream of `seed`. */
void lbsim_model_init(lbsim_model_t *model, uv_loop_t *loop, const lbsim_config_t *cfg, uint64_t seed,
                      uint32_t index);
void lbsim_model_start_drift(lbsim_model_t *model);
/* Sets the latency (scripted changes); notifies on_change. */
void lbsim_model_set_latency(lbsim_model_t *model, double ms);
/* The latency a request sent now would see, before queueing and noise;
 * INFINITY when the backend cannot answer at all. */
double lbsim_model_true_ms(const lbsim_model_t *model);
/* Closes the drift timer; `closed` counts down the caller's handle count. */
void lbsim_model_close(lbsim_model_t *model, uv_close_cb closed);

/* Copies. port 0: chosen by the OS. Returns 0 or a libuv error. */
int lbsim_backend_start(lbsim_backend_t *backend, uv_loop_t *loop, lbsim_sched_t *sched, lbsim_model_t *model,
                        const lbsim_config_t *cfg, uint16_t port);
void lbsim_backend_close(lbsim_backend_t *backend, lbsim_httpd_closed_cb on_closed);

#endif
