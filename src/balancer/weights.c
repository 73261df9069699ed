/* Weights and slow start. See lbsim/balancer/weights.h. */
#include "lbsim/balancer/weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"

double lbsim_slow_start_factor(const lbsim_slow_start_config_t *cfg, uint64_t elapsed_ns) {
  double window_ms = cfg->window_s * 1000.0, t_ms = (double)elapsed_ns / LBSIM_NS_PER_MS;
  if (window_ms <= 0 || t_ms >= window_ms)
    return 1.0;
  double time_factor = (t_ms < 1.0 ? 1.0 : t_ms) / window_ms;
  double factor = pow(time_factor, 1.0 / cfg->aggression), min = cfg->min_weight_pct / 100.0;
  return factor > min ? factor : min;
}

uint32_t lbsim_weights_smooth_pick(double *credit, const double *weight, const uint64_t *in_flight, uint32_t n,
                                   const lbsim_eligible_t *eligible) {
  uint32_t among = eligible ? eligible->n : n, best = UINT32_MAX;
  double total = 0;
  for (uint32_t k = 0; k < among; k++) {
    uint32_t i = eligible ? eligible->list[k] : k;
    double effective = in_flight ? weight[i] / (double)(in_flight[i] + 1) : weight[i];
    credit[i] += effective;
    total += effective;
    if (best == UINT32_MAX || credit[i] > credit[best])
      best = i;
  }
  credit[best] -= total;
  return best;
}

static double base_of(const lbsim_weights_t *w, uint32_t i) {
  return w->base ? w->base[i] : 1.0;
}

int lbsim_weights_init(lbsim_weights_t *w, const lbsim_slow_start_config_t *cfg, const double *base, uint32_t n) {
  memset(w, 0, sizeof(*w));
  w->cfg = cfg;
  w->n = n;
  w->base = base;
  w->value = malloc(n * sizeof(*w->value));
  w->slow = malloc(n * sizeof(*w->slow));
  w->since_ns = malloc(n * sizeof(*w->since_ns));
  w->slow_at = calloc(n, sizeof(*w->slow_at));
  if (w->value == NULL || w->slow == NULL || w->since_ns == NULL || w->slow_at == NULL) {
    lbsim_weights_free(w);
    return LBSIM_ENOMEM;
  }
  w->base_uniform = true;
  for (uint32_t i = 0; i < n; i++) {
    w->value[i] = base_of(w, i);
    w->base_uniform = w->base_uniform && w->value[i] == w->value[0];
  }
  w->view = (lbsim_policy_weights_t){w->value, w->base_uniform};
  return 0;
}

void lbsim_weights_free(lbsim_weights_t *w) {
  free(w->value);
  free(w->slow);
  free(w->since_ns);
  free(w->slow_at);
  w->value = NULL;
  w->slow = NULL;
  w->since_ns = NULL;
  w->slow_at = NULL;
}

void lbsim_weights_start(lbsim_weights_t *w, uint32_t i, uint64_t now_ns) {
  if (w->cfg->window_s <= 0)
    return;
  if (w->slow_at[i] == 0) {
    w->slow[w->nslow++] = i;
    w->slow_at[i] = w->nslow;
  }
  w->since_ns[w->slow_at[i] - 1] = now_ns;
  w->value[i] = base_of(w, i) * lbsim_slow_start_factor(w->cfg, 0);
  w->view.uniform = false;
}

void lbsim_weights_update(lbsim_weights_t *w, uint64_t now_ns) {
  for (uint32_t k = 0; k < w->nslow;) {
    uint32_t i = w->slow[k];
    uint64_t elapsed = now_ns - w->since_ns[k];
    double factor = lbsim_slow_start_factor(w->cfg, elapsed);
    w->value[i] = base_of(w, i) * factor;
    if (factor < 1.0) {
      k++;
      continue;
    }
    /* Out of slow start: the last one takes its place. */
    w->slow_at[i] = 0;
    w->nslow--;
    if (k < w->nslow) {
      w->slow[k] = w->slow[w->nslow];
      w->since_ns[k] = w->since_ns[w->nslow];
      w->slow_at[w->slow[k]] = k + 1;
    }
  }
  w->view.uniform = w->base_uniform && w->nslow == 0;
}
