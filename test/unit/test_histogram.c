/* Unit tests of the log-linear latency histogram (lbsim/base/histogram.h). */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/base/histogram.h"
#include "lbsim/base/rng.h"

#define ONE_HOUR_US UINT64_C(3600000000)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The nearest-rank quantile of sorted samples: the ceil(q n)-th smallest. */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q) {
  if (q <= 0)
    return sorted[0];
  if (q >= 1)
    return sorted[n - 1];
  size_t rank = (size_t)ceil(q * (double)n);
  if (rank == 0)
    rank = 1;
  return sorted[rank - 1];
}

static const double qs[] = {0,    0.0001, 0.001, 0.01, 0.05, 0.1,   0.25,  0.333, 0.5,
                            0.66, 0.75,   0.9,   0.95, 0.99, 0.995, 0.999, 0.9999, 1};
#define NQS (sizeof(qs) / sizeof(qs[0]))

/* Every quantile of h within 1 % of the exact one (exact below 128 us). */
static int check_quantiles(const lbsim_hist_t *h, uint64_t *samples, size_t n, const char *what) {
  qsort(samples, n, sizeof(*samples), cmp_u64);
  for (size_t i = 0; i < NQS; i++) {
    double exact = (double)exact_quantile(samples, n, qs[i]);
    double got = lbsim_hist_quantile(h, qs[i]);
    double tol = exact < 128 ? 0.0 : 0.01 * exact;
    if (!(fabs(got - exact) <= tol)) {
      lbsim_test_fail(__FILE__, __LINE__, "%s: q=%g: histogram %.1f, exact %.0f (off by %.3f %%)", what, qs[i],
                      got, exact, 100.0 * fabs(got - exact) / (exact > 0 ? exact : 1));
      return -1;
    }
  }
  return 0;
}

enum { NSAMPLES = 100000 };
static uint64_t samples[NSAMPLES];

typedef uint64_t (*draw_fn)(lbsim_rng_t *r);

static uint64_t clamp_us(double v) {
  if (v < 1)
    return 1;
  if (v > (double)ONE_HOUR_US)
    return ONE_HOUR_US;
  return (uint64_t)v;
}

/* log-uniform over 1 us .. 1 h: every octave gets samples */
static uint64_t draw_log_uniform(lbsim_rng_t *r) {
  return clamp_us(exp(lbsim_rng_uniform(r, 0, log((double)ONE_HOUR_US))));
}
static uint64_t draw_uniform_ms(lbsim_rng_t *r) {
  return clamp_us(lbsim_rng_uniform(r, 100e3, 1500e3));
}
static uint64_t draw_exponential(lbsim_rng_t *r) {
  return clamp_us(lbsim_rng_exponential(r, 250e3));
}
static uint64_t draw_normal(lbsim_rng_t *r) {
  return clamp_us(800e3 + 50e3 * lbsim_rng_normal(r));
}
static uint64_t draw_lognormal(lbsim_rng_t *r) {
  return clamp_us(exp(log(20e3) + 1.5 * lbsim_rng_normal(r)));
}
static uint64_t draw_bimodal(lbsim_rng_t *r) {
  /* mostly ~2 ms, a tail of timeouts at ~10 s and the odd sub-128 us value */
  double u = lbsim_rng_double(r);
  if (u < 0.02)
    return (uint64_t)lbsim_rng_below(r, 128);
  if (u < 0.97)
    return clamp_us(2e3 + 200 * lbsim_rng_normal(r));
  return clamp_us(10e6 + 1e3 * lbsim_rng_normal(r));
}
static uint64_t draw_small(lbsim_rng_t *r) {
  return lbsim_rng_below(r, 300); /* across the exact / bucketed boundary */
}
static uint64_t draw_extremes(lbsim_rng_t *r) {
  return lbsim_rng_double(r) < 0.5 ? 1 : ONE_HOUR_US - lbsim_rng_below(r, 1000);
}

static int run_distribution(draw_fn draw, uint64_t seed, size_t n, const char *what) {
  lbsim_rng_t r;
  lbsim_hist_t h;
  lbsim_rng_init(&r, seed, 0);
  lbsim_hist_init(&h);
  double sum = 0;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    samples[i] = draw(&r);
    sum += (double)samples[i];
    lo = samples[i] < lo ? samples[i] : lo;
    hi = samples[i] > hi ? samples[i] : hi;
    REQUIRE(lbsim_hist_record(&h, samples[i]) == 0);
  }
  int rc = check_quantiles(&h, samples, n, what);
  if (rc == 0 && (h.count != n || h.min_us != lo || h.max_us != hi ||
                  fabs(lbsim_hist_mean(&h) - sum / (double)n) > 1e-9 * (sum / (double)n))) {
    lbsim_test_fail(__FILE__, __LINE__, "%s: count/min/max/mean wrong", what);
    rc = -1;
  }
  lbsim_hist_free(&h);
  return rc;
}

TEST(quantiles_log_uniform_1us_to_1h) {
  CHECK_EQ(run_distribution(draw_log_uniform, 1, NSAMPLES, "log-uniform"), 0);
  CHECK_EQ(run_distribution(draw_log_uniform, 2, 1000, "log-uniform (1000)"), 0);
}

TEST(quantiles_uniform) {
  CHECK_EQ(run_distribution(draw_uniform_ms, 3, NSAMPLES, "uniform 100..1500 ms"), 0);
}

TEST(quantiles_exponential) {
  CHECK_EQ(run_distribution(draw_exponential, 4, NSAMPLES, "exponential"), 0);
}

TEST(quantiles_normal) {
  CHECK_EQ(run_distribution(draw_normal, 5, NSAMPLES, "normal"), 0);
}

TEST(quantiles_lognormal) {
  CHECK_EQ(run_distribution(draw_lognormal, 6, NSAMPLES, "lognormal"), 0);
}

TEST(quantiles_bimodal) {
  CHECK_EQ(run_distribution(draw_bimodal, 7, NSAMPLES, "bimodal"), 0);
}

TEST(quantiles_small_values) {
  CHECK_EQ(run_distribution(draw_small, 8, NSAMPLES, "0..299 us"), 0);
}

TEST(quantiles_extremes) {
  CHECK_EQ(run_distribution(draw_extremes, 9, NSAMPLES, "1 us and 1 h"), 0);
}

/* Every value of 128 us .. 1 h, one at a time: the quantile of a single
 * sample is within 1 % of it; below 128 it is exact. */
TEST(single_values_across_the_range) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (uint64_t v = 0; v <= ONE_HOUR_US; v = v < 1024 ? v + 1 : v + v / 97 + 1) {
    lbsim_hist_reset(&h);
    CHECK_EQ(lbsim_hist_record(&h, v), 0);
    /* q = 0 and 1 give min and max: ask for the middle */
    double got = lbsim_hist_quantile(&h, 0.5);
    CHECK_MSG(v < 128 ? got == (double)v : fabs(got - (double)v) <= 0.01 * (double)v,
              "value %llu: quantile %.1f", (unsigned long long)v, got);
  }
  lbsim_hist_free(&h);
}

/* Bucket accuracy without the clamp to [min, max]: a sample in the middle
 * of a spread, its neighbours far away. */
TEST(bucket_accuracy_away_from_min_and_max) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (uint64_t v = 128; v < ONE_HOUR_US; v = v + v / 61 + 1) {
    lbsim_hist_reset(&h);
    lbsim_hist_record(&h, 0);
    lbsim_hist_record(&h, v);
    lbsim_hist_record(&h, UINT64_C(1) << 44);
    double got = lbsim_hist_quantile(&h, 0.5);
    CHECK_MSG(fabs(got - (double)v) <= (double)v / 128.0 + 1e-9, "value %llu: median %.1f",
              (unsigned long long)v, got);
  }
  lbsim_hist_free(&h);
}

TEST(exact_below_128) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (uint64_t v = 0; v < 128; v++)
    lbsim_hist_record(&h, v);
  for (uint64_t rank = 1; rank <= 128; rank++) {
    double q = ((double)rank - 0.5) / 128.0; /* ceil(q * 128) = rank */
    CHECK_MSG(lbsim_hist_quantile(&h, q) == (double)(rank - 1), "rank %llu: %.3f", (unsigned long long)rank,
              lbsim_hist_quantile(&h, q));
  }
  CHECK(lbsim_hist_quantile(&h, 0) == 0);
  CHECK(lbsim_hist_quantile(&h, 1) == 127);
  CHECK(lbsim_hist_quantile(&h, 0.5) == 63);
  CHECK_NEAR(lbsim_hist_mean(&h), 63.5, 1e-12);
  lbsim_hist_free(&h);
}

TEST(empty_is_zero) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  CHECK_EQ(h.count, 0);
  CHECK(lbsim_hist_quantile(&h, 0) == 0);
  CHECK(lbsim_hist_quantile(&h, 0.5) == 0);
  CHECK(lbsim_hist_quantile(&h, 0.99) == 0);
  CHECK(lbsim_hist_quantile(&h, 1) == 0);
  CHECK(lbsim_hist_mean(&h) == 0);
  lbsim_hist_free(&h);
}

TEST(min_max_mean) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  static const uint64_t v[] = {5000, 812400, 77, 1500000, 123456};
  for (size_t i = 0; i < 5; i++)
    lbsim_hist_record(&h, v[i]);
  CHECK_EQ(h.count, 5);
  CHECK_EQ(h.min_us, 77);
  CHECK_EQ(h.max_us, 1500000);
  CHECK(lbsim_hist_quantile(&h, 0) == 77);
  CHECK(lbsim_hist_quantile(&h, 1) == 1500000);
  CHECK_NEAR(lbsim_hist_mean(&h), (5000 + 812400 + 77 + 1500000 + 123456) / 5.0, 1e-6);
  /* a single large first value: min is that value, not 0 */
  lbsim_hist_t one;
  lbsim_hist_init(&one);
  lbsim_hist_record(&one, 999999);
  CHECK_EQ(one.min_us, 999999);
  CHECK_EQ(one.max_us, 999999);
  CHECK(lbsim_hist_quantile(&one, 0.5) == 999999); /* clamped into [min, max] */
  lbsim_hist_free(&one);
  lbsim_hist_free(&h);
}

TEST(quantile_is_monotone) {
  lbsim_rng_t r;
  lbsim_hist_t h;
  lbsim_rng_init(&r, 10, 0);
  lbsim_hist_init(&h);
  for (int i = 0; i < 20000; i++)
    lbsim_hist_record(&h, draw_lognormal(&r));
  double prev = -1;
  for (int i = 0; i <= 1000; i++) {
    double v = lbsim_hist_quantile(&h, i / 1000.0);
    CHECK(v >= prev);
    prev = v;
  }
  lbsim_hist_free(&h);
}

static int same_histogram(const lbsim_hist_t *a, const lbsim_hist_t *b) {
  REQUIRE(a->count == b->count);
  REQUIRE(a->min_us == b->min_us);
  REQUIRE(a->max_us == b->max_us);
  REQUIRE(fabs(lbsim_hist_mean(a) - lbsim_hist_mean(b)) <= 1e-9 * (lbsim_hist_mean(a) + 1));
  for (int i = 0; i <= 1000; i++)
    REQUIRE(lbsim_hist_quantile(a, i / 1000.0) == lbsim_hist_quantile(b, i / 1000.0));
  return 0;
}

TEST(merge_equals_recording_both) {
  lbsim_rng_t r;
  lbsim_hist_t a, b, both;
  lbsim_rng_init(&r, 11, 0);
  lbsim_hist_init(&a);
  lbsim_hist_init(&b);
  lbsim_hist_init(&both);
  for (int i = 0; i < 30000; i++) {
    uint64_t x = draw_lognormal(&r), y = draw_bimodal(&r);
    lbsim_hist_record(&a, x);
    lbsim_hist_record(&b, y);
    lbsim_hist_record(&both, x);
    lbsim_hist_record(&both, y);
  }
  CHECK_EQ(lbsim_hist_merge(&a, &b), 0);
  CHECK_EQ(same_histogram(&a, &both), 0);
  /* the source is left as it was */
  CHECK_EQ(b.count, 30000);
  lbsim_hist_free(&a);
  lbsim_hist_free(&b);
  lbsim_hist_free(&both);
}

TEST(merge_with_empty) {
  lbsim_hist_t a, empty, copy;
  lbsim_hist_init(&a);
  lbsim_hist_init(&empty);
  lbsim_hist_init(&copy);
  for (uint64_t v = 200; v < 2000000; v = v * 3 / 2)
    lbsim_hist_record(&a, v);
  /* empty into a: unchanged */
  CHECK_EQ(lbsim_hist_merge(&a, &empty), 0);
  /* a into empty: a copy, min included (not 0) */
  CHECK_EQ(lbsim_hist_merge(&copy, &a), 0);
  CHECK_EQ(copy.min_us, 200);
  CHECK_EQ(same_histogram(&copy, &a), 0);
  lbsim_hist_free(&a);
  lbsim_hist_free(&empty);
  lbsim_hist_free(&copy);
}

TEST(reset_forgets_everything) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  for (uint64_t v = 1; v < 10000000; v *= 3)
    lbsim_hist_record(&h, v);
  lbsim_hist_reset(&h);
  CHECK_EQ(h.count, 0);
  CHECK(lbsim_hist_quantile(&h, 0.5) == 0);
  CHECK(lbsim_hist_mean(&h) == 0);
  /* after a reset, new samples stand alone: min is not stuck at the old 1 */
  lbsim_hist_record(&h, 5000);
  lbsim_hist_record(&h, 7000);
  CHECK_EQ(h.count, 2);
  CHECK_EQ(h.min_us, 5000);
  CHECK_EQ(h.max_us, 7000);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.5), 5000, 50);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.99), 7000, 70);
  CHECK_NEAR(lbsim_hist_mean(&h), 6000, 1e-9);
  lbsim_hist_free(&h);
}

TEST(huge_values_are_counted) {
  lbsim_hist_t h;
  lbsim_hist_init(&h);
  lbsim_hist_record(&h, 1000);
  lbsim_hist_record(&h, UINT64_C(1) << 50);
  lbsim_hist_record(&h, UINT64_MAX);
  CHECK_EQ(h.count, 3);
  CHECK(h.max_us == UINT64_MAX);
  CHECK(lbsim_hist_quantile(&h, 1) == (double)UINT64_MAX);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.2), 1000, 10);
  double mid = lbsim_hist_quantile(&h, 0.5);
  CHECK(mid > 1e13 && mid <= (double)UINT64_MAX);
  lbsim_hist_free(&h);
}

/* The buckets are one window grown to take each sample: downwards, upwards,
 * after a reset (which clears only what it held), and when merged into a
 * histogram whose window is elsewhere. */
TEST(window_grows_either_way_and_merges_across) {
  lbsim_hist_t h, low, both;
  lbsim_hist_init(&h);
  lbsim_hist_init(&low);
  lbsim_hist_init(&both);
  static const uint64_t high_first[] = {1500000, 90, 700000, 3, 30000000, 12000};
  for (size_t i = 0; i < sizeof(high_first) / sizeof(high_first[0]); i++) {
    CHECK_EQ(lbsim_hist_record(&h, high_first[i]), 0);
    CHECK_EQ(lbsim_hist_record(&both, high_first[i]), 0);
  }
  CHECK(lbsim_hist_quantile(&h, 0.01) == 3);
  CHECK(lbsim_hist_quantile(&h, 0.3) == 90);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.5), 12000, 12000 / 128.0);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.6), 700000, 700000 / 128.0);
  CHECK(lbsim_hist_quantile(&h, 1) == 30000000);
  /* a reset, then samples far from the old ones: nothing old is left */
  lbsim_hist_reset(&h);
  CHECK_EQ(lbsim_hist_record_n(&h, 250, 3), 0);
  CHECK_EQ(lbsim_hist_count_le(&h, 1e12), 3);
  CHECK_NEAR(lbsim_hist_quantile(&h, 0.5), 250, 2);
  /* merge a window below into one above, and the other way */
  for (uint64_t v = 1; v < 200; v += 7) {
    CHECK_EQ(lbsim_hist_record(&low, v), 0);
    CHECK_EQ(lbsim_hist_record(&both, v), 0);
  }
  lbsim_hist_t above;
  lbsim_hist_init(&above);
  for (size_t i = 0; i < sizeof(high_first) / sizeof(high_first[0]); i++)
    CHECK_EQ(lbsim_hist_record(&above, high_first[i]), 0);
  CHECK_EQ(lbsim_hist_merge(&above, &low), 0);
  CHECK_EQ(lbsim_hist_merge(&low, &h), 0); /* low now also holds the three 250s */
  CHECK_EQ(low.count, 29 + 3);
  CHECK_EQ(lbsim_hist_count_le(&low, 240), 29);
  for (int i = 0; i <= 100; i++)
    CHECK(lbsim_hist_quantile(&above, i / 100.0) == lbsim_hist_quantile(&both, i / 100.0));
  CHECK_EQ(above.count, both.count);
  lbsim_hist_free(&above);
  lbsim_hist_free(&h);
  lbsim_hist_free(&low);
  lbsim_hist_free(&both);
}
