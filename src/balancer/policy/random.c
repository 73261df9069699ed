/* random: a backend uniformly at random, whatever they answer. */
#include "lbsim/balancer/policy.h"

static int random_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  (void)p;
  (void)params;
  return 0;
}

static uint32_t random_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  (void)now_ns;
  if (eligible != NULL)
    return eligible->list[lbsim_rng_below(&p->rng, eligible->n)];
  return (uint32_t)lbsim_rng_below(&p->rng, p->params.n);
}

static void random_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p;
  (void)backend;
  (void)latency_ms;
  (void)ok;
  (void)now_ns;
}

static void random_destroy(lbsim_policy_t *p) {
  (void)p;
}

const lbsim_policy_ops_t lbsim_policy_random = {
    .name = "random",
    .summary = "a backend uniformly at random",
    .uses = 0,
    .create = random_create,
    .select = random_select,
    .observe = random_observe,
    .destroy = random_destroy,
};
