/* Sweeps: parameters, values, combinations. See lbsim/cli/sweep.h. */
#include "lbsim/cli/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/cli/config.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"
#include "lbsim/base/error.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/report/report.h"

static const struct {
  const char *name;
  const char *label;
  bool share;            /* a fraction, shown as a percentage */
  lbsim_figure_t figure; /* the row's figure it plots */
} metrics[LBSIM_SWEEP_METRICS] = {
    [LBSIM_SWEEP_P50] = {"p50", "p50 latency (ms)", false, LBSIM_FIG_P50},
    [LBSIM_SWEEP_P99] = {"p99", "p99 latency (ms)", false, LBSIM_FIG_P99},
    [LBSIM_SWEEP_P999] = {"p999", "p99.9 latency (ms)", false, LBSIM_FIG_P999},
    [LBSIM_SWEEP_SUCCESS] = {"success", "requests that succeeded (%)", true, LBSIM_FIG_SUCCESS},
    [LBSIM_SWEEP_FASTEST] = {"fastest", "requests sent to the truly fastest (%)", true, LBSIM_FIG_TO_FASTEST},
    [LBSIM_SWEEP_REGRET] = {"regret", "mean regret (ms)", false, LBSIM_FIG_REGRET},
    [LBSIM_SWEEP_SWITCHES] = {"switches", "majority switches (count)", false, LBSIM_FIG_SWITCHES},
    [LBSIM_SWEEP_TOP_SHARE] = {"top_share", "top share: a round's busiest backend (%)", true, LBSIM_FIG_TOP_SHARE},
    [LBSIM_SWEEP_MEAN] = {"mean", "mean latency (ms)", false, LBSIM_FIG_MEAN},
};

const char *lbsim_sweep_param_name(int param) {
  return lbsim_config_option_name(param);
}

void lbsim_sweep_param_label(int param, char *label, size_t len) {
  const char *meaning = lbsim_config_option_meaning(param);
  snprintf(label, len, meaning ? "%s (%s)" : "%s", lbsim_config_option_name(param), meaning);
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

uint32_t lbsim_sweep_param_uses(int param) {
  return lbsim_policy_uses_option(lbsim_config_option_name(param));
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
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%s': too long", name, lbsim_token_n(item, len));
  memcpy(text, item, len);
  text[len] = '\0';
  char *parts[3] = {text, strchr(text, ':'), NULL};
  if (parts[1] != NULL)
    parts[2] = strchr(parts[1] + 1, ':');
  if (parts[2] == NULL || strchr(parts[2] + 1, ':') != NULL)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%s': expected A:B:STEP", name, lbsim_token(text));
  *parts[1]++ = '\0';
  *parts[2]++ = '\0';
  double a, b, step;
  const char *expected;
  /* A and B are read as the option reads its values; STEP as a number. */
  if (lbsim_config_number(name, parts[0], &a, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, lbsim_token(parts[0]),
                        expected);
  if (lbsim_config_number(name, parts[1], &b, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, lbsim_token(parts[1]),
                        expected);
  if (lbsim_number_parse(parts[2], &step) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s step '%s': expected a number above 0", name,
                        lbsim_token(parts[2]));
  if (step <= 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%s': the step must be above 0", name,
                        lbsim_token_n(item, len));
  if (a > b)
    return lbsim_refuse(err, errlen, "invalid --sweep %s range '%s': the start is above the end", name,
                        lbsim_token_n(item, len));
  /* The last value is the one within half a step of B; a hair of tolerance
   * so that 0:1:0.1 ends at 1 whatever the rounding of 1/0.1. */
  double steps = ceil((b - a) / step - 0.5 - 1e-9);
  if (steps < 0)
    steps = 0;
  double total = (vals->n + steps + 1) * others;
  if (!(total <= LBSIM_SWEEP_MAX_COMBINATIONS))
    return lbsim_refuse(err, errlen, "--sweep %s=%s makes more than %d combinations", name, lbsim_token_n(item, len),
                        LBSIM_SWEEP_MAX_COMBINATIONS);
  for (uint32_t i = 0; i <= (uint32_t)steps; i++) {
    double v = tidy(a + i * step);
    if (lbsim_config_check_number(name, v, &expected) != 0)
      return lbsim_refuse(err, errlen, "invalid --sweep %s value %.15g (from %s): expected %s", name, v,
                          lbsim_token_n(item, len), expected);
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
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': too long", name, lbsim_token_n(item, len));
  memcpy(text, item, len);
  text[len] = '\0';
  if (lbsim_config_number(name, text, &v, &expected) != 0)
    return lbsim_refuse(err, errlen, "invalid --sweep %s value '%s': expected %s", name, lbsim_token(text), expected);
  if ((double)(vals->n + 1) * others > LBSIM_SWEEP_MAX_COMBINATIONS)
    return lbsim_refuse(err, errlen, "--sweep %s makes more than %d combinations", name, LBSIM_SWEEP_MAX_COMBINATIONS);
  return push(vals, v) == 0 ? 0 : lbsim_refuse(err, errlen, "out of memory");
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Whether a value comes twice (in a list, or from ranges that meet). */
static bool listed_twice(const values_t *vals, double *twice) {
  double *sorted = malloc(vals->n * sizeof(*sorted));
  bool found = false;
  if (sorted == NULL)
    return false; /* a repeated run is no error worth failing for */
  memcpy(sorted, vals->v, vals->n * sizeof(*sorted));
  qsort(sorted, vals->n, sizeof(*sorted), by_value);
  for (uint32_t i = 1; i < vals->n && !found; i++)
    if (sorted[i] == sorted[i - 1]) {
      *twice = sorted[i];
      found = true;
    }
  free(sorted);
  return found;
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
  char wanted[64];
  snprintf(wanted, sizeof(wanted), "%.*s", (int)(nlen < sizeof(wanted) ? nlen : sizeof(wanted) - 1), spec);
  const char *why;
  int param = lbsim_config_sweepable(wanted, &why);
  if (param < 0)
    return lbsim_refuse(err, errlen, "--sweep %s: %s (lbsim --sweep help lists what can be swept)", lbsim_token(wanted),
                        why);
  const char *name = lbsim_config_option_name(param);
  if (eq == NULL)
    return lbsim_refuse(err, errlen, "invalid --sweep '%s': expected %s=V1,V2,... or %s=A:B:STEP", lbsim_token(spec),
                        name, name);
  for (uint32_t k = 0; k < s->naxes; k++)
    if (s->axes[k].param == param)
      return lbsim_refuse(err, errlen, "--sweep %s given twice", name);
  if (s->naxes == LBSIM_SWEEP_PARAMS)
    return lbsim_refuse(err, errlen, "--sweep %s: at most %d parameters at once", name, LBSIM_SWEEP_PARAMS);
  const char *list = eq + 1;
  if (*list == '\0')
    return lbsim_refuse(err, errlen, "invalid --sweep '%s': no values", lbsim_token(spec));

  uint32_t others = combinations(s);
  values_t vals = {0};
  for (const char *item = list;; item += strcspn(item, ",") + 1) {
    size_t len = strcspn(item, ",");
    if (len == 0) {
      free(vals.v);
      return lbsim_refuse(err, errlen, "invalid --sweep '%s': an empty value", lbsim_token(spec));
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
  double twice;
  if (listed_twice(&vals, &twice)) {
    free(vals.v);
    return lbsim_refuse(err, errlen, "invalid --sweep %s: %.15g is listed twice (a run would be repeated)", name,
                        twice);
  }
  s->axes[s->naxes++] = (lbsim_sweep_axis_t){param, vals.v, vals.n};
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
  return lbsim_refuse(err, errlen, "invalid --sweep-metric '%s': expected %s", lbsim_token(name), list);
}

int lbsim_sweep_set_shard(lbsim_sweep_t *s, const char *spec, char *err, size_t errlen) {
  /* Both numbers, always: a task id alone cannot tell N once one task is
   * resubmitted. Each is read as every number is (lbsim/base/number.h). */
  const lbsim_range_t shards = {1, LBSIM_SWEEP_MAX_RUNS, false, false, true, NULL};
  const lbsim_range_t any = {0, LBSIM_SWEEP_MAX_RUNS, false, false, true, NULL};
  const char *slash = strchr(spec, '/');
  char k_text[64];
  size_t klen = slash ? (size_t)(slash - spec) : 0;
  double k = -1, n = 0;
  bool numbers = slash != NULL && klen > 0 && klen < sizeof(k_text);
  if (numbers) {
    memcpy(k_text, spec, klen);
    k_text[klen] = '\0';
    numbers = lbsim_number_read(&any, k_text, &k) == 0 && lbsim_number_parse(slash + 1, &n) == 0;
  }
  if (!numbers)
    return lbsim_refuse(err, errlen, "invalid --shard '%s': expected K/N, e.g. 0/4 ($SLURM_ARRAY_TASK_ID/4)",
                        lbsim_token(spec));
  char range[64];
  if (!lbsim_range_has(&shards, n))
    return lbsim_refuse(err, errlen, "invalid --shard '%s': N must be in %s, an integer", lbsim_token(spec),
                        lbsim_range_text(&shards, range, sizeof(range)));
  if (k >= n)
    return lbsim_refuse(err, errlen, "invalid --shard '%s': K must be below N, an integer (shards are numbered 0 to %.0f)",
                        lbsim_token(spec), n - 1);
  s->shard = (uint32_t)k;
  s->shards = (uint32_t)n;
  return 0;
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
    uint32_t flag = lbsim_sweep_param_uses(s->axes[k].param);
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
  for (uint32_t k = 0; k < s->naxes; k++)
    lbsim_config_set_number(cfg, s->axes[k].param, values[k]);
}

/* ---- the command line as a whole --------------------------------------------------- */

static const char *const shape_options[] = {"bursts", "--rate", "--concurrency"};

/* The smallest (largest) value of the option swept as `name` into *v;
 * false, *v untouched, when it is not swept. */
static bool extreme(const lbsim_sweep_t *s, const char *name, double *v, bool largest) {
  for (uint32_t k = 0; k < s->naxes; k++) {
    if (strcmp(lbsim_sweep_param_name(s->axes[k].param), name) != 0)
      continue;
    *v = s->axes[k].values[0];
    for (uint32_t i = 1; i < s->axes[k].nvalues; i++)
      *v = largest ? fmax(*v, s->axes[k].values[i]) : fmin(*v, s->axes[k].values[i]);
    return true;
  }
  return false;
}

static bool smallest(const lbsim_sweep_t *s, const char *name, double *v) {
  return extreme(s, name, v, false);
}

static bool largest(const lbsim_sweep_t *s, const char *name, double *v) {
  return extreme(s, name, v, true);
}

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

/* --seeds, --shard and --resume. */
static int validate_runs(const lbsim_sweep_t *s, const lbsim_config_t *cfg, char *err, size_t errlen) {
  bool resume = cfg->resume_path[0] != '\0';
  if (s->naxes == 0) {
    if (s->seeds)
      return lbsim_refuse(err, errlen, "--seeds runs each row of a sweep with several seeds: it needs --sweep");
    if (s->shards)
      return lbsim_refuse(err, errlen, "--shard runs a share of a sweep: it needs --sweep");
    if (resume)
      return lbsim_refuse(err, errlen, "--resume keeps a sweep's runs: it needs --sweep");
    return 0;
  }
  if ((s->shards || resume) && !cfg->seed_given)
    return lbsim_refuse(err, errlen, "%s needs --seed: %s", s->shards ? "--shard" : "--resume",
                        s->shards ? "every shard must run the same sweep" : "the file is checked against the same sweep");
  if (s->shards && cfg->report_path[0] != '\0')
    return lbsim_refuse(err, errlen, "--shard writes JSON Lines for 'lbsim merge': give --report to lbsim merge");
  if (s->shards && s->metric_given)
    return lbsim_refuse(err, errlen, "--shard writes JSON Lines for 'lbsim merge': give --sweep-metric to lbsim merge");
  if (s->shards && cfg->format != lbsim_format_find("text"))
    return lbsim_refuse(err, errlen, "--shard writes JSON Lines for 'lbsim merge': give --format to lbsim merge");
  if (resume && (strcmp(cfg->resume_path, cfg->report_path) == 0 || strcmp(cfg->resume_path, cfg->scenario_path) == 0))
    return lbsim_refuse(err, errlen, "--resume %.200s is also the %s", cfg->resume_path,
                        strcmp(cfg->resume_path, cfg->report_path) == 0 ? "--report" : "--scenario");
  /* Every run's figures are kept until the end (the plot, a merge). */
  uint32_t npolicies = cfg->compare ? cfg->npolicies : 1;
  double runs = (double)s->combinations * npolicies * (s->seeds ? s->seeds : 1);
  if (runs > LBSIM_SWEEP_MAX_RUNS)
    return lbsim_refuse(err, errlen, "the sweep makes %.0f runs (%u combinations x %u polic%s x %u seeds): at most %d",
                        runs, s->combinations, npolicies, npolicies == 1 ? "y" : "ies", s->seeds ? s->seeds : 1,
                        LBSIM_SWEEP_MAX_RUNS);
  return 0;
}

int lbsim_sweep_validate(const lbsim_sweep_t *s, const lbsim_config_t *cfg, char *err, size_t errlen) {
  if (validate_runs(s, cfg, err, errlen) != 0)
    return LBSIM_EINVAL;
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
  /* Every combination needs an end, and its drift a floor below its ceiling. */
  double rounds = (double)cfg->rounds, duration = cfg->duration_s, requests = (double)cfg->requests;
  /* Each of the three is looked at (no short cut): each lowers its own. */
  bool swept_rounds = smallest(s, "rounds", &rounds);
  bool swept_duration = smallest(s, "duration", &duration);
  bool swept_requests = smallest(s, "requests", &requests);
  bool swept_end = swept_rounds || swept_duration || swept_requests;
  if (rounds == 0 && duration == 0 && requests == 0)
    return lbsim_refuse(err, errlen, swept_end ? "--sweep leaves a run without an end: some combination has --rounds, "
                                                 "--duration and --requests all 0"
                                               : "--sweep needs an end for every run: give --rounds, --duration or "
                                                 "--requests");
  double floor_ms = cfg->latency.floor_ms, ceil_ms = cfg->latency.ceil_ms;
  largest(s, "latency-floor", &floor_ms);
  smallest(s, "latency-ceil", &ceil_ms);
  if (floor_ms > ceil_ms)
    return lbsim_refuse(err, errlen, "--sweep puts --latency-floor (%g) above --latency-ceil (%g) in some combination",
                        floor_ms, ceil_ms);

  /* One traffic shape: the swept one, which --rate or --concurrency may not contradict. */
  int swept_shape = -1;
  const char *swept_name = NULL;
  for (uint32_t k = 0; k < s->naxes; k++) {
    int shape = lbsim_config_option_shape(s->axes[k].param);
    const char *name = lbsim_sweep_param_name(s->axes[k].param);
    if (shape >= 0 && swept_shape >= 0)
      return lbsim_refuse(err, errlen, "--sweep %s and --sweep %s set different traffic shapes: sweep one of them",
                          swept_name, name);
    if (shape >= 0) {
      swept_shape = shape;
      swept_name = name;
    }
  }
  if (swept_shape >= 0 && cfg->shape != LBSIM_SHAPE_BURST && (int)cfg->shape != swept_shape)
    return lbsim_refuse(err, errlen, "--sweep %s sets the traffic shape (%s): it cannot be combined with %s", swept_name,
                        shape_options[swept_shape], shape_options[cfg->shape]);

  /* Every run's --warmup must end before its --duration (as a run's alone,
   * in the units given: --time-scale scales both). */
  double most_warmup = cfg->given.warmup_s, least_duration = cfg->given.duration_s;
  largest(s, "warmup", &most_warmup);
  for (uint32_t k = 0; k < s->naxes; k++)
    if (strcmp(lbsim_sweep_param_name(s->axes[k].param), "duration") == 0)
      for (uint32_t i = 0; i < s->axes[k].nvalues; i++) {
        double d = s->axes[k].values[i];
        if (d > 0 && (least_duration <= 0 || d < least_duration))
          least_duration = d;
      }
  if (most_warmup > 0 && least_duration > 0 && most_warmup >= least_duration)
    return lbsim_refuse(err, errlen, "--sweep puts --warmup (%g s) at or past --duration (%g s) in some combination",
                        most_warmup, least_duration);

  /* Every client's subset must fit in every run's backends. */
  double most_subset = cfg->subset, fewest_backends = cfg->backends;
  largest(s, "subset", &most_subset);
  smallest(s, "backends", &fewest_backends);
  if (most_subset > fewest_backends)
    return lbsim_refuse(err, errlen, "--sweep puts --subset (%g) above the backends (%g) in some combination",
                        most_subset, fewest_backends);

  /* Every run must have the backends the scenario changes. */
  double fewest = 0;
  if (smallest(s, "backends", &fewest))
    for (uint32_t e = 0; e < cfg->scenario.nevents; e++) {
      int32_t b = cfg->scenario.events[e].backend;
      if (b != LBSIM_ALL_BACKENDS && (uint32_t)b >= (uint32_t)fewest)
        return lbsim_refuse(err, errlen, "--sweep backends goes down to %u, but the scenario changes backend %d",
                            (uint32_t)fewest, b + 1);
    }
  return 0;
}

/* ---- results ---------------------------------------------------------------------- */

double lbsim_sweep_metric_value(lbsim_sweep_metric_t metric, const lbsim_estimate_t *e, double *half) {
  lbsim_figure_t f = metrics[metric].figure;
  /* Switches are counted between rounds: none without rounds. */
  bool known = metric != LBSIM_SWEEP_SWITCHES || e->mean[LBSIM_FIG_ROUNDS] > 0;
  if (half)
    *half = known ? e->half[f] : NAN;
  return known ? e->mean[f] : NAN;
}
