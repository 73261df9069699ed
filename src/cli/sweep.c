/* Sweeps: parameters, values, combinations. See lbsim/cli/sweep.h. */
#include "lbsim/cli/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/cli/config.h"
#include "lbsim/base/log.h"
#include "lbsim/base/error.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/report/report.h"

/* Each parameter is the option of the same name: its values are read and
 * checked as the command line reads and checks that option. */
#define NO_SHAPE (-1)

static const struct {
  const char *name;
  uint32_t uses;     /* LBSIM_POLICY_USES_*; 0: every policy depends on it */
  int shape;         /* the traffic shape it sets (lbsim_shape_t), or NO_SHAPE */
  const char *label; /* an axis' label, with the unit */
} params[LBSIM_SWEEP_PARAMS] = {
    [LBSIM_SWEEP_ALPHA] = {"alpha", LBSIM_POLICY_USES_ALPHA, NO_SHAPE, "alpha (EMA weight of the newest sample)"},
    [LBSIM_SWEEP_EXPLORE] = {"explore", LBSIM_POLICY_USES_EXPLORE, NO_SHAPE,
                             "explore (probability of a random other pick)"},
    [LBSIM_SWEEP_TEMPERATURE] = {"temperature", LBSIM_POLICY_USES_TEMPERATURE, NO_SHAPE, "temperature (ms)"},
    [LBSIM_SWEEP_DECAY] = {"decay", LBSIM_POLICY_USES_DECAY, NO_SHAPE, "decay (s)"},
    [LBSIM_SWEEP_CHOICES] = {"choices", LBSIM_POLICY_USES_CHOICES, NO_SHAPE, "choices (backends sampled per pick)"},
    [LBSIM_SWEEP_BURST] = {"burst", 0, LBSIM_SHAPE_BURST, "burst (requests per round)"},
    [LBSIM_SWEEP_CAPACITY] = {"capacity", 0, NO_SHAPE, "capacity (requests served at once per backend)"},
    [LBSIM_SWEEP_RATE] = {"rate", 0, LBSIM_SHAPE_RATE, "rate (requests/s)"},
    [LBSIM_SWEEP_CONCURRENCY] = {"concurrency", 0, LBSIM_SHAPE_CONCURRENCY, "concurrency (requests in flight)"},
    [LBSIM_SWEEP_BACKENDS] = {"backends", 0, NO_SHAPE, "backends"},
    [LBSIM_SWEEP_TIMEOUT] = {"timeout", 0, NO_SHAPE, "timeout (s, per attempt)"},
    [LBSIM_SWEEP_DEADLINE] = {"deadline", 0, NO_SHAPE, "deadline (s, per user request)"},
    [LBSIM_SWEEP_RETRIES] = {"retries", 0, NO_SHAPE, "retries (attempts after the first)"},
    [LBSIM_SWEEP_RETRY_BACKOFF] = {"retry-backoff", 0, NO_SHAPE, "retry-backoff (ms, initial)"},
    [LBSIM_SWEEP_RETRY_BACKOFF_MAX] = {"retry-backoff-max", 0, NO_SHAPE, "retry-backoff-max (ms)"},
    [LBSIM_SWEEP_RETRY_BACKOFF_MULTIPLIER] = {"retry-backoff-multiplier", 0, NO_SHAPE,
                                              "retry-backoff-multiplier (growth per retry)"},
    [LBSIM_SWEEP_RETRY_BUDGET] = {"retry-budget", 0, NO_SHAPE, "retry-budget (% of requests retried)"},
    [LBSIM_SWEEP_RETRY_THROTTLE] = {"retry-throttle", 0, NO_SHAPE, "retry-throttle (max tokens)"},
    [LBSIM_SWEEP_OUTLIER_CONSECUTIVE_5XX] = {"outlier-consecutive-5xx", 0, NO_SHAPE,
                                             "outlier-consecutive-5xx (failures in a row)"},
    [LBSIM_SWEEP_OUTLIER_CONSECUTIVE_LOCAL] = {"outlier-consecutive-local-origin", 0, NO_SHAPE,
                                               "outlier-consecutive-local-origin (failures in a row)"},
    [LBSIM_SWEEP_OUTLIER_INTERVAL] = {"outlier-interval", 0, NO_SHAPE, "outlier-interval (s)"},
    [LBSIM_SWEEP_OUTLIER_BASE_EJECTION] = {"outlier-base-ejection-time", 0, NO_SHAPE,
                                           "outlier-base-ejection-time (s)"},
    [LBSIM_SWEEP_OUTLIER_MAX_EJECTION] = {"outlier-max-ejection-time", 0, NO_SHAPE, "outlier-max-ejection-time (s)"},
    [LBSIM_SWEEP_OUTLIER_MAX_PERCENT] = {"outlier-max-ejection-percent", 0, NO_SHAPE,
                                         "outlier-max-ejection-percent (% of backends)"},
    [LBSIM_SWEEP_OUTLIER_ENFORCING_5XX] = {"outlier-enforcing-consecutive-5xx", 0, NO_SHAPE,
                                           "outlier-enforcing-consecutive-5xx (%)"},
    [LBSIM_SWEEP_OUTLIER_ENFORCING_LOCAL] = {"outlier-enforcing-local-origin", 0, NO_SHAPE,
                                             "outlier-enforcing-local-origin (%)"},
    [LBSIM_SWEEP_OUTLIER_ENFORCING_SR] = {"outlier-enforcing-success-rate", 0, NO_SHAPE,
                                          "outlier-enforcing-success-rate (%)"},
    [LBSIM_SWEEP_OUTLIER_SR_MIN_HOSTS] = {"outlier-success-rate-minimum-hosts", 0, NO_SHAPE,
                                          "outlier-success-rate-minimum-hosts (backends)"},
    [LBSIM_SWEEP_OUTLIER_SR_VOLUME] = {"outlier-success-rate-request-volume", 0, NO_SHAPE,
                                       "outlier-success-rate-request-volume (requests)"},
    [LBSIM_SWEEP_OUTLIER_SR_STDEV] = {"outlier-success-rate-stdev-factor", 0, NO_SHAPE,
                                      "outlier-success-rate-stdev-factor (standard deviations)"},
    [LBSIM_SWEEP_SLOW_START] = {"lb-slow-start", LBSIM_POLICY_USES_WEIGHTS, NO_SHAPE, "lb-slow-start (s)"},
    [LBSIM_SWEEP_SLOW_START_AGGRESSION] = {"lb-slow-start-aggression", LBSIM_POLICY_USES_WEIGHTS, NO_SHAPE,
                                           "lb-slow-start-aggression"},
    [LBSIM_SWEEP_SLOW_START_MIN_WEIGHT] = {"lb-slow-start-min-weight", LBSIM_POLICY_USES_WEIGHTS, NO_SHAPE,
                                           "lb-slow-start-min-weight (%)"},
};

static const struct {
  const char *name;
  const char *label;
  bool share; /* a fraction, shown as a percentage */
} metrics[LBSIM_SWEEP_METRICS] = {
    [LBSIM_SWEEP_P50] = {"p50", "p50 latency (ms)", false},
    [LBSIM_SWEEP_P99] = {"p99", "p99 latency (ms)", false},
    [LBSIM_SWEEP_P999] = {"p999", "p99.9 latency (ms)", false},
    [LBSIM_SWEEP_SUCCESS] = {"success", "requests that succeeded (%)", true},
    [LBSIM_SWEEP_FASTEST] = {"fastest", "requests sent to the truly fastest (%)", true},
    [LBSIM_SWEEP_REGRET] = {"regret", "mean regret (ms)", false},
    [LBSIM_SWEEP_SWITCHES] = {"switches", "majority switches (count)", false},
    [LBSIM_SWEEP_TOP_SHARE] = {"top_share", "top share: a round's busiest backend (%)", true},
    [LBSIM_SWEEP_AMPLIFICATION] = {"amplification", "amplification (attempts per user request)", false},
};

const char *lbsim_sweep_param_name(lbsim_sweep_param_t param) {
  return params[param].name;
}

const char *lbsim_sweep_param_label(lbsim_sweep_param_t param) {
  return params[param].label;
}

const char *lbsim_sweep_metric_name(lbsim_sweep_metric_t metric) {
  return metrics[metric].name;
}

const char *lbsim_sweep_metric_label(lbsim_sweep_metric_t metric) {
  return metrics[metric].label;
}

bool lbsim_sweep_metric_is_share(lbsim_sweep_metric_t metric) {
  return metrics[metric].share;
}

uint32_t lbsim_sweep_param_uses(lbsim_sweep_param_t param) {
  return params[param].uses;
}

/* "a, b, c or d" */
static void list_names(char *out, size_t len, const char *const *names, size_t n) {
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(out);
    snprintf(out + used, len - used, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ", names[i]);
  }
}

/* ---- parsing ------------------------------------------------------------------ */

typedef struct values_s {
  double *v;
  uint32_t n, cap;
} values_t;

static int push(values_t *vals, double v) {
  if (vals->n == vals->cap) {
    uint32_t cap = vals->cap ? 2 * vals->cap : 8;
    double *grown = realloc(vals->v, cap * sizeof(*grown));
    if (grown == NULL)
      return LBSIM_ENOMEM;
    vals->v = grown;
    vals->cap = cap;
  }
  vals->v[vals->n++] = v;
  return 0;
}

/* The shortest decimal that reads back as v to 15 digits: 0.1 + 2 x 0.1
 * becomes 0.3, so that a row's printed value reproduces its run. */
static double tidy(double v) {
  char text[32];
  snprintf(text, sizeof(text), "%.15g", v);
  return strtod(text, NULL);
}

/* A:B:STEP into vals. `item` is one comma-separated element of the list;
 * `others` the number of combinations of the other parameters. */
static int add_range(values_t *vals, const char *name, const char *item, size_t len, uint32_t others, char *err,
                     size_t errlen) {
  char text[128];
  if (len >= sizeof(text))
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%.64s...': too long", name, item);
  memcpy(text, item, len);
  text[len] = '\0';
  char *parts[3] = {text, strchr(text, ':'), NULL};
  if (parts[1] != NULL)
    parts[2] = strchr(parts[1] + 1, ':');
  if (parts[2] == NULL || strchr(parts[2] + 1, ':') != NULL)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%s': expected A:B:STEP", name, text);
  *parts[1]++ = '\0';
  *parts[2]++ = '\0';
  double a, b, step;
  const char *expected;
  /* A and B are read as the option reads its values; STEP as a number. */
  if (lbsim_config_number(name, parts[0], &a, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, parts[0], expected);
  if (lbsim_config_number(name, parts[1], &b, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, parts[1], expected);
  char *end;
  step = strtod(parts[2], &end);
  if (strchr("+-.0123456789", parts[2][0]) == NULL || parts[2][0] == '\0' || *end != '\0' || !isfinite(step) ||
      strpbrk(parts[2], "xXnNiI") != NULL)
    return lbsim_refuse(err, errlen, "invalid --sweep %s step '%s': expected a number above 0", name, parts[2]);
  if (step <= 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%.*s': the step must be above 0", name, (int)len, item);
  if (a > b)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%.*s': the start is above the end", name, (int)len,
                item);
  /* The last value is the one within half a step of B; a hair of tolerance
   * so that 0:1:0.1 ends at 1 whatever the rounding of 1/0.1. */
  double steps = ceil((b - a) / step - 0.5 - 1e-9);
  if (steps < 0)
    steps = 0;
  double total = (vals->n + steps + 1) * others;
  if (total > LBSIM_SWEEP_MAX_COMBINATIONS)
    return lbsim_refuse(err, errlen, "--sweep %s=%.*s makes %.0f combinations: at most %d", name, (int)len, item, total,
                LBSIM_SWEEP_MAX_COMBINATIONS);
  for (uint32_t i = 0; i <= (uint32_t)steps; i++) {
    double v = tidy(a + i * step);
    if (lbsim_config_check_number(name, v, &expected) != 0)
      return lbsim_refuse(err, errlen, "invalid --sweep %s value %.15g (from %.*s): expected %s", name, v, (int)len,
                  item, expected);
    if (push(vals, v) != 0)
      return lbsim_refuse(err, errlen, "out of memory");
  }
  return 0;
}

/* One value V into vals. */
static int add_value(values_t *vals, const char *name, const char *item, size_t len, uint32_t others, char *err,
                     size_t errlen) {
  char text[64];
  double v;
  const char *expected;
  if (len >= sizeof(text))
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%.32s...': too long", name, item);
  memcpy(text, item, len);
  text[len] = '\0';
  if (lbsim_config_number(name, text, &v, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, text, expected);
  if ((double)(vals->n + 1) * others > LBSIM_SWEEP_MAX_COMBINATIONS)
    return lbsim_refuse(err, errlen, "--sweep %s makes more than %d combinations", name, LBSIM_SWEEP_MAX_COMBINATIONS);
  return push(vals, v) == 0 ? 0 : lbsim_refuse(err, errlen, "out of memory");
}

static uint32_t combinations(const lbsim_sweep_t *s) {
  uint32_t n = 1;
  for (uint32_t k = 0; k < s->naxes; k++)
    n *= s->axes[k].nvalues;
  return n;
}

int lbsim_sweep_add(lbsim_sweep_t *s, const char *spec, char *err, size_t errlen) {
  const char *eq = strchr(spec, '=');
  size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
  int param = -1;
  for (int i = 0; i < LBSIM_SWEEP_PARAMS; i++)
    if (strlen(params[i].name) == nlen && strncmp(params[i].name, spec, nlen) == 0)
      param = i;
  if (param < 0) {
    const char *names[LBSIM_SWEEP_PARAMS];
    char list[1024];
    for (int i = 0; i < LBSIM_SWEEP_PARAMS; i++)
      names[i] = params[i].name;
    list_names(list, sizeof(list), names, LBSIM_SWEEP_PARAMS);
    return lbsim_refuse(err, errlen, "unknown --sweep parameter '%.*s': expected %s", (int)(nlen < 64 ? nlen : 64), spec,
                list);
  }
  const char *name = params[param].name;
  if (eq == NULL)
    return lbsim_refuse(err, errlen, "invalid --sweep '%s': expected %s=V1,V2,... or %s=A:B:STEP", spec, name, name);
  for (uint32_t k = 0; k < s->naxes; k++)
    if ((int)s->axes[k].param == param)
      return lbsim_refuse(err, errlen, "--sweep %s given twice", name);
  if (s->naxes == LBSIM_SWEEP_MAX_AXES)
    return lbsim_refuse(err, errlen, "--sweep: at most %d parameters at once", LBSIM_SWEEP_MAX_AXES);
  const char *list = eq + 1;
  if (*list == '\0')
    return lbsim_refuse(err, errlen, "invalid --sweep '%s': no values", spec);

  uint32_t others = combinations(s);
  values_t vals = {0};
  for (const char *item = list;; item += strcspn(item, ",") + 1) {
    size_t len = strcspn(item, ",");
    if (len == 0) {
      free(vals.v);
      return lbsim_refuse(err, errlen, "invalid --sweep '%s': an empty value", spec);
    }
    int bad = memchr(item, ':', len) != NULL ? add_range(&vals, name, item, len, others, err, errlen)
                                              : add_value(&vals, name, item, len, others, err, errlen);
    if (bad) {
      free(vals.v);
      return bad;
    }
    if (item[len] == '\0')
      break;
  }
  s->axes[s->naxes++] = (lbsim_sweep_axis_t){(lbsim_sweep_param_t)param, vals.v, vals.n};
  s->combinations = combinations(s);
  return 0;
}

int lbsim_sweep_set_metric(lbsim_sweep_t *s, const char *name, char *err, size_t errlen) {
  for (int m = 0; m < LBSIM_SWEEP_METRICS; m++)
    if (strcmp(metrics[m].name, name) == 0) {
      s->metric = (lbsim_sweep_metric_t)m;
      s->metric_given = true;
      return 0;
    }
  const char *names[LBSIM_SWEEP_METRICS];
  char list[160];
  for (int m = 0; m < LBSIM_SWEEP_METRICS; m++)
    names[m] = metrics[m].name;
  list_names(list, sizeof(list), names, LBSIM_SWEEP_METRICS);
  return lbsim_refuse(err, errlen, "invalid --sweep-metric '%.64s': expected %s", name, list);
}

void lbsim_sweep_free(lbsim_sweep_t *s) {
  for (uint32_t k = 0; k < s->naxes; k++)
    free(s->axes[k].values);
  s->naxes = 0;
  s->combinations = 0;
}

/* ---- combinations -------------------------------------------------------------- */

/* Axis k's position in combination `index`: the last axis varies fastest. */
static uint32_t position(const lbsim_sweep_t *s, uint32_t index, uint32_t k) {
  for (uint32_t j = s->naxes; j-- > k + 1;)
    index /= s->axes[j].nvalues;
  return index % s->axes[k].nvalues;
}

void lbsim_sweep_values(const lbsim_sweep_t *s, uint32_t index, double *values) {
  for (uint32_t k = 0; k < s->naxes; k++)
    values[k] = s->axes[k].values[position(s, index, k)];
}

uint32_t lbsim_sweep_unused(const lbsim_sweep_t *s, uint32_t uses) {
  uint32_t unused = 0;
  for (uint32_t k = 0; k < s->naxes; k++) {
    uint32_t flag = params[s->axes[k].param].uses;
    if (flag != 0 && (uses & flag) == 0)
      unused |= 1u << k;
  }
  return unused;
}

bool lbsim_sweep_runs(const lbsim_sweep_t *s, uint32_t index, uint32_t unused) {
  for (uint32_t k = 0; k < s->naxes; k++)
    if ((unused & (1u << k)) && position(s, index, k) != 0)
      return false;
  return true;
}

void lbsim_sweep_apply(const lbsim_sweep_t *s, const double *values, lbsim_config_t *cfg) {
  for (uint32_t k = 0; k < s->naxes; k++) {
    double v = values[k];
    lbsim_sweep_param_t p = s->axes[k].param;
    if (params[p].shape != NO_SHAPE)
      cfg->shape = (lbsim_shape_t)params[p].shape;
    switch (p) {
    case LBSIM_SWEEP_ALPHA: cfg->alpha = v; break;
    case LBSIM_SWEEP_EXPLORE: cfg->explore = v; break;
    case LBSIM_SWEEP_TEMPERATURE: cfg->temperature_ms = v; break;
    case LBSIM_SWEEP_DECAY: cfg->decay_s = v; break;
    case LBSIM_SWEEP_CHOICES: cfg->choices = (uint32_t)v; break;
    case LBSIM_SWEEP_BURST: cfg->burst = (uint32_t)v; break;
    case LBSIM_SWEEP_CAPACITY: cfg->capacity = (uint32_t)v; break;
    case LBSIM_SWEEP_RATE: cfg->rate = v; break;
    case LBSIM_SWEEP_CONCURRENCY: cfg->concurrency = (uint32_t)v; break;
    case LBSIM_SWEEP_BACKENDS: cfg->backends = (uint32_t)v; break;
    case LBSIM_SWEEP_TIMEOUT: cfg->timeout_s = v; break;
    case LBSIM_SWEEP_DEADLINE: cfg->retry.deadline_s = v; break;
    case LBSIM_SWEEP_RETRIES: cfg->retry.retries = (uint32_t)v; break;
    case LBSIM_SWEEP_RETRY_BACKOFF: cfg->retry.backoff_ms = v; break;
    case LBSIM_SWEEP_RETRY_BACKOFF_MAX: cfg->retry.backoff_max_ms = v; break;
    case LBSIM_SWEEP_RETRY_BACKOFF_MULTIPLIER: cfg->retry.backoff_multiplier = v; break;
    case LBSIM_SWEEP_RETRY_BUDGET: cfg->retry.budget = true, cfg->retry.budget_pct = v; break;
    case LBSIM_SWEEP_RETRY_THROTTLE: cfg->retry.throttle = true, cfg->retry.throttle_tokens = v; break;
    case LBSIM_SWEEP_OUTLIER_CONSECUTIVE_5XX: cfg->outlier.consecutive_5xx = (uint32_t)v; break;
    case LBSIM_SWEEP_OUTLIER_CONSECUTIVE_LOCAL: cfg->outlier.consecutive_local = (uint32_t)v; break;
    case LBSIM_SWEEP_OUTLIER_INTERVAL: cfg->outlier.interval_s = v; break;
    case LBSIM_SWEEP_OUTLIER_BASE_EJECTION: cfg->outlier.base_s = v; break;
    case LBSIM_SWEEP_OUTLIER_MAX_EJECTION: cfg->outlier.max_s = v; break;
    case LBSIM_SWEEP_OUTLIER_MAX_PERCENT: cfg->outlier.max_percent = v; break;
    case LBSIM_SWEEP_OUTLIER_ENFORCING_5XX: cfg->outlier.enforcing_5xx = v; break;
    case LBSIM_SWEEP_OUTLIER_ENFORCING_LOCAL: cfg->outlier.enforcing_local = v; break;
    case LBSIM_SWEEP_OUTLIER_ENFORCING_SR: cfg->outlier.enforcing_sr = v; break;
    case LBSIM_SWEEP_OUTLIER_SR_MIN_HOSTS: cfg->outlier.sr_min_hosts = (uint32_t)v; break;
    case LBSIM_SWEEP_OUTLIER_SR_VOLUME: cfg->outlier.sr_volume = (uint32_t)v; break;
    case LBSIM_SWEEP_OUTLIER_SR_STDEV: cfg->outlier.sr_stdev_factor = v; break;
    case LBSIM_SWEEP_SLOW_START: cfg->slow_start.window_s = v; break;
    case LBSIM_SWEEP_SLOW_START_AGGRESSION: cfg->slow_start.aggression = v; break;
    case LBSIM_SWEEP_SLOW_START_MIN_WEIGHT: cfg->slow_start.min_weight_pct = v; break;
    case LBSIM_SWEEP_PARAMS: break;
    }
  }
}

/* ---- the command line as a whole --------------------------------------------------- */

static const char *const shape_options[] = {"bursts", "--rate", "--concurrency"};

/* What on the command line needs the real clock, if anything. */
static const char *socket_option(const lbsim_config_t *cfg) {
  if (cfg->role == LBSIM_ROLE_BACKENDS)
    return "--backends-only";
  if (cfg->role == LBSIM_ROLE_CLIENT)
    return "--client-only";
  if (cfg->nservers > 0)
    return "--server";
  if (cfg->admin)
    return "--admin";
  if (cfg->clock_given && cfg->clock == LBSIM_CLOCK_REAL)
    return "--clock real";
  return NULL;
}

int lbsim_sweep_validate(const lbsim_sweep_t *s, const lbsim_config_t *cfg, char *err, size_t errlen) {
  if (s->naxes == 0) {
    if (s->metric_given)
      return lbsim_refuse(err, errlen, "--sweep-metric chooses what a sweep's --report plots: it needs --sweep");
    return 0;
  }
  if (s->metric_given && cfg->report_path[0] == '\0')
    return lbsim_refuse(err, errlen, "--sweep-metric chooses what --report plots: give --report FILE.svg too");
  const char *sockets = socket_option(cfg);
  if (sockets)
    return lbsim_refuse(err, errlen, "--sweep runs on the virtual clock: it cannot be combined with %s", sockets);
  if (cfg->rounds == 0 && cfg->duration_s == 0 && cfg->requests == 0)
    return lbsim_refuse(err, errlen, "--sweep needs an end for every run: give --rounds, --duration or --requests");

  /* One traffic shape: the swept one, which --rate or --concurrency may not contradict. */
  int swept_shape = NO_SHAPE;
  const char *swept_name = NULL;
  uint32_t fewest_backends = 0;
  for (uint32_t k = 0; k < s->naxes; k++) {
    lbsim_sweep_param_t p = s->axes[k].param;
    int shape = params[p].shape;
    if (shape != NO_SHAPE && swept_shape != NO_SHAPE)
      return lbsim_refuse(err, errlen, "--sweep %s and --sweep %s set different traffic shapes: sweep one of them", swept_name,
                  params[p].name);
    if (shape != NO_SHAPE) {
      swept_shape = shape;
      swept_name = params[p].name;
    }
    if (p == LBSIM_SWEEP_BACKENDS) {
      fewest_backends = UINT32_MAX;
      for (uint32_t i = 0; i < s->axes[k].nvalues; i++)
        if (s->axes[k].values[i] < fewest_backends)
          fewest_backends = (uint32_t)s->axes[k].values[i];
    }
  }
  if (swept_shape != NO_SHAPE && cfg->shape != LBSIM_SHAPE_BURST && (int)cfg->shape != swept_shape)
    return lbsim_refuse(err, errlen, "--sweep %s sets the traffic shape (%s): it cannot be combined with %s", swept_name,
                shape_options[swept_shape], shape_options[cfg->shape]);

  /* Every run must have the backends the scenario changes. */
  for (uint32_t e = 0; fewest_backends && e < cfg->scenario.nevents; e++) {
    int32_t b = cfg->scenario.events[e].backend;
    if (b != LBSIM_ALL_BACKENDS && (uint32_t)b >= fewest_backends)
      return lbsim_refuse(err, errlen, "--sweep backends goes down to %u, but the scenario changes backend %d", fewest_backends,
                  b + 1);
  }
  return 0;
}

/* ---- results ---------------------------------------------------------------------- */

double lbsim_sweep_metric_value(lbsim_sweep_metric_t metric, const lbsim_stats_t *stats) {
  const lbsim_counts_t *c = &stats->total;
  switch (metric) {
  case LBSIM_SWEEP_P50: return c->ok ? lbsim_counts_quantile_ms(c, 0.5) : NAN;
  case LBSIM_SWEEP_P99: return c->ok ? lbsim_counts_quantile_ms(c, 0.99) : NAN;
  case LBSIM_SWEEP_P999: return c->ok ? lbsim_counts_quantile_ms(c, 0.999) : NAN;
  case LBSIM_SWEEP_SUCCESS: return c->requests ? (double)c->ok / (double)c->requests : NAN;
  case LBSIM_SWEEP_FASTEST: return lbsim_report_share_to_fastest(c);
  case LBSIM_SWEEP_REGRET: return lbsim_report_mean_regret_ms(c);
  case LBSIM_SWEEP_SWITCHES: return stats->rounds ? (double)stats->majority_switches : NAN;
  case LBSIM_SWEEP_TOP_SHARE: return lbsim_report_top_share(stats);
  case LBSIM_SWEEP_AMPLIFICATION:
    return stats->tally.users ? (double)stats->tally.attempts / (double)stats->tally.users : NAN;
  case LBSIM_SWEEP_METRICS: break;
  }
  return NAN;
}
