/* A sweep (sweep.h) on the virtual clock: for every combination of the
 * swept values, each policy alone on the command line's settings with
 * those values, on the same seed, so that every run sees the same backend
 * trajectories. One run at a time, its own output discarded; one row per
 * combination and policy on stdout (report.h), and with --report a plot of
 * --sweep-metric against the first swept parameter (svg.h). */
#ifndef LBSIM_VSWEEP_H
#define LBSIM_VSWEEP_H

#include "lbsim/config.h"

/* The whole of `lbsim --sweep ...`: returns the exit code. */
int lbsim_vsweep_run(const lbsim_config_t *cfg);

#endif
