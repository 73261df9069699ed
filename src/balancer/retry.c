/* Retries: what is retried, backoff, budget, throttle. See lbsim/balancer/retry.h. */
#include "lbsim/balancer/retry.h"

#include <math.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

static const struct {
  const char *name;
  uint32_t flag;
} kinds[] = {
    {"connect", LBSIM_RETRY_ON_CONNECT},
    {"reset", LBSIM_RETRY_ON_RESET},
    {"timeout", LBSIM_RETRY_ON_TIMEOUT},
    {"5xx", LBSIM_RETRY_ON_5XX},
};

bool lbsim_retry_on(uint32_t on, lbsim_result_t result) {
  switch (result) {
  case LBSIM_RESULT_CONNECT: return on & LBSIM_RETRY_ON_CONNECT;
  case LBSIM_RESULT_RESET:
  case LBSIM_RESULT_BAD_RESPONSE: return on & LBSIM_RETRY_ON_RESET;
  case LBSIM_RESULT_TIMEOUT: return on & LBSIM_RETRY_ON_TIMEOUT;
  case LBSIM_RESULT_STATUS: return on & LBSIM_RETRY_ON_5XX;
  default: return false;
  }
}

int lbsim_retry_on_parse(const char *text, uint32_t *on, char *err, size_t errlen) {
  uint32_t mask = 0;
  for (const char *p = text;; p += strcspn(p, ",") + 1) {
    size_t len = strcspn(p, ",");
    uint32_t flag = 0;
    for (size_t k = 0; k < LBSIM_ARRAY_SIZE(kinds); k++)
      if (strlen(kinds[k].name) == len && strncmp(kinds[k].name, p, len) == 0)
        flag = kinds[k].flag;
    if (flag == 0)
      return lbsim_refuse(err, errlen, "invalid --retry-on '%.64s': '%.*s' is not connect, reset, timeout or 5xx",
                          text, (int)(len < 32 ? len : 32), p);
    mask |= flag;
    if (p[len] == '\0')
      break;
  }
  *on = mask;
  return 0;
}

void lbsim_retry_on_format(uint32_t on, lbsim_buf_t *out) {
  bool first = true;
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(kinds); k++)
    if (on & kinds[k].flag) {
      lbsim_buf_printf(out, "%s%s", first ? "" : ",", kinds[k].name);
      first = false;
    }
}

uint64_t lbsim_retry_backoff_ns(const lbsim_retry_config_t *cfg, uint32_t retry, lbsim_rng_t *rng) {
  double cap = cfg->backoff_ms;
  for (uint32_t k = 1; k < retry && cap < cfg->backoff_max_ms; k++)
    cap *= cfg->backoff_multiplier;
  if (cap > cfg->backoff_max_ms)
    cap = cfg->backoff_max_ms;
  if (cap <= 0)
    return 0; /* no backoff: no draw either */
  return lbsim_ms_to_ns(lbsim_rng_double(rng) * cap);
}

/* ---- Finagle's budget ---------------------------------------------------- */

/* Finagle's TokenRetryBudget scales a deposit to 1000, so that a retry may
 * cost a fraction of one (PCT above 100 %, which lbsim refuses) in integers. */
#define BUDGET_SCALE 1000

#define SLICE_NS ((uint64_t)(LBSIM_BUDGET_TTL_S * LBSIM_NS_PER_S / LBSIM_BUDGET_SLICES))

void lbsim_budget_init(lbsim_budget_t *b, double pct, uint32_t min_per_s) {
  memset(b, 0, sizeof(*b));
  double fraction = pct / 100.0;
  b->empty = fraction <= 0 && min_per_s == 0;
  /* With MIN alone every retry costs 1 and requests earn nothing: the
   * reserve is all there is. */
  b->deposit = fraction > 0 ? BUDGET_SCALE : 0;
  b->withdrawal = fraction > 0 ? (int64_t)(BUDGET_SCALE / fraction) : 1;
  b->reserve = (int64_t)min_per_s * LBSIM_BUDGET_TTL_S * b->withdrawal;
}

/* Slices older than the window are forgotten: the window ends with now's. */
static void advance(lbsim_budget_t *b, uint64_t now_ns) {
  if (now_ns < b->current_end_ns)
    return; /* the usual case, without a division */
  uint64_t slice = now_ns / SLICE_NS;
  b->current_end_ns = (slice + 1) * SLICE_NS;
  if (slice <= b->current)
    return;
  uint64_t gone = slice - b->current;
  if (gone >= LBSIM_BUDGET_SLICES)
    memset(b->slice, 0, sizeof(b->slice));
  else
    for (uint64_t s = b->current + 1; s <= slice; s++)
      b->slice[s % LBSIM_BUDGET_SLICES] = 0;
  b->current = slice;
}

static int64_t tokens(lbsim_budget_t *b, uint64_t now_ns) {
  advance(b, now_ns);
  int64_t sum = b->reserve;
  for (int k = 0; k < LBSIM_BUDGET_SLICES; k++)
    sum += b->slice[k];
  return sum;
}

void lbsim_budget_deposit(lbsim_budget_t *b, uint64_t now_ns, uint32_t count) {
  if (b->deposit == 0)
    return;
  advance(b, now_ns);
  b->slice[b->current % LBSIM_BUDGET_SLICES] += b->deposit * count;
}

bool lbsim_budget_try_withdraw(lbsim_budget_t *b, uint64_t now_ns) {
  if (b->empty || tokens(b, now_ns) < b->withdrawal)
    return false;
  b->slice[b->current % LBSIM_BUDGET_SLICES] -= b->withdrawal;
  return true;
}

int64_t lbsim_budget_balance(lbsim_budget_t *b, uint64_t now_ns) {
  return b->empty ? 0 : tokens(b, now_ns) / b->withdrawal;
}

/* ---- gRPC's throttle ------------------------------------------------------- */

void lbsim_throttle_init(lbsim_throttle_t *t, double max_tokens, double ratio) {
  t->max_milli = (int64_t)llround(max_tokens * 1000.0);
  t->ratio_milli = (int64_t)llround(ratio * 1000.0);
  t->milli = t->max_milli;
}

bool lbsim_throttle_failure(lbsim_throttle_t *t) {
  t->milli = t->milli > 1000 ? t->milli - 1000 : 0;
  return lbsim_throttle_allows(t);
}

void lbsim_throttle_success(lbsim_throttle_t *t, uint32_t count) {
  int64_t v = t->milli + t->ratio_milli * (int64_t)count;
  t->milli = v < t->max_milli ? v : t->max_milli;
}

bool lbsim_throttle_allows(const lbsim_throttle_t *t) {
  return t->milli > t->max_milli / 2;
}
