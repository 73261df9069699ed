/* p2c-peak-ewma: power of two choices over a peak-sensitive moving average
 * of latency, as in Finagle's PeakEwma (and Linkerd's and tower's after it).
 *
 * Each backend's cost estimate decays towards zero with time constant
 * --decay (so a backend not heard from for a while is tried again); a sample
 * above the estimate replaces it at once (the "peak"), a lower one is blended
 * in with weight 1 - exp(-dt/decay). A pick draws two distinct backends at
 * random and takes the one with the lower estimate x (in-flight + 1). A
 * backend never measured costs 0, and while it has requests in flight it
 * costs a large penalty plus its in-flight count, so unmeasured backends are
 * probed one request at a time instead of drawing a whole burst. O(1) a pick.
 * While the backends' weights differ (--weights, a slow start) a cost is
 * divided by its backend's weight, as tower's Weighted load is. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "lbsim/balancer/policy.h"

typedef struct peak_s {
  double cost_ms;
  uint64_t stamp_ns;
} peak_t;

typedef struct p2c_s {
  uint32_t n;
  double decay_ns;
  const uint64_t *in_flight;
  peak_t *b;
} p2c_t;

/* Finagle's observe(): decay to now, then take the peak or blend. */
static void observe_sample(const p2c_t *p, peak_t *b, double sample_ms, uint64_t now_ns) {
  if (sample_ms > b->cost_ms) {
    b->cost_ms = sample_ms;
  } else if (now_ns > b->stamp_ns && b->cost_ms != 0.0) {
    /* Without time passed the weight is 1, and from 0 the blend of 0 is 0:
     * exp() only when it can change the estimate. */
    double w = exp(-(double)(now_ns - b->stamp_ns) / p->decay_ns);
    b->cost_ms = b->cost_ms * w + sample_ms * (1.0 - w);
  }
  b->stamp_ns = now_ns;
}

static inline __attribute__((always_inline)) double cost(const p2c_t *p, uint32_t i, uint64_t now_ns) {
  peak_t *b = &p->b[i];
  uint64_t pending = p->in_flight[i];
  observe_sample(p, b, 0.0, now_ns);
  if (b->cost_ms == 0.0 && pending != 0)
    return LBSIM_POLICY_UNMEASURED_PENALTY + (double)pending;
  return b->cost_ms * (double)(pending + 1);
}

static int p2c_create(lbsim_policy_t *pol, const lbsim_policy_params_t *params) {
  p2c_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return LBSIM_ENOMEM;
  p->n = params->n;
  p->decay_ns = params->decay_s * 1e9;
  p->in_flight = params->in_flight;
  p->b = calloc(p->n, sizeof(*p->b));
  if (p->b == NULL) {
    free(p);
    return LBSIM_ENOMEM;
  }
  pol->state = p;
  return 0;
}

static uint32_t p2c_select(lbsim_policy_t *pol, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  p2c_t *p = pol->state;
  uint32_t n = eligible ? eligible->n : p->n;
  uint32_t pick = eligible ? eligible->list[0] : 0;
  if (n > 1) {
    /* Two distinct draws, among the eligible when they are given. */
    uint32_t a = (uint32_t)lbsim_rng_below(&pol->rng, n);
    uint32_t b = (uint32_t)lbsim_rng_below(&pol->rng, n - 1);
    if (b >= a)
      b++;
    if (eligible != NULL) {
      a = eligible->list[a];
      b = eligible->list[b];
    }
    double ca = cost(p, a, now_ns), cb = cost(p, b, now_ns);
    const lbsim_policy_weights_t *w = pol->params.weights;
    if (w != NULL && !w->uniform) {
      ca /= w->value[a];
      cb /= w->value[b];
    }
    pick = cb < ca ? b : a;
  }
  return pick;
}

static void p2c_observe(lbsim_policy_t *pol, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  p2c_t *p = pol->state;
  peak_t *b = &p->b[backend];
  (void)ok; /* a failure arrives as the failure latency: a peak */
  observe_sample(p, b, latency_ms, now_ns);
}

/* Observed again at the same instant, a sample changes nothing: no time
 * has passed (the weight is 1), and it is no longer above the estimate. */
static void p2c_observe_n(lbsim_policy_t *pol, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns,
                          uint32_t count) {
  p2c_t *p = pol->state;
  peak_t *b = &p->b[backend];
  (void)ok;
  (void)count;
  observe_sample(p, b, latency_ms, now_ns);
}

static void p2c_destroy(lbsim_policy_t *pol) {
  p2c_t *p = pol->state;
  free(p->b);
  free(p);
}

const lbsim_policy_ops_t lbsim_policy_p2c_peak_ewma = {
    .name = "p2c-peak-ewma",
    .summary = "best of two random backends by peak-EWMA latency x (in flight + 1) (Finagle, Linkerd, tower)",
    .uses = LBSIM_POLICY_USES_DECAY | LBSIM_POLICY_USES_WEIGHTS,
    .create = p2c_create,
    .select = p2c_select,
    .observe = p2c_observe,
    .observe_n = p2c_observe_n,
    .destroy = p2c_destroy,
};
