/* Subsetting (--subset K): which K of the n backends each client of a
 * fleet may use, so that a client keeps K connection pools instead of n.
 *
 *   random         each client draws K distinct backends, uniformly, from
 *                  its own stream: simple, and uneven (some backends are in
 *                  many more subsets than others).
 *   deterministic  the algorithm of Google's SRE book (chapter 20, "Load
 *                  Balancing in the Datacenter"): clients come in rounds of
 *                  n/K; each round is a shuffle of the backends, seeded by
 *                  the round, cut into n/K subsets of K, one per client of
 *                  the round. When K divides n and the clients fill whole
 *                  rounds, every backend is in exactly as many subsets; the
 *                  n mod K backends left at the end of a round's shuffle are
 *                  in none of that round's subsets, and a last round that
 *                  is not full uses only the first subsets of its shuffle.
 *
 * Pure code: the draws come from the run's seed. */
#ifndef LBSIM_SUBSET_H
#define LBSIM_SUBSET_H

#include <stdint.h>

typedef enum lbsim_subset_mode_e {
  LBSIM_SUBSET_RANDOM = 0,
  LBSIM_SUBSET_DETERMINISTIC
} lbsim_subset_mode_t;

/* Fills out[c * k .. c * k + k) with client c's subset, ascending, for
 * every c < nclients; 1 <= k <= n. 0, or LBSIM_ENOMEM. */
int lbsim_subset_make(uint32_t *out, uint32_t nclients, uint32_t n, uint32_t k, lbsim_subset_mode_t mode,
                      uint64_t seed);

/* The mode's name ("random", "deterministic"), and back (-1: unknown). */
const char *lbsim_subset_mode_name(lbsim_subset_mode_t mode);
int lbsim_subset_mode_find(const char *name);

#endif
