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

/* ---- the plan ---------------------------------------------------------------- */

bool lbsim_vsweep_mine(const lbsim_vsweep_t *sw, uint64_t r) {
  /* Round robin over the run order: each shard gets costly and cheap runs alike. */
  return r % sw->shards == sw->shard;
}

uint32_t lbsim_vsweep_row_of(const lbsim_vsweep_t *sw, uint64_t r, uint32_t *seed_offset) {
  if (seed_offset)
    *seed_offset = (uint32_t)(r % sw->seeds);
  return (uint32_t)(r / sw->seeds);
}

static int plan(lbsim_vsweep_t *sw) {
  const lbsim_sweep_t *sweep = sw->sweep;
  size_t most = (size_t)sweep->combinations * sw->npolicies;
  sw->rows = malloc(most * sizeof(*sw->rows));
  if (sw->rows == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t c = 0; c < sweep->combinations; c++)
    for (uint32_t w = 0; w < sw->npolicies; w++)
      if (lbsim_sweep_runs(sweep, c, sw->unused[w]))
        sw->rows[sw->nrows++] = (lbsim_vsweep_row_t){c, w};
  sw->planned = (uint64_t)sw->nrows * sw->seeds;
  for (uint64_t r = 0; r < sw->planned; r++)
    sw->mine += lbsim_vsweep_mine(sw, r);
  sw->figures = malloc((size_t)sw->planned * sizeof(*sw->figures));
  sw->known = calloc((size_t)sw->planned, sizeof(*sw->known));
  return sw->figures && sw->known ? 0 : LBSIM_ENOMEM;
}

int lbsim_vsweep_init(lbsim_vsweep_t *sw, const lbsim_config_t *cfg, uint64_t seed, FILE *out) {
  memset(sw, 0, sizeof(*sw));
  sw->cfg = cfg;
  sw->sweep = &cfg->sweep;
  sw->seed = seed;
  sw->out = out;
  const lbsim_sweep_t *sweep = sw->sweep;
  sw->seeds = sweep->seeds ? sweep->seeds : 1;
  sw->shard = sweep->shards ? sweep->shard : 0;
  sw->shards = sweep->shards ? sweep->shards : 1;
  sw->npolicies = cfg->compare ? cfg->npolicies : 1;
  for (uint32_t w = 0; w < sw->npolicies; w++) {
    sw->policies[w] = cfg->policies[w];
    sw->unused[w] = lbsim_sweep_unused(sweep, lbsim_policy_find(cfg->policies[w])->uses);
  }
  for (uint32_t k = 0; k < sweep->naxes; k++)
    sw->names[k] = lbsim_sweep_param_name(sweep->axes[k].param);
  if (plan(sw) != 0) {
    lbsim_log_error("out of memory for a sweep of %llu runs", (unsigned long long)sw->planned);
    return LBSIM_ENOMEM;
  }
  if (cfg->report_path[0] != '\0') {
    size_t n = (size_t)sweep->combinations * sw->npolicies;
    sw->metric = malloc(n * sizeof(*sw->metric));
    sw->metric_half = malloc(n * sizeof(*sw->metric_half));
    if (sw->metric == NULL || sw->metric_half == NULL) {
      lbsim_log_error("out of memory for the report");
      return LBSIM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
      sw->metric[i] = sw->metric_half[i] = NAN;
    /* Before the runs: a plot that cannot be written is known now. */
    int err = lbsim_file_open(&sw->plot_file, cfg->report_path);
    if (err != 0) {
      lbsim_log_error("cannot write the report %s: %s", cfg->report_path, lbsim_strerror(err));
      return err;
    }
  }
  if (sweep->shards == 0) {
    /* Rows go out as they come: a person may be watching. */
    lbsim_report_init(&sw->report, cfg, sw->seed, out, 0);
    sw->report_ready = true;
  }
  return 0;
}

/* ---- the lines of shards and resume files ------------------------------------------ */

typedef struct describing_s {
  lbsim_buf_t *out;
  uint64_t hash;
  bool first;
} describing_t;

/* FNV-1a, 64 bits: a short name for a description, to tell sweeps apart at a glance. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

static void hash_arg(void *data, const char *text) {
  describing_t *d = data;
  d->hash = fnv1a(d->hash, text, strlen(text) + 1);
}

static void write_arg(void *data, const char *text) {
  describing_t *d = data;
  if (!d->first)
    lbsim_buf_append_str(d->out, ",");
  d->first = false;
  lbsim_json_string(d->out, text);
}

void lbsim_vsweep_start_line(const lbsim_vsweep_t *sw, lbsim_buf_t *out) {
  describing_t d = {out, fnv1a(0xcbf29ce484222325ull, LBSIM_VERSION, sizeof(LBSIM_VERSION)), true};
  lbsim_config_describe(sw->cfg, hash_arg, &d);
  lbsim_buf_printf(out, "{\"type\":\"start\",\"version\":\"%s\",\"shard\":\"%u/%u\",\"runs\":%llu,\"hash\":\"%016llx\","
                   "\"sweep\":[", LBSIM_VERSION, sw->shard, sw->shards, (unsigned long long)sw->planned,
                   (unsigned long long)d.hash);
  lbsim_config_describe(sw->cfg, write_arg, &d);
  lbsim_buf_append_str(out, "]}\n");
}

void lbsim_vsweep_run_line(const lbsim_vsweep_t *sw, uint64_t r, lbsim_buf_t *out) {
  uint32_t s;
  const lbsim_vsweep_row_t *row = &sw->rows[lbsim_vsweep_row_of(sw, r, &s)];
  lbsim_buf_printf(out, "{\"type\":\"run\",\"index\":%llu,\"combination\":%u,\"policy\":", (unsigned long long)r,
                   row->combination + 1);
  lbsim_json_string(out, sw->policies[row->policy]);
  lbsim_buf_printf(out, ",\"seed\":\"%llu\"", (unsigned long long)(sw->seed + s));
  for (int f = 0; f < LBSIM_FIGURES; f++) {
    double v = sw->figures[r].v[f];
    lbsim_buf_printf(out, ",\"%s\":", lbsim_figure_name((lbsim_figure_t)f));
    if (isfinite(v))
      lbsim_buf_printf(out, "%.17g", v);
    else
      lbsim_buf_append_str(out, "null");
  }
  lbsim_buf_append_str(out, "}\n");
}

int lbsim_vsweep_known(lbsim_vsweep_t *sw, uint64_t r, const lbsim_figures_t *figures) {
  if (r >= sw->planned || !lbsim_vsweep_mine(sw, r) || sw->known[r])
    return LBSIM_EINVAL;
  sw->figures[r] = *figures;
  sw->known[r] = true;
  sw->loaded++;
  return 0;
}

/* ---- running and printing ---------------------------------------------------------- */

void lbsim_vsweep_start(lbsim_vsweep_t *sw) {
  const lbsim_sweep_t *sweep = sw->sweep;
  char seeds[32] = "", shard[64] = "";
  if (sweep->seeds)
    snprintf(seeds, sizeof(seeds), " x %u seed%s", sw->seeds, sw->seeds == 1 ? "" : "s");
  if (sweep->shards)
    snprintf(shard, sizeof(shard), "; shard %u/%u runs %llu of them", sw->shard, sw->shards,
             (unsigned long long)sw->mine);
  lbsim_log("lbsim %s seed=%llu clock=virtual sweep: %u combination%s x %u polic%s%s, %llu run%s%s", LBSIM_VERSION,
            (unsigned long long)sw->seed, sweep->combinations, sweep->combinations == 1 ? "" : "s", sw->npolicies,
            sw->npolicies == 1 ? "y" : "ies", seeds, (unsigned long long)sw->planned, sw->planned == 1 ? "" : "s",
            shard);
  if (sw->report_ready) {
    lbsim_report_sweep_head(&sw->report, sweep->naxes, sw->names);
    return;
  }
  lbsim_buf_clear(&sw->line);
  lbsim_vsweep_start_line(sw, &sw->line);
  if (!lbsim_buf_ok(&sw->line) || fwrite(sw->line.data, 1, sw->line.len, sw->out) != sw->line.len ||
      fflush(sw->out) != 0) {
    lbsim_log_error("cannot write the output: %s", lbsim_buf_ok(&sw->line) ? strerror(errno) : "out of memory");
    sw->failed = true;
  }
}

/* Runs run r: the command line with its combination's values, its policy
 * alone, its seed, its own output discarded. False when it was cut short
 * by a signal or failed. */
static bool run_one(lbsim_vsweep_t *sw, uint64_t r, volatile int *interrupt) {
  uint32_t s;
  const lbsim_vsweep_row_t *row = &sw->rows[lbsim_vsweep_row_of(sw, r, &s)];
  double values[LBSIM_SWEEP_PARAMS];
  lbsim_sweep_values(sw->sweep, row->combination, values);
  lbsim_config_t cfg = *sw->cfg;
  lbsim_sweep_apply(sw->sweep, values, &cfg);
  memset(&cfg.sweep, 0, sizeof(cfg.sweep)); /* the copy owns nothing */
  snprintf(cfg.policies[0], sizeof(cfg.policies[0]), "%s", sw->policies[row->policy]);
  cfg.npolicies = 1;
  cfg.compare = false;
  cfg.report_path[0] = '\0';
  cfg.resume_path[0] = '\0';
  cfg.quiet = true;

  lbsim_vsim_t v;
  bool done = false;
  if (lbsim_vsim_init(&v, &cfg, sw->seed + s, NULL) != 0) {
    sw->failed = true;
    lbsim_vsim_free(&v);
    return false;
  }
  lbsim_vsim_execute(&v, interrupt);
  if (!*interrupt && !v.finished)
    sw->failed = true;
  if (!*interrupt && v.finished) {
    const lbsim_stats_t *stats = &v.run.fleets[0].stats;
    const lbsim_runner_t *runner = &v.run.runner;
    uint64_t from = runner->end_ns > runner->count_from_ns ? runner->count_from_ns : runner->end_ns;
    double elapsed_s = (double)(runner->end_ns - from) / LBSIM_NS_PER_S;
    lbsim_figures_of(&sw->figures[r], stats, elapsed_s);
    sw->known[r] = true;
    sw->runs++;
    sw->requests += stats->total.requests;
    sw->simulated_s += elapsed_s;
    done = true;
  }
  lbsim_vsim_free(&v);
  return done;
}

/* Run r is known: its line to on_run when it was just run, and to stdout
 * with --shard; its row when it is the row's last. */
static void print_run(lbsim_vsweep_t *sw, uint64_t r, bool just_run) {
  lbsim_buf_clear(&sw->line);
  lbsim_vsweep_run_line(sw, r, &sw->line);
  if (!lbsim_buf_ok(&sw->line)) {
    lbsim_log_error("out of memory for a run's line");
    sw->failed = true;
    return;
  }
  if (just_run && sw->on_run && sw->on_run(sw->on_run_data, sw->line.data, sw->line.len) != 0) {
    sw->failed = true;
    return;
  }
  if (!sw->report_ready) {
    if (fwrite(sw->line.data, 1, sw->line.len, sw->out) != sw->line.len || fflush(sw->out) != 0) {
      lbsim_log_error("cannot write the output: %s", strerror(errno));
      sw->failed = true;
    }
    return;
  }
  uint32_t s;
  uint32_t k = lbsim_vsweep_row_of(sw, r, &s);
  if (s + 1 < sw->seeds)
    return;
  const lbsim_vsweep_row_t *row = &sw->rows[k];
  lbsim_estimate_t e;
  lbsim_estimate(&e, &sw->figures[(uint64_t)k * sw->seeds], sw->seeds, sw->sweep->seeds);
  double values[LBSIM_SWEEP_PARAMS];
  lbsim_sweep_values(sw->sweep, row->combination, values);
  lbsim_sweep_row_t printed = {
      .combination = row->combination,
      .nparams = sw->sweep->naxes,
      .names = sw->names,
      .values = values,
      .unused = sw->unused[row->policy],
      .policy = sw->policies[row->policy],
      .figures = &e,
  };
  lbsim_report_sweep_row(&sw->report, &printed);
  if (sw->metric) {
    size_t at = (size_t)row->combination * sw->npolicies + row->policy;
    sw->metric[at] = lbsim_sweep_metric_value(sw->sweep->metric, &e, &sw->metric_half[at]);
  }
}

void lbsim_vsweep_execute(lbsim_vsweep_t *sw, volatile int *interrupt) {
  for (; sw->next < sw->planned && !*interrupt && !sw->failed; sw->next++) {
    uint64_t r = sw->next;
    if (!lbsim_vsweep_mine(sw, r))
      continue;
    bool just_run = !sw->known[r];
    if (just_run && !run_one(sw, r, interrupt))
      break;
    print_run(sw, r, just_run);
  }
}

/* ---- the plot ---------------------------------------------------------------------- */

static int draw_plot(FILE *out, const void *plot) {
  return lbsim_svg_sweep_write(out, plot);
}

static void write_plot(lbsim_vsweep_t *sw) {
  const char *path = sw->cfg->report_path;
  char title[200];
  snprintf(title, sizeof(title), "lbsim sweep: %s against %s, seed %llu", lbsim_sweep_metric_name(sw->sweep->metric),
           sw->names[0], (unsigned long long)sw->seed);
  if (sw->sweep->seeds)
    snprintf(title + strlen(title), sizeof(title) - strlen(title), " to %llu (mean and 95%% interval)",
             (unsigned long long)(sw->seed + sw->seeds - 1));
  lbsim_sweep_plot_t plot = {
      .sweep = sw->sweep,
      .policies = sw->policies,
      .npolicies = sw->npolicies,
      .unused = sw->unused,
      .values = sw->metric,
      .half = sw->sweep->seeds ? sw->metric_half : NULL,
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

int lbsim_vsweep_finish(lbsim_vsweep_t *sw) {
  if (sw->metric != NULL && sw->next > 0)
    write_plot(sw);
  if (sw->report_ready && lbsim_report_flush(&sw->report) != 0)
    sw->failed = true;
  return sw->failed ? LBSIM_EIO : 0;
}

void lbsim_vsweep_free(lbsim_vsweep_t *sw) {
  lbsim_file_abandon(&sw->plot_file); /* no run, or never finished: nothing drawn */
  if (sw->report_ready)
    lbsim_report_free(&sw->report);
  lbsim_buf_free(&sw->line);
  free(sw->rows);
  free(sw->figures);
  free(sw->known);
  free(sw->metric);
  free(sw->metric_half);
  sw->rows = NULL;
  sw->figures = NULL;
  sw->known = NULL;
  sw->metric = sw->metric_half = NULL;
}
