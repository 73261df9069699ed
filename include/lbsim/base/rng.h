/* Seeded, splittable pseudo-random numbers (xoshiro256**, seeded by splitmix64).
 *
 * Every consumer of randomness owns its own stream, derived from the run's
 * seed and a stream id. Streams are independent of one another, so backend
 * k's drift trajectory does not depend on how many backends exist, on the
 * traffic, or on the policy. */
#ifndef LBSIM_RNG_H
#define LBSIM_RNG_H

#include <stdint.h>

typedef struct lbsim_rng_s {
  uint64_t s[4];
} lbsim_rng_t;

/* Stream ids. Per-backend streams are LBSIM_STREAM_* + backend index (0-based),
 * so up to 2^24 backends can never collide with one another. */
#define LBSIM_STREAM_DRIFT      (UINT64_C(1) << 32)
#define LBSIM_STREAM_JITTER     (UINT64_C(2) << 32)
#define LBSIM_STREAM_ERRORS     (UINT64_C(3) << 32)
#define LBSIM_STREAM_POLICY     (UINT64_C(4) << 32)
#define LBSIM_STREAM_ARRIVALS   (UINT64_C(5) << 32)
#define LBSIM_STREAM_NETWORK    (UINT64_C(6) << 32)
#define LBSIM_STREAM_SUBSET     (UINT64_C(7) << 32)
#define LBSIM_STREAM_SUBSET_ROUND (UINT64_C(8) << 32)
#define LBSIM_STREAM_RETRY      (UINT64_C(16) << 32) /* backoff draws, per client */
#define LBSIM_STREAM_OUTLIER    (UINT64_C(17) << 32) /* ejection enforcement draws, per client */

/* Client k's stream of a kind (a fleet's clients, balancer/fleet.h): the
 * kind's id mixed with k, so that client 0's is the kind's own and no two
 * clients' overlap, nor those of neighbouring seeds. */
static inline uint64_t lbsim_rng_client_stream(uint64_t kind, uint32_t client);

void lbsim_rng_init(lbsim_rng_t *rng, uint64_t seed, uint64_t stream);

/* Inline: a draw or two per simulated request. */
static inline uint64_t lbsim_rng_rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t lbsim_rng_next(lbsim_rng_t *rng) {
  uint64_t *s = rng->s;
  uint64_t result = lbsim_rng_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = lbsim_rng_rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1), 53 bits (one exact multiplication). */
static inline double lbsim_rng_double(lbsim_rng_t *rng) {
  return (double)(lbsim_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi]. */
double lbsim_rng_uniform(lbsim_rng_t *rng, double lo, double hi);
uint64_t lbsim_rng_below_retry(lbsim_rng_t *rng, uint64_t n, uint64_t x);

/* Uniform integer in [0, n), unbiased; n must be > 0. Lemire's nearly
 * divisionless method: the first draw almost always does. */
static inline uint64_t lbsim_rng_below(lbsim_rng_t *rng, uint64_t n) {
  uint64_t x = lbsim_rng_next(rng);
  __uint128_t m = (__uint128_t)x * n;
  if ((uint64_t)m < n)
    return lbsim_rng_below_retry(rng, n, x);
  return (uint64_t)(m >> 64);
}
/* A 64-bit hash (splitmix64's finaliser): a draw that is a function of a
 * key rather than a step of a stream. */
static inline uint64_t lbsim_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline uint64_t lbsim_rng_client_stream(uint64_t kind, uint32_t client) {
  return kind ^ lbsim_mix64(client); /* lbsim_mix64(0) is 0 */
}

/* Standard normal deviate (Box-Muller, one of the pair). */
double lbsim_rng_normal(lbsim_rng_t *rng);
/* Exponential deviate with the given mean. */
double lbsim_rng_exponential(lbsim_rng_t *rng, double mean);
/* A seed from the clock and the process id, for runs without --seed. */
uint64_t lbsim_rng_clock_seed(void);

#endif
