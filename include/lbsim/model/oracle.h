/* What the simulator knows and a balancer cannot: each backend's true
 * current latency, what a request to it is expected to cost, and which
 * backend is truly the best. Available when the backends are simulated in
 * the same process (the demo, compare mode, the virtual clock). Pure: the
 * time comes in.
 *
 * A request's cost is what the estimators are fed: its latency when it
 * succeeds, --failure-latency when it fails. A backend's expected cost is
 * (1 - p) x latency + p x failure latency, where p is the chance that a
 * request to it fails: its error rate, or 1 while it is down or stalled or
 * while its latency is at or beyond --timeout. The "truly fastest" backend
 * is the one of lowest expected cost. */
#ifndef LBSIM_ORACLE_H
#define LBSIM_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/model/model.h"

typedef struct lbsim_oracle_s {
  const lbsim_model_t *models;
  uint32_t n;
  double failure_ms;        /* what a failure costs (--failure-latency) */
  double timeout_ms;        /* a request this slow fails (--timeout) */
  bool dirty;               /* a model changed since the best was found */
  uint64_t touched_ns;      /* when a model last changed */
  uint32_t fastest;
  double fastest_ms;        /* its expected cost; INFINITY when every backend fails for sure */
  uint64_t epoch;           /* bumped whenever the best is another backend */
  uint64_t epoch_ns;        /* when that happened */
  uint64_t version;         /* bumped at every change of a model: costs kept from before are stale */
} lbsim_oracle_t;

void lbsim_oracle_init(lbsim_oracle_t *oracle, const lbsim_model_t *models, uint32_t n, double failure_ms,
                       double timeout_ms);
/* A model changed at now_ns. O(1): the best is found again at the next question. */
void lbsim_oracle_touch(lbsim_oracle_t *oracle, uint64_t now_ns);
/* Finds the best again (the questions below do it when a model changed). */
void lbsim_oracle_refresh(lbsim_oracle_t *oracle, uint64_t now_ns);
/* The best backend now: the lowest expected cost, the lowest index among
 * equals. While every backend fails for sure there is none: the last one
 * found stays, and lbsim_oracle_fastest_ms is INFINITY. */
static inline uint32_t lbsim_oracle_fastest(lbsim_oracle_t *oracle, uint64_t now_ns) {
  if (oracle->dirty)
    lbsim_oracle_refresh(oracle, now_ns);
  return oracle->fastest;
}

static inline double lbsim_oracle_fastest_ms(lbsim_oracle_t *oracle, uint64_t now_ns) {
  if (oracle->dirty)
    lbsim_oracle_refresh(oracle, now_ns);
  return oracle->fastest_ms;
}

/* A backend's expected cost now. While the oracle is not dirty (after a
 * question, with no slow start under way) it stays the same until
 * `version` changes. */
double lbsim_oracle_cost_ms(const lbsim_oracle_t *oracle, uint32_t backend, uint64_t now_ns);
/* A backend's true latency now; INFINITY when it cannot answer at all. */
double lbsim_oracle_true_ms(const lbsim_oracle_t *oracle, uint32_t backend, uint64_t now_ns);

#endif
