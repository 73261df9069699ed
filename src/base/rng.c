#include "lbsim/base/rng.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x) {
  return lbsim_mix64(*x += UINT64_C(0x9e3779b97f4a7c15));
}

void lbsim_rng_init(lbsim_rng_t *rng, uint64_t seed, uint64_t stream) {
  /* Mix the stream id through its own splitmix round so that neighbouring
   * (seed, stream) pairs give unrelated states. */
  uint64_t x = stream;
  uint64_t key = splitmix64(&x);
  x = seed ^ key;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64(&x);
}

double lbsim_rng_uniform(lbsim_rng_t *rng, double lo, double hi) {
  return lo + (hi - lo) * lbsim_rng_double(rng);
}

/* The rest of lbsim_rng_below, when the first draw's low part is below n:
 * the draw may have to be rejected. */
uint64_t lbsim_rng_below_retry(lbsim_rng_t *rng, uint64_t n, uint64_t x) {
  __uint128_t m = (__uint128_t)x * n;
  uint64_t low = (uint64_t)m;
  uint64_t threshold = -n % n;
  while (low < threshold) {
    x = lbsim_rng_next(rng);
    m = (__uint128_t)x * n;
    low = (uint64_t)m;
  }
  return (uint64_t)(m >> 64);
}

double lbsim_rng_normal(lbsim_rng_t *rng) {
  double u1 = 1.0 - lbsim_rng_double(rng); /* (0, 1]: log() stays finite */
  double u2 = lbsim_rng_double(rng);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double lbsim_rng_exponential(lbsim_rng_t *rng, double mean) {
  return -mean * log(1.0 - lbsim_rng_double(rng));
}

uint64_t lbsim_rng_clock_seed(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
  x ^= (uint64_t)getpid() << 32;
  /* Keep printed seeds short enough to retype: 31 bits is plenty. */
  return splitmix64(&x) & UINT64_C(0x7fffffff);
}
