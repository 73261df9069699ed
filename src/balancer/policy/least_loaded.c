/* least-loaded: the backend with the fewest requests in flight as the
 * backends report it — ORCA's named_metrics.rif with each answer, plus the
 * client's own requests sent there since (--load-reports), or the board's
 * figure alone (--load-board) — ties broken at random; with --choices K
 * below the number of backends, the best of K distinct random backends
 * (Mitzenmacher's power of d choices, as the supermarket model has it).
 * A backend not heard from yet counts as idle, plus what the client sent
 * it. It learns nothing from latencies: what it knows is loads.h's
 * (without any, every backend looks idle: a backend at random). */
#include <stdlib.h>

#include "lbsim/balancer/choose.h"
#include "lbsim/balancer/loads.h"
#include "lbsim/balancer/policy.h"

typedef struct llp_s {
  const lbsim_loads_t *loads;
  uint32_t n;
  uint32_t choices;
  uint64_t now_ns;     /* of the pick under way */
  uint32_t *drawn;     /* backend -> the pick that last drew it (--choices) */
  uint32_t pick;       /* ... numbered from 1 */
} llp_t;

static uint64_t load_of(void *ctx, uint32_t backend) {
  const llp_t *l = ctx;
  uint64_t at;
  return l->loads ? lbsim_loads_get(l->loads, backend, l->now_ns, &at) : 0;
}

static int llp_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  llp_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return LBSIM_ENOMEM;
  l->loads = params->loads;
  l->n = params->n;
  l->choices = params->choices;
  l->drawn = calloc(l->n, sizeof(*l->drawn));
  if (l->drawn == NULL) {
    free(l);
    return LBSIM_ENOMEM;
  }
  p->state = l;
  return 0;
}

static uint32_t llp_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  llp_t *l = p->state;
  l->now_ns = now_ns;
  if (l->choices >= 1 && l->choices < (eligible ? eligible->n : l->n))
    return lbsim_choose_sample(&p->rng, l->drawn, &l->pick, l->n, l->choices, eligible, load_of, l);
  return lbsim_choose_scan(&p->rng, l->n, eligible, load_of, l);
}

static void llp_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
}

static void llp_destroy(lbsim_policy_t *p) {
  llp_t *l = p->state;
  free(l->drawn);
  free(l);
}

const lbsim_policy_ops_t lbsim_policy_least_loaded = {
    .name = "least-loaded",
    .summary = "fewest requests in flight as the backends report it (--load-reports or --load-board), ties at "
               "random; --choices K: best of K at random",
    .uses = LBSIM_POLICY_USES_CHOICES | LBSIM_POLICY_USES_LOADS,
    .create = llp_create,
    .select = llp_select,
    .observe = llp_observe,
    .destroy = llp_destroy,
};
