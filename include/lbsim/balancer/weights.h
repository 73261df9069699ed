/* A client's weights of its backends: --weights, and Envoy's slow start
 * (--lb-slow-start), which lowers the weight of a backend that has just
 * come up or back, and raises it over the window:
 *
 *   weight x max(min_weight / 100, (t / window)^(1 / aggression))
 *
 * with t the time since it came (at least 1 ms, as Envoy counts it). The
 * policies that weigh backends read them (lbsim_policy_weights_t); while
 * every weight is the same they pick as they do unweighted. Pure code. */
#ifndef LBSIM_WEIGHTS_H
#define LBSIM_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/policy.h"

/* The command line's --lb-slow-start options (cli/config.h), Envoy's defaults. */
typedef struct lbsim_slow_start_config_s {
  double window_s;             /* 0: no slow start */
  double aggression;           /* 1 */
  double min_weight_pct;       /* 10 */
} lbsim_slow_start_config_t;

/* nginx's smooth weighted round robin, one pick: every backend among
 * `eligible` (NULL: all n) adds its effective weight, weight[i] / (in
 * flight + 1) (in_flight NULL: weight[i]), to its credit[i]; the one with the
 * most credit (the first of equals) is picked and the sum of the effective
 * weights taken from its credit. Weights 5, 1, 1 give a a b a c a a. */
uint32_t lbsim_weights_smooth_pick(double *credit, const double *weight, const uint64_t *in_flight, uint32_t n,
                                   const lbsim_eligible_t *eligible);

/* The factor of a backend `elapsed_ns` into its slow start (1 past the window). */
double lbsim_slow_start_factor(const lbsim_slow_start_config_t *cfg, uint64_t elapsed_ns);

typedef struct lbsim_weights_s {
  lbsim_policy_weights_t view; /* what the policy reads */
  const lbsim_slow_start_config_t *cfg;
  uint32_t n;
  double *value;
  const double *base;          /* --weights (n), or NULL: all 1 */
  bool base_uniform;
  /* The backends in slow start, and since when. */
  uint32_t *slow;
  uint64_t *since_ns;
  uint32_t nslow;
  uint32_t *slow_at;           /* backend -> its place in slow + 1; 0: not in slow start */
} lbsim_weights_t;

/* Weights of n backends: base[i] (NULL: 1 each; kept, not copied). 0, or LBSIM_ENOMEM. */
int lbsim_weights_init(lbsim_weights_t *w, const lbsim_slow_start_config_t *cfg, const double *base, uint32_t n);
void lbsim_weights_free(lbsim_weights_t *w);
/* Backend i came up or back at now_ns: its slow start begins (again). */
void lbsim_weights_start(lbsim_weights_t *w, uint32_t i, uint64_t now_ns);
/* The weights at now_ns, before a pick: slow starts advance or end. */
void lbsim_weights_update(lbsim_weights_t *w, uint64_t now_ns);

#endif
