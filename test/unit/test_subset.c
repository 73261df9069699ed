/* Unit tests of subsetting (lbsim/balancer/subset.h): what each client's
 * subset holds, how evenly the backends are shared out by each mode, and
 * the published figure for random subsets. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lbsim/balancer/subset.h"

/* Every subset: k distinct backends below n, ascending. */
static void well_formed(const uint32_t *subsets, uint32_t nclients, uint32_t n, uint32_t k) {
  for (uint32_t c = 0; c < nclients; c++) {
    const uint32_t *s = subsets + (size_t)c * k;
    for (uint32_t j = 0; j < k; j++) {
      CHECK_MSG(s[j] < n, "client %u: backend %u of %u", c, s[j], n);
      if (j > 0)
        CHECK_MSG(s[j - 1] < s[j], "client %u: not ascending and distinct at %u", c, j);
    }
  }
}

/* How many subsets hold each backend. */
static void count_clients(const uint32_t *subsets, uint32_t nclients, uint32_t n, uint32_t k, uint32_t *per) {
  memset(per, 0, n * sizeof(*per));
  for (size_t j = 0; j < (size_t)nclients * k; j++)
    per[subsets[j]]++;
}

TEST(random_subsets_are_k_distinct_backends_drawn_per_client_and_seed) {
  enum { N = 50, K = 7, CLIENTS = 40 };
  uint32_t a[CLIENTS * K], b[CLIENTS * K], c[CLIENTS * K];
  CHECK_EQ(lbsim_subset_make(a, CLIENTS, N, K, LBSIM_SUBSET_RANDOM, 1), 0);
  CHECK_EQ(lbsim_subset_make(b, CLIENTS, N, K, LBSIM_SUBSET_RANDOM, 1), 0);
  CHECK_EQ(lbsim_subset_make(c, CLIENTS, N, K, LBSIM_SUBSET_RANDOM, 2), 0);
  well_formed(a, CLIENTS, N, K);
  CHECK(memcmp(a, b, sizeof(a)) == 0);  /* a function of the seed */
  CHECK(memcmp(a, c, sizeof(a)) != 0);  /* ... and of nothing else */
  CHECK(memcmp(a, a + K, K * sizeof(*a)) != 0); /* each client its own */
  /* Client k's subset does not depend on how many clients there are. */
  uint32_t fewer[10 * K];
  CHECK_EQ(lbsim_subset_make(fewer, 10, N, K, LBSIM_SUBSET_RANDOM, 1), 0);
  CHECK(memcmp(a, fewer, sizeof(fewer)) == 0);
  /* All of them: every client has every backend. */
  uint32_t all[3 * N];
  CHECK_EQ(lbsim_subset_make(all, 3, N, N, LBSIM_SUBSET_RANDOM, 9), 0);
  for (uint32_t j = 0; j < 3 * N; j++)
    CHECK_EQ(all[j], j % N);
}

/* Each backend is in a given client's subset with probability k/n: over
 * many clients its count is binomial (mean 100 here, sd under 10). */
TEST(random_subsets_hold_each_backend_as_often_on_average) {
  enum { N = 20, K = 5, CLIENTS = 400 };
  uint32_t *s = malloc(CLIENTS * K * sizeof(*s));
  uint32_t per[N];
  CHECK_EQ(lbsim_subset_make(s, CLIENTS, N, K, LBSIM_SUBSET_RANDOM, 77), 0);
  count_clients(s, CLIENTS, N, K, per);
  for (uint32_t i = 0; i < N; i++)
    CHECK_MSG(per[i] >= 50 && per[i] <= 150, "backend %u in %u subsets", i, per[i]);
  free(s);
}

/* When k divides n and the clients fill whole rounds, every backend is in
 * exactly as many subsets, and the clients of a round share the backends
 * out between them. */
TEST(deterministic_subsets_share_the_backends_exactly) {
  enum { N = 12, K = 3, CLIENTS = 20 }; /* rounds of 4 clients: 5 whole rounds */
  uint32_t s[CLIENTS * K], per[N];
  CHECK_EQ(lbsim_subset_make(s, CLIENTS, N, K, LBSIM_SUBSET_DETERMINISTIC, 5), 0);
  well_formed(s, CLIENTS, N, K);
  count_clients(s, CLIENTS, N, K, per);
  for (uint32_t i = 0; i < N; i++)
    CHECK_EQ(per[i], CLIENTS * K / N);
  for (uint32_t round = 0; round < CLIENTS / (N / K); round++) {
    uint32_t in_round[N];
    count_clients(s + (size_t)round * (N / K) * K, N / K, N, K, in_round);
    for (uint32_t i = 0; i < N; i++)
      CHECK_EQ(in_round[i], 1);
  }
  /* Rounds are shuffled apart: not the same cut every time. */
  CHECK(memcmp(s, s + (N / K) * K, (N / K) * K * sizeof(*s)) != 0);
}

/* k not dividing n: each round leaves n mod k backends out, a different
 * few each round, so no backend is in more than one subset more than
 * another's per round. */
TEST(deterministic_subsets_leave_a_few_out_of_each_round) {
  enum { N = 10, K = 3, CLIENTS = 300 }; /* rounds of 3 clients, one backend left out of each */
  uint32_t s[CLIENTS * K], per[N];
  CHECK_EQ(lbsim_subset_make(s, CLIENTS, N, K, LBSIM_SUBSET_DETERMINISTIC, 8), 0);
  well_formed(s, CLIENTS, N, K);
  count_clients(s, CLIENTS, N, K, per);
  uint32_t lo = per[0], hi = per[0];
  for (uint32_t i = 0; i < N; i++) {
    lo = per[i] < lo ? per[i] : lo;
    hi = per[i] > hi ? per[i] : hi;
  }
  /* 100 rounds, each leaving one backend out: each is in 100 - (rounds it
   * was left out of); those rounds are about 10 per backend. */
  CHECK_MSG(lo >= 75 && hi <= 100, "subsets per backend from %u to %u", lo, hi);
  CHECK(hi > lo); /* it varies, as the SRE book says */
}

/* The SRE book (chapter 20): 300 clients, 300 backends, random subsets of
 * 90. Over many draws the least-connected backend has about 75 % of the
 * mean (1st-99th percentile 69-81 %) and the most-connected about 124 %
 * (119-137 %). lbsim's draws, averaged over 100 seeds, land there. */
TEST(random_subsets_of_the_sre_book_are_as_uneven_as_it_says) {
  enum { N = 300, K = 90, CLIENTS = 300, SEEDS = 100 };
  uint32_t *s = malloc((size_t)CLIENTS * 100 * sizeof(*s));
  uint32_t per[N];
  double mean = (double)CLIENTS * K / N, lo_sum = 0, hi_sum = 0;
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    CHECK_EQ(lbsim_subset_make(s, CLIENTS, N, K, LBSIM_SUBSET_RANDOM, seed), 0);
    count_clients(s, CLIENTS, N, K, per);
    uint32_t lo = per[0], hi = per[0];
    for (uint32_t i = 0; i < N; i++) {
      lo = per[i] < lo ? per[i] : lo;
      hi = per[i] > hi ? per[i] : hi;
    }
    lo_sum += lo / mean;
    hi_sum += hi / mean;
  }
  double lo_mean = lo_sum / SEEDS, hi_mean = hi_sum / SEEDS;
  CHECK_MSG(lo_mean > 0.72 && lo_mean < 0.78, "least-connected at %.3f of the mean", lo_mean);
  CHECK_MSG(hi_mean > 1.21 && hi_mean < 1.28, "most-connected at %.3f of the mean", hi_mean);
  /* Deterministic subsets of 100 (which divides 300): every backend in
   * exactly 100 subsets. */
  CHECK_EQ(lbsim_subset_make(s, CLIENTS, N, 100, LBSIM_SUBSET_DETERMINISTIC, 1), 0);
  count_clients(s, CLIENTS, N, 100, per);
  for (uint32_t i = 0; i < N; i++)
    CHECK_EQ(per[i], 100);
  free(s);
}

TEST(subset_modes_by_name) {
  CHECK_EQ(lbsim_subset_mode_find("random"), LBSIM_SUBSET_RANDOM);
  CHECK_EQ(lbsim_subset_mode_find("deterministic"), LBSIM_SUBSET_DETERMINISTIC);
  CHECK_EQ(lbsim_subset_mode_find("Random"), -1);
  CHECK_EQ(lbsim_subset_mode_find(""), -1);
  CHECK(strcmp(lbsim_subset_mode_name(LBSIM_SUBSET_DETERMINISTIC), "deterministic") == 0);
}
