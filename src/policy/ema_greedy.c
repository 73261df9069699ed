/* ema-greedy: the seed's policy. With probability 1 - explore, the backend
 * with the lowest EMA (ties to the first in order; unmeasured backends have
 * EMA 0 and so look best); otherwise a uniformly random *other* backend.
 *
 * The lowest EMA comes from a binary min-heap keyed by (EMA, index), fixed up
 * in observe() when the client's EMA of one backend changes: a pick costs
 * O(1) and an update O(log n), so thousands of backends cost no more per
 * request than five. */
#include <errno.h>
#include <stdlib.h>

#include "lbsim/policy.h"

typedef struct greedy_s {
  uint32_t n;
  uint32_t *heap;   /* backend indices */
  uint32_t *pos;    /* backend -> heap slot */
  const double *ema;
} greedy_t;

static bool less(const greedy_t *g, uint32_t a, uint32_t b) {
  double ea = g->ema[a], eb = g->ema[b];
  return ea < eb || (ea == eb && a < b);
}

static void put(greedy_t *g, uint32_t slot, uint32_t backend) {
  g->heap[slot] = backend;
  g->pos[backend] = slot;
}

/* Moves the backend at `slot` down below any smaller child. */
static void sift_down(greedy_t *g, uint32_t slot) {
  uint32_t b = g->heap[slot];
  for (;;) {
    uint32_t child = 2 * slot + 1;
    if (child >= g->n)
      break;
    if (child + 1 < g->n && less(g, g->heap[child + 1], g->heap[child]))
      child++;
    if (!less(g, g->heap[child], b))
      break;
    put(g, slot, g->heap[child]);
    slot = child;
  }
  put(g, slot, b);
}

/* Restores the heap after the key of the backend at `slot` changed. */
static void sift(greedy_t *g, uint32_t slot) {
  uint32_t b = g->heap[slot];
  while (slot > 0 && less(g, b, g->heap[(slot - 1) / 2])) {
    put(g, slot, g->heap[(slot - 1) / 2]);
    slot = (slot - 1) / 2;
  }
  put(g, slot, b);
  sift_down(g, slot);
}

static int greedy_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  if (params->ema == NULL)
    return -EINVAL;
  greedy_t *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return -ENOMEM;
  g->n = params->n;
  g->ema = params->ema->value_ms;
  g->heap = malloc(g->n * sizeof(*g->heap));
  g->pos = malloc(g->n * sizeof(*g->pos));
  if (g->heap == NULL || g->pos == NULL) {
    free(g->heap);
    free(g->pos);
    free(g);
    return -ENOMEM;
  }
  /* Index order is a valid heap when every EMA is equal; otherwise build
   * one bottom-up. Only downward moves here: moving a key up would push a
   * parent into a slot whose subtree has already been ordered. */
  for (uint32_t i = 0; i < g->n; i++)
    put(g, i, i);
  for (uint32_t i = g->n / 2; i-- > 0;)
    sift_down(g, i);
  p->state = g;
  return 0;
}

static uint32_t greedy_select(lbsim_policy_t *p, uint64_t now_ns) {
  greedy_t *g = p->state;
  (void)now_ns;
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
  sift(g, g->pos[backend]); /* the client has updated this backend's EMA */
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
    .create = greedy_create,
    .select = greedy_select,
    .observe = greedy_observe,
    .destroy = greedy_destroy,
};
