/* Unit tests of the oracle (lbsim/model/oracle.h): the best backend is the one of
 * lowest expected cost, failures counted at the failure latency. The models
 * are set by hand; no loop runs. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "lbsim/model/oracle.h"

#define FAILURE_MS 10000.0
#define TIMEOUT_MS 5000.0
#define NOW UINT64_C(1000000000) /* the oracle is told the time */

static void models_at(lbsim_model_t *m, uint32_t n, double ms) {
  memset(m, 0, n * sizeof(*m));
  for (uint32_t i = 0; i < n; i++) {
    m[i].index = i;
    m[i].latency.latency_ms = ms;
  }
}

TEST(the_fastest_is_the_lowest_latency_without_failures) {
  lbsim_model_t m[3];
  models_at(m, 3, 50);
  m[2].latency.latency_ms = 20;
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 3, FAILURE_MS, TIMEOUT_MS);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 2);
  CHECK_NEAR(lbsim_oracle_fastest_ms(&o, NOW), 20, 1e-9);
  CHECK_NEAR(lbsim_oracle_cost_ms(&o, 0, NOW), 50, 1e-9);
  CHECK_NEAR(lbsim_oracle_true_ms(&o, 2, NOW), 20, 1e-9);
}

TEST(a_fast_backend_that_fails_is_not_the_fastest) {
  lbsim_model_t m[5];
  models_at(m, 5, 50);
  m[0].latency.latency_ms = 1;
  m[0].error_rate = 1;
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 5, FAILURE_MS, TIMEOUT_MS);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1);
  CHECK_NEAR(lbsim_oracle_fastest_ms(&o, NOW), 50, 1e-9);
  CHECK_NEAR(lbsim_oracle_cost_ms(&o, 0, NOW), FAILURE_MS, 1e-9);
  CHECK_NEAR(lbsim_oracle_true_ms(&o, 0, NOW), 1, 1e-9); /* the latency itself is still reported */
}

TEST(an_error_rate_weighs_the_failure_latency_in) {
  lbsim_model_t m[2];
  models_at(m, 2, 100);
  m[0].latency.latency_ms = 10;
  m[0].error_rate = 0.01; /* 0.99 x 10 + 0.01 x 10000 = 109.9 */
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 2, FAILURE_MS, TIMEOUT_MS);
  CHECK_NEAR(lbsim_oracle_cost_ms(&o, 0, NOW), 109.9, 1e-9);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1);
  m[0].error_rate = 0.005; /* 59.95: now the better bet */
  lbsim_oracle_touch(&o, 1);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 0);
  CHECK_NEAR(lbsim_oracle_fastest_ms(&o, NOW), 59.95, 1e-9);
}

TEST(down_stalled_and_too_slow_backends_fail_for_sure) {
  lbsim_model_t m[4];
  models_at(m, 4, 900);
  m[0].latency.latency_ms = 5;
  m[0].down = true;
  m[1].latency.latency_ms = 6;
  m[1].stalled = true;
  m[2].latency.latency_ms = TIMEOUT_MS; /* at the deadline: times out */
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 4, FAILURE_MS, TIMEOUT_MS);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 3);
  for (uint32_t i = 0; i < 3; i++)
    CHECK_NEAR(lbsim_oracle_cost_ms(&o, i, NOW), FAILURE_MS, 1e-9);
}

TEST(when_everything_fails_there_is_no_fastest_and_no_change) {
  lbsim_model_t m[3];
  models_at(m, 3, 50);
  m[0].latency.latency_ms = 60;
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 3, FAILURE_MS, TIMEOUT_MS);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1);
  uint64_t epoch = o.epoch;
  for (uint32_t i = 0; i < 3; i++)
    m[i].down = true;
  lbsim_oracle_touch(&o, 2);
  CHECK(isinf(lbsim_oracle_fastest_ms(&o, NOW)));
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1); /* the last one found stays */
  CHECK_EQ(o.epoch, epoch);
  m[1].down = false; /* back: still the same fastest, no change counted */
  lbsim_oracle_touch(&o, 3);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1);
  CHECK_EQ(o.epoch, epoch);
  m[0].down = false;
  m[0].latency.latency_ms = 1;
  lbsim_oracle_touch(&o, 4);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 0);
  CHECK_EQ(o.epoch, epoch + 1);
  CHECK_EQ(o.epoch_ns, 4);
}

/* A cost may be kept while the oracle is clean and its version unchanged:
 * every change of a model (a touch) moves the version, and a slow start
 * under way keeps the oracle dirty, so no kept cost outlives what it was
 * computed from. */
TEST(version_moves_at_every_change_and_slow_start_stays_dirty) {
  lbsim_model_t m[2];
  models_at(m, 2, 50);
  lbsim_oracle_t o;
  lbsim_oracle_init(&o, m, 2, FAILURE_MS, TIMEOUT_MS);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 0);
  CHECK(!o.dirty);
  uint64_t v = o.version;
  CHECK_NEAR(lbsim_oracle_cost_ms(&o, 1, NOW + 1000), 50, 1e-9);
  CHECK_EQ(o.version, v); /* questions do not move it */
  m[1].latency.latency_ms = 10;
  lbsim_oracle_touch(&o, NOW);
  CHECK(o.version != v);
  CHECK(o.dirty);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 1);
  /* back up with a slow start: dirty until it is over, costs change by the moment */
  m[1].slow_start_from_ns = NOW;
  m[1].slow_start_ns = 10 * UINT64_C(1000000000);
  m[1].slow_start_factor = 5;
  lbsim_oracle_touch(&o, NOW);
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW), 0);
  CHECK(o.dirty);
  CHECK(lbsim_oracle_cost_ms(&o, 1, NOW + UINT64_C(5000000000)) < lbsim_oracle_cost_ms(&o, 1, NOW));
  CHECK_EQ(lbsim_oracle_fastest(&o, NOW + UINT64_C(11000000000)), 1);
  CHECK(!o.dirty);
}
