/* round-robin: backends in turn, whatever they answer. With weights that
 * differ (--weights, a slow start) it is nginx's smooth weighted round robin:
 * each pick adds every backend's weight to its credit, takes the backend
 * with the most credit (the first of equals) and takes the sum of the
 * weights from its credit, so that a backend of weight 3 among ones of
 * weight 1 gets every third pick or so, not three in a row. */
#include <errno.h>
#include <stdlib.h>

#include "lbsim/balancer/policy.h"
#include "lbsim/balancer/weights.h"

typedef struct rr_s {
  uint32_t next;        /* unweighted: whose turn it is */
  bool weighted;        /* the last pick was weighted */
  double *credit;       /* weighted: per backend (NULL without weights) */
} rr_t;

static int rr_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  rr_t *rr = calloc(1, sizeof(*rr));
  if (rr == NULL)
    return LBSIM_ENOMEM;
  if (params->weights != NULL && (rr->credit = calloc(params->n, sizeof(*rr->credit))) == NULL) {
    free(rr);
    return LBSIM_ENOMEM;
  }
  p->state = rr;
  return 0;
}

static uint32_t rr_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  rr_t *rr = p->state;
  (void)now_ns;
  uint32_t n = p->params.n;
  if (p->params.weights != NULL && !p->params.weights->uniform) {
    if (!rr->weighted) {
      /* Credits start afresh with each stretch of differing weights. */
      for (uint32_t i = 0; i < n; i++)
        rr->credit[i] = 0;
      rr->weighted = true;
    }
    uint32_t pick = lbsim_weights_smooth_pick(rr->credit, p->params.weights->value, NULL, n, eligible);
    rr->next = pick + 1 == n ? 0 : pick + 1;
    return pick;
  }
  rr->weighted = false;
  uint32_t pick = rr->next;
  /* The turn passes over the backends that are not eligible. */
  while (eligible != NULL && !eligible->member[pick])
    pick = pick + 1 == n ? 0 : pick + 1;
  rr->next = pick + 1 == n ? 0 : pick + 1;
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
  rr_t *rr = p->state;
  free(rr->credit);
  free(rr);
}

const lbsim_policy_ops_t lbsim_policy_round_robin = {
    .name = "round-robin",
    .summary = "each backend in turn; by weight with --weights (nginx's smooth weighted round robin)",
    .uses = LBSIM_POLICY_USES_WEIGHTS,
    .create = rr_create,
    .select = rr_select,
    .observe = rr_observe,
    .destroy = rr_destroy,
};
