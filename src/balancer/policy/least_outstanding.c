/* least-outstanding: the backend with the fewest requests in flight, ties
 * broken uniformly at random (Envoy's least-request with a full scan); with
 * --choices K below the number of backends, the best of K distinct random
 * backends instead (K = 1: one backend at random, its load unseen).
 *
 * The full scan costs O(1): backends are kept in an array ordered by their
 * in-flight count, with the index where each count's run starts. A count
 * going up or down moves its backend to the edge of its run and shifts the
 * boundary by one, so the least-loaded run is always order[0 .. start[min+1]). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/balancer/policy.h"

typedef struct lor_s {
  uint32_t n;
  uint32_t choices;
  uint32_t *order;    /* backends by in-flight count, ascending */
  uint32_t *pos;      /* backend -> index in order */
  uint32_t *count;    /* in flight per backend */
  uint32_t *start;    /* start[c]: first index in order with count >= c */
  uint32_t nstart;    /* entries in start */
  uint32_t *drawn;    /* backend -> the pick that last drew it (--choices) */
  uint32_t pick;      /* ... numbered from 1 */
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

static void increment(lor_t *l, uint32_t backend) {
  uint32_t c = l->count[backend];
  if (ensure_start(l, c + 2) != 0)
    return; /* out of memory: the count stays, the choice gets worse, nothing breaks */
  swap_to(l, backend, l->start[c + 1] - 1);
  l->start[c + 1]--;
  l->count[backend] = c + 1;
}

static void decrement(lor_t *l, uint32_t backend) {
  uint32_t c = l->count[backend];
  if (c == 0)
    return;
  swap_to(l, backend, l->start[c]);
  l->start[c]++;
  l->count[backend] = c - 1;
}

static int lor_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  lor_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return LBSIM_ENOMEM;
  l->n = params->n;
  l->choices = params->choices;
  l->order = malloc(l->n * sizeof(*l->order));
  l->pos = malloc(l->n * sizeof(*l->pos));
  l->count = calloc(l->n, sizeof(*l->count));
  l->drawn = calloc(l->n, sizeof(*l->drawn));
  if (l->order == NULL || l->pos == NULL || l->count == NULL || l->drawn == NULL || ensure_start(l, 2) != 0) {
    free(l->order);
    free(l->pos);
    free(l->count);
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

/* The best of `choices` (< n) distinct backends drawn at random: a draw
 * already made for this pick is drawn again. */
static uint32_t sample_best(lbsim_policy_t *p, lor_t *l) {
  if (++l->pick == 0) { /* the numbers wrapped: forget the old draws */
    memset(l->drawn, 0, l->n * sizeof(*l->drawn));
    l->pick = 1;
  }
  uint32_t best = UINT32_MAX;
  for (uint32_t i = 0; i < l->choices; i++) {
    uint32_t b;
    do
      b = (uint32_t)lbsim_rng_below(&p->rng, l->n);
    while (l->drawn[b] == l->pick);
    l->drawn[b] = l->pick;
    if (best == UINT32_MAX || l->count[b] < l->count[best])
      best = b;
  }
  return best;
}

static uint32_t lor_select(lbsim_policy_t *p, uint64_t now_ns) {
  lor_t *l = p->state;
  (void)now_ns;
  uint32_t pick;
  if (l->choices >= 1 && l->choices < l->n) {
    pick = sample_best(p, l);
  } else {
    uint32_t min = l->count[l->order[0]];
    uint32_t ties = l->start[min + 1];
    pick = l->order[lbsim_rng_below(&p->rng, ties)];
  }
  increment(l, pick);
  return pick;
}

static void lor_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
  decrement(p->state, backend);
}

static void lor_destroy(lbsim_policy_t *p) {
  lor_t *l = p->state;
  free(l->order);
  free(l->pos);
  free(l->count);
  free(l->drawn);
  free(l->start);
  free(l);
}

const lbsim_policy_ops_t lbsim_policy_least_outstanding = {
    .name = "least-outstanding",
    .summary = "fewest requests in flight, ties at random (Envoy least-request); --choices K: best of K at random",
    .uses = LBSIM_POLICY_USES_CHOICES,
    .create = lor_create,
    .select = lor_select,
    .observe = lor_observe,
    .destroy = lor_destroy,
};
