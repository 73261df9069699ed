/* Retries around the pick, as pure pieces: which failures are retried
 * (--retry-on), gRPC's exponential backoff with full jitter, Finagle's
 * retry budget and gRPC's retry throttling. The balancer's tools
 * (tools.h) put them together; each piece is unit-tested on its own.
 *
 * Backoff (gRPC A6): the n-th retry waits random(0, min(initial x
 * multiplier^(n-1), max)).
 *
 * Budget (Finagle's RetryBudget): every user request deposits, every retry
 * withdraws 1/PCT of a deposit, and deposits and withdrawals are kept for
 * 10 s (ten slices of a second), so that over any 10 s retries are at most
 * PCT % of the requests, plus a reserve of MIN_PER_S x 10 s that is always
 * there (Finagle's default: 20 %, 10 per second).
 *
 * Throttle (gRPC A6, "retryThrottling"): a token count starts at
 * MAX_TOKENS; every attempt that fails in a retryable way takes 1 away,
 * every attempt that succeeds adds RATIO (up to MAX_TOKENS); at or below
 * MAX_TOKENS / 2, nothing is retried. Counted in thousandths of a token, as
 * gRPC counts them. */
#ifndef LBSIM_RETRY_H
#define LBSIM_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbsim/balancer/result.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/rng.h"

/* What --retry-on names: the failures retried. */
enum {
  LBSIM_RETRY_ON_CONNECT = 1u << 0, /* "connect": the connection could not be made */
  LBSIM_RETRY_ON_RESET = 1u << 1,   /* "reset": closed, reset or a malformed answer */
  LBSIM_RETRY_ON_TIMEOUT = 1u << 2, /* "timeout": the attempt's deadline passed */
  LBSIM_RETRY_ON_5XX = 1u << 3,     /* "5xx": an answer with another status than 200 */
  LBSIM_RETRY_ON_ALL = 0xf
};

/* The command line's retries and deadlines (cli/config.h). */
typedef struct lbsim_retry_config_s {
  double deadline_s;          /* a user request's deadline over all its attempts; 0: none */
  uint32_t retries;           /* attempts after the first */
  uint32_t on;                /* LBSIM_RETRY_ON_* */
  double backoff_ms;          /* gRPC's initialBackoff */
  double backoff_max_ms;      /* ... maxBackoff */
  double backoff_multiplier;  /* ... backoffMultiplier */
  bool budget;                /* --retry-budget */
  double budget_pct;
  uint32_t budget_min_per_s;
  bool throttle;              /* --retry-throttle */
  double throttle_tokens;
  double throttle_ratio;
} lbsim_retry_config_t;

#define LBSIM_RETRY_BACKOFF_MS 25
#define LBSIM_RETRY_BACKOFF_MAX_MS 250
#define LBSIM_RETRY_BACKOFF_MULTIPLIER 2
#define LBSIM_RETRY_BUDGET_MIN_PER_S 10
#define LBSIM_RETRY_THROTTLE_RATIO 0.1 /* when only the tokens are given (a sweep) */

/* Whether a failure of this kind is retried under `on`; an answer, a
 * cancellation never are. */
bool lbsim_retry_on(uint32_t on, lbsim_result_t result);
/* "connect,reset,timeout,5xx" (any of them, in any order) into *on.
 * 0, or LBSIM_EINVAL with the reason in err. */
int lbsim_retry_on_parse(const char *text, uint32_t *on, char *err, size_t errlen);

/* `on` as --retry-on takes it, its kinds in the order above. */
void lbsim_retry_on_format(uint32_t on, lbsim_buf_t *out);

/* The wait before retry number `retry` (1: the first retry), drawn from rng. */
uint64_t lbsim_retry_backoff_ns(const lbsim_retry_config_t *cfg, uint32_t retry, lbsim_rng_t *rng);

#define LBSIM_BUDGET_SLICES 10
#define LBSIM_BUDGET_TTL_S 10

typedef struct lbsim_budget_s {
  int64_t slice[LBSIM_BUDGET_SLICES]; /* deposits less withdrawals, per slice of the window */
  uint64_t current;                   /* the slice now written: time / slice length */
  uint64_t current_end_ns;            /* ... until then */
  int64_t deposit, withdrawal, reserve;
  bool empty;                         /* PCT and MIN both 0: never a retry */
} lbsim_budget_t;

void lbsim_budget_init(lbsim_budget_t *budget, double pct, uint32_t min_per_s);
/* `count` user requests. */
void lbsim_budget_deposit(lbsim_budget_t *budget, uint64_t now_ns, uint32_t count);
/* One retry, if the balance allows it (then it is withdrawn). */
bool lbsim_budget_try_withdraw(lbsim_budget_t *budget, uint64_t now_ns);
/* Retries the balance allows now. */
int64_t lbsim_budget_balance(lbsim_budget_t *budget, uint64_t now_ns);

typedef struct lbsim_throttle_s {
  int64_t milli, max_milli, ratio_milli;
} lbsim_throttle_t;

void lbsim_throttle_init(lbsim_throttle_t *throttle, double max_tokens, double ratio);
/* A retryable failure: one token less; then whether a retry may follow. */
bool lbsim_throttle_failure(lbsim_throttle_t *throttle);
/* `count` successful attempts. */
void lbsim_throttle_success(lbsim_throttle_t *throttle, uint32_t count);
bool lbsim_throttle_allows(const lbsim_throttle_t *throttle);

#endif
