/* A sweep (sweep.h) on the virtual clock: for every combination of the
 * swept values, each policy alone on the command line's settings with
 * those values, on the same seed, so that every run sees the same backend
 * trajectories. One run at a time, its own output discarded; one row per
 * combination and policy on stdout (report.h), and with --report a plot of
 * --sweep-metric against the first swept parameter (svg.h). Pure: the
 * command (cli/run.h) brings the signals and the wall clock. */
#ifndef LBSIM_VSWEEP_H
#define LBSIM_VSWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/base/file.h"
#include "lbsim/cli/config.h"
#include "lbsim/cli/sweep.h"
#include "lbsim/report/report.h"

typedef struct lbsim_vsweep_s {
  const lbsim_config_t *cfg;
  const lbsim_sweep_t *sweep;
  uint64_t seed;
  uint32_t npolicies;
  const char *policies[LBSIM_MAX_POLICIES];
  uint32_t unused[LBSIM_MAX_POLICIES];  /* the axes each policy does not use */
  const char *names[LBSIM_SWEEP_PARAMS];
  double *metric;                       /* [combination][policy] for --report; NULL without */
  lbsim_file_t plot_file;               /* --report, opened before the runs */
  lbsim_report_t report;
  bool report_ready;
  uint64_t planned;                     /* runs in the whole sweep */
  uint64_t runs, requests;              /* done so far */
  double simulated_s;
  bool failed;
} lbsim_vsweep_t;

/* Plans the sweep, opens the plot's file (--report) and prints its head
 * (the line on stderr, the table's head on stdout). 0, or a negative error
 * code (said on stderr); lbsim_vsweep_free
 * afterwards in either case. */
int lbsim_vsweep_init(lbsim_vsweep_t *sw, const lbsim_config_t *cfg, uint64_t seed);
/* Runs the combinations in order until done, a run fails, or *interrupt is set. */
void lbsim_vsweep_execute(lbsim_vsweep_t *sw, volatile int *interrupt);
/* Writes the plot (--report) and flushes the rows: 0, or a negative error
 * code (said on stderr). */
int lbsim_vsweep_finish(lbsim_vsweep_t *sw);
void lbsim_vsweep_free(lbsim_vsweep_t *sw);

#endif
