#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/ema.h"
#include "lbsim/histogram.h"
#include "lbsim/rng.h"

TEST(ema_first_sample_then_blend) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 3, 0.3), 0);
  CHECK_NEAR(e.value_ms[0], 0, 0);
  CHECK(!e.measured[0]);
  CHECK_NEAR(lbsim_ema_update(&e, 0, 100), 100, 1e-12);
  CHECK_NEAR(lbsim_ema_update(&e, 0, 200), 0.3 * 200 + 0.7 * 100, 1e-12);
  CHECK_NEAR(lbsim_ema_update(&e, 2, 10000), 10000, 1e-12); /* a failure is just a sample */
  CHECK_NEAR(e.value_ms[1], 0, 0);
  lbsim_ema_free(&e);
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Every reported quantile is within 1 % of the exact one. */
static int check_against_exact(uint64_t *v, size_t n) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (size_t i = 0; i < n; i++)
    REQUIRE(lbsim_hist_record(&h, v[i]) == 0);
  qsort(v, n, sizeof(*v), cmp);
  static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999};
  for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
    size_t rank = (size_t)ceil(qs[k] * (double)n);
    double exact = (double)v[rank - 1];
    double got = lbsim_hist_quantile(&h, qs[k]);
    if (fabs(got - exact) > 0.01 * exact + 1e-9) {
      lbsim_test_fail(__FILE__, __LINE__, "q%.3f: %.1f vs exact %.1f", qs[k], got, exact);
      lbsim_hist_free(&h);
      return -1;
    }
  }
  REQUIRE(h.min_us == v[0] && h.max_us == v[n - 1]);
  lbsim_hist_free(&h);
  return 0;
}

TEST(histogram_error_below_one_percent) {
  enum { N = 20000 };
  static uint64_t v[N];
  lbsim_rng_t r;
  lbsim_rng_init(&r, 17, 0);
  /* log-uniform from 1 us to 1 h */
  for (size_t i = 0; i < N; i++)
    v[i] = (uint64_t)exp(lbsim_rng_uniform(&r, 0, log(3.6e9)));
  CHECK(check_against_exact(v, N) == 0);
  /* a narrow band around 100 ms */
  for (size_t i = 0; i < N; i++)
    v[i] = (uint64_t)lbsim_rng_uniform(&r, 100000, 103000);
  CHECK(check_against_exact(v, N) == 0);
  /* small exact values */
  for (size_t i = 0; i < N; i++)
    v[i] = lbsim_rng_below(&r, 128);
  CHECK(check_against_exact(v, N) == 0);
}

TEST(histogram_exact_below_128_and_empty) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.5), 0, 0);
  CHECK_NEAR(lbsim_hist_mean(&h), 0, 0);
  for (uint64_t v = 0; v < 128; v++)
    lbsim_hist_record(&h, v);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.5), 63, 0);
  CHECK_NEAR(lbsim_hist_quantile(&h, 1.0), 127, 0);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.0), 0, 0);
  CHECK_NEAR(lbsim_hist_mean(&h), 63.5, 1e-9);
  lbsim_hist_free(&h);
}

TEST(histogram_merge_and_reset) {
  lbsim_hist_t a, b, both;
  lbsim_hist_init(&a);
  lbsim_hist_init(&b);
  lbsim_hist_init(&both);
  for (uint64_t i = 1; i <= 1000; i++) {
    lbsim_hist_record(i % 2 ? &a : &b, i * 997);
    lbsim_hist_record(&both, i * 997);
  }
  CHECK_EQ(lbsim_hist_merge(&a, &b), 0);
  CHECK_EQ(a.count, both.count);
  CHECK_EQ(a.min_us, both.min_us);
  CHECK_EQ(a.max_us, both.max_us);
  for (double q = 0.05; q < 1; q += 0.05)
    CHECK_NEAR(lbsim_hist_quantile(&a, q), lbsim_hist_quantile(&both, q), 0);
  lbsim_hist_reset(&a);
  CHECK_EQ(a.count, 0);
  CHECK_NEAR(lbsim_hist_quantile(&a, 0.5), 0, 0);
  lbsim_hist_record(&a, 5000);
  CHECK_NEAR(lbsim_hist_quantile(&a, 0.5), 5000, 50);
  lbsim_hist_free(&a);
  lbsim_hist_free(&b);
  lbsim_hist_free(&both);
}

TEST(histogram_memory_is_per_octave) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (int i = 0; i < 1000; i++)
    lbsim_hist_record(&h, 100000 + (uint64_t)i);
  int octaves = 0;
  for (int o = 0; o < LBSIM_HIST_OCTAVES; o++)
    octaves += h.octaves[o] != NULL;
  CHECK_EQ(octaves, 1);
  lbsim_hist_free(&h);
}
