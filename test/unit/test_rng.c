/* Unit tests of the seeded, splittable random numbers (lbsim/base/rng.h). */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/base/rng.h"

TEST(same_seed_and_stream_same_sequence) {
  lbsim_rng_t a, b;
  lbsim_rng_init(&a, 1234, LBSIM_STREAM_DRIFT + 3);
  lbsim_rng_init(&b, 1234, LBSIM_STREAM_DRIFT + 3);
  for (int i = 0; i < 10000; i++) {
    uint64_t x = lbsim_rng_next(&a), y = lbsim_rng_next(&b);
    CHECK_MSG(x == y, "draw %d differs", i);
  }
}

TEST(reinit_restarts_the_sequence) {
  lbsim_rng_t a;
  uint64_t first[16];
  lbsim_rng_init(&a, 99, LBSIM_STREAM_POLICY);
  for (int i = 0; i < 16; i++)
    first[i] = lbsim_rng_next(&a);
  lbsim_rng_init(&a, 99, LBSIM_STREAM_POLICY);
  for (int i = 0; i < 16; i++)
    CHECK(lbsim_rng_next(&a) == first[i]);
}

/* Two generators that never produce the same value at the same position in
 * 1,000 draws (for 64-bit outputs, a single coincidence is already absurd). */
static int count_equal(lbsim_rng_t *a, lbsim_rng_t *b) {
  int same = 0;
  for (int i = 0; i < 1000; i++)
    same += lbsim_rng_next(a) == lbsim_rng_next(b);
  return same;
}

TEST(different_streams_differ) {
  static const uint64_t streams[] = {
      0, 1, 2, LBSIM_STREAM_DRIFT, LBSIM_STREAM_DRIFT + 1, LBSIM_STREAM_JITTER, LBSIM_STREAM_ERRORS,
      LBSIM_STREAM_POLICY, LBSIM_STREAM_POLICY + 1, LBSIM_STREAM_ARRIVALS};
  size_t ns = sizeof(streams) / sizeof(streams[0]);
  for (size_t i = 0; i < ns; i++)
    for (size_t j = i + 1; j < ns; j++) {
      lbsim_rng_t a, b;
      lbsim_rng_init(&a, 42, streams[i]);
      lbsim_rng_init(&b, 42, streams[j]);
      CHECK_MSG(count_equal(&a, &b) == 0, "streams %zu and %zu overlap", i, j);
    }
}

TEST(different_seeds_differ) {
  for (uint64_t seed = 0; seed < 20; seed++) {
    lbsim_rng_t a, b;
    lbsim_rng_init(&a, seed, LBSIM_STREAM_DRIFT);
    lbsim_rng_init(&b, seed + 1, LBSIM_STREAM_DRIFT);
    CHECK_MSG(count_equal(&a, &b) == 0, "seeds %llu and %llu overlap", (unsigned long long)seed,
              (unsigned long long)seed + 1);
  }
}

/* Neighbouring (seed, stream) pairs must not be shifted copies of each other
 * (seed ^ stream would give that): (s, t+1) vs (s+1, t) etc. */
TEST(seed_and_stream_do_not_alias) {
  lbsim_rng_t a, b;
  lbsim_rng_init(&a, 5, 6);
  lbsim_rng_init(&b, 6, 5);
  CHECK_EQ(count_equal(&a, &b), 0);
  lbsim_rng_init(&a, 0, 1);
  lbsim_rng_init(&b, 1, 0);
  CHECK_EQ(count_equal(&a, &b), 0);
}

TEST(output_bits_are_balanced) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 7, 0);
  int ones[64] = {0};
  const int draws = 20000;
  for (int i = 0; i < draws; i++) {
    uint64_t x = lbsim_rng_next(&r);
    for (int bit = 0; bit < 64; bit++)
      ones[bit] += (int)((x >> bit) & 1);
  }
  /* sd of each count is sqrt(20000)/2 ~ 71: allow 6 sd */
  for (int bit = 0; bit < 64; bit++)
    CHECK_MSG(abs(ones[bit] - draws / 2) < 425, "bit %d set %d times of %d", bit, ones[bit], draws);
}

TEST(below_one_is_always_zero) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 3, 0);
  for (int i = 0; i < 1000; i++)
    CHECK_EQ(lbsim_rng_below(&r, 1), 0);
}

TEST(below_is_in_range) {
  static const uint64_t ns[] = {2, 3, 5, 7, 10, 100, 1000, 4096, 65537, UINT64_C(1) << 32,
                                (UINT64_C(1) << 63) + 1, UINT64_MAX};
  lbsim_rng_t r;
  lbsim_rng_init(&r, 11, 0);
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    uint64_t n = ns[k], high = 0;
    for (int i = 0; i < 2000; i++) {
      uint64_t v = lbsim_rng_below(&r, n);
      CHECK_MSG(v < n, "below(%llu) gave %llu", (unsigned long long)n, (unsigned long long)v);
      high += v >= n / 2;
    }
    /* [n/2, n) holds n - n/2 of the n values (about half for large n) */
    double expected = 2000.0 * ((double)(n - n / 2) / (double)n);
    CHECK_MSG(fabs((double)high - expected) < 200, "below(%llu): %llu of 2000 in [n/2, n), expected %.0f",
              (unsigned long long)n, (unsigned long long)high, expected);
  }
}

/* Pearson's chi-square statistic of `draws` values of below(n). */
static double chi_square(lbsim_rng_t *r, uint64_t n, int draws) {
  int counts[64] = {0};
  for (int i = 0; i < draws; i++) {
    uint64_t v = lbsim_rng_below(r, n);
    if (v >= n)
      return INFINITY;
    counts[v]++;
  }
  double expected = (double)draws / (double)n, chi2 = 0;
  for (uint64_t i = 0; i < n; i++)
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  return chi2;
}

TEST(below_is_uniform) {
  /* With k = n - 1 degrees of freedom the statistic has mean k and sd
   * sqrt(2k); k + 6 sqrt(2k) + 10 is far out in the tail. */
  static const uint64_t ns[] = {2, 3, 5, 6, 7, 10, 17, 33, 64};
  lbsim_rng_t r;
  lbsim_rng_init(&r, 2024, LBSIM_STREAM_POLICY);
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    double dof = (double)(ns[k] - 1);
    double chi2 = chi_square(&r, ns[k], 50000);
    CHECK_MSG(chi2 < dof + 6 * sqrt(2 * dof) + 10, "below(%llu): chi-square %.2f with %g dof",
              (unsigned long long)ns[k], chi2, dof);
  }
}

/* A biased generator (e.g. plain modulo of a 2-bit value for n = 3) is
 * caught by the same statistic: checks that the bound above has teeth. */
TEST(chi_square_bound_detects_bias) {
  int counts[3] = {0};
  for (int i = 0; i < 50000; i++)
    counts[(i & 3) % 3]++; /* 0 gets twice the share */
  double expected = 50000 / 3.0, chi2 = 0;
  for (int i = 0; i < 3; i++)
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  CHECK(chi2 > 2 + 6 * sqrt(4.0) + 10);
}

TEST(double_is_in_unit_interval) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 5, 1);
  double sum = 0, lo = 1, hi = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; i++) {
    double d = lbsim_rng_double(&r);
    CHECK(d >= 0.0 && d < 1.0);
    sum += d;
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  CHECK_NEAR(sum / draws, 0.5, 0.005); /* sd of the mean ~0.0009 */
  CHECK(lo < 0.001);
  CHECK(hi > 0.999);
}

TEST(uniform_is_in_range) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 6, 1);
  double sum = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; i++) {
    double d = lbsim_rng_uniform(&r, -100.0, 300.0);
    CHECK(d >= -100.0 && d <= 300.0);
    sum += d;
  }
  CHECK_NEAR(sum / draws, 100.0, 2.0); /* sd of the mean ~0.37 */
  /* a degenerate range gives its only value */
  for (int i = 0; i < 100; i++)
    CHECK(lbsim_rng_uniform(&r, 812.4, 812.4) == 812.4);
}

TEST(normal_mean_zero_variance_one) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 8, LBSIM_STREAM_JITTER);
  const int draws = 200000;
  double sum = 0, sum2 = 0;
  int beyond2 = 0;
  for (int i = 0; i < draws; i++) {
    double x = lbsim_rng_normal(&r);
    CHECK(isfinite(x));
    sum += x;
    sum2 += x * x;
    beyond2 += fabs(x) > 2.0;
  }
  double mean = sum / draws, var = sum2 / draws - mean * mean;
  CHECK_NEAR(mean, 0.0, 0.01);   /* sd of the mean ~0.0022 */
  CHECK_NEAR(var, 1.0, 0.02);    /* sd of the variance ~0.0032 */
  /* P(|x| > 2) = 4.55 % for a normal (1.2 % for a uniform of the same variance) */
  CHECK_NEAR((double)beyond2 / draws, 0.0455, 0.003);
}

TEST(exponential_mean) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 9, LBSIM_STREAM_ARRIVALS);
  const int draws = 200000;
  const double mean = 250.0;
  double sum = 0;
  int above_mean = 0;
  for (int i = 0; i < draws; i++) {
    double x = lbsim_rng_exponential(&r, mean);
    CHECK(x >= 0.0 && isfinite(x));
    sum += x;
    above_mean += x > mean;
  }
  CHECK_NEAR(sum / draws, mean, 2.5);                     /* sd of the mean ~0.56 */
  CHECK_NEAR((double)above_mean / draws, exp(-1.0), 0.005); /* P(x > mean) = 1/e */
}

TEST(clock_seed_fits_31_bits) {
  uint64_t s = lbsim_rng_clock_seed();
  CHECK(s <= UINT64_C(0x7fffffff));
}
