/* See lbsim/model/oracle.h. */
#include "lbsim/model/oracle.h"

#include <math.h>

void lbsim_oracle_init(lbsim_oracle_t *o, const lbsim_model_t *models, uint32_t n, double failure_ms,
                       double timeout_ms) {
  o->models = models;
  o->n = n;
  o->failure_ms = failure_ms;
  o->timeout_ms = timeout_ms;
  o->dirty = true;
  o->touched_ns = 0;
  o->fastest = 0;
  o->fastest_ms = INFINITY;
  o->epoch = 0;
  o->epoch_ns = 0;
  o->version = 1;
}

double lbsim_oracle_true_ms(const lbsim_oracle_t *o, uint32_t backend, uint64_t now_ns) {
  return lbsim_model_true_ms(&o->models[backend], now_ns);
}

void lbsim_oracle_touch(lbsim_oracle_t *o, uint64_t now_ns) {
  o->dirty = true;
  o->touched_ns = now_ns;
  o->version++;
}

/* Sets *certain when a request would fail whatever happens. */
static double cost_ms(const lbsim_oracle_t *o, const lbsim_model_t *m, uint64_t now_ns, bool *certain) {
  double ms = lbsim_model_true_ms(m, now_ns);
  double p = !isfinite(ms) || ms >= o->timeout_ms ? 1.0 : m->error_rate;
  *certain = p >= 1.0;
  return *certain ? o->failure_ms : (1.0 - p) * ms + p * o->failure_ms;
}

double lbsim_oracle_cost_ms(const lbsim_oracle_t *o, uint32_t backend, uint64_t now_ns) {
  bool certain;
  return cost_ms(o, &o->models[backend], now_ns, &certain);
}

void lbsim_oracle_refresh(lbsim_oracle_t *o, uint64_t now_ns) {
  uint32_t best = 0;
  double best_ms = INFINITY;
  bool ramping = false; /* a backend in slow start gets faster by the moment */
  for (uint32_t i = 0; i < o->n; i++) {
    const lbsim_model_t *m = &o->models[i];
    ramping = ramping || lbsim_model_ramping(m, now_ns);
    bool certain;
    double ms = cost_ms(o, m, now_ns, &certain);
    if (!certain && ms < best_ms) {
      best = i;
      best_ms = ms;
    }
  }
  /* While nothing can answer no backend is the fastest, and none became it. */
  if (isfinite(best_ms) && (o->epoch == 0 || best != o->fastest)) {
    o->epoch++;
    o->epoch_ns = o->touched_ns;
  }
  if (isfinite(best_ms))
    o->fastest = best;
  o->fastest_ms = best_ms;
  o->dirty = ramping;
  if (ramping)
    o->touched_ns = now_ns;
}
