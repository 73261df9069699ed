/* Unit tests of the backend latency model (lbsim/model/latency.h). */
#include <math.h>

#include "harness.h"
#include "lbsim/model/latency.h"

static lbsim_latency_spec_t spec_of(double min, double max, double step, double floor_ms, double ceil_ms) {
  return (lbsim_latency_spec_t){
      .min_ms = min, .max_ms = max, .step_ms = step, .floor_ms = floor_ms, .ceil_ms = ceil_ms};
}

TEST(fixed_latency_is_exact) {
  lbsim_latency_spec_t spec = spec_of(7, 7, 100, 50, 2000);
  for (uint32_t i = 0; i < 50; i++) {
    lbsim_latency_t m;
    lbsim_latency_init(&m, &spec, 1234, i);
    CHECK_MSG(m.latency_ms == 7.0, "backend %u: %.17g", i, m.latency_ms);
  }
  spec = spec_of(812.4, 812.4, 100, 50, 2000);
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 1, 0);
  CHECK(m.latency_ms == 812.4);
  spec = spec_of(0, 0, 0, 0, 0);
  lbsim_latency_init(&m, &spec, 1, 0);
  CHECK(m.latency_ms == 0.0);
}

TEST(range_latency_within_range_and_distinct) {
  lbsim_latency_spec_t spec = spec_of(100, 1500, 100, 50, 2000);
  double values[200];
  double lo = INFINITY, hi = -INFINITY;
  for (uint32_t i = 0; i < 200; i++) {
    lbsim_latency_t m;
    lbsim_latency_init(&m, &spec, 777, i);
    values[i] = m.latency_ms;
    CHECK_MSG(values[i] >= 100 && values[i] <= 1500, "backend %u: %g", i, values[i]);
    for (uint32_t j = 0; j < i; j++)
      CHECK_MSG(values[j] != values[i], "backends %u and %u both start at %g", j, i, values[i]);
    lo = fmin(lo, values[i]);
    hi = fmax(hi, values[i]);
  }
  /* 200 uniform draws cover the range: the extremes are within 5 % of its ends */
  CHECK(lo < 170);
  CHECK(hi > 1430);
}

TEST(initial_latency_depends_on_seed) {
  lbsim_latency_spec_t spec = spec_of(100, 1500, 100, 50, 2000);
  lbsim_latency_t a, b, c;
  lbsim_latency_init(&a, &spec, 1, 0);
  lbsim_latency_init(&b, &spec, 2, 0);
  lbsim_latency_init(&c, &spec, 1, 0);
  CHECK(a.latency_ms != b.latency_ms);
  CHECK(a.latency_ms == c.latency_ms);
}

TEST(drift_step_is_bounded) {
  /* floor and ceil far away: every step is the raw step */
  lbsim_latency_spec_t spec = spec_of(1e6, 1e6, 100, 0, 1e9);
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 42, 0);
  double prev = m.latency_ms, biggest_up = 0, biggest_down = 0, sum = 0;
  const int steps = 20000;
  for (int i = 0; i < steps; i++) {
    double next = lbsim_latency_drift(&m);
    CHECK(next == m.latency_ms);
    double d = next - prev;
    CHECK_MSG(d >= -100.0 - 1e-6 && d <= 100.0 + 1e-6, "step %d: %g", i, d);
    biggest_up = fmax(biggest_up, d);
    biggest_down = fmin(biggest_down, d);
    sum += d;
    prev = next;
  }
  /* uniform in [-100, 100]: both ends are approached and the mean is ~0 */
  CHECK(biggest_up > 99.0);
  CHECK(biggest_down < -99.0);
  CHECK_NEAR(sum / steps, 0.0, 2.5); /* sd of the mean step ~0.41 */
}

TEST(zero_step_never_moves) {
  lbsim_latency_spec_t spec = spec_of(300, 300, 0, 50, 2000);
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 42, 2);
  for (int i = 0; i < 100; i++)
    CHECK(lbsim_latency_drift(&m) == 300.0);
}

TEST(clamp_function) {
  lbsim_latency_spec_t spec = spec_of(100, 1500, 100, 50, 2000);
  CHECK(lbsim_latency_clamp(&spec, 10) == 50);
  CHECK(lbsim_latency_clamp(&spec, -5) == 50);
  CHECK(lbsim_latency_clamp(&spec, 50) == 50);
  CHECK(lbsim_latency_clamp(&spec, 812.4) == 812.4);
  CHECK(lbsim_latency_clamp(&spec, 2000) == 2000);
  CHECK(lbsim_latency_clamp(&spec, 2000.5) == 2000);
  CHECK(lbsim_latency_clamp(&spec, 1e12) == 2000);
}

TEST(drift_clamps_to_floor_and_ceil) {
  /* steps of up to 500 ms in a 100 ms wide band: the walk hits both walls */
  lbsim_latency_spec_t spec = spec_of(150, 150, 500, 100, 200);
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 5, 0);
  int at_floor = 0, at_ceil = 0;
  for (int i = 0; i < 2000; i++) {
    double v = lbsim_latency_drift(&m);
    CHECK_MSG(v >= 100 && v <= 200, "step %d: %g", i, v);
    at_floor += v == 100;
    at_ceil += v == 200;
  }
  CHECK(at_floor > 100);
  CHECK(at_ceil > 100);
}

TEST(drift_from_the_floor_keeps_moving) {
  /* starting at the floor, a walk is not stuck there */
  lbsim_latency_spec_t spec = spec_of(50, 50, 100, 50, 2000);
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 9, 0);
  double hi = 0;
  for (int i = 0; i < 200; i++)
    hi = fmax(hi, lbsim_latency_drift(&m));
  CHECK(hi > 150);
}

/* Backend k's trajectory depends only on (seed, k): not on other backends. */
TEST(trajectory_independent_of_other_backends) {
  lbsim_latency_spec_t spec = spec_of(100, 1500, 100, 50, 2000);
  lbsim_latency_t alone, others[3], after;
  lbsim_latency_init(&alone, &spec, 31337, 3);
  for (uint32_t i = 0; i < 3; i++) {
    lbsim_latency_init(&others[i], &spec, 31337, i);
    for (int s = 0; s < 17; s++)
      lbsim_latency_drift(&others[i]);
  }
  lbsim_latency_init(&after, &spec, 31337, 3);
  CHECK(alone.latency_ms == after.latency_ms);
  for (int s = 0; s < 500; s++) {
    double a = lbsim_latency_drift(&alone);
    /* interleave other backends' steps */
    lbsim_latency_drift(&others[s % 3]);
    double b = lbsim_latency_drift(&after);
    CHECK_MSG(a == b, "step %d: %.17g vs %.17g", s, a, b);
  }
  /* and it is not the trajectory of another index */
  lbsim_latency_t four;
  lbsim_latency_init(&four, &spec, 31337, 4);
  CHECK(four.latency_ms != alone.latency_ms);
}

/* Switching between a fixed and a ranged initial latency does not change
 * the drift steps that follow (the initial draw is always made). */
TEST(fixed_and_ranged_share_drift_steps) {
  lbsim_latency_spec_t fixed = spec_of(1e6, 1e6, 100, 0, 1e9);
  lbsim_latency_spec_t ranged = spec_of(1e6, 2e6, 100, 0, 1e9);
  lbsim_latency_t a, b;
  lbsim_latency_init(&a, &fixed, 8, 1);
  lbsim_latency_init(&b, &ranged, 8, 1);
  double pa = a.latency_ms, pb = b.latency_ms;
  for (int s = 0; s < 100; s++) {
    double na = lbsim_latency_drift(&a), nb = lbsim_latency_drift(&b);
    CHECK_NEAR(na - pa, nb - pb, 1e-6);
    pa = na;
    pb = nb;
  }
}
