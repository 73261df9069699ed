#include "lbsim/model/latency.h"

void lbsim_latency_init(lbsim_latency_t *model, const lbsim_latency_spec_t *spec,
                        uint64_t seed, uint32_t index) {
  model->spec = *spec;
  lbsim_rng_init(&model->rng, seed, LBSIM_STREAM_DRIFT + index);
  /* Always draw, even for a fixed latency, so that switching between fixed
   * and ranged latencies leaves the drift steps of the stream aligned. */
  double u = lbsim_rng_double(&model->rng);
  model->latency_ms = spec->min_ms + (spec->max_ms - spec->min_ms) * u;
}

double lbsim_latency_clamp(const lbsim_latency_spec_t *spec, double ms) {
  if (ms < spec->floor_ms)
    return spec->floor_ms;
  if (ms > spec->ceil_ms)
    return spec->ceil_ms;
  return ms;
}

double lbsim_latency_drift(lbsim_latency_t *model) {
  double step = lbsim_rng_uniform(&model->rng, -model->spec.step_ms, model->spec.step_ms);
  model->latency_ms = lbsim_latency_clamp(&model->spec, model->latency_ms + step);
  return model->latency_ms;
}
