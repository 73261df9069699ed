#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/policy.h"

typedef struct fixture_s {
  lbsim_ema_t ema;
  lbsim_policy_t policy;
} fixture_t;

static int setup(fixture_t *f, const char *name, uint32_t n, double explore) {
  REQUIRE(lbsim_ema_init(&f->ema, n, 0.3) == 0);
  lbsim_policy_params_t params = {
      .n = n,
      .seed = 1234,
      .stream = LBSIM_STREAM_POLICY,
      .ema = &f->ema,
      .explore = explore,
      .failure_latency_ms = 10000,
      .decay_s = 10,
      .choices = 0,
      .temperature_ms = 20,
  };
  const lbsim_policy_ops_t *ops = lbsim_policy_find(name);
  REQUIRE(ops != NULL);
  REQUIRE(lbsim_policy_init(&f->policy, ops, &params) == 0);
  return 0;
}

static void teardown(fixture_t *f) {
  lbsim_policy_free(&f->policy);
  lbsim_ema_free(&f->ema);
}

/* A completed request: the client updates the EMA, then tells the policy. */
static void complete(fixture_t *f, uint32_t b, double ms, uint64_t now) {
  lbsim_ema_update(&f->ema, b, ms);
  lbsim_policy_observe(&f->policy, b, ms, true, now);
}

TEST(registry_lists_every_policy) {
  static const char *names[] = {"ema-greedy", "ema-softmax", "p2c-peak-ewma", "least-outstanding", "round-robin",
                                "random"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const lbsim_policy_ops_t *ops = lbsim_policy_find(names[i]);
    CHECK(ops != NULL);
    CHECK(ops->summary && *ops->summary);
  }
  int n = 0;
  for (const lbsim_policy_ops_t *const *p = lbsim_policy_all(); *p; p++)
    n++;
  CHECK_EQ(n, 6);
  CHECK(lbsim_policy_find("nope") == NULL);
}

TEST(ema_greedy_exploits_95_percent_and_explores_the_others_evenly) {
  fixture_t f;
  CHECK(setup(&f, "ema-greedy", 5, 0.05) == 0);
  double ms[5] = {300, 120, 500, 800, 200};
  for (uint32_t i = 0; i < 5; i++)
    complete(&f, i, ms[i], 0);
  int counts[5] = {0};
  enum { PICKS = 10000 };
  for (int i = 0; i < PICKS; i++)
    counts[lbsim_policy_select(&f.policy, 0)]++;
  CHECK_MSG(counts[1] >= 9400 && counts[1] <= 9600, "best got %d", counts[1]);
  for (int i = 0; i < 5; i++)
    if (i != 1)
      CHECK_MSG(counts[i] >= 75 && counts[i] <= 180, "backend %d got %d", i, counts[i]);
  teardown(&f);
}

TEST(ema_greedy_explore_never_picks_the_best) {
  fixture_t f;
  CHECK(setup(&f, "ema-greedy", 4, 1.0) == 0);
  for (uint32_t i = 0; i < 4; i++)
    complete(&f, i, 100 + 10 * i, 0);
  int counts[4] = {0};
  for (int i = 0; i < 3000; i++)
    counts[lbsim_policy_select(&f.policy, 0)]++;
  CHECK_EQ(counts[0], 0);
  for (int i = 1; i < 4; i++)
    CHECK(counts[i] > 850 && counts[i] < 1150);
  teardown(&f);
}

TEST(ema_greedy_ties_go_to_the_first_and_unmeasured_look_best) {
  fixture_t f;
  CHECK(setup(&f, "ema-greedy", 3, 0.0) == 0);
  CHECK_EQ(lbsim_policy_select(&f.policy, 0), 0); /* all unmeasured: EMA 0 */
  complete(&f, 0, 50, 0);
  CHECK_EQ(lbsim_policy_select(&f.policy, 0), 1); /* 1 and 2 still at 0 */
  complete(&f, 1, 50, 0);
  complete(&f, 2, 50, 0);
  CHECK_EQ(lbsim_policy_select(&f.policy, 0), 0); /* a three-way tie */
  teardown(&f);
  CHECK(setup(&f, "ema-greedy", 1, 0.5) == 0);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(lbsim_policy_select(&f.policy, 0), 0);
  teardown(&f);
}

TEST(ema_greedy_heap_matches_brute_force) {
  enum { N = 300 };
  fixture_t f;
  CHECK(setup(&f, "ema-greedy", N, 0.0) == 0);
  lbsim_rng_t r;
  lbsim_rng_init(&r, 7, 7);
  for (int step = 0; step < 20000; step++) {
    uint32_t b = (uint32_t)lbsim_rng_below(&r, N);
    /* Few distinct values, so that ties are common. */
    complete(&f, b, (double)(10 * (1 + lbsim_rng_below(&r, 30))), 0);
    uint32_t best = 0;
    for (uint32_t i = 1; i < N; i++)
      if (f.ema.value_ms[i] < f.ema.value_ms[best])
        best = i;
    CHECK_EQ(lbsim_policy_select(&f.policy, 0), best);
  }
  teardown(&f);
}

TEST(least_outstanding_picks_a_minimum_with_random_ties) {
  enum { N = 5 };
  fixture_t f;
  CHECK(setup(&f, "least-outstanding", N, 0) == 0);
  uint32_t inflight[N] = {0};
  lbsim_rng_t r;
  lbsim_rng_init(&r, 3, 3);
  for (int step = 0; step < 20000; step++) {
    bool idle = true;
    for (int i = 0; i < N; i++)
      idle = idle && inflight[i] == 0;
    if (lbsim_rng_below(&r, 3) != 0 || idle) {
      uint32_t min = UINT32_MAX;
      for (int i = 0; i < N; i++)
        if (inflight[i] < min)
          min = inflight[i];
      uint32_t b = lbsim_policy_select(&f.policy, 0);
      CHECK_EQ(inflight[b], min);
      inflight[b]++;
    } else {
      uint32_t b;
      do
        b = (uint32_t)lbsim_rng_below(&r, N);
      while (inflight[b] == 0);
      inflight[b]--;
      lbsim_policy_observe(&f.policy, b, 10, true, 0);
    }
  }
  teardown(&f);
}

TEST(least_outstanding_ties_are_uniform) {
  enum { N = 5 };
  fixture_t f;
  CHECK(setup(&f, "least-outstanding", N, 0) == 0);
  int counts[N] = {0};
  for (int i = 0; i < 5000; i++) {
    uint32_t b = lbsim_policy_select(&f.policy, 0); /* all idle: a five-way tie */
    counts[b]++;
    lbsim_policy_observe(&f.policy, b, 10, true, 0);
  }
  for (int i = 0; i < N; i++)
    CHECK_MSG(counts[i] > 880 && counts[i] < 1120, "backend %d got %d of 5000", i, counts[i]);
  teardown(&f);
}

TEST(least_outstanding_best_of_two_keeps_loads_close) {
  enum { N = 10 };
  lbsim_ema_t ema;
  lbsim_policy_t p;
  lbsim_ema_init(&ema, N, 0.3);
  lbsim_policy_params_t params = {.n = N, .seed = 5, .stream = 1, .ema = &ema, .choices = 2};
  CHECK_EQ(lbsim_policy_init(&p, lbsim_policy_find("least-outstanding"), &params), 0);
  int counts[N] = {0};
  for (int i = 0; i < 1000; i++)
    counts[lbsim_policy_select(&p, 0)]++;
  /* Random choice would leave a spread of tens; two choices, a handful. */
  int lo = counts[0], hi = counts[0];
  for (int i = 1; i < N; i++) {
    lo = counts[i] < lo ? counts[i] : lo;
    hi = counts[i] > hi ? counts[i] : hi;
  }
  CHECK_MSG(hi - lo <= 5, "in flight from %d to %d", lo, hi);
  lbsim_policy_free(&p);
  lbsim_ema_free(&ema);
}

TEST(round_robin_cycles) {
  fixture_t f;
  CHECK(setup(&f, "round-robin", 3, 0) == 0);
  for (int i = 0; i < 30; i++)
    CHECK_EQ(lbsim_policy_select(&f.policy, 0), (uint32_t)(i % 3));
  teardown(&f);
}

TEST(random_is_uniform) {
  fixture_t f;
  CHECK(setup(&f, "random", 4, 0) == 0);
  int counts[4] = {0};
  for (int i = 0; i < 8000; i++)
    counts[lbsim_policy_select(&f.policy, 0)]++;
  for (int i = 0; i < 4; i++)
    CHECK(counts[i] > 1800 && counts[i] < 2200);
  teardown(&f);
}

TEST(p2c_prefers_the_fast_backend_and_reacts_to_a_step) {
  fixture_t f;
  CHECK(setup(&f, "p2c-peak-ewma", 2, 0) == 0);
  uint64_t now = 0;
  double ms[2] = {10, 100};
  int fast = 0;
  for (int i = 0; i < 2000; i++) {
    uint32_t b = lbsim_policy_select(&f.policy, now);
    fast += b == 0;
    now += 1000000; /* 1 ms */
    complete(&f, b, ms[b], now);
  }
  CHECK_MSG(fast > 1800, "fast one got %d of 2000", fast);
  /* The fast one becomes slow: the peak is seen at once. */
  ms[0] = 500;
  int after = 0;
  for (int i = 0; i < 200; i++) {
    uint32_t b = lbsim_policy_select(&f.policy, now);
    now += 1000000;
    complete(&f, b, ms[b], now);
    if (i >= 20)
      after += b == 0;
  }
  CHECK_MSG(after < 30, "the slowed backend still got %d of 180", after);
  teardown(&f);
}

TEST(p2c_spreads_a_burst_and_probes_unmeasured_backends_once) {
  enum { N = 5 };
  fixture_t f;
  CHECK(setup(&f, "p2c-peak-ewma", N, 0) == 0);
  int counts[N] = {0};
  for (int i = 0; i < 100; i++)
    counts[lbsim_policy_select(&f.policy, 0)]++;
  for (int i = 0; i < N; i++)
    CHECK_MSG(counts[i] >= 15 && counts[i] <= 25, "backend %d got %d of a burst of 100", i, counts[i]);
  teardown(&f);
}

TEST(softmax_spreads_equal_backends_and_prefers_a_faster_one) {
  enum { N = 5 };
  fixture_t f;
  CHECK(setup(&f, "ema-softmax", N, 0) == 0);
  for (uint32_t i = 0; i < N; i++)
    complete(&f, i, 100, 0);
  int counts[N] = {0};
  for (int i = 0; i < 1000; i++)
    counts[lbsim_policy_select(&f.policy, 0)]++;
  for (int i = 0; i < N; i++)
    CHECK_MSG(counts[i] >= 190 && counts[i] <= 210, "backend %d got %d of 1000", i, counts[i]);
  teardown(&f);

  CHECK(setup(&f, "ema-softmax", N, 0) == 0);
  for (uint32_t i = 0; i < N; i++)
    complete(&f, i, i == 2 ? 50 : 150, 0);
  int fast = 0;
  for (int i = 0; i < 1000; i++)
    fast += lbsim_policy_select(&f.policy, 0) == 2;
  CHECK_MSG(fast > 950, "the faster backend got %d of 1000", fast);
  teardown(&f);
}

TEST(same_seed_same_choices) {
  static const char *names[] = {"ema-greedy", "ema-softmax", "p2c-peak-ewma", "least-outstanding", "random"};
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    fixture_t a, b;
    CHECK(setup(&a, names[k], 7, 0.2) == 0);
    CHECK(setup(&b, names[k], 7, 0.2) == 0);
    for (int i = 0; i < 500; i++) {
      uint32_t x = lbsim_policy_select(&a.policy, (uint64_t)i * 1000);
      uint32_t y = lbsim_policy_select(&b.policy, (uint64_t)i * 1000);
      CHECK_EQ(x, y);
      complete(&a, x, 10.0 + x, (uint64_t)i * 1000 + 1);
      complete(&b, y, 10.0 + y, (uint64_t)i * 1000 + 1);
    }
    teardown(&a);
    teardown(&b);
  }
}
