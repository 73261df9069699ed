/* The two ways a policy picks the least loaded backend by a count it reads
 * (least-outstanding: its requests in flight; least-loaded: the reported
 * load): the best of K distinct backends drawn at random (the power of d
 * choices), or a scan of them all with ties broken at random. Inline, with
 * the count as a callback the compiler sees through. Pure code. */
#ifndef LBSIM_CHOOSE_H
#define LBSIM_CHOOSE_H

#include <stdint.h>
#include <string.h>

#include "lbsim/balancer/policy.h"
#include "lbsim/base/rng.h"

typedef uint64_t (*lbsim_choose_count_fn)(void *ctx, uint32_t backend);

/* The best of k distinct backends drawn at random from all n, or from the
 * eligible (its list): a draw already made for this pick is drawn again
 * (drawn[b] holds the number of the pick that last drew b; *pick numbers
 * them from 1). On equal counts the first drawn stays, a backend at random
 * among them. */
static inline uint32_t lbsim_choose_sample(lbsim_rng_t *rng, uint32_t *drawn, uint32_t *pick, uint32_t n, uint32_t k,
                                           const lbsim_eligible_t *eligible, lbsim_choose_count_fn count,
                                           void *ctx) {
  if (++*pick == 0) { /* the numbers wrapped: forget the old draws */
    memset(drawn, 0, n * sizeof(*drawn));
    *pick = 1;
  }
  uint32_t among = eligible ? eligible->n : n;
  if (k > among)
    k = among;
  uint32_t best = UINT32_MAX;
  uint64_t best_count = 0;
  for (uint32_t i = 0; i < k; i++) {
    uint32_t b;
    do {
      b = (uint32_t)lbsim_rng_below(rng, among);
      if (eligible != NULL)
        b = eligible->list[b];
    } while (drawn[b] == *pick);
    drawn[b] = *pick;
    uint64_t c = count(ctx, b);
    if (best == UINT32_MAX || c < best_count) {
      best = b;
      best_count = c;
    }
  }
  return best;
}

/* The least count over every backend (n), or over the eligible, ties at
 * random (reservoir sampling). */
static inline uint32_t lbsim_choose_scan(lbsim_rng_t *rng, uint32_t n, const lbsim_eligible_t *among,
                                         lbsim_choose_count_fn count, void *ctx) {
  uint32_t m = among ? among->n : n;
  uint32_t best = among ? among->list[0] : 0, ties = 0;
  uint64_t best_count = count(ctx, best);
  for (uint32_t k = 0; k < m; k++) {
    uint32_t i = among ? among->list[k] : k;
    uint64_t c = count(ctx, i);
    if (c < best_count) {
      best = i;
      best_count = c;
      ties = 1;
    } else if (c == best_count && lbsim_rng_below(rng, ++ties) == 0) {
      best = i;
    }
  }
  return best;
}

#endif
