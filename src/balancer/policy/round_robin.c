/* round-robin: backends in turn, whatever they answer. */
#include <errno.h>
#include <stdlib.h>

#include "lbsim/balancer/policy.h"

static int rr_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  uint32_t *next = calloc(1, sizeof(*next));
  if (next == NULL)
    return LBSIM_ENOMEM;
  (void)params;
  p->state = next;
  return 0;
}

static uint32_t rr_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  uint32_t *next = p->state;
  (void)now_ns;
  uint32_t pick = *next;
  /* The turn passes over the backends that are not eligible. */
  while (eligible != NULL && !eligible->member[pick])
    pick = pick + 1 == p->params.n ? 0 : pick + 1;
  *next = pick + 1 == p->params.n ? 0 : pick + 1;
  return pick;
}

static void rr_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
}

static void rr_destroy(lbsim_policy_t *p) {
  free(p->state);
}

const lbsim_policy_ops_t lbsim_policy_round_robin = {
    .name = "round-robin",
    .summary = "each backend in turn",
    .uses = 0,
    .create = rr_create,
    .select = rr_select,
    .observe = rr_observe,
    .destroy = rr_destroy,
};
