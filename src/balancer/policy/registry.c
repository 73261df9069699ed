/* The policy registry: adding a policy is one file and one line here. */
#include <errno.h>
#include <string.h>

#include "lbsim/balancer/policy.h"

extern const lbsim_policy_ops_t lbsim_policy_ema_greedy;
extern const lbsim_policy_ops_t lbsim_policy_ema_softmax;
extern const lbsim_policy_ops_t lbsim_policy_p2c_peak_ewma;
extern const lbsim_policy_ops_t lbsim_policy_least_outstanding;
extern const lbsim_policy_ops_t lbsim_policy_least_loaded;
extern const lbsim_policy_ops_t lbsim_policy_round_robin;
extern const lbsim_policy_ops_t lbsim_policy_random;

static const lbsim_policy_ops_t *const registry[] = {
    &lbsim_policy_ema_greedy,
    &lbsim_policy_ema_softmax,
    &lbsim_policy_p2c_peak_ewma,
    &lbsim_policy_least_outstanding,
    &lbsim_policy_least_loaded,
    &lbsim_policy_round_robin,
    &lbsim_policy_random,
    NULL,
};

uint32_t lbsim_policy_uses_option(const char *option) {
  static const struct {
    const char *option;
    uint32_t flag;
  } settings[] = {{"alpha", LBSIM_POLICY_USES_ALPHA},
                  {"explore", LBSIM_POLICY_USES_EXPLORE},
                  {"temperature", LBSIM_POLICY_USES_TEMPERATURE},
                  {"decay", LBSIM_POLICY_USES_DECAY},
                  {"choices", LBSIM_POLICY_USES_CHOICES},
                  {"load-board", LBSIM_POLICY_USES_LOADS},
                  {"weights", LBSIM_POLICY_USES_WEIGHTS},
                  {"lb-slow-start", LBSIM_POLICY_USES_WEIGHTS},
                  {"lb-slow-start-aggression", LBSIM_POLICY_USES_WEIGHTS},
                  {"lb-slow-start-min-weight", LBSIM_POLICY_USES_WEIGHTS}};
  for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
    if (strcmp(settings[i].option, option) == 0)
      return settings[i].flag;
  return 0;
}

const lbsim_policy_ops_t *const *lbsim_policy_all(void) {
  return registry;
}

const lbsim_policy_ops_t *lbsim_policy_find(const char *name) {
  for (const lbsim_policy_ops_t *const *p = registry; *p; p++)
    if (strcmp((*p)->name, name) == 0)
      return *p;
  return NULL;
}

int lbsim_policy_init(lbsim_policy_t *p, const lbsim_policy_ops_t *ops, const lbsim_policy_params_t *params) {
  memset(p, 0, sizeof(*p));
  if (params->n == 0 || params->in_flight == NULL)
    return LBSIM_EINVAL;
  p->params = *params;
  p->in_flight = params->in_flight;
  lbsim_rng_init(&p->rng, params->seed, params->stream);
  int err = ops->create(p, params);
  if (err == 0) {
    p->ops = ops;
    p->sent = ops->sent;
  }
  return err;
}

void lbsim_policy_free(lbsim_policy_t *p) {
  if (p->ops && p->ops->destroy)
    p->ops->destroy(p);
  p->ops = NULL;
  p->state = NULL;
}
