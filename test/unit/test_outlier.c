/* Outlier ejection as Envoy does it (lbsim/balancer/outlier.h), one
 * detector driven by hand. */
#include <string.h>

#include "harness.h"
#include "lbsim/balancer/outlier.h"
#include "lbsim/base/common.h"

#define S(x) ((uint64_t)((x) * 1e9 + 0.5))

typedef struct seen_s {
  uint32_t n;
  uint32_t backend[64];
  bool ejected[64];
  lbsim_eject_reason_t reason[64];
  uint64_t duration_ns[64];
  uint32_t times[64];
} seen_t;

static seen_t seen;

static void on_change(lbsim_outlier_t *o, uint32_t backend, bool ejected, lbsim_eject_reason_t reason,
                      uint64_t duration_ns, uint32_t times, uint64_t now_ns) {
  (void)o;
  (void)now_ns;
  if (seen.n < 64) {
    seen.backend[seen.n] = backend;
    seen.ejected[seen.n] = ejected;
    seen.reason[seen.n] = reason;
    seen.duration_ns[seen.n] = duration_ns;
    seen.times[seen.n] = times;
    seen.n++;
  }
}

/* Envoy's defaults. */
static lbsim_outlier_config_t envoy(void) {
  return (lbsim_outlier_config_t){.on = true, .consecutive_5xx = 5, .consecutive_local = 5, .interval_s = 10,
                                  .base_s = 30, .max_s = 300, .max_percent = 10, .enforcing_5xx = 100,
                                  .enforcing_local = 100, .enforcing_sr = 100, .sr_min_hosts = 5,
                                  .sr_volume = 100, .sr_stdev_factor = 1.9};
}

static int start(lbsim_outlier_t *o, const lbsim_outlier_config_t *cfg, uint32_t n) {
  memset(&seen, 0, sizeof(seen));
  REQUIRE(lbsim_outlier_init(o, cfg, n, 1, LBSIM_STREAM_OUTLIER) == 0);
  o->on_change = on_change;
  return 0;
}

static void fail(lbsim_outlier_t *o, uint32_t backend, lbsim_result_t result, uint32_t times, uint64_t now_ns) {
  for (uint32_t k = 0; k < times; k++)
    lbsim_outlier_observe(o, backend, result, 1, now_ns);
}

TEST(five_failures_in_a_row_eject_at_once) {
  lbsim_outlier_config_t cfg = envoy();
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 10) == 0);
  fail(&o, 3, LBSIM_RESULT_STATUS, 4, S(1));
  lbsim_outlier_observe(&o, 3, LBSIM_RESULT_OK, 1, S(1)); /* a success ends the run */
  fail(&o, 3, LBSIM_RESULT_TIMEOUT, 4, S(2));
  CHECK_EQ(seen.n, 0);
  CHECK(lbsim_outlier_eligible(&o) == NULL);
  /* Without the split, local-origin errors count as 5xx. */
  lbsim_outlier_observe(&o, 3, LBSIM_RESULT_CONNECT, 1, S(2));
  CHECK_EQ(seen.n, 1);
  CHECK(seen.ejected[0] && seen.backend[0] == 3 && seen.reason[0] == LBSIM_EJECT_CONSECUTIVE_5XX);
  CHECK_EQ(seen.duration_ns[0], S(30));
  const lbsim_eligible_t *e = lbsim_outlier_eligible(&o);
  CHECK(e != NULL && e->n == 9 && !e->member[3] && e->member[4]);
  for (uint32_t k = 0; k < e->n; k++)
    CHECK(e->list[k] == (k < 3 ? k : k + 1));
  /* Cancellations say nothing; more failures do not eject it twice. */
  fail(&o, 3, LBSIM_RESULT_CANCELLED, 10, S(3));
  fail(&o, 3, LBSIM_RESULT_STATUS, 10, S(3));
  CHECK_EQ(seen.n, 1);
  /* Requests that end together count one by one. */
  lbsim_outlier_observe(&o, 5, LBSIM_RESULT_RESET, 7, S(3));
  CHECK_EQ(seen.n, 1); /* 10 % of 10: a second one may not go */
  lbsim_outlier_free(&o);
}

/* At most max_percent of them out at once, but one always may be. */
TEST(max_ejection_percent_and_at_least_one) {
  lbsim_outlier_config_t cfg = envoy();
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 5) == 0); /* one of five is 20 %: above 10 %, allowed as the first */
  fail(&o, 0, LBSIM_RESULT_STATUS, 5, S(1));
  fail(&o, 1, LBSIM_RESULT_STATUS, 5, S(1));
  CHECK_EQ(seen.n, 1);
  CHECK_EQ(o.nejected, 1);
  lbsim_outlier_free(&o);
  cfg.max_percent = 40;
  CHECK(start(&o, &cfg, 5) == 0);
  for (uint32_t i = 0; i < 5; i++)
    fail(&o, i, LBSIM_RESULT_STATUS, 5, S(1));
  CHECK_EQ(o.nejected, 2);
  lbsim_outlier_free(&o);
  /* One backend, ejected: no eligible set (the balancer picks it anyway). */
  CHECK(start(&o, &cfg, 1) == 0);
  fail(&o, 0, LBSIM_RESULT_STATUS, 5, S(1));
  CHECK_EQ(o.nejected, 1);
  CHECK(lbsim_outlier_eligible(&o) == NULL);
  lbsim_outlier_free(&o);
}

/* base x times ejected in a row, at most max; back at the first sweep past
 * it; the multiplier goes down by one at each sweep the backend is in. */
TEST(ejections_grow_longer_and_backends_return_at_a_sweep) {
  lbsim_outlier_config_t cfg = envoy();
  cfg.base_s = 30;
  cfg.max_s = 70;
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 10) == 0);
  fail(&o, 2, LBSIM_RESULT_STATUS, 5, S(1));
  CHECK_EQ(seen.duration_ns[0], S(30));
  lbsim_outlier_interval(&o, S(10));
  lbsim_outlier_interval(&o, S(20));
  lbsim_outlier_interval(&o, S(30));
  CHECK_EQ(o.nejected, 1); /* 29 s */
  lbsim_outlier_interval(&o, S(40));
  CHECK_EQ(o.nejected, 0);
  CHECK(seen.n == 2 && !seen.ejected[1] && seen.backend[1] == 2);
  CHECK(lbsim_outlier_eligible(&o) == NULL);
  /* Its counts started afresh: four failures do not eject it. */
  fail(&o, 2, LBSIM_RESULT_STATUS, 4, S(41));
  CHECK_EQ(o.nejected, 0);
  fail(&o, 2, LBSIM_RESULT_STATUS, 1, S(41));
  CHECK(seen.n == 3 && seen.ejected[2] && seen.times[2] == 2);
  CHECK_EQ(seen.duration_ns[2], S(60));
  lbsim_outlier_interval(&o, S(100));
  lbsim_outlier_interval(&o, S(101.5)); /* 60.5 s */
  CHECK_EQ(o.nejected, 0);
  fail(&o, 2, LBSIM_RESULT_STATUS, 5, S(102));
  CHECK_EQ(seen.duration_ns[4], S(70)); /* 90 s, capped */
  lbsim_outlier_interval(&o, S(172));
  CHECK_EQ(o.nejected, 0);
  CHECK_EQ(o.hosts[2].multiplier, 3);
  /* In service at three sweeps: 3 - 3, and the next one is base again. */
  for (int k = 1; k <= 3; k++)
    lbsim_outlier_interval(&o, S(172 + 10 * k));
  CHECK_EQ(o.hosts[2].multiplier, 0);
  fail(&o, 2, LBSIM_RESULT_STATUS, 5, S(205));
  CHECK_EQ(seen.duration_ns[6], S(30));
  lbsim_outlier_free(&o);
}

/* split_external_local_origin_errors: answers and local failures apart. */
TEST(the_split_counts_local_origin_failures_apart) {
  lbsim_outlier_config_t cfg = envoy();
  cfg.split = true;
  cfg.consecutive_local = 3;
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 10) == 0);
  fail(&o, 1, LBSIM_RESULT_TIMEOUT, 2, S(1));
  fail(&o, 1, LBSIM_RESULT_STATUS, 4, S(1)); /* an answer: the connection worked */
  fail(&o, 1, LBSIM_RESULT_RESET, 2, S(1));
  CHECK_EQ(seen.n, 0);
  fail(&o, 1, LBSIM_RESULT_STATUS, 1, S(1)); /* the fifth 5xx in a row, local failures aside */
  CHECK(seen.n == 1 && seen.reason[0] == LBSIM_EJECT_CONSECUTIVE_5XX);
  fail(&o, 4, LBSIM_RESULT_CONNECT, 3, S(2));
  CHECK_EQ(seen.n, 1); /* the other one's 10 % */
  lbsim_outlier_free(&o);
  CHECK(start(&o, &cfg, 10) == 0);
  fail(&o, 4, LBSIM_RESULT_CONNECT, 3, S(2));
  CHECK(seen.n == 1 && seen.backend[0] == 4 && seen.reason[0] == LBSIM_EJECT_CONSECUTIVE_LOCAL);
  lbsim_outlier_free(&o);
}

/* At the sweep: with at least five backends of 100 requests, a success rate
 * below mean - 1.9 stdev is out. */
TEST(success_rate_ejects_the_outlier_at_the_sweep) {
  lbsim_outlier_config_t cfg = envoy();
  cfg.max_percent = 50;
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 10) == 0);
  for (uint32_t i = 0; i < 10; i++) {
    /* 100 each, successes apart from a failure now and then (never five in a row) */
    uint32_t failures = i == 7 ? 30 : i % 3;
    for (uint32_t k = 0; k < 100; k++)
      lbsim_outlier_observe(&o, i, k % 3 == 0 && k / 3 < failures ? LBSIM_RESULT_STATUS : LBSIM_RESULT_OK, 1, S(1));
  }
  CHECK_EQ(seen.n, 0);
  lbsim_outlier_interval(&o, S(10));
  CHECK_EQ(seen.n, 1);
  CHECK(seen.backend[0] == 7 && seen.reason[0] == LBSIM_EJECT_SUCCESS_RATE);
  lbsim_outlier_free(&o);
  /* Four backends with the volume are too few; 99 requests too few. */
  CHECK(start(&o, &cfg, 10) == 0);
  for (uint32_t i = 0; i < 10; i++)
    for (uint32_t k = 0; k < (i < 4 ? 100u : 99u); k++)
      lbsim_outlier_observe(&o, i, i == 0 && k % 2 ? LBSIM_RESULT_STATUS : LBSIM_RESULT_OK, 1, S(1));
  lbsim_outlier_interval(&o, S(10));
  CHECK_EQ(seen.n, 0);
  lbsim_outlier_free(&o);
  /* Enforcing 0 % turns it off; and counts start afresh each interval. */
  cfg.enforcing_sr = 0;
  CHECK(start(&o, &cfg, 10) == 0);
  for (uint32_t i = 0; i < 10; i++)
    for (uint32_t k = 0; k < 100; k++)
      lbsim_outlier_observe(&o, i, i == 7 && k % 2 ? LBSIM_RESULT_STATUS : LBSIM_RESULT_OK, 1, S(1));
  lbsim_outlier_interval(&o, S(10));
  CHECK_EQ(seen.n, 0);
  CHECK_EQ(o.hosts[7].attempts, 0);
  lbsim_outlier_free(&o);
}

/* Enforcement is a probability: a share of the detections eject. */
TEST(enforcing_percentages_eject_a_share_of_the_detections) {
  lbsim_outlier_config_t cfg = envoy();
  cfg.enforcing_5xx = 30;
  cfg.max_percent = 100;
  uint32_t ejected = 0;
  for (int trial = 0; trial < 2000; trial++) {
    lbsim_outlier_t o;
    memset(&seen, 0, sizeof(seen));
    CHECK(lbsim_outlier_init(&o, &cfg, 2, (uint64_t)trial, LBSIM_STREAM_OUTLIER) == 0);
    fail(&o, 0, LBSIM_RESULT_STATUS, 5, S(1));
    ejected += o.nejected;
    lbsim_outlier_free(&o);
  }
  CHECK_NEAR(ejected / 2000.0, 0.30, 0.04);
  cfg.enforcing_5xx = 0;
  lbsim_outlier_t o;
  CHECK(start(&o, &cfg, 2) == 0);
  fail(&o, 0, LBSIM_RESULT_STATUS, 50, S(1));
  CHECK_EQ(o.nejected, 0);
  lbsim_outlier_free(&o);
}
