#include <math.h>

#include "harness.h"
#include "lbsim/rng.h"

TEST(same_seed_and_stream_repeat) {
  lbsim_rng_t a, b;
  lbsim_rng_init(&a, 42, 7);
  lbsim_rng_init(&b, 42, 7);
  for (int i = 0; i < 1000; i++)
    CHECK(lbsim_rng_next(&a) == lbsim_rng_next(&b));
}

TEST(streams_and_seeds_differ) {
  lbsim_rng_t a, b, c;
  lbsim_rng_init(&a, 42, 7);
  lbsim_rng_init(&b, 42, 8);
  lbsim_rng_init(&c, 43, 7);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = lbsim_rng_next(&a);
    same_ab += x == lbsim_rng_next(&b);
    same_ac += x == lbsim_rng_next(&c);
  }
  CHECK_EQ(same_ab, 0);
  CHECK_EQ(same_ac, 0);
}

TEST(below_is_in_range_and_uniform) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 1, 1);
  for (int i = 0; i < 1000; i++)
    CHECK_EQ(lbsim_rng_below(&r, 1), 0);
  enum { N = 7, DRAWS = 70000 };
  int counts[N] = {0};
  for (int i = 0; i < DRAWS; i++) {
    uint64_t v = lbsim_rng_below(&r, N);
    CHECK(v < N);
    counts[v]++;
  }
  /* Chi-square with 6 degrees of freedom: 22.5 is the 0.999 quantile. */
  double chi = 0, expected = (double)DRAWS / N;
  for (int i = 0; i < N; i++)
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  CHECK_MSG(chi < 22.5, "chi-square %.2f", chi);
}

TEST(doubles_and_uniform_stay_in_range) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 9, 3);
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    double d = lbsim_rng_double(&r);
    CHECK(d >= 0.0 && d < 1.0);
    double u = lbsim_rng_uniform(&r, -100, 100);
    CHECK(u >= -100 && u <= 100);
    sum += d;
  }
  CHECK_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(normal_and_exponential_moments) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 5, 5);
  double s = 0, s2 = 0, e = 0;
  enum { DRAWS = 200000 };
  for (int i = 0; i < DRAWS; i++) {
    double x = lbsim_rng_normal(&r);
    CHECK(isfinite(x));
    s += x;
    s2 += x * x;
    double y = lbsim_rng_exponential(&r, 20.0);
    CHECK(y >= 0);
    e += y;
  }
  CHECK_NEAR(s / DRAWS, 0.0, 0.01);
  CHECK_NEAR(s2 / DRAWS, 1.0, 0.02);
  CHECK_NEAR(e / DRAWS, 20.0, 0.3);
}
