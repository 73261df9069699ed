/* ema-softmax: the seed's EMA, with traffic shared out by a softmax of the
 * estimates instead of all but the explore share going to the single lowest.
 *
 * What it fixes. With equal backends the seed flaps: every burst herds 95 %
 * onto whichever EMA is lowest by a hair, that backend's samples come back a
 * little slower (it carries the whole burst) while the few explored ones come
 * back fast, so the next burst herds onto another backend, and so on. Here
 * backend i gets a share proportional to exp(-(ema_i - ema_min) / T): equal
 * backends share evenly, and a backend that slows down loses traffic smoothly
 * rather than all at once, so nothing flaps and nothing herds; a backend
 * slower by k*T ms gets e^-k of the best one's share. --temperature T
 * (default 20 ms) sets how sharply it prefers the fastest, and --explore
 * still mixes in a uniform share so that every backend keeps being measured.
 * Unmeasured backends keep the seed's optimism (EMA 0) and are tried first.
 *
 * Within a run of picks the shares are laid out with a golden-ratio
 * sequence rather than independent draws, so a burst of 100 over five equal
 * backends comes out close to 20 each. Cost: O(log n) a pick, O(n) after
 * the estimates changed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "lbsim/policy.h"

#define GOLDEN 0.6180339887498949

typedef struct softmax_s {
  uint32_t n;
  double *cumulative;   /* cumulative weights, recomputed when dirty */
  bool dirty;
  double u;             /* low-discrepancy position in [0, 1) */
} softmax_t;

static int softmax_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  if (params->ema == NULL)
    return -EINVAL;
  softmax_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->n = params->n;
  s->cumulative = malloc(s->n * sizeof(*s->cumulative));
  if (s->cumulative == NULL) {
    free(s);
    return -ENOMEM;
  }
  s->dirty = true;
  s->u = lbsim_rng_double(&p->rng);
  p->state = s;
  return 0;
}

static void recompute(const lbsim_policy_t *p, softmax_t *s) {
  const double *ema = p->params.ema->value_ms;
  double t = p->params.temperature_ms > 0 ? p->params.temperature_ms : 20.0;
  double min = ema[0];
  for (uint32_t i = 1; i < s->n; i++)
    if (ema[i] < min)
      min = ema[i];
  double sum = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    sum += exp(-(ema[i] - min) / t); /* >= e^-inf = 0; the minimum weighs 1 */
    s->cumulative[i] = sum;
  }
  s->dirty = false;
}

static uint32_t softmax_select(lbsim_policy_t *p, uint64_t now_ns) {
  softmax_t *s = p->state;
  (void)now_ns;
  if (s->n == 1)
    return 0;
  if (lbsim_rng_double(&p->rng) < p->params.explore)
    return (uint32_t)lbsim_rng_below(&p->rng, s->n);
  if (s->dirty)
    recompute(p, s);
  s->u += GOLDEN;
  if (s->u >= 1.0)
    s->u -= 1.0;
  double target = s->u * s->cumulative[s->n - 1];
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

static void softmax_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  softmax_t *s = p->state;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
  s->dirty = true; /* the client has updated the EMA */
}

static void softmax_destroy(lbsim_policy_t *p) {
  softmax_t *s = p->state;
  free(s->cumulative);
  free(s);
}

const lbsim_policy_ops_t lbsim_policy_ema_softmax = {
    .name = "ema-softmax",
    .summary = "the seed's EMA, traffic shared by exp(-(ema - best)/T): no herding, no flapping",
    .create = softmax_create,
    .select = softmax_select,
    .observe = softmax_observe,
    .destroy = softmax_destroy,
};
