/* ema-greedy: the seed's policy. With probability 1 - explore, the backend
 * with the lowest EMA (ties to the first in order; unmeasured backends have
 * EMA 0 and so look best); otherwise a uniformly random *other* backend.
 *
 * The lowest EMA comes from a min-heap keyed by (EMA, index), fixed up
 * in observe() when the client's EMA of one backend changes: a pick costs
 * O(1) and an update O(log n), so thousands of backends cost no more per
 * request than five. */
#include <errno.h>
#include <stdlib.h>

#include "lbsim/base/heap.h"
#include "lbsim/balancer/policy.h"

typedef struct greedy_s {
  uint32_t n;
  uint32_t *heap;   /* backend indices */
  uint32_t *pos;    /* backend -> heap slot */
  const double *ema;
} greedy_t;

/* Keyed by (EMA, index): ties go to the first backend in order. */
static inline bool less(void *ctx, uint32_t a, uint32_t b) {
  const double *ema = ((const greedy_t *)ctx)->ema;
  return ema[a] < ema[b] || (ema[a] == ema[b] && a < b);
}

static inline void moved(void *ctx, uint32_t backend, uint32_t slot) {
  ((greedy_t *)ctx)->pos[backend] = slot;
}

LBSIM_HEAP_DEFINE(static inline, backend_heap, uint32_t, 2, less, moved)

static int greedy_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  if (params->ema == NULL)
    return LBSIM_EINVAL;
  greedy_t *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return LBSIM_ENOMEM;
  g->n = params->n;
  g->ema = params->ema->value_ms;
  g->heap = malloc(g->n * sizeof(*g->heap));
  g->pos = malloc(g->n * sizeof(*g->pos));
  if (g->heap == NULL || g->pos == NULL) {
    free(g->heap);
    free(g->pos);
    free(g);
    return LBSIM_ENOMEM;
  }
  for (uint32_t i = 0; i < g->n; i++)
    g->heap[i] = i;
  backend_heap_build(g, g->heap, g->n);
  p->state = g;
  return 0;
}

/* The lowest (EMA, index) of the eligible backends: the heap's top when
 * it is one of them, else a scan of them. */
static uint32_t best_eligible(const greedy_t *g, const lbsim_eligible_t *eligible) {
  uint32_t best = g->heap[0];
  if (eligible->member[best])
    return best;
  best = eligible->list[0];
  for (uint32_t k = 1; k < eligible->n; k++)
    if (less((void *)g, eligible->list[k], best))
      best = eligible->list[k];
  return best;
}

/* Out of line: the pick among all backends is the hot path, and this one's
 * registers would make it save and restore its own at every pick. */
static __attribute__((noinline)) uint32_t select_eligible(lbsim_policy_t *p, const lbsim_eligible_t *eligible) {
  greedy_t *g = p->state;
  uint32_t best = best_eligible(g, eligible);
  if (eligible->n > 1 && lbsim_rng_double(&p->rng) < p->params.explore) {
    /* A random other of the eligible: the list without the best. */
    uint32_t k = (uint32_t)lbsim_rng_below(&p->rng, eligible->n - 1);
    return eligible->list[k] >= best ? eligible->list[k + 1] : eligible->list[k];
  }
  return best;
}

static uint32_t greedy_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  greedy_t *g = p->state;
  (void)now_ns;
  if (eligible != NULL)
    return select_eligible(p, eligible);
  uint32_t best = g->heap[0];
  if (g->n > 1 && lbsim_rng_double(&p->rng) < p->params.explore) {
    uint32_t other = (uint32_t)lbsim_rng_below(&p->rng, g->n - 1);
    return other >= best ? other + 1 : other;
  }
  return best;
}

static void greedy_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
  greedy_t *g = p->state;
  backend_heap_fix(g, g->heap, g->n, g->pos[backend]); /* the client has updated this backend's EMA */
}

/* The heap only needs the EMA's last value: one fix for the lot. */
static void greedy_observe_n(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns,
                             uint32_t count) {
  (void)count;
  greedy_observe(p, backend, latency_ms, ok, now_ns);
}

static void greedy_destroy(lbsim_policy_t *p) {
  greedy_t *g = p->state;
  free(g->heap);
  free(g->pos);
  free(g);
}

const lbsim_policy_ops_t lbsim_policy_ema_greedy = {
    .name = "ema-greedy",
    .summary = "the seed: lowest EMA with probability 1-explore, else a random other backend",
    .uses = LBSIM_POLICY_USES_ALPHA | LBSIM_POLICY_USES_EXPLORE,
    .create = greedy_create,
    .select = greedy_select,
    .observe = greedy_observe,
    .observe_n = greedy_observe_n,
    .destroy = greedy_destroy,
};
