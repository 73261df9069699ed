/* Outlier ejection. See lbsim/balancer/outlier.h. */
#include "lbsim/balancer/outlier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"

const char *lbsim_eject_reason_name(lbsim_eject_reason_t reason) {
  static const char *const names[LBSIM_EJECT_REASONS] = {"consecutive_5xx", "consecutive_local_origin",
                                                         "success_rate", "local_origin_success_rate"};
  return (unsigned)reason < LBSIM_EJECT_REASONS ? names[reason] : "unknown";
}

int lbsim_outlier_init(lbsim_outlier_t *o, const lbsim_outlier_config_t *cfg, uint32_t n, uint64_t seed,
                       uint64_t stream) {
  memset(o, 0, sizeof(*o));
  o->cfg = cfg;
  o->n = n;
  o->hosts = calloc(n, sizeof(*o->hosts));
  o->list = malloc(n * sizeof(*o->list));
  o->member = malloc(n);
  o->rates = malloc(n * sizeof(*o->rates));
  if (o->hosts == NULL || o->list == NULL || o->member == NULL || o->rates == NULL) {
    lbsim_outlier_free(o);
    return LBSIM_ENOMEM;
  }
  o->eligible = (lbsim_eligible_t){o->list, 0, o->member};
  lbsim_rng_init(&o->rng, seed, stream);
  return 0;
}

void lbsim_outlier_free(lbsim_outlier_t *o) {
  free(o->hosts);
  free(o->list);
  free(o->member);
  free(o->rates);
  o->hosts = NULL;
  o->list = NULL;
  o->member = NULL;
  o->rates = NULL;
}

/* The backends in service, for the picks. */
static void rebuild(lbsim_outlier_t *o) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < o->n; i++) {
    o->member[i] = !o->hosts[i].ejected;
    if (o->member[i])
      o->list[k++] = i;
  }
  o->eligible.n = k;
}

/* Envoy's enforcing_* settings: the share of detections that eject. A
 * setting of 0 or 100 draws nothing. */
static bool enforced(lbsim_outlier_t *o, double percent) {
  if (percent >= 100)
    return true;
  if (percent <= 0)
    return false;
  return lbsim_rng_double(&o->rng) * 100.0 < percent;
}

static void try_eject(lbsim_outlier_t *o, uint32_t i, lbsim_eject_reason_t reason, double enforcing, uint64_t now_ns) {
  const lbsim_outlier_config_t *cfg = o->cfg;
  lbsim_outlier_host_t *h = &o->hosts[i];
  if (h->ejected)
    return;
  /* At most max_percent of them out, but one always may be. */
  if (o->nejected > 0 && 100.0 * (o->nejected + 1) / o->n > cfg->max_percent)
    return;
  if (!enforced(o, enforcing))
    return;
  uint64_t base = lbsim_ms_to_ns(cfg->base_s * 1000.0), max = lbsim_ms_to_ns(cfg->max_s * 1000.0);
  if ((double)base * h->multiplier < (double)max)
    h->multiplier++;
  double duration = (double)base * h->multiplier;
  h->duration_ns = duration < (double)max ? (uint64_t)duration : max;
  h->ejected = true;
  h->ejected_ns = now_ns;
  h->ejections++;
  o->nejected++;
  rebuild(o);
  if (o->on_change)
    o->on_change(o, i, true, reason, h->duration_ns, h->ejections, now_ns);
}

void lbsim_outlier_observe(lbsim_outlier_t *o, uint32_t i, lbsim_result_t result, uint32_t count, uint64_t now_ns) {
  const lbsim_outlier_config_t *cfg = o->cfg;
  lbsim_outlier_host_t *h = &o->hosts[i];
  if (result == LBSIM_RESULT_CANCELLED)
    return; /* its client gave up: it says nothing of the backend */
  bool ok = result == LBSIM_RESULT_OK, answer = ok || result == LBSIM_RESULT_STATUS;
  h->attempts += count;
  if (ok) {
    h->consecutive_5xx = h->consecutive_local = 0;
    h->attempts_ok += count;
    h->answers += count;
    h->answers_ok += count;
    return;
  }
  if (!cfg->split) {
    /* Every failure is a 5xx. */
    uint32_t before = h->consecutive_5xx;
    h->consecutive_5xx += count;
    if (before < cfg->consecutive_5xx && h->consecutive_5xx >= cfg->consecutive_5xx)
      try_eject(o, i, LBSIM_EJECT_CONSECUTIVE_5XX, cfg->enforcing_5xx, now_ns);
    return;
  }
  if (answer) {
    /* An answer: the connection was made, which ends a run of local failures. */
    h->answers += count;
    h->attempts_ok += count;
    h->consecutive_local = 0;
    uint32_t before = h->consecutive_5xx;
    h->consecutive_5xx += count;
    if (before < cfg->consecutive_5xx && h->consecutive_5xx >= cfg->consecutive_5xx)
      try_eject(o, i, LBSIM_EJECT_CONSECUTIVE_5XX, cfg->enforcing_5xx, now_ns);
    return;
  }
  uint32_t before = h->consecutive_local;
  h->consecutive_local += count;
  if (before < cfg->consecutive_local && h->consecutive_local >= cfg->consecutive_local)
    try_eject(o, i, LBSIM_EJECT_CONSECUTIVE_LOCAL, cfg->enforcing_local, now_ns);
}

/* Success-rate ejection over one kind of outcome: hosts in service with
 * enough volume; below mean - factor x stdev (the population's) is out. */
static void success_rate(lbsim_outlier_t *o, bool local, uint64_t now_ns) {
  const lbsim_outlier_config_t *cfg = o->cfg;
  bool external = cfg->split && !local;
  uint32_t valid = 0;
  double sum = 0;
  for (uint32_t i = 0; i < o->n; i++) {
    const lbsim_outlier_host_t *h = &o->hosts[i];
    uint64_t volume = external ? h->answers : h->attempts;
    uint64_t good = external ? h->answers_ok : h->attempts_ok;
    o->rates[i] = NAN;
    if (h->ejected || volume == 0 || volume < cfg->sr_volume)
      continue;
    o->rates[i] = 100.0 * (double)good / (double)volume;
    sum += o->rates[i];
    valid++;
  }
  if (valid == 0 || valid < cfg->sr_min_hosts)
    return;
  double mean = sum / valid, var = 0;
  for (uint32_t i = 0; i < o->n; i++)
    if (!isnan(o->rates[i]))
      var += (o->rates[i] - mean) * (o->rates[i] - mean);
  double threshold = mean - cfg->sr_stdev_factor * sqrt(var / valid);
  for (uint32_t i = 0; i < o->n; i++)
    if (!isnan(o->rates[i]) && o->rates[i] < threshold)
      try_eject(o, i, local && cfg->split ? LBSIM_EJECT_LOCAL_SUCCESS_RATE : LBSIM_EJECT_SUCCESS_RATE,
                cfg->enforcing_sr, now_ns);
}

void lbsim_outlier_interval(lbsim_outlier_t *o, uint64_t now_ns) {
  for (uint32_t i = 0; i < o->n; i++) {
    lbsim_outlier_host_t *h = &o->hosts[i];
    if (!h->ejected) {
      /* In service at the sweep: the next ejection is shorter. */
      if (h->multiplier > 0)
        h->multiplier--;
      continue;
    }
    if (now_ns - h->ejected_ns < h->duration_ns)
      continue;
    h->ejected = false;
    h->consecutive_5xx = h->consecutive_local = 0;
    o->nejected--;
    rebuild(o);
    if (o->on_change)
      o->on_change(o, i, false, LBSIM_EJECT_CONSECUTIVE_5XX, 0, h->ejections, now_ns);
  }
  if (o->cfg->enforcing_sr > 0) {
    success_rate(o, false, now_ns);
    if (o->cfg->split)
      success_rate(o, true, now_ns);
  }
  for (uint32_t i = 0; i < o->n; i++) {
    lbsim_outlier_host_t *h = &o->hosts[i];
    h->answers = h->answers_ok = h->attempts = h->attempts_ok = 0;
  }
}
