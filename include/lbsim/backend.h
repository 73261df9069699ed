/* Simulated backends.
 *
 * A backend's *model* is the truth about it: its latency and how that
 * drifts (one uv_timer per model), and its faults (error rate, outage,
 * stall, slow start) and load settings (capacity, jitter). A backend *copy*
 * is an HTTP listener that answers GET /ping as its model says. The demo has
 * one copy of every model; compare mode has one copy per policy, all reading
 * the same models, so every policy faces the same conditions at the same
 * moment. Per-request draws (jitter, errors) come from each copy's own
 * streams, seeded alike, so the k-th request to a backend gets the same draw
 * in every copy. */
#ifndef LBSIM_BACKEND_H
#define LBSIM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/config.h"
#include "lbsim/httpd.h"
#include "lbsim/latency.h"
#include "lbsim/scenario.h"
#include "lbsim/service.h"

typedef struct lbsim_model_s lbsim_model_t;

/* A change to a model: a drift step, or an event (scenario, admin). */
typedef void (*lbsim_model_changed_cb)(lbsim_model_t *model, const lbsim_event_t *event, double old_value,
                                       void *data);

struct lbsim_model_s {
  uint32_t index;             /* 0-based; printed 1-based */
  lbsim_latency_t latency;
  uv_timer_t drift_timer;
  uint64_t drift_period_ms;
  uint64_t generation;        /* bumped on every change */

  double error_rate;
  bool down;
  bool stalled;
  uint32_t capacity;          /* 0: unlimited */
  lbsim_jitter_t jitter;
  uint64_t slow_start_from_ns;
  uint64_t slow_start_ns;     /* 0: none */
  double slow_start_factor;

  lbsim_model_changed_cb on_change;
  void *on_change_data;
};

/* One listening copy of a backend. */
typedef struct lbsim_backend_s {
  lbsim_model_t *model;
  const char *policy;         /* compare mode: the policy this copy serves, else NULL */
  lbsim_httpd_t httpd;
  char host[256];
  uint16_t port;
  char url[300];              /* http://host:port/ping */
  bool down;                  /* listener closed by an outage */

  lbsim_servers_t servers;    /* the FIFO in front of `capacity` servers */
  lbsim_rng_t jitter_rng;
  lbsim_rng_t error_rng;

  /* The 200 answer's Content-Type/Length and body, rebuilt when the model
   * changes, so that answering formats nothing. */
  char ping_tail[192];
  uint32_t ping_tail_len;
  uint32_t ping_body_len;
  uint64_t ping_generation;

  uint64_t answered_200, answered_503, answered_404, answered_405, answered_other;
  uint64_t in_flight;         /* /ping requests routed, not yet answered */
} lbsim_backend_t;

/* Models: initial latency drawn from backend `index`'s stream of `seed`;
 * capacity, jitter and error rate from the command line. */
void lbsim_model_init(lbsim_model_t *model, uv_loop_t *loop, const lbsim_config_t *cfg, uint64_t seed,
                      uint32_t index);
void lbsim_model_start_drift(lbsim_model_t *model);
/* Applies a scenario or admin event (its backend field is ignored). */
void lbsim_model_apply(lbsim_model_t *model, const lbsim_event_t *event, uint64_t now_ns);
/* Sets the latency (a scripted step). */
void lbsim_model_set_latency(lbsim_model_t *model, double ms);
/* The latency a request sent now would see, before queueing and noise;
 * INFINITY when the backend cannot answer at all (down, stalled). */
double lbsim_model_true_ms(const lbsim_model_t *model, uint64_t now_ns);
/* Closes the drift timer; `closed` counts down the caller's handle count. */
void lbsim_model_close(lbsim_model_t *model, uv_close_cb closed);

/* Copies. port 0: chosen by the OS. Returns 0 or a libuv error (UV_ENOMEM
 * when its queue cannot be allocated); either way the copy is then closed
 * with lbsim_backend_close. */
int lbsim_backend_start(lbsim_backend_t *backend, uv_loop_t *loop, lbsim_sched_t *sched, lbsim_model_t *model,
                        const lbsim_config_t *cfg, uint16_t port, uint64_t seed);
/* Brings the copy in line with its model after a change: an outage closes
 * the listener and resets every connection, recovery listens again on the
 * same port, a new capacity resizes the queue. */
void lbsim_backend_sync(lbsim_backend_t *backend, uint64_t now_ns);
void lbsim_backend_close(lbsim_backend_t *backend, lbsim_httpd_closed_cb on_closed);
/* Prometheus text for copies (GET /metrics), appended to out: each family
 * once, one sample per copy. */
void lbsim_backend_metrics(lbsim_backend_t *const *copies, uint32_t n, struct lbsim_buf_s *out);

#endif
