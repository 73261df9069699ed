/* Sweeps on the virtual clock. See lbsim/virtual/vsweep.h. */
#include "lbsim/virtual/vsweep.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/report/svg.h"
#include "lbsim/cli/sweep.h"
#include "lbsim/virtual/vsim.h"
#include "lbsim_version.h"


/* Runs one policy on one combination: the command line with the swept
 * values, that policy alone, its own output discarded; then prints its row.
 * Nothing is printed for a run cut short by a signal. */
static void run_one(lbsim_vsweep_t *sw, uint32_t combination, const double *values, uint32_t w, volatile int *interrupt) {
  lbsim_config_t cfg = *sw->cfg;
  lbsim_sweep_apply(sw->sweep, values, &cfg);
  memset(&cfg.sweep, 0, sizeof(cfg.sweep)); /* the copy owns nothing */
  snprintf(cfg.policies[0], sizeof(cfg.policies[0]), "%s", sw->policies[w]);
  cfg.npolicies = 1;
  cfg.compare = false;
  cfg.report_path[0] = '\0';
  cfg.quiet = true;

  lbsim_vsim_t v;
  if (lbsim_vsim_init(&v, &cfg, sw->seed, NULL) != 0) {
    sw->failed = true;
    lbsim_vsim_free(&v);
    return;
  }
  lbsim_vsim_execute(&v, interrupt);
  if (!*interrupt) {
    if (!v.finished)
      sw->failed = true;
    const lbsim_fleet_t *b = &v.run.fleets[0];
    const lbsim_runner_t *runner = &v.run.runner;
    uint64_t from = runner->end_ns > runner->count_from_ns ? runner->count_from_ns : runner->end_ns;
    double elapsed_s = (double)(runner->end_ns - from) / LBSIM_NS_PER_S;
    lbsim_sweep_row_t row = {
        .combination = combination,
        .nparams = sw->sweep->naxes,
        .names = sw->names,
        .values = values,
        .unused = sw->unused[w],
        .fleet = b,
        .elapsed_s = elapsed_s,
    };
    lbsim_report_sweep_row(&sw->report, &row);
    if (sw->metric)
      sw->metric[(size_t)combination * sw->npolicies + w] = lbsim_sweep_metric_value(sw->sweep->metric, &b->stats);
    sw->runs++;
    sw->requests += b->stats.total.requests;
    sw->simulated_s += elapsed_s;
  }
  lbsim_vsim_free(&v);
}

static int draw_plot(FILE *out, const void *plot) {
  return lbsim_svg_sweep_write(out, plot);
}

static void write_plot(lbsim_vsweep_t *sw) {
  const char *path = sw->cfg->report_path;
  char title[200];
  snprintf(title, sizeof(title), "lbsim sweep: %s against %s, seed %llu",
           lbsim_sweep_metric_name(sw->sweep->metric), sw->names[0], (unsigned long long)sw->seed);
  lbsim_sweep_plot_t plot = {
      .sweep = sw->sweep,
      .policies = sw->policies,
      .npolicies = sw->npolicies,
      .unused = sw->unused,
      .values = sw->metric,
      .title = title,
  };
  int err = lbsim_file_commit(&sw->plot_file, draw_plot, &plot);
  if (err != 0) {
    lbsim_log_error("cannot write the report %s: %s", path, lbsim_strerror(err));
    sw->failed = true;
  } else {
    lbsim_log("report written to %s", path);
  }
}

int lbsim_vsweep_init(lbsim_vsweep_t *sw, const lbsim_config_t *cfg, uint64_t seed) {
  memset(sw, 0, sizeof(*sw));
  sw->cfg = cfg;
  sw->sweep = &cfg->sweep;
  sw->seed = seed;
  const lbsim_sweep_t *sweep = sw->sweep;
  sw->npolicies = cfg->compare ? cfg->npolicies : 1;
  for (uint32_t w = 0; w < sw->npolicies; w++) {
    sw->policies[w] = cfg->policies[w];
    sw->unused[w] = lbsim_sweep_unused(sweep, lbsim_policy_find(cfg->policies[w])->uses);
    for (uint32_t c = 0; c < sweep->combinations; c++)
      sw->planned += lbsim_sweep_runs(sweep, c, sw->unused[w]);
  }
  for (uint32_t k = 0; k < sweep->naxes; k++)
    sw->names[k] = lbsim_sweep_param_name(sweep->axes[k].param);
  lbsim_log("lbsim %s seed=%llu clock=virtual sweep: %u combination%s x %u polic%s, %llu run%s", LBSIM_VERSION,
            (unsigned long long)sw->seed, sweep->combinations, sweep->combinations == 1 ? "" : "s", sw->npolicies,
            sw->npolicies == 1 ? "y" : "ies", (unsigned long long)sw->planned, sw->planned == 1 ? "" : "s");
  if (cfg->report_path[0] != '\0') {
    size_t n = (size_t)sweep->combinations * sw->npolicies;
    sw->metric = malloc(n * sizeof(*sw->metric));
    if (sw->metric == NULL) {
      lbsim_log_error("out of memory for the report");
      return LBSIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
      sw->metric[i] = NAN;
    /* Before the runs: a plot that cannot be written is known now. */
    int err = lbsim_file_open(&sw->plot_file, cfg->report_path);
    if (err != 0) {
      lbsim_log_error("cannot write the report %s: %s", cfg->report_path, lbsim_strerror(err));
      return err;
    }
  }
  /* Rows go out as they come: a person may be watching. */
  lbsim_report_init(&sw->report, cfg, sw->seed, stdout, 0);
  sw->report_ready = true;
  lbsim_report_sweep_head(&sw->report, sweep->naxes, sw->names);
  return 0;
}

void lbsim_vsweep_execute(lbsim_vsweep_t *sw, volatile int *interrupt) {
  const lbsim_sweep_t *sweep = sw->sweep;
  for (uint32_t done = 0; done < sweep->combinations && !*interrupt && !sw->failed; done++) {
    double values[LBSIM_SWEEP_PARAMS];
    lbsim_sweep_values(sweep, done, values);
    for (uint32_t w = 0; w < sw->npolicies && !*interrupt && !sw->failed; w++)
      if (lbsim_sweep_runs(sweep, done, sw->unused[w]))
        run_one(sw, done, values, w, interrupt);
  }
}

int lbsim_vsweep_finish(lbsim_vsweep_t *sw) {
  if (sw->metric != NULL && sw->runs > 0)
    write_plot(sw);
  if (lbsim_report_flush(&sw->report) != 0)
    sw->failed = true;
  return sw->failed ? LBSIM_EIO : 0;
}

void lbsim_vsweep_free(lbsim_vsweep_t *sw) {
  lbsim_file_abandon(&sw->plot_file); /* no run, or never finished: nothing drawn */
  if (sw->report_ready)
    lbsim_report_free(&sw->report);
  free(sw->metric);
  sw->metric = NULL;
}
