/* What the simulator knows and a balancer cannot: each backend's true
 * current latency, and which backend is truly the fastest. Available when
 * the backends run in the same process (the demo, compare mode). */
#ifndef LBSIM_ORACLE_H
#define LBSIM_ORACLE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "lbsim/backend.h"

typedef struct lbsim_oracle_s {
  const lbsim_model_t *models;
  uint32_t n;
  bool dirty;               /* a model changed since the fastest was found */
  uint64_t touched_ns;      /* when a model last changed */
  uint32_t fastest;
  double fastest_ms;
  uint64_t epoch;           /* bumped whenever the fastest is another backend */
  uint64_t epoch_ns;        /* when that happened */
} lbsim_oracle_t;

void lbsim_oracle_init(lbsim_oracle_t *oracle, const lbsim_model_t *models, uint32_t n);
/* A model changed at now_ns (drift or scripted). O(1): the fastest is found
 * again at the next question. */
void lbsim_oracle_touch(lbsim_oracle_t *oracle, uint64_t now_ns);
/* The truly fastest backend now (lowest index among equals). */
uint32_t lbsim_oracle_fastest(lbsim_oracle_t *oracle);
double lbsim_oracle_fastest_ms(lbsim_oracle_t *oracle);
/* A backend's true latency now; INFINITY when it cannot answer at all. */
double lbsim_oracle_true_ms(const lbsim_oracle_t *oracle, uint32_t backend);

#endif
