/* least-outstanding: the backend with the fewest requests in flight, ties
 * broken uniformly at random (Envoy's least-request with a full scan); with
 * --choices K below the number of backends, the best of K distinct random
 * backends instead (K = 1: one backend at random, its load unseen).
 *
 * The full scan costs O(1): backends are kept in an array ordered by their
 * in-flight count (the balancer's, params.in_flight), with the index where
 * each count's run starts. A count going up or down moves its backend to
 * the edge of its run and shifts the boundary by one, so the least-loaded
 * run is always order[0 .. start[min+1]). Should memory for the runs' index
 * run out, picks fall back to a scan of the counts, O(n).
 *
 * While the backends' weights differ (--weights, a slow start), picks follow
 * Envoy's least-request with weights: a schedule in proportion to each
 * backend's weight / (in flight + 1) (Envoy's EDF schedule with an active
 * request bias of 1; here nginx's smooth weighted round robin over those
 * effective weights, which spreads picks in the same proportions), over
 * every eligible backend (--choices applies to equal weights only, as in
 * Envoy). O(n) a pick while it lasts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/balancer/choose.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/balancer/weights.h"

typedef struct lor_s {
  uint32_t n;
  uint32_t choices;
  uint32_t *order;    /* backends by in-flight count, ascending */
  uint32_t *pos;      /* backend -> index in order */
  const uint64_t *count; /* in flight per backend: the balancer's */
  uint32_t *start;    /* start[c]: first index in order with count >= c */
  uint32_t nstart;    /* entries in start */
  bool scan;          /* the order could not be kept (out of memory): scan */
  uint32_t *drawn;    /* backend -> the pick that last drew it (--choices) */
  uint32_t pick;      /* ... numbered from 1 */
  double *credit;     /* weighted picks: per backend (NULL without weights) */
  bool weighted;      /* the last pick was weighted */
} lor_t;

static void swap_to(lor_t *l, uint32_t backend, uint32_t index) {
  uint32_t other = l->order[index];
  uint32_t from = l->pos[backend];
  l->order[index] = backend;
  l->pos[backend] = index;
  l->order[from] = other;
  l->pos[other] = from;
}

static int ensure_start(lor_t *l, uint32_t c) {
  if (c < l->nstart)
    return 0;
  uint32_t cap = l->nstart * 2 > c + 1 ? l->nstart * 2 : c + 1;
  uint32_t *s = realloc(l->start, cap * sizeof(*s));
  if (s == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t i = l->nstart; i < cap; i++)
    s[i] = l->n; /* no backend has that many yet */
  l->start = s;
  l->nstart = cap;
  return 0;
}

/* count[backend] went up from c. */
static void increment(lor_t *l, uint32_t backend, uint64_t c) {
  if (l->scan)
    return;
  if (c + 2 > UINT32_MAX || ensure_start(l, (uint32_t)c + 2) != 0) {
    l->scan = true; /* the choice costs a scan from now on; nothing breaks */
    return;
  }
  swap_to(l, backend, l->start[c + 1] - 1);
  l->start[c + 1]--;
}

/* count[backend] went down from c. */
static void decrement(lor_t *l, uint32_t backend, uint64_t c) {
  if (l->scan)
    return;
  swap_to(l, backend, l->start[c]);
  l->start[c]++;
}

static void lor_sent(lbsim_policy_t *p, uint32_t backend) {
  lor_t *l = p->state;
  increment(l, backend, l->count[backend] - 1);
}

static void lor_ended(lbsim_policy_t *p, uint32_t backend, uint32_t n) {
  lor_t *l = p->state;
  /* One step at a time, from the count before: the order comes out as if
   * they had ended one by one. */
  for (uint64_t c = l->count[backend] + n; c > l->count[backend]; c--)
    decrement(l, backend, c);
}

static int lor_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  lor_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return LBSIM_ENOMEM;
  l->n = params->n;
  l->choices = params->choices;
  l->count = params->in_flight;
  l->order = malloc(l->n * sizeof(*l->order));
  l->pos = malloc(l->n * sizeof(*l->pos));
  l->drawn = calloc(l->n, sizeof(*l->drawn));
  if (params->weights != NULL)
    l->credit = calloc(l->n, sizeof(*l->credit));
  if (l->order == NULL || l->pos == NULL || l->drawn == NULL || ensure_start(l, 2) != 0 ||
      (params->weights != NULL && l->credit == NULL)) {
    free(l->credit);
    free(l->order);
    free(l->pos);
    free(l->drawn);
    free(l->start);
    free(l);
    return LBSIM_ENOMEM;
  }
  for (uint32_t i = 0; i < l->n; i++) {
    l->order[i] = i;
    l->pos[i] = i;
  }
  l->start[0] = 0;
  p->state = l;
  return 0;
}

static uint64_t in_flight_of(void *ctx, uint32_t backend) {
  return ((const lor_t *)ctx)->count[backend];
}

/* Weighted: the smooth weighted round robin over weight / (in flight + 1). */
static uint32_t weighted_best(lbsim_policy_t *p, lor_t *l, const lbsim_eligible_t *eligible) {
  if (!l->weighted) {
    for (uint32_t i = 0; i < l->n; i++)
      l->credit[i] = 0;
    l->weighted = true;
  }
  return lbsim_weights_smooth_pick(l->credit, p->params.weights->value, l->count, l->n, eligible);
}

static uint32_t lor_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  lor_t *l = p->state;
  (void)now_ns;
  if (p->params.weights != NULL && !p->params.weights->uniform)
    return weighted_best(p, l, eligible);
  l->weighted = false;
  if (l->choices >= 1 && l->choices < (eligible ? eligible->n : l->n))
    return lbsim_choose_sample(&p->rng, l->drawn, &l->pick, l->n, l->choices, eligible, in_flight_of, l);
  if (l->scan || eligible != NULL)
    return lbsim_choose_scan(&p->rng, l->n, eligible, in_flight_of, l);
  uint64_t min = l->count[l->order[0]];
  uint32_t ties = l->start[min + 1];
  return l->order[lbsim_rng_below(&p->rng, ties)];
}

static void lor_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
}

static void lor_destroy(lbsim_policy_t *p) {
  lor_t *l = p->state;
  free(l->order);
  free(l->pos);
  free(l->drawn);
  free(l->start);
  free(l->credit);
  free(l);
}

const lbsim_policy_ops_t lbsim_policy_least_outstanding = {
    .name = "least-outstanding",
    .summary = "fewest requests in flight, ties at random (Envoy least-request); --choices K: best of K at random",
    .uses = LBSIM_POLICY_USES_CHOICES | LBSIM_POLICY_USES_WEIGHTS,
    .create = lor_create,
    .select = lor_select,
    .sent = lor_sent,
    .ended = lor_ended,
    .observe = lor_observe,
    .destroy = lor_destroy,
};
