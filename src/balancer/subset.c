/* Subsetting. See lbsim/balancer/subset.h. */
#include "lbsim/balancer/subset.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"
#include "lbsim/base/rng.h"

/* K of n, each set as likely, in ascending order: Knuth's selection
 * sampling (algorithm S), one draw per backend looked at. */
static void draw_subset(uint32_t *out, uint32_t n, uint32_t k, lbsim_rng_t *rng) {
  uint32_t chosen = 0;
  for (uint32_t i = 0; i < n && chosen < k; i++)
    if (lbsim_rng_below(rng, n - i) < k - chosen)
      out[chosen++] = i;
}

static int ascending(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int lbsim_subset_make(uint32_t *out, uint32_t nclients, uint32_t n, uint32_t k, lbsim_subset_mode_t mode,
                      uint64_t seed) {
  if (mode == LBSIM_SUBSET_RANDOM) {
    for (uint32_t c = 0; c < nclients; c++) {
      lbsim_rng_t rng;
      lbsim_rng_init(&rng, seed, lbsim_rng_client_stream(LBSIM_STREAM_SUBSET, c));
      draw_subset(out + (size_t)c * k, n, k, &rng);
    }
    return 0;
  }
  uint32_t *shuffled = malloc((size_t)n * sizeof(*shuffled));
  if (shuffled == NULL)
    return LBSIM_ENOMEM;
  uint32_t per_round = n / k;
  uint32_t round = UINT32_MAX;
  for (uint32_t c = 0; c < nclients; c++) {
    if (c / per_round != round) {
      /* A new round: the backends in a shuffle of its own (Fisher-Yates). */
      round = c / per_round;
      lbsim_rng_t rng;
      lbsim_rng_init(&rng, seed, lbsim_rng_client_stream(LBSIM_STREAM_SUBSET_ROUND, round));
      for (uint32_t i = 0; i < n; i++)
        shuffled[i] = i;
      for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)lbsim_rng_below(&rng, (uint64_t)i + 1);
        uint32_t t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
      }
    }
    uint32_t *subset = out + (size_t)c * k;
    memcpy(subset, shuffled + (size_t)(c % per_round) * k, (size_t)k * sizeof(*subset));
    qsort(subset, k, sizeof(*subset), ascending);
  }
  free(shuffled);
  return 0;
}

const char *lbsim_subset_mode_name(lbsim_subset_mode_t mode) {
  return mode == LBSIM_SUBSET_DETERMINISTIC ? "deterministic" : "random";
}

int lbsim_subset_mode_find(const char *name) {
  if (strcmp(name, "random") == 0)
    return LBSIM_SUBSET_RANDOM;
  if (strcmp(name, "deterministic") == 0)
    return LBSIM_SUBSET_DETERMINISTIC;
  return -1;
}
