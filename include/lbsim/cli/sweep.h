/* Sweeps (--sweep NAME=V1,V2,... or NAME=A:B:STEP, repeatable): the
 * parameters that can be swept, the parsing of their values, the cartesian
 * product of them and what a policy makes of each combination. Pure code:
 * the runs themselves are in vsweep.h.
 *
 * Combinations are numbered 0 .. combinations-1 with the first swept
 * parameter varying slowest, as nested loops in the order of the command
 * line. A policy runs a combination only if every swept parameter it does
 * not use (lbsim_policy_ops_t.uses) is at its first value: its result
 * cannot depend on the others, so it is run, and printed, once. */
#ifndef LBSIM_SWEEP_H
#define LBSIM_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbsim/balancer/stats.h"

#define LBSIM_SWEEP_MAX_COMBINATIONS 10000
#define LBSIM_SWEEP_MAX_AXES 32 /* a policy's unused axes are bits of a uint32_t */

struct lbsim_config_s;

/* What can be swept; each is the option of the same name. */
typedef enum lbsim_sweep_param_e {
  LBSIM_SWEEP_ALPHA = 0,
  LBSIM_SWEEP_EXPLORE,
  LBSIM_SWEEP_TEMPERATURE,
  LBSIM_SWEEP_DECAY,
  LBSIM_SWEEP_CHOICES,
  LBSIM_SWEEP_BURST,       /* sets the traffic shape: bursts */
  LBSIM_SWEEP_CAPACITY,
  LBSIM_SWEEP_RATE,        /* sets the traffic shape: --rate */
  LBSIM_SWEEP_CONCURRENCY, /* sets the traffic shape: --concurrency */
  LBSIM_SWEEP_BACKENDS,
  LBSIM_SWEEP_TIMEOUT,
  LBSIM_SWEEP_DEADLINE,
  LBSIM_SWEEP_RETRIES,
  LBSIM_SWEEP_RETRY_BACKOFF,
  LBSIM_SWEEP_RETRY_BACKOFF_MAX,
  LBSIM_SWEEP_RETRY_BACKOFF_MULTIPLIER,
  LBSIM_SWEEP_RETRY_BUDGET,      /* its PCT (and turns the budget on) */
  LBSIM_SWEEP_RETRY_THROTTLE,    /* its MAX_TOKENS (and turns the throttle on) */
  LBSIM_SWEEP_OUTLIER_CONSECUTIVE_5XX,
  LBSIM_SWEEP_OUTLIER_CONSECUTIVE_LOCAL,
  LBSIM_SWEEP_OUTLIER_INTERVAL,
  LBSIM_SWEEP_OUTLIER_BASE_EJECTION,
  LBSIM_SWEEP_OUTLIER_MAX_EJECTION,
  LBSIM_SWEEP_OUTLIER_MAX_PERCENT,
  LBSIM_SWEEP_OUTLIER_ENFORCING_5XX,
  LBSIM_SWEEP_OUTLIER_ENFORCING_LOCAL,
  LBSIM_SWEEP_OUTLIER_ENFORCING_SR,
  LBSIM_SWEEP_OUTLIER_SR_MIN_HOSTS,
  LBSIM_SWEEP_OUTLIER_SR_VOLUME,
  LBSIM_SWEEP_OUTLIER_SR_STDEV,
  LBSIM_SWEEP_SLOW_START,
  LBSIM_SWEEP_SLOW_START_AGGRESSION,
  LBSIM_SWEEP_SLOW_START_MIN_WEIGHT,
  LBSIM_SWEEP_PARAMS
} lbsim_sweep_param_t;

/* What the sweep's plot shows (--sweep-metric). */
typedef enum lbsim_sweep_metric_e {
  LBSIM_SWEEP_P50 = 0,
  LBSIM_SWEEP_P99,
  LBSIM_SWEEP_P999,
  LBSIM_SWEEP_SUCCESS,     /* share of requests that succeeded */
  LBSIM_SWEEP_FASTEST,     /* share sent to the truly fastest backend */
  LBSIM_SWEEP_REGRET,      /* mean regret, ms */
  LBSIM_SWEEP_SWITCHES,    /* majority switches */
  LBSIM_SWEEP_TOP_SHARE,   /* mean share of a round's busiest backend */
  LBSIM_SWEEP_AMPLIFICATION, /* attempts per user request */
  LBSIM_SWEEP_METRICS
} lbsim_sweep_metric_t;

typedef struct lbsim_sweep_axis_s {
  lbsim_sweep_param_t param;
  double *values;
  uint32_t nvalues;
} lbsim_sweep_axis_t;

typedef struct lbsim_sweep_s {
  lbsim_sweep_axis_t axes[LBSIM_SWEEP_MAX_AXES]; /* in the order given */
  uint32_t naxes;                 /* 0: no sweep */
  uint32_t combinations;          /* the product of the axes' sizes */
  lbsim_sweep_metric_t metric;    /* --sweep-metric */
  bool metric_given;
} lbsim_sweep_t;

/* Adds one --sweep argument. 0, or LBSIM_EINVAL with err set (one line, no prefix):
 * unknown name, no or empty values, a bad number, a value out of the
 * option's range, a step <= 0, A > B, a name given twice, more than
 * LBSIM_SWEEP_MAX_COMBINATIONS combinations. A range A:B:STEP gives
 * A, A+STEP, ... up to the last value within half a step of B. */
int lbsim_sweep_add(lbsim_sweep_t *sweep, const char *spec, char *err, size_t errlen);
/* --sweep-metric NAME. 0, or LBSIM_EINVAL with err set. */
int lbsim_sweep_set_metric(lbsim_sweep_t *sweep, const char *name, char *err, size_t errlen);
void lbsim_sweep_free(lbsim_sweep_t *sweep);

const char *lbsim_sweep_param_name(lbsim_sweep_param_t param);
const char *lbsim_sweep_metric_name(lbsim_sweep_metric_t metric);
/* For a plot's axes: the name with its unit ("rate (requests/s)"). */
const char *lbsim_sweep_param_label(lbsim_sweep_param_t param);
const char *lbsim_sweep_metric_label(lbsim_sweep_metric_t metric);
/* Whether a metric is a fraction (shown as a percentage). */
bool lbsim_sweep_metric_is_share(lbsim_sweep_metric_t metric);
/* The LBSIM_POLICY_USES_* flag of a parameter; 0 for those every policy
 * depends on (the traffic and the backends). */
uint32_t lbsim_sweep_param_uses(lbsim_sweep_param_t param);

/* The values of combination `index`, one per axis. */
void lbsim_sweep_values(const lbsim_sweep_t *sweep, uint32_t index, double *values);
/* The axes (bit k for axis k) of the parameters that a policy with these
 * LBSIM_POLICY_USES_* flags does not use. */
uint32_t lbsim_sweep_unused(const lbsim_sweep_t *sweep, uint32_t uses);
/* Whether combination `index` is run for a policy that does not use the
 * `unused` axes: each of them is at its first value. */
bool lbsim_sweep_runs(const lbsim_sweep_t *sweep, uint32_t index, uint32_t unused);
/* Sets the swept parameters of cfg to `values` (one per axis). */
void lbsim_sweep_apply(const lbsim_sweep_t *sweep, const double *values, struct lbsim_config_s *cfg);

/* Checks a parsed command line with a sweep (or a --sweep-metric) as a
 * whole: the virtual clock only, runs bounded, traffic shapes that agree,
 * a scenario that exists in every run. 0, or LBSIM_EINVAL with err set. */
int lbsim_sweep_validate(const lbsim_sweep_t *sweep, const struct lbsim_config_s *cfg, char *err, size_t errlen);

/* A metric of a finished run; NAN when unknown (no oracle, no request). */
double lbsim_sweep_metric_value(lbsim_sweep_metric_t metric, const lbsim_stats_t *stats);

#endif
