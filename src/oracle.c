#include "lbsim/oracle.h"

void lbsim_oracle_init(lbsim_oracle_t *o, const lbsim_model_t *models, uint32_t n) {
  o->models = models;
  o->n = n;
  o->dirty = true;
  o->touched_ns = 0;
  o->fastest = 0;
  o->fastest_ms = 0;
  o->epoch = 0;
  o->epoch_ns = 0;
}

double lbsim_oracle_true_ms(const lbsim_oracle_t *o, uint32_t backend) {
  return lbsim_model_true_ms(&o->models[backend]);
}

void lbsim_oracle_touch(lbsim_oracle_t *o, uint64_t now_ns) {
  o->dirty = true;
  o->touched_ns = now_ns;
}

static void refresh(lbsim_oracle_t *o) {
  uint32_t best = 0;
  double best_ms = lbsim_oracle_true_ms(o, 0);
  for (uint32_t i = 1; i < o->n; i++) {
    double ms = lbsim_oracle_true_ms(o, i);
    if (ms < best_ms) {
      best = i;
      best_ms = ms;
    }
  }
  if (o->epoch == 0 || best != o->fastest) {
    o->epoch++;
    o->epoch_ns = o->touched_ns;
  }
  o->fastest = best;
  o->fastest_ms = best_ms;
  o->dirty = false;
}

uint32_t lbsim_oracle_fastest(lbsim_oracle_t *o) {
  if (o->dirty)
    refresh(o);
  return o->fastest;
}

double lbsim_oracle_fastest_ms(lbsim_oracle_t *o) {
  if (o->dirty)
    refresh(o);
  return o->fastest_ms;
}
