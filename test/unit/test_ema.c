/* Unit tests of the client's latency estimator (lbsim/balancer/ema.h). */
#include "harness.h"
#include "lbsim/balancer/ema.h"

TEST(unmeasured_is_zero) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 5, 0.3), 0);
  CHECK_EQ(e.n, 5);
  CHECK(e.alpha == 0.3);
  for (uint32_t i = 0; i < 5; i++) {
    CHECK(e.value_ms[i] == 0.0);
    CHECK(!e.measured[i]);
  }
  lbsim_ema_free(&e);
}

TEST(first_sample_sets) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 3, 0.3), 0);
  CHECK(lbsim_ema_update(&e, 1, 812.4) == 812.4);
  CHECK(e.value_ms[1] == 812.4);
  CHECK(e.measured[1]);
  /* the others are untouched */
  CHECK(e.value_ms[0] == 0.0 && !e.measured[0]);
  CHECK(e.value_ms[2] == 0.0 && !e.measured[2]);
  lbsim_ema_free(&e);
}

TEST(alpha_blend) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 2, 0.3), 0);
  lbsim_ema_update(&e, 0, 100);
  CHECK_NEAR(lbsim_ema_update(&e, 0, 200), 130.0, 1e-9);      /* 0.3*200 + 0.7*100 */
  CHECK_NEAR(lbsim_ema_update(&e, 0, 0), 91.0, 1e-9);         /* 0.7*130 */
  CHECK_NEAR(lbsim_ema_update(&e, 0, 1000), 363.7, 1e-9);     /* 0.3*1000 + 0.7*91 */
  CHECK_NEAR(e.value_ms[0], 363.7, 1e-9);
  CHECK(e.value_ms[1] == 0.0 && !e.measured[1]);
  lbsim_ema_free(&e);
}

TEST(first_sample_of_zero_counts_as_measured) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 1, 0.5), 0);
  CHECK(lbsim_ema_update(&e, 0, 0.0) == 0.0);
  CHECK(e.measured[0]);
  /* the second sample is blended, not taken whole */
  CHECK_NEAR(lbsim_ema_update(&e, 0, 100.0), 50.0, 1e-12);
  lbsim_ema_free(&e);
}

TEST(alpha_one_keeps_the_newest) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 1, 1.0), 0);
  lbsim_ema_update(&e, 0, 10);
  CHECK(lbsim_ema_update(&e, 0, 250) == 250);
  CHECK(lbsim_ema_update(&e, 0, 3) == 3);
  lbsim_ema_free(&e);
}

TEST(converges_to_a_constant_signal) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 1, 0.3), 0);
  lbsim_ema_update(&e, 0, 1500);
  double prev = 1500;
  for (int i = 0; i < 60; i++) {
    double v = lbsim_ema_update(&e, 0, 100);
    CHECK(v < prev && v >= 100); /* monotone approach from above */
    prev = v;
  }
  CHECK_NEAR(prev, 100, 1e-6); /* 1400 * 0.7^60 ~ 7e-7 */
  lbsim_ema_free(&e);
}

TEST(matches_a_reference_computation) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 4, 0.25), 0);
  double ref[4] = {0};
  bool seen[4] = {false};
  uint32_t x = 12345;
  for (int i = 0; i < 1000; i++) {
    x = x * 1103515245u + 12345u;
    uint32_t b = (x >> 16) % 4;
    double sample = (double)((x >> 4) % 2000);
    ref[b] = seen[b] ? 0.25 * sample + 0.75 * ref[b] : sample;
    seen[b] = true;
    CHECK_NEAR(lbsim_ema_update(&e, b, sample), ref[b], 1e-9);
  }
  for (uint32_t b = 0; b < 4; b++)
    CHECK_NEAR(e.value_ms[b], ref[b], 1e-9);
  lbsim_ema_free(&e);
}

TEST(free_is_idempotent) {
  lbsim_ema_t e;
  CHECK_EQ(lbsim_ema_init(&e, 4096, 0.3), 0);
  lbsim_ema_free(&e);
  CHECK(e.value_ms == NULL && e.measured == NULL);
  lbsim_ema_free(&e);
}

/* count samples at once: the value, to the last bit, of count updates one
 * after another (the virtual clock hands a burst's answers over together). */
TEST(update_n_is_n_updates) {
  static const double samples[] = {812.4, 0.1, 130.0, 1999.99, 50.0};
  static const uint32_t counts[] = {1, 2, 7, 95, 100, 1000};
  for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++)
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
      lbsim_ema_t one, many;
      CHECK_EQ(lbsim_ema_init(&one, 2, 0.3), 0);
      CHECK_EQ(lbsim_ema_init(&many, 2, 0.3), 0);
      /* from unmeasured, and from a measured value far away */
      for (int start = 0; start < 2; start++) {
        if (start == 1) {
          lbsim_ema_update(&one, 1, 5000.0);
          lbsim_ema_update(&many, 1, 5000.0);
        }
        for (uint32_t k = 0; k < counts[c]; k++)
          lbsim_ema_update(&one, 1, samples[s]);
        double got = lbsim_ema_update_n(&many, 1, samples[s], counts[c]);
        CHECK_MSG(got == one.value_ms[1] && many.value_ms[1] == one.value_ms[1] && many.measured[1],
                  "sample %g x%u: %.17g, one by one %.17g", samples[s], counts[c], got, one.value_ms[1]);
      }
      CHECK(lbsim_ema_update_n(&many, 0, 10.0, 0) == 0.0 && !many.measured[0]); /* none: unchanged */
      lbsim_ema_free(&one);
      lbsim_ema_free(&many);
    }
}
