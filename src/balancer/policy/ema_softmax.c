/* ema-softmax: the seed's EMA, with each pick drawn from a softmax over
 * cost = EMA x (requests in flight + 1) instead of going to the single
 * lowest EMA.
 *
 * What it fixes. The seed makes all the picks of a burst before any answer
 * comes back, so 95 % of every burst lands on whichever EMA is lowest by a
 * hair (herding). On backends whose latency grows with load (--capacity),
 * that backend answers the burst slowly, its EMA jumps, and the next burst
 * herds onto another one: the top backend changes almost every round
 * (flapping), and every burst queues. Here a backend's cost grows with each
 * request already sent to it in the burst, so equal backends share a burst
 * evenly and the shares settle; a faster backend still gets more, in
 * proportion to how much faster it is: traffic is shared, as EMA x load,
 * with backends whose cost is within --temperature T ms (default 20) of the
 * cheapest getting e^-(gap/T) of its weight. --explore still mixes in a
 * uniform share so that every backend keeps being measured. Unmeasured
 * backends keep the seed's optimism (cost 0), one probe at a time.
 *
 * Picks use a golden-ratio sequence rather than independent draws, so a
 * burst of 100 over five equal backends comes out as 20 each. Cost: O(n)
 * a pick. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "lbsim/balancer/policy.h"

#define GOLDEN 0.6180339887498949

typedef struct softmax_s {
  uint32_t n;
  double *cumulative;   /* scratch: cumulative weights */
  double u;             /* low-discrepancy position in [0, 1) */
} softmax_t;

static int softmax_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  if (params->ema == NULL)
    return LBSIM_EINVAL;
  softmax_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return LBSIM_ENOMEM;
  s->n = params->n;
  s->cumulative = malloc(s->n * sizeof(*s->cumulative));
  if (s->cumulative == NULL) {
    free(s);
    return LBSIM_ENOMEM;
  }
  s->u = lbsim_rng_double(&p->rng);
  p->state = s;
  return 0;
}

static double cost(const lbsim_policy_t *p, uint32_t i) {
  const lbsim_ema_t *ema = p->params.ema;
  uint64_t pending = p->params.in_flight[i];
  if (!ema->measured[i])
    return pending ? LBSIM_POLICY_UNMEASURED_PENALTY + (double)pending : 0.0;
  return ema->value_ms[i] * (double)(pending + 1);
}

static uint32_t softmax_pick(lbsim_policy_t *p, softmax_t *s, const lbsim_eligible_t *eligible) {
  double t = p->params.temperature_ms;
  double min = INFINITY;
  for (uint32_t i = 0; i < s->n; i++) {
    double c = eligible == NULL || eligible->member[i] ? cost(p, i) : INFINITY; /* weighs nothing */
    s->cumulative[i] = c;
    if (c < min)
      min = c;
  }
  double sum = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    sum += exp(-(s->cumulative[i] - min) / t); /* the cheapest weighs 1 */
    s->cumulative[i] = sum;
  }
  s->u += GOLDEN;
  if (s->u >= 1.0)
    s->u -= 1.0;
  double target = s->u * sum;
  uint32_t lo = 0, hi = s->n - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->cumulative[mid] > target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static uint32_t softmax_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  softmax_t *s = p->state;
  (void)now_ns;
  if (eligible != NULL) {
    if (eligible->n == 1)
      return eligible->list[0];
    if (lbsim_rng_double(&p->rng) < p->params.explore)
      return eligible->list[lbsim_rng_below(&p->rng, eligible->n)];
    return softmax_pick(p, s, eligible);
  }
  uint32_t pick = 0;
  if (s->n > 1) {
    if (lbsim_rng_double(&p->rng) < p->params.explore)
      pick = (uint32_t)lbsim_rng_below(&p->rng, s->n);
    else
      pick = softmax_pick(p, s, NULL);
  }
  return pick;
}

/* The client has updated the EMA already, and the count in flight: all
 * there is to learn from an outcome. */
static void softmax_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
}

static void softmax_observe_n(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns,
                              uint32_t count) {
  (void)count;
  softmax_observe(p, backend, latency_ms, ok, now_ns);
}

static void softmax_destroy(lbsim_policy_t *p) {
  softmax_t *s = p->state;
  free(s->cumulative);
  free(s);
}

const lbsim_policy_ops_t lbsim_policy_ema_softmax = {
    .name = "ema-softmax",
    .summary = "the seed's EMA, picks drawn by exp(-cost/T) with cost = EMA x (in flight + 1): no herding, no flapping",
    .uses = LBSIM_POLICY_USES_ALPHA | LBSIM_POLICY_USES_EXPLORE | LBSIM_POLICY_USES_TEMPERATURE,
    .create = softmax_create,
    .select = softmax_select,
    .observe = softmax_observe,
    .observe_n = softmax_observe_n,
    .destroy = softmax_destroy,
};
