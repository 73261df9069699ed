/* The commands: what `lbsim` does with a parsed command line. The real
 * clock's run (net/sim.h), a run on the virtual clock (virtual/vsim.h) or a
 * sweep (virtual/vsweep.h), each with its lines on stderr and its exit
 * code (config.h's LBSIM_EXIT_*). */
#ifndef LBSIM_RUN_H
#define LBSIM_RUN_H

#include "lbsim/cli/config.h"

int lbsim_run(const lbsim_config_t *cfg);

#endif
