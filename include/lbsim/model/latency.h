/* The latency model of one simulated backend: an initial value (fixed or
 * uniform in [min, max]), then a random walk with steps uniform in
 * [-step, +step], clamped to [floor, ceil] after every step.
 * Pure code: no clock, no I/O; randomness comes from the backend's own
 * drift stream. */
#ifndef LBSIM_LATENCY_H
#define LBSIM_LATENCY_H

#include <stdint.h>

#include "lbsim/base/rng.h"

typedef struct lbsim_latency_spec_s {
  double min_ms;        /* initial latency range; min == max means fixed */
  double max_ms;
  double step_ms;       /* drift step bound */
  double floor_ms;      /* clamp after each step */
  double ceil_ms;
} lbsim_latency_spec_t;

typedef struct lbsim_latency_s {
  double latency_ms;
  lbsim_latency_spec_t spec;
  lbsim_rng_t rng;
} lbsim_latency_t;

/* Draws backend `index`'s (0-based) initial latency from its own stream of `seed`. */
void lbsim_latency_init(lbsim_latency_t *model, const lbsim_latency_spec_t *spec,
                        uint64_t seed, uint32_t index);
/* One drift step; returns the new latency. */
double lbsim_latency_drift(lbsim_latency_t *model);
double lbsim_latency_clamp(const lbsim_latency_spec_t *spec, double ms);

#endif
