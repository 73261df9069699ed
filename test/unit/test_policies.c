/* Unit tests of the balancing policies (lbsim/balancer/policy.h, src/balancer/policy/). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lbsim/balancer/loads.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/base/common.h"

#define MS UINT64_C(1000000) /* nanoseconds */

typedef struct fixture_s {
  lbsim_policy_t p;
  lbsim_ema_t ema;
  uint64_t *in_flight; /* what a balancer counts: lbsim_policy_select and _observe keep it */
  lbsim_policy_params_t params;
} fixture_t;

/* Room for the in-flight counts of tests that create a policy by hand. */
static uint64_t in_flight_of_hand[16];

static lbsim_policy_params_t default_params(uint32_t n, uint64_t seed) {
  return (lbsim_policy_params_t){
      .n = n,
      .seed = seed,
      .stream = LBSIM_STREAM_POLICY,
      .explore = 0.05,
      .failure_latency_ms = 10000,
      .decay_s = 10,
      .choices = 0,
      .temperature_ms = 20,
      .in_flight = in_flight_of_hand,
  };
}

/* Creates policy `name` over the given params; emas (n values, or NULL)
 * are recorded in the EMA before the policy is created, a negative value
 * leaving that backend unmeasured. */
static int setup(fixture_t *f, const char *name, const lbsim_policy_params_t *params, const double *emas) {
  const lbsim_policy_ops_t *ops = lbsim_policy_find(name);
  REQUIRE(ops != NULL);
  REQUIRE(lbsim_ema_init(&f->ema, params->n, 0.3) == 0);
  if (emas != NULL)
    for (uint32_t i = 0; i < params->n; i++)
      if (emas[i] >= 0)
        lbsim_ema_update(&f->ema, i, emas[i]);
  f->params = *params;
  f->params.ema = &f->ema;
  f->in_flight = calloc(params->n, sizeof(*f->in_flight));
  REQUIRE(f->in_flight != NULL);
  f->params.in_flight = f->in_flight;
  REQUIRE(lbsim_policy_init(&f->p, ops, &f->params) == 0);
  REQUIRE(f->p.ops == ops);
  return 0;
}

static void teardown(fixture_t *f) {
  lbsim_policy_free(&f->p);
  lbsim_ema_free(&f->ema);
  free(f->in_flight);
}

/* Records a sample the way the client does: EMA first, then observe(). It
 * answers a request in flight to the backend, or one picked just now when
 * none is (every outcome follows a pick: the count in flight says so). */
static void feed(fixture_t *f, uint32_t backend, double ms, uint64_t now_ns) {
  if (f->in_flight[backend] == 0) {
    f->in_flight[backend]++;
    if (f->p.ops->sent != NULL)
      f->p.ops->sent(&f->p, backend);
  }
  lbsim_ema_update(&f->ema, backend, ms);
  lbsim_policy_observe(&f->p, backend, ms, true, now_ns);
}

static uint32_t brute_argmin(const lbsim_ema_t *e) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < e->n; i++)
    if (e->value_ms[i] < e->value_ms[best])
      best = i;
  return best;
}

/* ---------------------------------------------------------------- registry */

TEST(registry_lists_every_policy) {
  static const char *const names[] = {"ema-greedy",   "ema-softmax", "p2c-peak-ewma", "least-outstanding",
                                      "least-loaded", "round-robin", "random"};
  const lbsim_policy_ops_t *const *all = lbsim_policy_all();
  size_t count = 0;
  while (all[count] != NULL)
    count++;
  CHECK_EQ(count, LBSIM_ARRAY_SIZE(names));
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(names); i++) {
    const lbsim_policy_ops_t *ops = lbsim_policy_find(names[i]);
    CHECK_MSG(ops != NULL, "%s not found", names[i]);
    CHECK_STR_EQ(ops->name, names[i]);
    CHECK(ops->summary != NULL && ops->summary[0] != '\0');
    CHECK(ops->create && ops->select && ops->observe && ops->destroy);
  }
  CHECK(lbsim_policy_find("nope") == NULL);
  CHECK(lbsim_policy_find("") == NULL);
  CHECK(lbsim_policy_find("EMA-GREEDY") == NULL);
}

TEST(init_rejects_zero_backends) {
  lbsim_policy_params_t params = default_params(0, 1);
  lbsim_policy_t p;
  CHECK(lbsim_policy_init(&p, lbsim_policy_find("round-robin"), &params) != 0);
  lbsim_policy_free(&p); /* harmless after a failed init */
}

TEST(ema_policies_need_an_ema) {
  lbsim_policy_params_t params = default_params(3, 1);
  lbsim_policy_t p;
  CHECK(lbsim_policy_init(&p, lbsim_policy_find("ema-greedy"), &params) != 0);
  CHECK(lbsim_policy_init(&p, lbsim_policy_find("ema-softmax"), &params) != 0);
  CHECK_EQ(lbsim_policy_init(&p, lbsim_policy_find("random"), &params), 0); /* what they lack is the EMA */
  lbsim_policy_free(&p);
}

TEST(a_policy_needs_the_balancers_count_in_flight) {
  lbsim_policy_params_t params = default_params(3, 1);
  params.in_flight = NULL;
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    lbsim_policy_t p;
    CHECK_EQ(lbsim_policy_init(&p, *ops, &params), LBSIM_EINVAL);
  }
}

/* One count of requests in flight: the balancer's, kept by a pick and its
 * outcome, whatever the policy. */
TEST(select_and_observe_keep_the_count_in_flight) {
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    fixture_t f;
    lbsim_policy_params_t params = default_params(4, 3);
    CHECK_EQ(setup(&f, (*ops)->name, &params, NULL), 0);
    uint32_t picks[200];
    uint64_t expect[4] = {0};
    for (int i = 0; i < 200; i++) {
      picks[i] = lbsim_policy_select(&f.p, (uint64_t)i);
      expect[picks[i]]++;
      for (uint32_t b = 0; b < 4; b++)
        CHECK_EQ(f.in_flight[b], expect[b]);
    }
    for (int i = 0; i < 200; i += 2) {
      lbsim_policy_observe(&f.p, picks[i], 10, true, 300);
      expect[picks[i]]--;
    }
    for (uint32_t b = 0; b < 4; b++) {
      CHECK_EQ(f.in_flight[b], expect[b]);
      lbsim_policy_observe_n(&f.p, b, 10, true, 400, (uint32_t)expect[b]);
      CHECK_EQ(f.in_flight[b], 0);
    }
    teardown(&f);
  }
}

/* Every policy with a single backend always picks it. */
TEST(single_backend_always_zero) {
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    fixture_t f;
    lbsim_policy_params_t params = default_params(1, 5);
    params.explore = 1.0;
    params.choices = 2;
    CHECK_EQ(setup(&f, (*ops)->name, &params, NULL), 0);
    for (int i = 0; i < 1000; i++) {
      uint32_t b = lbsim_policy_select(&f.p, (uint64_t)i * MS);
      CHECK_MSG(b == 0, "%s picked %u", (*ops)->name, b);
      if (i % 3 == 0)
        feed(&f, 0, 100 + i % 7, (uint64_t)i * MS);
    }
    teardown(&f);
  }
}

/* Every policy: picks in range, same seed -> same picks. */
TEST(all_policies_in_range_and_reproducible) {
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    fixture_t a, b;
    lbsim_policy_params_t params = default_params(7, 99);
    CHECK_EQ(setup(&a, (*ops)->name, &params, NULL), 0);
    CHECK_EQ(setup(&b, (*ops)->name, &params, NULL), 0);
    uint32_t pending[64];
    uint32_t npending = 0;
    for (int i = 0; i < 5000; i++) {
      uint64_t now = (uint64_t)i * MS;
      uint32_t x = lbsim_policy_select(&a.p, now), y = lbsim_policy_select(&b.p, now);
      CHECK_MSG(x < 7, "%s picked %u", (*ops)->name, x);
      CHECK_MSG(x == y, "%s: pick %d differs: %u vs %u", (*ops)->name, i, x, y);
      pending[npending++] = x;
      if (npending == 64 || i % 5 == 4) {
        while (npending > 0) {
          uint32_t k = pending[--npending];
          double ms = 20.0 * (k + 1) + (i % 13);
          feed(&a, k, ms, now + 3 * MS);
          feed(&b, k, ms, now + 3 * MS);
        }
      }
    }
    teardown(&a);
    teardown(&b);
  }
}

/* Requests that end together (a burst's answers, under the virtual clock)
 * are observed together: the EMA takes in every one, then observe_n. Every
 * policy then picks as it would after one observe() per request. Bursts of
 * up to 40 picks, answered per backend in one go at one instant, some at
 * the instant of the picks, some later. */
TEST(observe_n_is_n_observes) {
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    fixture_t one, many;
    lbsim_policy_params_t params = default_params(6, 1234);
    CHECK_EQ(setup(&one, (*ops)->name, &params, NULL), 0);
    CHECK_EQ(setup(&many, (*ops)->name, &params, NULL), 0);
    uint64_t now = 0;
    for (int round = 0; round < 300; round++) {
      uint32_t picks[6] = {0};
      uint32_t burst = 1 + (uint32_t)round % 40;
      for (uint32_t k = 0; k < burst; k++) {
        uint32_t x = lbsim_policy_select(&one.p, now), y = lbsim_policy_select(&many.p, now);
        CHECK_MSG(x == y, "%s: round %d, pick %u: %u vs %u", (*ops)->name, round, k, x, y);
        if (x != y)
          break;
        picks[x]++;
      }
      if (round % 3 != 0)
        now += (uint64_t)(5 + round % 17) * MS;
      for (uint32_t i = 0; i < 6; i++) {
        if (picks[i] == 0)
          continue;
        double ms = 10.0 * (i + 1) + (round % 7) * 30.0;
        bool ok = (round + i) % 11 != 0;
        for (uint32_t k = 0; k < picks[i]; k++) {
          lbsim_ema_update(&one.ema, i, ms);
          lbsim_policy_observe(&one.p, i, ms, ok, now);
        }
        lbsim_ema_update_n(&many.ema, i, ms, picks[i]);
        lbsim_policy_observe_n(&many.p, i, ms, ok, now, picks[i]);
        CHECK(one.ema.value_ms[i] == many.ema.value_ms[i]);
      }
      now += MS;
    }
    teardown(&one);
    teardown(&many);
  }
}

/* -------------------------------------------------------------- ema-greedy */

TEST(greedy_best_gets_95_percent) {
  static const double emas[5] = {300, 100, 200, 400, 500};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 2024);
  CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
  uint32_t counts[5] = {0};
  for (int i = 0; i < 10000; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  /* explored: binomial(10000, 0.05), sd ~22; each other ~125, sd ~11 */
  CHECK_MSG(counts[1] >= 9400 && counts[1] <= 9600, "best got %u of 10000", counts[1]);
  for (uint32_t i = 0; i < 5; i++)
    if (i != 1)
      CHECK_MSG(counts[i] >= 75 && counts[i] <= 175, "backend %u got %u explored picks", i, counts[i]);
  teardown(&f);
}

TEST(greedy_explore_one_never_picks_the_best) {
  static const double emas[5] = {300, 100, 200, 400, 500};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 7);
  params.explore = 1.0;
  CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
  uint32_t counts[5] = {0};
  for (int i = 0; i < 10000; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  CHECK_EQ(counts[1], 0);
  for (uint32_t i = 0; i < 5; i++)
    if (i != 1)
      CHECK_MSG(counts[i] >= 2300 && counts[i] <= 2700, "backend %u got %u", i, counts[i]); /* sd ~43 */
  /* the best at either end of the order */
  teardown(&f);
  static const double first_best[3] = {1, 2, 3}, last_best[3] = {3, 2, 1};
  params.n = 3;
  CHECK_EQ(setup(&f, "ema-greedy", &params, first_best), 0);
  for (int i = 0; i < 1000; i++)
    CHECK(lbsim_policy_select(&f.p, 0) != 0);
  teardown(&f);
  CHECK_EQ(setup(&f, "ema-greedy", &params, last_best), 0);
  for (int i = 0; i < 1000; i++)
    CHECK(lbsim_policy_select(&f.p, 0) != 2);
  teardown(&f);
}

TEST(greedy_explore_zero_always_best) {
  static const double emas[4] = {300, 250, 200.5, 200.6};
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 1);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
  for (int i = 0; i < 1000; i++)
    CHECK_EQ(lbsim_policy_select(&f.p, 0), 2);
  teardown(&f);
}

TEST(greedy_ties_go_to_the_lowest_index) {
  static const double emas[5] = {200, 100, 300, 100, 100};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 3);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 1);
  /* backend 1 slows down: the next of the tied ones */
  feed(&f, 1, 1000, 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 3);
  /* backend 0 becomes exactly as good as 3 and 4: lowest index wins */
  f.ema.value_ms[0] = 100;
  lbsim_policy_observe(&f.p, 0, 100, true, 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
  teardown(&f);
}

TEST(greedy_all_unmeasured_picks_zero) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(8, 4);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-greedy", &params, NULL), 0);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
  /* once 0 is measured, unmeasured 1 (EMA 0) looks best */
  feed(&f, 0, 50, 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 1);
  teardown(&f);
}

/* The heap against a brute-force argmin after every one of thousands of
 * random EMA updates. alpha = 1 with a handful of values makes ties common. */
static int greedy_heap_run(uint32_t n, double alpha, uint64_t seed, int updates) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(n, seed);
  params.explore = 0;
  REQUIRE(setup(&f, "ema-greedy", &params, NULL) == 0);
  f.ema.alpha = alpha;
  lbsim_rng_t r;
  lbsim_rng_init(&r, seed, 12345);
  for (int i = 0; i < updates; i++) {
    uint32_t b = (uint32_t)lbsim_rng_below(&r, n);
    double ms = alpha == 1.0 ? (double)lbsim_rng_below(&r, 6) * 10 : lbsim_rng_uniform(&r, 1, 2000);
    feed(&f, b, ms, 0);
    uint32_t got = lbsim_policy_select(&f.p, 0), want = brute_argmin(&f.ema);
    if (got != want) {
      lbsim_test_fail(__FILE__, __LINE__, "n=%u update %d: picked %u (EMA %g), argmin %u (EMA %g)", n, i, got,
                      f.ema.value_ms[got], want, f.ema.value_ms[want]);
      teardown(&f);
      return -1;
    }
  }
  teardown(&f);
  return 0;
}

TEST(greedy_heap_matches_brute_force) {
  static const uint32_t ns[] = {2, 3, 5, 8, 17, 100, 1000};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
    CHECK_EQ(greedy_heap_run(ns[i], 1.0, 10 + i, 5000), 0);
    CHECK_EQ(greedy_heap_run(ns[i], 0.3, 20 + i, 5000), 0);
  }
}

/* A policy created over EMAs that already differ (e.g. a policy swapped in
 * mid-run) must order them from the start. */
TEST(greedy_initial_heap_over_measured_emas) {
  lbsim_rng_t r;
  lbsim_rng_init(&r, 77, 0);
  for (uint32_t n = 1; n <= 64; n++) {
    for (int trial = 0; trial < 20; trial++) {
      double emas[64];
      for (uint32_t i = 0; i < n; i++) /* some unmeasured, many ties */
        emas[i] = lbsim_rng_double(&r) < 0.1 ? -1 : (double)lbsim_rng_below(&r, 8) * 25;
      fixture_t f;
      lbsim_policy_params_t params = default_params(n, 1);
      params.explore = 0;
      CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
      uint32_t got = lbsim_policy_select(&f.p, 0), want = brute_argmin(&f.ema);
      /* and it stays right under updates */
      int bad_update = -1;
      for (int u = 0; u < 200 && got == want; u++) {
        feed(&f, (uint32_t)lbsim_rng_below(&r, n), (double)lbsim_rng_below(&r, 8) * 25, 0);
        got = lbsim_policy_select(&f.p, 0);
        want = brute_argmin(&f.ema);
        bad_update = u;
      }
      teardown(&f);
      CHECK_MSG(got == want, "n=%u trial %d (after %d updates): picked %u, argmin %u", n, trial, bad_update + 1,
                got, want);
    }
  }
}

/* ------------------------------------------------------- least-outstanding */

static uint32_t min_count(const uint32_t *count, uint32_t n) {
  uint32_t m = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++)
    m = count[i] < m ? count[i] : m;
  return m;
}

TEST(least_outstanding_picks_a_minimum) {
  static const uint32_t ns[] = {1, 2, 5, 33};
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    uint32_t n = ns[k];
    fixture_t f;
    lbsim_policy_params_t params = default_params(n, 50 + k);
    CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
    uint32_t count[64] = {0}, total = 0, picked_at_min_tie[64] = {0};
    lbsim_rng_t r;
    lbsim_rng_init(&r, 8, 0);
    for (int i = 0; i < 20000; i++) {
      /* grow to a few hundred in flight, then drain, then grow again */
      bool grow = total == 0 || ((i / 2000) % 2 == 0 ? lbsim_rng_double(&r) < 0.7 : lbsim_rng_double(&r) < 0.3);
      if (grow) {
        uint32_t m = min_count(count, n);
        uint32_t b = lbsim_policy_select(&f.p, 0);
        CHECK_MSG(b < n && count[b] == m, "n=%u step %d: picked %u with %u in flight, minimum %u", n, i, b,
                  count[b], m);
        picked_at_min_tie[b]++;
        count[b]++;
        total++;
      } else {
        /* complete a random in-flight request */
        uint32_t which = (uint32_t)lbsim_rng_below(&r, total), b = 0;
        while (which >= count[b])
          which -= count[b++];
        lbsim_policy_observe(&f.p, b, 10, true, 0);
        count[b]--;
        total--;
      }
    }
    for (uint32_t b = 0; b < n; b++)
      CHECK_MSG(picked_at_min_tie[b] > 0, "n=%u: backend %u never picked", n, b);
    teardown(&f);
  }
}

TEST(least_outstanding_idle_ties_uniform) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 9);
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  uint32_t counts[5] = {0};
  for (int i = 0; i < 10000; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    counts[b]++;
    lbsim_policy_observe(&f.p, b, 10, true, 0); /* idle again */
  }
  for (uint32_t i = 0; i < 5; i++)
    CHECK_MSG(counts[i] >= 1800 && counts[i] <= 2200, "backend %u got %u of 10000", i, counts[i]); /* sd 40 */
  teardown(&f);
}

TEST(least_outstanding_observe_decrements) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 10);
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  /* two rounds of picks: every backend has 2 in flight */
  uint32_t counts[5] = {0};
  for (int i = 0; i < 10; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  for (uint32_t i = 0; i < 5; i++)
    CHECK_EQ(counts[i], 2);
  /* backend 3 finishes one: it is the only least loaded */
  lbsim_policy_observe(&f.p, 3, 10, true, 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 3);
  /* backend 4 finishes both: picked twice in a row */
  lbsim_policy_observe(&f.p, 4, 10, false, 0);
  lbsim_policy_observe(&f.p, 4, 10, true, 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 4);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 4);
  teardown(&f);
}

TEST(least_outstanding_best_of_two) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(10, 11);
  params.choices = 2;
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  /* a burst of 1000 picks with nothing completing: best of two keeps the
   * loads close (a random choice would spread them by dozens) */
  uint32_t count[10] = {0};
  for (int i = 0; i < 1000; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    CHECK(b < 10);
    /* never the single most loaded backend */
    uint32_t above = 0;
    for (uint32_t j = 0; j < 10; j++)
      above += j != b && count[j] >= count[b];
    CHECK_MSG(above > 0, "pick %d: backend %u (%u in flight) is the most loaded", i, b, count[b]);
    count[b]++;
  }
  uint32_t lo = min_count(count, 10), hi = 0;
  for (uint32_t j = 0; j < 10; j++)
    hi = count[j] > hi ? count[j] : hi;
  CHECK_MSG(hi - lo <= 6, "loads spread from %u to %u", lo, hi);
  teardown(&f);

  /* with one backend loaded, the other of two is preferred */
  params.n = 2;
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  uint32_t first = lbsim_policy_select(&f.p, 0);
  for (int i = 0; i < 100; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    CHECK(b != first);
    lbsim_policy_observe(&f.p, b, 10, true, 0);
  }
  teardown(&f);
}

TEST(least_outstanding_best_of_two_spreads_over_all) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(50, 12);
  params.choices = 2;
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  uint32_t counts[50] = {0};
  for (int i = 0; i < 50000; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    counts[b]++;
    lbsim_policy_observe(&f.p, b, 10, true, 0);
  }
  /* all idle: best of two random is a uniform pick; 1000 each, sd ~31 */
  for (uint32_t i = 0; i < 50; i++)
    CHECK_MSG(counts[i] >= 850 && counts[i] <= 1150, "backend %u got %u", i, counts[i]);
  teardown(&f);
}

/* Picks with nothing completing under --choices `choices` of n backends:
 * how often the pick was not among the least loaded, and the spread of the
 * loads at the end. */
static int choices_run(uint32_t n, uint32_t choices, int picks, uint32_t *above_min, uint32_t *spread) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(n, 21);
  params.choices = choices;
  REQUIRE(setup(&f, "least-outstanding", &params, NULL) == 0);
  uint32_t *count = calloc(n, sizeof(*count));
  REQUIRE(count != NULL);
  *above_min = 0;
  for (int i = 0; i < picks; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    *above_min += count[b] > min_count(count, n);
    count[b]++;
  }
  uint32_t hi = 0;
  for (uint32_t j = 0; j < n; j++)
    hi = count[j] > hi ? count[j] : hi;
  *spread = hi - min_count(count, n);
  free(count);
  teardown(&f);
  return 0;
}

TEST(least_outstanding_one_choice_is_one_backend_at_random) {
  uint32_t above, spread;
  CHECK_EQ(choices_run(4, 1, 1000, &above, &spread), 0);
  /* The load is not looked at: loads spread as random picks do (250 each,
   * sd ~14), where a scan keeps them within one. */
  CHECK_MSG(above > 100, "%u picks above the least loaded", above);
  CHECK_MSG(spread > 6 && spread < 120, "loads spread by %u", spread);
}

TEST(least_outstanding_takes_the_best_of_any_k_below_the_backends) {
  uint32_t above, spread;
  /* 100 of 200: beyond 64 draws too, K is K (not a full scan): the best
   * of half the backends misses the least loaded now and then, and still
   * keeps the loads close. */
  CHECK_EQ(choices_run(200, 100, 4000, &above, &spread), 0);
  CHECK_MSG(above > 0, "every pick was a least loaded backend: a full scan");
  CHECK_MSG(spread <= 4, "loads spread by %u", spread);
  /* K at or above the backends: every one of them, the least loaded always. */
  CHECK_EQ(choices_run(5, 5, 500, &above, &spread), 0);
  CHECK_EQ(above, 0);
  CHECK(spread <= 1);
  CHECK_EQ(choices_run(5, 4096, 500, &above, &spread), 0);
  CHECK_EQ(above, 0);
}

/* ------------------------------------------------- round-robin and random */

TEST(round_robin_exact_cycle) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(7, 13);
  CHECK_EQ(setup(&f, "round-robin", &params, NULL), 0);
  for (int i = 0; i < 7 * 100; i++) {
    CHECK_EQ(lbsim_policy_select(&f.p, 0), i % 7);
    if (i % 4 == 0) /* outcomes do not matter */
      feed(&f, (uint32_t)(i % 7), i % 7 == 3 ? 10000 : 1, 0);
  }
  teardown(&f);
}

TEST(random_is_uniform) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(10, 14);
  CHECK_EQ(setup(&f, "random", &params, NULL), 0);
  uint32_t counts[10] = {0};
  const int draws = 50000;
  for (int i = 0; i < draws; i++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    CHECK(b < 10);
    counts[b]++;
    if (i % 2)
      feed(&f, b, b == 0 ? 1 : 1000, 0); /* latencies do not matter */
  }
  double chi2 = 0, expected = draws / 10.0;
  for (int i = 0; i < 10; i++)
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  CHECK_MSG(chi2 < 9 + 6 * sqrt(18.0) + 10, "chi-square %.2f with 9 dof", chi2);
  teardown(&f);
}

TEST(random_depends_on_seed_and_stream) {
  fixture_t a, b, c;
  lbsim_policy_params_t params = default_params(10, 15);
  CHECK_EQ(setup(&a, "random", &params, NULL), 0);
  params.seed = 16;
  CHECK_EQ(setup(&b, "random", &params, NULL), 0);
  params.seed = 15;
  params.stream = LBSIM_STREAM_POLICY + 1;
  CHECK_EQ(setup(&c, "random", &params, NULL), 0);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = lbsim_policy_select(&a.p, 0);
    same_ab += x == lbsim_policy_select(&b.p, 0);
    same_ac += x == lbsim_policy_select(&c.p, 0);
  }
  CHECK(same_ab < 200); /* ~100 by chance */
  CHECK(same_ac < 200);
  teardown(&a);
  teardown(&b);
  teardown(&c);
}

/* ----------------------------------------------------------- p2c-peak-ewma */

/* Bursts of `burst` picks at time t, answered at t + latency of the pick;
 * returns how many picks went to each backend. */
static void p2c_bursts(fixture_t *f, const double *latency_ms, int bursts, int burst, uint64_t *now,
                       uint32_t *counts) {
  uint32_t picks[256];
  for (int r = 0; r < bursts; r++) {
    for (int i = 0; i < burst; i++) {
      picks[i] = lbsim_policy_select(&f->p, *now);
      counts[picks[i]]++;
    }
    uint64_t slowest = 0;
    for (int i = 0; i < burst; i++) {
      uint64_t done = *now + (uint64_t)(latency_ms[picks[i]] * (double)MS);
      feed(f, picks[i], latency_ms[picks[i]], done);
      slowest = done > slowest ? done : slowest;
    }
    *now = slowest + 100 * MS;
  }
}

TEST(p2c_prefers_the_faster_backend) {
  static const double latency[2] = {100, 10};
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 17);
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  uint64_t now = 1000 * MS;
  uint32_t counts[2] = {0};
  /* one request at a time */
  p2c_bursts(&f, latency, 1000, 1, &now, counts);
  CHECK_MSG(counts[1] >= 950, "fast backend got %u of 1000", counts[1]);
  /* bursts of 10: the in-flight factor lets the slow one take a share only
   * once the fast one has about 10 in flight */
  counts[0] = counts[1] = 0;
  p2c_bursts(&f, latency, 100, 10, &now, counts);
  CHECK_MSG(counts[1] >= 850, "fast backend got %u of 1000 in bursts", counts[1]);
  teardown(&f);
}

TEST(p2c_moves_away_after_a_latency_step) {
  double latency[2] = {100, 10};
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 18);
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  uint64_t now = 1000 * MS;
  uint32_t counts[2] = {0};
  p2c_bursts(&f, latency, 200, 1, &now, counts);
  CHECK(counts[1] > 190);
  /* the fast one becomes slow */
  latency[1] = 500;
  int samples_from_it = 0, i;
  for (i = 0; i < 100 && samples_from_it < 5; i++) {
    uint32_t b = lbsim_policy_select(&f.p, now);
    now += (uint64_t)(latency[b] * (double)MS);
    feed(&f, b, latency[b], now);
    samples_from_it += b == 1;
    if (b == 0)
      break;
  }
  CHECK_MSG(samples_from_it <= 2, "%d slow samples before moving away", samples_from_it);
  /* and then it stays away for a while */
  counts[0] = counts[1] = 0;
  p2c_bursts(&f, latency, 100, 1, &now, counts);
  CHECK_MSG(counts[0] >= 95, "formerly slow backend got %u of 100", counts[0]);
  teardown(&f);
}

TEST(p2c_in_flight_penalty_spreads_a_burst) {
  static const double emas[5] = {50, 50, 50, 50, 50};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 19);
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  uint64_t now = 1000 * MS;
  for (uint32_t b = 0; b < 5; b++) { /* measure each once, without picking */
    lbsim_policy_select(&f.p, now);
  }
  /* complete those picks, whichever they were, by a sample on every backend:
   * observe() of an idle backend must not break anything */
  for (uint32_t b = 0; b < 5; b++)
    feed(&f, b, emas[b], now);
  now += MS;
  uint32_t counts[5] = {0};
  for (int i = 0; i < 100; i++)
    counts[lbsim_policy_select(&f.p, now)]++;
  /* equal costs x (in flight + 1): best of two keeps the burst balanced */
  for (uint32_t b = 0; b < 5; b++)
    CHECK_MSG(counts[b] >= 15 && counts[b] <= 25, "backend %u got %u of 100", b, counts[b]);
  teardown(&f);
}

TEST(p2c_two_backends_alternate_in_a_burst) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 20);
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  feed(&f, 0, 40, 0);
  feed(&f, 1, 40, 0);
  uint32_t counts[2] = {0};
  for (int i = 0; i < 100; i++) {
    counts[lbsim_policy_select(&f.p, 0)]++;
    CHECK(counts[0] <= counts[1] + 1 && counts[1] <= counts[0] + 1);
  }
  teardown(&f);
}

TEST(p2c_unmeasured_probed_one_at_a_time) {
  /* two unmeasured backends: a burst's first two picks go one to each */
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 21);
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  uint32_t a = lbsim_policy_select(&f.p, 0), b = lbsim_policy_select(&f.p, 0);
  CHECK(a != b);
  teardown(&f);

  /* a new, unmeasured backend among measured ones gets one probe, not a
   * share of a burst made before its first answer */
  uint32_t after = 0;
  for (uint64_t seed = 0; seed < 20; seed++) {
    params = default_params(5, 100 + seed);
    CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
    for (uint32_t i = 0; i < 5; i++)
      if (i != 2)
        feed(&f, i, 100, 0);
    uint32_t counts[5] = {0};
    for (int i = 0; i < 200; i++)
      counts[lbsim_policy_select(&f.p, MS)]++;
    CHECK_MSG(counts[2] == 1, "seed %llu: the unmeasured backend got %u of 200", (unsigned long long)seed,
              counts[2]);
    /* it answers fast: from then on it wins every pair it is drawn in */
    feed(&f, 2, 5, 2 * MS);
    for (int i = 0; i < 100; i++) {
      uint32_t k = lbsim_policy_select(&f.p, 3 * MS);
      after += k == 2;
      feed(&f, k, k == 2 ? 5 : 100, 3 * MS);
    }
    teardown(&f);
  }
  /* drawn in 2 of 5 pairs: 800 of 2000 expected, a random pick gets 400 */
  CHECK_MSG(after >= 700 && after <= 900, "the fast backend got %u of 2000", after);

  /* all unmeasured: a backend with a request in flight loses to an idle
   * partner. Only two are drawn per pick, so a repeat can still happen
   * while another backend is unprobed; over 100 bursts of 5 picks over 5
   * backends the penalty gives about 4 distinct a burst, where picks blind
   * to in-flight requests would give 5 (1 - 0.8^5) = 3.36. */
  uint32_t distinct_total = 0;
  for (uint64_t seed = 0; seed < 100; seed++) {
    params = default_params(5, 200 + seed);
    CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
    uint32_t counts[5] = {0};
    for (int i = 0; i < 5; i++)
      counts[lbsim_policy_select(&f.p, 0)]++;
    for (uint32_t i = 0; i < 5; i++)
      distinct_total += counts[i] > 0;
    teardown(&f);
  }
  CHECK_MSG(distinct_total >= 375, "%u backends of 500 probed", distinct_total);
}

TEST(p2c_estimate_decays_so_the_slow_one_is_retried) {
  static const double latency[2] = {300, 100};
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 22);
  params.decay_s = 1;
  CHECK_EQ(setup(&f, "p2c-peak-ewma", &params, NULL), 0);
  feed(&f, 0, 300, 0);
  feed(&f, 1, 100, 0);
  /* one pick every 10 ms for 10 s: the slow backend's untouched estimate
   * decays below 100 after ln(3) s, so it is retried now and then */
  uint32_t counts[2] = {0};
  uint64_t now = 0;
  for (int i = 0; i < 1000; i++) {
    now += 10 * MS;
    uint32_t b = lbsim_policy_select(&f.p, now);
    counts[b]++;
    feed(&f, b, latency[b], now);
  }
  CHECK_MSG(counts[0] >= 3 && counts[0] <= 50, "slow backend retried %u times in 1000", counts[0]);
  teardown(&f);
}

/* ------------------------------------------------------------- ema-softmax */

/* A pick answered at once: the policy sees it leave, the EMA stays. */
static uint32_t pick_and_return(fixture_t *f) {
  uint32_t b = lbsim_policy_select(&f->p, 0);
  lbsim_policy_observe(&f->p, b, f->ema.value_ms[b], true, 0);
  return b;
}

TEST(softmax_equal_emas_spread_evenly) {
  static const double emas[5] = {100, 100, 100, 100, 100};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 23);
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  uint32_t counts[5] = {0};
  for (int i = 0; i < 1000; i++)
    counts[pick_and_return(&f)]++;
  for (uint32_t i = 0; i < 5; i++)
    CHECK_MSG(counts[i] >= 170 && counts[i] <= 230, "backend %u got %u of 1000", i, counts[i]);
  teardown(&f);
  /* a burst, all picked before any answer (the seed's rounds): even */
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  memset(counts, 0, sizeof(counts));
  for (int i = 0; i < 100; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  for (uint32_t i = 0; i < 5; i++)
    CHECK_MSG(counts[i] >= 19 && counts[i] <= 21, "backend %u got %u of 100", i, counts[i]);
  teardown(&f);
}

TEST(softmax_burst_shares_follow_cost_not_herd) {
  /* one backend 1.5x faster: in a burst its cost EMA x (in flight + 1)
   * catches up with the others' after a few picks, so it gets more, in
   * proportion, but not the whole burst as the seed's policy would give */
  static const double emas[5] = {300, 300, 200, 300, 300};
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 24);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  uint32_t counts[5] = {0};
  for (int i = 0; i < 100; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  /* balance 200 (a + 1) = 300 (b + 1) with a + 4b = 100: a ~ 28, b ~ 18 */
  CHECK_MSG(counts[2] >= 24 && counts[2] <= 32, "fastest got %u of 100", counts[2]);
  for (uint32_t i = 0; i < 5; i++)
    if (i != 2)
      CHECK_MSG(counts[i] >= 15 && counts[i] <= 21, "backend %u got %u of 100", i, counts[i]);
  teardown(&f);
}

TEST(softmax_shares_follow_the_weights) {
  /* answered at once, so nothing is in flight: gaps of 0, T, 2T, 3T give
   * shares proportional to 1, e^-1, e^-2, e^-3 */
  static const double emas[4] = {100, 120, 140, 160};
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 25);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  uint32_t counts[4] = {0};
  for (int i = 0; i < 1000; i++)
    counts[pick_and_return(&f)]++;
  double sum = 1 + exp(-1) + exp(-2) + exp(-3);
  for (uint32_t i = 0; i < 4; i++) {
    double want = 1000 * exp(-(double)i) / sum;
    CHECK_MSG(fabs(counts[i] - want) <= 5, "backend %u got %u, expected %.1f", i, counts[i], want);
  }
  teardown(&f);
}

TEST(softmax_follows_ema_changes) {
  static const double emas[3] = {100, 100, 100};
  fixture_t f;
  lbsim_policy_params_t params = default_params(3, 26);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  /* backend 0 gets much slower: it all but disappears */
  f.ema.alpha = 1.0;
  lbsim_ema_update(&f.ema, 0, 1000);
  uint32_t counts[3] = {0};
  for (int i = 0; i < 1000; i++)
    counts[pick_and_return(&f)]++;
  CHECK_EQ(counts[0], 0);
  CHECK(counts[1] >= 495 && counts[1] <= 505);
  teardown(&f);
}

TEST(softmax_unmeasured_probed_one_at_a_time) {
  /* all unmeasured: a burst of 4 probes each once */
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 27);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-softmax", &params, NULL), 0);
  uint32_t counts[4] = {0};
  for (int i = 0; i < 4; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  for (uint32_t i = 0; i < 4; i++)
    CHECK_EQ(counts[i], 1);
  teardown(&f);
  /* one unmeasured among measured ones: one probe in a burst, the seed's
   * optimism without the seed's herd */
  static const double emas[4] = {100, -1, 100, 100};
  CHECK_EQ(setup(&f, "ema-softmax", &params, emas), 0);
  memset(counts, 0, sizeof(counts));
  for (int i = 0; i < 100; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  CHECK_EQ(counts[1], 1);
  CHECK_EQ(counts[0] + counts[2] + counts[3], 99);
  teardown(&f);
}

TEST(softmax_reproducible_for_a_seed) {
  static const double emas[5] = {120, 100, 110, 140, 100};
  fixture_t a, b, c;
  lbsim_policy_params_t params = default_params(5, 28);
  params.explore = 0;
  CHECK_EQ(setup(&a, "ema-softmax", &params, emas), 0);
  CHECK_EQ(setup(&b, "ema-softmax", &params, emas), 0);
  params.seed = 29;
  CHECK_EQ(setup(&c, "ema-softmax", &params, emas), 0);
  int differ = 0;
  uint32_t ca[5] = {0}, cc[5] = {0};
  for (int i = 0; i < 1000; i++) {
    uint32_t x = lbsim_policy_select(&a.p, 0), y = lbsim_policy_select(&b.p, 0);
    uint32_t z = lbsim_policy_select(&c.p, 0);
    CHECK_MSG(x == y, "pick %d: %u vs %u", i, x, y);
    differ += x != z;
    ca[x]++;
    cc[z]++;
  }
  /* another seed gives another order of picks, but the same shares */
  CHECK(differ > 100);
  for (int i = 0; i < 5; i++)
    CHECK_MSG(abs((int)ca[i] - (int)cc[i]) <= 6, "backend %d: %u vs %u", i, ca[i], cc[i]);
  teardown(&a);
  teardown(&b);
  teardown(&c);
}

/* ------------------------------------------------------------- eligible sets */

static lbsim_eligible_t eligible_of(const uint32_t *list, uint32_t n, uint8_t *member, uint32_t all) {
  memset(member, 0, all);
  for (uint32_t k = 0; k < n; k++)
    member[list[k]] = 1;
  return (lbsim_eligible_t){list, n, member};
}

/* Whatever the policy, a pick among an eligible set is one of them, and
 * the policies that spread their picks reach every one. */
TEST(every_policy_picks_among_the_eligible_only) {
  static const uint32_t list[] = {1, 3, 4};
  uint8_t member[6];
  lbsim_eligible_t e = eligible_of(list, 3, member, 6);
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    fixture_t f;
    lbsim_policy_params_t params = default_params(6, 17);
    params.explore = 0.2;
    params.choices = 2;
    CHECK_EQ(setup(&f, (*ops)->name, &params, NULL), 0);
    uint32_t seen[6] = {0};
    for (int i = 0; i < 600; i++) {
      uint32_t b = lbsim_policy_select_among(&f.p, (uint64_t)i * MS, &e);
      CHECK_MSG(member[b], "%s picked %u, not eligible", (*ops)->name, b);
      seen[b]++;
      if (i % 2)
        feed(&f, b, 10.0 + b, (uint64_t)i * MS);
    }
    for (uint32_t k = 0; k < 3; k++)
      CHECK_MSG(seen[list[k]] > 0, "%s never picked eligible backend %u", (*ops)->name, list[k]);
    teardown(&f);
  }
}

TEST(round_robin_takes_its_turn_among_the_eligible) {
  static const uint32_t list[] = {0, 2, 4};
  uint8_t member[5];
  lbsim_eligible_t e = eligible_of(list, 3, member, 5);
  fixture_t f;
  lbsim_policy_params_t params = default_params(5, 1);
  CHECK_EQ(setup(&f, "round-robin", &params, NULL), 0);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
  CHECK_EQ(lbsim_policy_select_among(&f.p, 0, &e), 2); /* 1 is passed over */
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 3);
  CHECK_EQ(lbsim_policy_select_among(&f.p, 0, &e), 4);
  CHECK_EQ(lbsim_policy_select_among(&f.p, 0, &e), 0);
  teardown(&f);
}

TEST(greedy_among_the_eligible_takes_the_lowest_of_them) {
  static const double emas[4] = {10, 40, 20, 30};
  static const uint32_t list[] = {1, 3};
  uint8_t member[4];
  lbsim_eligible_t e = eligible_of(list, 2, member, 4);
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 3);
  params.explore = 0;
  CHECK_EQ(setup(&f, "ema-greedy", &params, emas), 0);
  for (int i = 0; i < 50; i++)
    CHECK_EQ(lbsim_policy_select_among(&f.p, 0, &e), 3); /* 0 is lower, but not eligible */
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
  teardown(&f);
}

TEST(least_outstanding_among_the_eligible_takes_the_least_loaded_of_them) {
  static const uint32_t list[] = {2, 3};
  uint8_t member[4];
  lbsim_eligible_t e = eligible_of(list, 2, member, 4);
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 5);
  CHECK_EQ(setup(&f, "least-outstanding", &params, NULL), 0);
  /* Two on backend 2, none on 3: the eligible pick is 3, with 0 and 1 idle too. */
  while (f.in_flight[2] < 2)
    lbsim_policy_select(&f.p, 0);
  for (uint32_t i = 0; i < 4; i++)
    while (i != 2 && f.in_flight[i] > 0)
      lbsim_policy_observe(&f.p, i, 1, true, 0);
  CHECK_EQ(lbsim_policy_select_among(&f.p, 0, &e), 3);
  teardown(&f);
}

/* ------------------------------------------------------------ least-loaded */

/* A client's views of n backends (balancer/loads.h), set by hand. */
static void views_set(lbsim_loads_t *loads, uint32_t k, uint32_t rif, uint32_t sent, uint64_t at_ns) {
  loads->views[k] = (lbsim_view_t){at_ns, rif, sent};
}

TEST(least_loaded_takes_the_fewest_reported_plus_sent_ties_at_random) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 21);
  lbsim_loads_t loads;
  CHECK(lbsim_loads_init(&loads, 4, NULL, true, NULL) == 0);
  params.loads = &loads;
  CHECK_EQ(setup(&f, "least-loaded", &params, NULL), 0);
  /* rif + sent: 5, 3, 3, 4 -> backends 1 and 2, at random. */
  views_set(&loads, 0, 5, 0, 0);
  views_set(&loads, 1, 1, 2, 0);
  views_set(&loads, 2, 3, 0, 0);
  views_set(&loads, 3, 0, 4, 0);
  uint32_t counts[4] = {0};
  for (int i = 0; i < 4000; i++) {
    uint32_t b = lbsim_policy_select(&f.p, (1 * MS));
    counts[b]++;
    lbsim_policy_observe(&f.p, b, 1, true, (1 * MS)); /* its own count plays no part */
  }
  CHECK_EQ(counts[0] + counts[3], 0);
  CHECK_MSG(counts[1] > 1800 && counts[2] > 1800, "%u %u", counts[1], counts[2]);
  /* A backend not heard from counts as idle, plus what was sent to it. */
  views_set(&loads, 3, 0, 0, LBSIM_NEVER);
  CHECK_EQ(lbsim_policy_select(&f.p, (2 * MS)), 3);
  /* An answer's report replaces the view; a pick counts as sent since. */
  lbsim_load_report_t rep = {.rif = 9, .has = LBSIM_LOAD_RIF};
  CHECK(lbsim_loads_heard(&loads, 3, &rep, NULL, (3 * MS)) == NULL);
  CHECK_EQ(loads.views[3].rif, 9);
  CHECK_EQ(loads.views[3].sent, 0);
  lbsim_stats_t stats;
  CHECK(lbsim_stats_init(&stats, 4) == 0);
  lbsim_loads_picked(&loads, 3, (5 * MS), &stats);
  CHECK_EQ(loads.views[3].sent, 1);
  CHECK_EQ(stats.view_age_picks, 1);
  CHECK(stats.view_age_sum_ms == 2.0);
  /* A report without rif, or none, leaves the view. */
  lbsim_load_report_t partial = {.cpu = 0.5, .has = LBSIM_LOAD_CPU};
  CHECK_STR_EQ(lbsim_loads_heard(&loads, 3, &partial, NULL, (6 * MS)), "without named_metrics.rif");
  CHECK_STR_EQ(lbsim_loads_heard(&loads, 3, NULL, "missing", (6 * MS)), "missing");
  CHECK_EQ(loads.views[3].rif, 9);
  lbsim_stats_free(&stats);
  lbsim_loads_free(&loads);
  teardown(&f);
}

TEST(least_loaded_best_of_k_never_takes_the_most_loaded_of_its_draws) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(10, 22);
  params.choices = 2;
  lbsim_loads_t loads;
  CHECK(lbsim_loads_init(&loads, 10, NULL, true, NULL) == 0);
  params.loads = &loads;
  CHECK_EQ(setup(&f, "least-loaded", &params, NULL), 0);
  for (uint32_t k = 0; k < 10; k++)
    views_set(&loads, k, k, 0, 0); /* backend k reports k in flight */
  uint32_t counts[10] = {0};
  enum { N = 45000 };
  for (int i = 0; i < N; i++)
    counts[lbsim_policy_select(&f.p, 0)]++;
  /* The better of two distinct backends: backend k wins when it is drawn
   * with one of the 9 - k above it: 2 (9 - k) / 90 of the picks. */
  CHECK_EQ(counts[9], 0);
  for (uint32_t k = 0; k < 9; k++) {
    double expect = N * 2.0 * (9 - k) / 90.0;
    CHECK_MSG(counts[k] > expect * 0.93 && counts[k] < expect * 1.07, "backend %u: %u, expected %.0f", k, counts[k],
              expect);
  }
  lbsim_loads_free(&loads);
  teardown(&f);
}

/* The board: a copy's load for each backend, read as of the pick. */
static lbsim_load_t board_copies[3];

static lbsim_load_t *board_copy(void *data, uint32_t i) {
  (void)data;
  return &board_copies[i];
}

TEST(least_loaded_on_a_board_reads_the_last_refresh_only) {
  lbsim_board_t board = {.period_ns = (10 * MS), .load_of = board_copy};
  for (uint32_t i = 0; i < 3; i++) {
    lbsim_load_init(&board_copies[i], 0, 0);
    lbsim_load_board(&board_copies[i], (10 * MS));
  }
  /* Backend 0 gets 5 at 1 ms (answered at 50), backend 1 gets 2 at 12 ms. */
  lbsim_load_admit(&board_copies[0], (1 * MS), (50 * MS), 5, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&board_copies[1], (12 * MS), (50 * MS), 2, LBSIM_LOAD_UNTAGGED);
  fixture_t f;
  lbsim_policy_params_t params = default_params(3, 23);
  lbsim_loads_t loads;
  CHECK(lbsim_loads_init(&loads, 3, NULL, false, &board) == 0);
  params.loads = &loads;
  CHECK_EQ(setup(&f, "least-loaded", &params, NULL), 0);
  /* At 15 ms the board is the refresh of 10 ms: 5, 0, 0 — 1 or 2, and its
   * own picks change nothing until the next refresh. */
  uint32_t counts[3] = {0};
  for (int i = 0; i < 1000; i++)
    counts[lbsim_policy_select(&f.p, (15 * MS))]++;
  CHECK_EQ(counts[0], 0);
  CHECK(counts[1] > 400 && counts[2] > 400);
  /* At 20 ms: 5, 2, 0 — backend 2 only. */
  CHECK_EQ(lbsim_policy_select(&f.p, (20 * MS)), 2);
  lbsim_stats_t stats;
  CHECK(lbsim_stats_init(&stats, 3) == 0);
  lbsim_loads_picked(&loads, 2, (27 * MS), &stats);
  CHECK(stats.view_age_sum_ms == 7.0); /* the refresh of 20 ms */
  lbsim_stats_free(&stats);
  lbsim_loads_free(&loads);
  teardown(&f);
  for (uint32_t i = 0; i < 3; i++)
    lbsim_load_free(&board_copies[i]);
}

/* ---- weights (--weights, slow start) ------------------------------------------ */

/* nginx's smooth weighted round robin: weights 5, 1, 1 give a a b a c a a,
 * over and over; weights all alike give the unweighted turn. */
TEST(round_robin_by_weight_is_nginx_smooth_weighted_round_robin) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(3, 1);
  double w[3] = {5, 1, 1};
  lbsim_policy_weights_t weights = {w, false};
  params.weights = &weights;
  setup(&f, "round-robin", &params, NULL);
  const uint32_t expected[] = {0, 0, 1, 0, 2, 0, 0};
  for (int cycle = 0; cycle < 3; cycle++)
    for (size_t k = 0; k < sizeof(expected) / sizeof(expected[0]); k++) {
      uint32_t b = lbsim_policy_select(&f.p, 0);
      CHECK_EQ(b, expected[k]);
      lbsim_policy_end(&f.p, b, 1);
    }
  /* Weights alike again (a slow start is over): the plain turn, from the
   * backend after the last pick. */
  weights.uniform = true;
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 1);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 2);
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
  teardown(&f);
}

/* With weights given and alike, the order is the unweighted one exactly. */
TEST(round_robin_with_equal_weights_keeps_its_order) {
  fixture_t a, b;
  lbsim_policy_params_t params = default_params(7, 1);
  setup(&a, "round-robin", &params, NULL);
  double w[7] = {2, 2, 2, 2, 2, 2, 2};
  lbsim_policy_weights_t weights = {w, true};
  params.weights = &weights;
  setup(&b, "round-robin", &params, NULL);
  uint8_t member[7] = {1, 0, 1, 1, 0, 1, 1};
  uint32_t list[5] = {0, 2, 3, 5, 6};
  lbsim_eligible_t eligible = {list, 5, member};
  for (int k = 0; k < 50; k++) {
    const lbsim_eligible_t *e = k % 3 == 0 ? &eligible : NULL;
    CHECK_EQ(lbsim_policy_select_among(&a.p, 0, e), lbsim_policy_select_among(&b.p, 0, e));
  }
  teardown(&a);
  teardown(&b);
}

/* Weighted least-request: picks in proportion to weight / (in flight + 1),
 * among the eligible. */
TEST(least_outstanding_by_weight_spreads_in_proportion) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(4, 3);
  double w[4] = {1, 0.25, 1, 0.5};
  lbsim_policy_weights_t weights = {w, false};
  params.weights = &weights;
  setup(&f, "least-outstanding", &params, NULL);
  uint32_t count[4] = {0};
  for (int k = 0; k < 2750; k++) {
    uint32_t b = lbsim_policy_select(&f.p, 0);
    count[b]++;
    lbsim_policy_end(&f.p, b, 1); /* nothing stays in flight: shares follow the weights */
  }
  CHECK_EQ(count[0], 1000);
  CHECK_EQ(count[1], 250);
  CHECK_EQ(count[2], 1000);
  CHECK_EQ(count[3], 500);
  /* Requests in flight weigh a backend down: 3 in flight to backend 0
   * (weight 1/4 each) make it as light as backend 1. */
  for (int k = 0; k < 3; k++)
    f.in_flight[0]++, f.p.ops->sent(&f.p, 0);
  uint8_t member[4] = {1, 1, 0, 0};
  uint32_t list[2] = {0, 1};
  lbsim_eligible_t eligible = {list, 2, member};
  uint32_t two[4] = {0};
  for (int k = 0; k < 1000; k++) {
    uint32_t b = lbsim_policy_select_among(&f.p, 0, &eligible);
    two[b]++;
    lbsim_policy_end(&f.p, b, 1);
  }
  CHECK_EQ(two[0] + two[1], 1000);
  CHECK(two[0] >= 495 && two[0] <= 505);
  teardown(&f);
}

/* p2c-peak-ewma: a cost divided by the weight (tower's Weighted). */
TEST(p2c_peak_ewma_divides_its_cost_by_the_weight) {
  fixture_t f;
  lbsim_policy_params_t params = default_params(2, 5);
  double w[2] = {1, 0.3};
  lbsim_policy_weights_t weights = {w, false};
  params.weights = &weights;
  setup(&f, "p2c-peak-ewma", &params, NULL);
  feed(&f, 0, 20, 0);
  feed(&f, 1, 10, 0); /* half the latency, a third of the weight: costs more */
  for (int k = 0; k < 20; k++) {
    CHECK_EQ(lbsim_policy_select(&f.p, 0), 0);
    lbsim_policy_end(&f.p, 0, 1);
  }
  weights.uniform = true; /* unweighted: the faster one */
  CHECK_EQ(lbsim_policy_select(&f.p, 0), 1);
  teardown(&f);
}
