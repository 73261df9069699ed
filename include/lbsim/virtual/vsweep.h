/* A sweep (sweep.h) on the virtual clock: for every combination of the
 * swept values, each policy alone on the command line's settings with
 * those values, on the same seed (or seeds), so that every run sees the
 * same backend trajectories. One run at a time, its own output discarded.
 * Pure: the command (cli/run.h) brings the signals, the wall clock and the
 * files.
 *
 * The runs are numbered 0 .. planned-1: combination by combination (the
 * first swept parameter slowest), each policy that runs it (in the order
 * of --compare), each seed (seed, seed+1, ... with --seeds). A row is a
 * combination and a policy: its runs' figures (figures.h), or their mean
 * and interval over the seeds.
 *
 * What goes to stdout:
 *   the whole sweep   one row per combination and policy as its last run
 *                     ends (report.h), and with --report a plot of
 *                     --sweep-metric against the first swept parameter
 *                     (svg.h);
 *   --shard K/N       the runs numbered K modulo N, as JSON Lines: a start
 *                     line that describes the sweep (lbsim_config_describe)
 *                     and one line per run with its number and every
 *                     figure as "%.17g", which 'lbsim merge' turns back into
 *                     the whole sweep's table, to the byte.
 * A run's line also goes to on_run as the run ends (--resume's file); the
 * runs a file already holds are given with lbsim_vsweep_known and not run
 * again, and the output is the same as if they had been. */
#ifndef LBSIM_VSWEEP_H
#define LBSIM_VSWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/file.h"
#include "lbsim/cli/config.h"
#include "lbsim/cli/sweep.h"
#include "lbsim/report/figures.h"
#include "lbsim/report/report.h"

typedef struct lbsim_vsweep_row_s {
  uint32_t combination;
  uint32_t policy;
} lbsim_vsweep_row_t;

/* Called with a run's line (newline included) as the run ends: 0, or a
 * negative error code, which stops the sweep. */
typedef int (*lbsim_vsweep_run_cb)(void *data, const char *line, size_t len);

typedef struct lbsim_vsweep_s {
  const lbsim_config_t *cfg;
  const lbsim_sweep_t *sweep;
  uint64_t seed;
  uint32_t npolicies;
  const char *policies[LBSIM_MAX_POLICIES];
  uint32_t unused[LBSIM_MAX_POLICIES];  /* the axes each policy does not use */
  const char *names[LBSIM_SWEEP_PARAMS];
  uint32_t seeds;                       /* runs per row: --seeds, else 1 */
  uint32_t nrows;
  lbsim_vsweep_row_t *rows;
  uint64_t planned;                     /* runs in the whole sweep: nrows x seeds */
  uint64_t mine;                        /* ... in this shard */
  uint32_t shard, shards;               /* K/N; 0/1 without --shard */
  lbsim_figures_t *figures;             /* [planned], where known */
  bool *known;                          /* [planned] */
  double *metric, *metric_half;         /* [combination][policy] for --report; NULL without */
  FILE *out;                            /* stdout */
  lbsim_report_t report;                /* the table (not with --shard) */
  lbsim_file_t plot_file;               /* --report, opened before the runs */
  bool report_ready;
  lbsim_buf_t line;
  lbsim_vsweep_run_cb on_run;
  void *on_run_data;
  uint64_t next;                        /* the first run not printed yet */
  uint64_t runs, requests;              /* run so far (not those known beforehand) */
  uint64_t loaded;                      /* known beforehand */
  double simulated_s;
  bool failed;
} lbsim_vsweep_t;

/* Plans the sweep and opens the plot's file (--report, before the runs);
 * prints nothing. 0, or a negative error code (said on stderr);
 * lbsim_vsweep_free afterwards in either case. */
int lbsim_vsweep_init(lbsim_vsweep_t *sw, const lbsim_config_t *cfg, uint64_t seed, FILE *out);
/* Whether run r is in this shard. */
bool lbsim_vsweep_mine(const lbsim_vsweep_t *sw, uint64_t r);
/* The row and the seed (counted from the sweep's) of run r. */
uint32_t lbsim_vsweep_row_of(const lbsim_vsweep_t *sw, uint64_t r, uint32_t *seed_offset);
/* The start line of a shard's output or a resume file (newline included):
 * lbsim's version, the shard, the number of runs, a hash of the
 * description and the description itself. Appended to out. */
void lbsim_vsweep_start_line(const lbsim_vsweep_t *sw, lbsim_buf_t *out);
/* Run r's line, from its figures. Appended to out. */
void lbsim_vsweep_run_line(const lbsim_vsweep_t *sw, uint64_t r, lbsim_buf_t *out);
/* Run r is done already (read from a file): 0, or LBSIM_EINVAL when r is
 * not a run of this shard or was given before. */
int lbsim_vsweep_known(lbsim_vsweep_t *sw, uint64_t r, const lbsim_figures_t *figures);
/* Prints the head: the line on stderr, and the table's head or the
 * shard's start line on stdout. */
void lbsim_vsweep_start(lbsim_vsweep_t *sw);
/* Runs this shard's runs in order, skipping the known ones, until done, a
 * run fails, on_run fails, or *interrupt is set. */
void lbsim_vsweep_execute(lbsim_vsweep_t *sw, volatile int *interrupt);
/* Writes the plot (--report) and flushes the output: 0, or a negative
 * error code (said on stderr). */
int lbsim_vsweep_finish(lbsim_vsweep_t *sw);
void lbsim_vsweep_free(lbsim_vsweep_t *sw);

#endif
