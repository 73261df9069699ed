/* Sweeps (--sweep NAME=V1,V2,... or NAME=A:B:STEP, repeatable): the
 * parsing of their values, the cartesian product of them and what a policy
 * makes of each combination. What can be swept is the option table's own
 * (config.h: every option that changes what a run does and takes a number),
 * each parameter the option of the same name. Pure code: the runs
 * themselves are in vsweep.h.
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

#include "lbsim/report/figures.h"

#define LBSIM_SWEEP_MAX_COMBINATIONS 10000
#define LBSIM_SWEEP_MAX_RUNS 1000000     /* combinations x policies x seeds */

struct lbsim_config_s;

#define LBSIM_SWEEP_PARAMS 16            /* parameters swept at once, at most */

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
  LBSIM_SWEEP_MEAN,        /* mean latency, ms */
  LBSIM_SWEEP_METRICS
} lbsim_sweep_metric_t;

typedef struct lbsim_sweep_axis_s {
  int param;                      /* the option swept (lbsim_config_sweepable) */
  double *values;
  uint32_t nvalues;
} lbsim_sweep_axis_t;

typedef struct lbsim_sweep_s {
  lbsim_sweep_axis_t axes[LBSIM_SWEEP_PARAMS]; /* in the order given */
  uint32_t naxes;                 /* 0: no sweep */
  uint32_t combinations;          /* the product of the axes' sizes */
  lbsim_sweep_metric_t metric;    /* --sweep-metric */
  bool metric_given;
  uint32_t seeds;                 /* --seeds S; 0: not given (one run per row, the table as before) */
  uint32_t shard, shards;         /* --shard K/N; shards 0: the whole sweep */
} lbsim_sweep_t;

/* Adds one --sweep argument. 0, or LBSIM_EINVAL with err set (one line, no prefix):
 * unknown name, no or empty values, a bad number, a value out of the
 * option's range, a step <= 0, A > B, a name given twice, more than
 * LBSIM_SWEEP_MAX_COMBINATIONS combinations. A range A:B:STEP gives
 * A, A+STEP, ... up to the last value within half a step of B. */
int lbsim_sweep_add(lbsim_sweep_t *sweep, const char *spec, char *err, size_t errlen);
/* --sweep-metric NAME. 0, or LBSIM_EINVAL with err set. */
int lbsim_sweep_set_metric(lbsim_sweep_t *sweep, const char *name, char *err, size_t errlen);
/* --shard K/N, 0 <= K < N. 0, or LBSIM_EINVAL with err set. */
int lbsim_sweep_set_shard(lbsim_sweep_t *sweep, const char *spec, char *err, size_t errlen);
void lbsim_sweep_free(lbsim_sweep_t *sweep);

const char *lbsim_sweep_param_name(int param);
const char *lbsim_sweep_metric_name(lbsim_sweep_metric_t metric);
/* For a plot's axes: the name with its unit ("rate (requests/s)"). */
void lbsim_sweep_param_label(int param, char *label, size_t len);
const char *lbsim_sweep_metric_label(lbsim_sweep_metric_t metric);
/* Whether a metric is a fraction (shown as a percentage). */
bool lbsim_sweep_metric_is_share(lbsim_sweep_metric_t metric);
/* The LBSIM_POLICY_USES_* flag of a parameter; 0 for those every policy
 * depends on (the traffic and the backends). */
uint32_t lbsim_sweep_param_uses(int param);

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

/* Checks a parsed command line with a sweep (or a --sweep-metric, --seeds,
 * --shard, --resume) as a whole: the virtual clock only, runs bounded,
 * traffic shapes that agree, a scenario that exists in every run; a fixed
 * seed for shards and resumed files, their outputs left to 'lbsim merge'.
 * 0, or LBSIM_EINVAL with err set. */
int lbsim_sweep_validate(const lbsim_sweep_t *sweep, const struct lbsim_config_s *cfg, char *err, size_t errlen);

/* A metric of a row (one run's figures or their mean over seeds); NAN when
 * unknown (no oracle, no request). *half (when not NULL): the half-width
 * of its 95 % interval, NAN without one. */
double lbsim_sweep_metric_value(lbsim_sweep_metric_t metric, const lbsim_estimate_t *e, double *half);

#endif
