/* Retries' pure pieces (lbsim/balancer/retry.h): which failures are
 * retried, gRPC's backoff, Finagle's budget, gRPC's throttle. */
#include <string.h>

#include "harness.h"
#include "lbsim/balancer/retry.h"
#include "lbsim/base/common.h"
#include "lbsim/base/error.h"

#define S(x) ((uint64_t)((x) * 1e9 + 0.5))

TEST(retry_on_names_the_failures_retried) {
  uint32_t on = 0;
  char err[256];
  CHECK(lbsim_retry_on_parse("connect,reset,timeout,5xx", &on, err, sizeof(err)) == 0);
  CHECK_EQ(on, LBSIM_RETRY_ON_ALL);
  CHECK(lbsim_retry_on_parse("5xx", &on, err, sizeof(err)) == 0);
  CHECK(lbsim_retry_on(on, LBSIM_RESULT_STATUS));
  CHECK(!lbsim_retry_on(on, LBSIM_RESULT_TIMEOUT));
  CHECK(lbsim_retry_on_parse("timeout,connect", &on, err, sizeof(err)) == 0);
  CHECK(lbsim_retry_on(on, LBSIM_RESULT_TIMEOUT) && lbsim_retry_on(on, LBSIM_RESULT_CONNECT));
  CHECK(!lbsim_retry_on(on, LBSIM_RESULT_RESET) && !lbsim_retry_on(on, LBSIM_RESULT_STATUS));
  /* A malformed answer is a reset's kind; an answer or a cancellation never is retried. */
  CHECK(lbsim_retry_on(LBSIM_RETRY_ON_RESET, LBSIM_RESULT_BAD_RESPONSE));
  CHECK(!lbsim_retry_on(LBSIM_RETRY_ON_ALL, LBSIM_RESULT_OK));
  CHECK(!lbsim_retry_on(LBSIM_RETRY_ON_ALL, LBSIM_RESULT_CANCELLED));
  CHECK(lbsim_retry_on_parse("connect,refused", &on, err, sizeof(err)) == LBSIM_EINVAL);
  CHECK(strstr(err, "'refused' is not connect, reset, timeout or 5xx") != NULL);
  CHECK(lbsim_retry_on_parse("", &on, err, sizeof(err)) == LBSIM_EINVAL);
  CHECK(lbsim_retry_on_parse("reset,", &on, err, sizeof(err)) == LBSIM_EINVAL);
}

/* random(0, min(initial x multiplier^(n-1), max)): the n-th retry's cap, and
 * draws spread over it. */
TEST(backoff_is_full_jitter_under_a_growing_cap) {
  lbsim_retry_config_t cfg = {.backoff_ms = 25, .backoff_max_ms = 250, .backoff_multiplier = 2};
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 7, LBSIM_STREAM_RETRY);
  const double caps[] = {25, 50, 100, 200, 250, 250};
  for (uint32_t n = 1; n <= 6; n++) {
    uint64_t lo = UINT64_MAX, hi = 0;
    double sum = 0;
    for (int k = 0; k < 20000; k++) {
      uint64_t d = lbsim_retry_backoff_ns(&cfg, n, &rng);
      lo = d < lo ? d : lo;
      hi = d > hi ? d : hi;
      sum += (double)d;
    }
    double cap_ns = caps[n - 1] * 1e6;
    CHECK((double)hi <= cap_ns);
    CHECK((double)hi > 0.99 * cap_ns);
    CHECK((double)lo < 0.01 * cap_ns);
    CHECK_NEAR(sum / 20000, cap_ns / 2, cap_ns * 0.02); /* uniform: the mean is half the cap */
  }
  cfg.backoff_ms = 0; /* no backoff: at once, and nothing drawn */
  lbsim_rng_t before = rng;
  CHECK_EQ(lbsim_retry_backoff_ns(&cfg, 3, &rng), 0);
  CHECK(memcmp(&before, &rng, sizeof(rng)) == 0);
}

/* Finagle's budget at 20 % with no reserve: one retry per five requests. */
TEST(a_budget_allows_its_percentage_of_the_requests) {
  lbsim_budget_t b;
  lbsim_budget_init(&b, 20, 0);
  CHECK(!lbsim_budget_try_withdraw(&b, 0)); /* nothing deposited yet */
  lbsim_budget_deposit(&b, S(1), 100);
  int retries = 0;
  while (lbsim_budget_try_withdraw(&b, S(1)))
    retries++;
  CHECK_EQ(retries, 20);
  CHECK_EQ(lbsim_budget_balance(&b, S(1)), 0);
  lbsim_budget_deposit(&b, S(2), 4);
  CHECK(!lbsim_budget_try_withdraw(&b, S(2)));
  lbsim_budget_deposit(&b, S(2), 1);
  CHECK(lbsim_budget_try_withdraw(&b, S(2)));
}

/* Deposits and withdrawals are kept for 10 s, in slices of a second. */
TEST(a_budget_forgets_after_ten_seconds) {
  lbsim_budget_t b;
  lbsim_budget_init(&b, 50, 0);
  lbsim_budget_deposit(&b, S(0.5), 10);
  CHECK_EQ(lbsim_budget_balance(&b, S(9.9)), 5);
  CHECK_EQ(lbsim_budget_balance(&b, S(10.1)), 0); /* its slice [0, 1 s) left the window */
  /* A withdrawal is forgotten as well: the balance comes back. */
  lbsim_budget_deposit(&b, S(20.2), 10);
  for (int k = 0; k < 5; k++)
    CHECK(lbsim_budget_try_withdraw(&b, S(25.5)));
  CHECK(!lbsim_budget_try_withdraw(&b, S(29.9)));
  CHECK_EQ(lbsim_budget_balance(&b, S(30.3)), -5); /* the deposit's slice went, the withdrawals' not yet */
  lbsim_budget_deposit(&b, S(30.3), 2);
  CHECK_EQ(lbsim_budget_balance(&b, S(30.3)), -4);
  CHECK_EQ(lbsim_budget_balance(&b, S(35.7)), 1); /* the withdrawals' slice [25, 26 s) went */
  CHECK_EQ(lbsim_budget_balance(&b, S(1000)), 0);
}

/* MIN per second is a reserve of MIN x 10 s that requests do not earn. */
TEST(a_budget_reserve_is_min_per_second_over_the_window) {
  lbsim_budget_t b;
  lbsim_budget_init(&b, 20, 10);
  CHECK_EQ(lbsim_budget_balance(&b, S(3)), 100);
  for (int k = 0; k < 100; k++)
    CHECK(lbsim_budget_try_withdraw(&b, S(3)));
  CHECK(!lbsim_budget_try_withdraw(&b, S(3)));
  CHECK(lbsim_budget_try_withdraw(&b, S(13.5))); /* those withdrawals left the window */
  lbsim_budget_init(&b, 0, 2); /* MIN alone: a retry costs 1, requests earn nothing */
  lbsim_budget_deposit(&b, S(1), 1000);
  CHECK_EQ(lbsim_budget_balance(&b, S(1)), 20);
  lbsim_budget_init(&b, 0, 0); /* neither: never */
  lbsim_budget_deposit(&b, S(1), 1000);
  CHECK(!lbsim_budget_try_withdraw(&b, S(1)));
  CHECK_EQ(lbsim_budget_balance(&b, S(1)), 0);
  lbsim_budget_init(&b, 100, 0); /* every request may be retried once */
  lbsim_budget_deposit(&b, S(1), 7);
  CHECK_EQ(lbsim_budget_balance(&b, S(1)), 7);
}

/* gRPC: tokens start full, -1 a failure, +RATIO a success, no retry at or
 * below half. */
TEST(a_throttle_stops_retries_at_half_its_tokens) {
  lbsim_throttle_t t;
  lbsim_throttle_init(&t, 10, 0.1);
  CHECK(lbsim_throttle_allows(&t));
  for (int k = 0; k < 4; k++)
    CHECK(lbsim_throttle_failure(&t)); /* 9, 8, 7, 6 */
  CHECK(!lbsim_throttle_failure(&t));  /* 5: at half, no more */
  CHECK(!lbsim_throttle_allows(&t));
  lbsim_throttle_success(&t, 1); /* 5.1: above half again */
  CHECK(lbsim_throttle_allows(&t));
  CHECK(!lbsim_throttle_failure(&t)); /* 4.1 */
  for (int k = 0; k < 10; k++)
    lbsim_throttle_failure(&t);
  CHECK_EQ(t.milli, 0); /* never below 0 */
  lbsim_throttle_success(&t, 51); /* 5.1 */
  CHECK(lbsim_throttle_allows(&t));
  lbsim_throttle_success(&t, 1000000);
  CHECK_EQ(t.milli, 10000); /* never above the maximum */
  lbsim_throttle_init(&t, 3, 0.5); /* half of 3 is 1.5 */
  CHECK(lbsim_throttle_failure(&t)); /* 2 */
  CHECK(!lbsim_throttle_failure(&t)); /* 1 */
}
