#include "harness.h"
#include "lbsim/latency.h"

static const lbsim_latency_spec_t seed_spec = {
    .min_ms = 100, .max_ms = 1500, .step_ms = 100, .floor_ms = 50, .ceil_ms = 2000};

TEST(fixed_latency_is_exact) {
  lbsim_latency_spec_t spec = seed_spec;
  spec.min_ms = spec.max_ms = 250;
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 1, 0);
  CHECK_NEAR(m.latency_ms, 250, 1e-9);
}

TEST(ranged_latency_is_within_range_and_varies) {
  lbsim_latency_t m;
  double first = -1;
  int distinct = 0;
  for (uint32_t i = 0; i < 50; i++) {
    lbsim_latency_init(&m, &seed_spec, 7, i);
    CHECK(m.latency_ms >= 100 && m.latency_ms <= 1500);
    if (first < 0)
      first = m.latency_ms;
    else if (m.latency_ms != first)
      distinct++;
  }
  CHECK(distinct > 40);
}

TEST(drift_step_is_bounded_and_clamped) {
  lbsim_latency_t m;
  lbsim_latency_init(&m, &seed_spec, 3, 2);
  bool moved = false;
  for (int i = 0; i < 5000; i++) {
    double before = m.latency_ms;
    double after = lbsim_latency_drift(&m);
    CHECK(after >= 50 && after <= 2000);
    /* A step is within +-step, unless the clamp cut it short. */
    if (after > 50 && after < 2000)
      CHECK(after - before <= 100 + 1e-9 && before - after <= 100 + 1e-9);
    moved = moved || after != before;
  }
  CHECK(moved);
}

TEST(clamp_reaches_floor_and_ceiling) {
  lbsim_latency_spec_t spec = {.min_ms = 60, .max_ms = 60, .step_ms = 1000, .floor_ms = 50, .ceil_ms = 70};
  lbsim_latency_t m;
  lbsim_latency_init(&m, &spec, 11, 0);
  bool floor_hit = false, ceil_hit = false;
  for (int i = 0; i < 200; i++) {
    double v = lbsim_latency_drift(&m);
    floor_hit = floor_hit || v == 50;
    ceil_hit = ceil_hit || v == 70;
  }
  CHECK(floor_hit && ceil_hit);
  CHECK_NEAR(lbsim_latency_clamp(&spec, 10), 50, 0);
  CHECK_NEAR(lbsim_latency_clamp(&spec, 99), 70, 0);
  CHECK_NEAR(lbsim_latency_clamp(&spec, 55), 55, 0);
}

TEST(trajectory_does_not_depend_on_other_backends) {
  lbsim_latency_t alone, crowd[4];
  lbsim_latency_init(&alone, &seed_spec, 99, 3);
  for (uint32_t i = 0; i < 4; i++)
    lbsim_latency_init(&crowd[i], &seed_spec, 99, i);
  CHECK(alone.latency_ms == crowd[3].latency_ms);
  for (int step = 0; step < 100; step++) {
    for (int i = 0; i < 3; i++)
      lbsim_latency_drift(&crowd[i]); /* other backends drifting in between */
    CHECK(lbsim_latency_drift(&alone) == lbsim_latency_drift(&crowd[3]));
  }
}
