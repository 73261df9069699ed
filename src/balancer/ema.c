#include "lbsim/balancer/ema.h"

#include <errno.h>
#include <stdlib.h>

#include "lbsim/base/error.h"

int lbsim_ema_init(lbsim_ema_t *ema, uint32_t n, double alpha) {
  ema->alpha = alpha;
  ema->n = n;
  ema->value_ms = calloc(n, sizeof(*ema->value_ms));
  ema->measured = calloc(n, sizeof(*ema->measured));
  if (ema->value_ms == NULL || ema->measured == NULL) {
    lbsim_ema_free(ema);
    return LBSIM_ENOMEM;
  }
  return 0;
}

void lbsim_ema_free(lbsim_ema_t *ema) {
  free(ema->value_ms);
  free(ema->measured);
  ema->value_ms = NULL;
  ema->measured = NULL;
}

double lbsim_ema_update(lbsim_ema_t *ema, uint32_t backend, double sample_ms) {
  double *v = &ema->value_ms[backend];
  if (!ema->measured[backend]) {
    ema->measured[backend] = true;
    *v = sample_ms;
  } else {
    *v = ema->alpha * sample_ms + (1.0 - ema->alpha) * *v;
  }
  return *v;
}

double lbsim_ema_update_n(lbsim_ema_t *ema, uint32_t backend, double sample_ms, uint32_t count) {
  double *v = &ema->value_ms[backend];
  if (count == 0)
    return *v;
  lbsim_ema_update(ema, backend, sample_ms);
  /* The same arithmetic as count single updates, so the value is the same
   * to the last bit; once an update leaves it as it was, so would the rest. */
  double alpha = ema->alpha, value = *v;
  for (uint32_t k = 1; k < count; k++) {
    double next = alpha * sample_ms + (1.0 - alpha) * value;
    if (next == value)
      break;
    value = next;
  }
  *v = value;
  return value;
}
