/* The client's latency estimator: an exponential moving average per backend.
 * A backend's first sample sets its EMA; before that it is 0, so unmeasured
 * backends look best (as in the seed). Pure code. */
#ifndef LBSIM_EMA_H
#define LBSIM_EMA_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lbsim_ema_s {
  double alpha;            /* weight of the newest sample, (0, 1] */
  uint32_t n;
  double *value_ms;        /* n values; 0 until measured */
  bool *measured;
} lbsim_ema_t;

int lbsim_ema_init(lbsim_ema_t *ema, uint32_t n, double alpha);
void lbsim_ema_free(lbsim_ema_t *ema);
/* new = alpha * sample + (1 - alpha) * old; the first sample sets it. */
double lbsim_ema_update(lbsim_ema_t *ema, uint32_t backend, double sample_ms);
/* `count` samples alike, one after another. */
double lbsim_ema_update_n(lbsim_ema_t *ema, uint32_t backend, double sample_ms, uint32_t count);

#endif
