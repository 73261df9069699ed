/* See lbsim/net/fdbudget.h. */
#include "lbsim/net/fdbudget.h"

#include <string.h>

uint64_t lbsim_fd_wanted(const lbsim_config_t *cfg, uint32_t nbackends) {
  uint64_t in_flight;
  uint32_t clients = cfg->clients > 0 ? cfg->clients : 1;
  switch (cfg->shape) {
  case LBSIM_SHAPE_CONCURRENCY:
    in_flight = (cfg->concurrency + clients - 1) / clients;
    break;
  case LBSIM_SHAPE_RATE:
    /* At worst, every request waits its deadline. */
    in_flight = (uint64_t)(cfg->rate / clients * cfg->timeout_s) + 1;
    break;
  case LBSIM_SHAPE_BURST:
  default:
    in_flight = (cfg->burst + clients - 1) / clients;
    break;
  }
  if (cfg->pool_size > 0 && (uint64_t)cfg->pool_size * nbackends < in_flight)
    in_flight = (uint64_t)cfg->pool_size * nbackends;
  return in_flight;
}

void lbsim_fd_plan(const lbsim_config_t *cfg, uint64_t limit, lbsim_fd_plan_t *plan) {
  memset(plan, 0, sizeof(*plan));
  uint32_t copies = cfg->compare ? cfg->npolicies : 1;
  uint32_t balancers = copies * (cfg->clients > 0 ? cfg->clients : 1);
  uint32_t n = cfg->role == LBSIM_ROLE_CLIENT ? cfg->nservers : cfg->backends;
  plan->balancers = balancers;
  plan->fixed = LBSIM_FD_RESERVE;
  if (cfg->role != LBSIM_ROLE_CLIENT)
    plan->fixed += (uint64_t)copies * cfg->backends;
  if (plan->fixed >= limit) {
    plan->verdict = LBSIM_FD_NO_LISTENERS;
    return;
  }
  if (cfg->role == LBSIM_ROLE_BACKENDS)
    return;
  uint64_t per_connection = cfg->role == LBSIM_ROLE_DEMO ? 2 : 1;
  /* A tenth is kept back: closed connections free their descriptors in the
   * backend a moment after the client has opened new ones. */
  plan->budget = (limit - plan->fixed) * 9 / 10 / per_connection / balancers;
  plan->wanted = lbsim_fd_wanted(cfg, cfg->subset > 0 ? cfg->subset : n);
  if (plan->budget < 1) {
    plan->verdict = LBSIM_FD_NO_CONNECTION;
    return;
  }
  if (plan->wanted > plan->budget) {
    plan->verdict = LBSIM_FD_CAPPED;
    plan->max_connections = plan->budget > UINT32_MAX ? UINT32_MAX : (uint32_t)plan->budget;
  }
}
