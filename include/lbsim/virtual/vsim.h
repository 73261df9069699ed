/* The simulation on the virtual clock: wiring. The same models (model.h),
 * balancers (balancer.h), runner (runner.h) and reports (report.h) as on
 * sockets; the engine (engine.h) is both their clock and their transport.
 * stdout is a function of the options and the seed; one line on stderr
 * tells how long the run took in wall time. */
#ifndef LBSIM_VSIM_H
#define LBSIM_VSIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/cli/config.h"
#include "lbsim/virtual/vnet.h"
#include "lbsim/model/model.h"
#include "lbsim/model/oracle.h"
#include "lbsim/report/report.h"
#include "lbsim/balancer/runner.h"

/* With --port-base 0 nothing is bound: the backends are numbered from
 * this port, as if the OS had picked consecutive ones. */
#define LBSIM_VIRTUAL_PORT_BASE 1

typedef struct lbsim_vsim_s {
  const lbsim_config_t *cfg;
  uint64_t seed;
  lbsim_engine_t engine;
  lbsim_fleet_t fleet;
  lbsim_oracle_t oracle;
  char *urls;                   /* the backends' URLs, as the real clock would print them */
  const char **names;           /* per balancer: nbalancers x n */
  lbsim_balancer_t *balancers;
  lbsim_vnet_t *nets;           /* their transports */
  uint32_t nbalancers;
  uint32_t nnets;
  lbsim_report_t report;
  lbsim_runner_t runner;
  bool finished;
} lbsim_vsim_t;

/* Builds a run: 0, or a negative error code (with a message on stderr).
 * out: where the report goes (NULL: nowhere). lbsim_vsim_free afterwards
 * in either case. */
int lbsim_vsim_init(lbsim_vsim_t *vsim, const lbsim_config_t *cfg, uint64_t seed, FILE *out);
/* Runs it to the end; `interrupt`, when non-NULL and set, stops it as
 * SIGINT would. */
void lbsim_vsim_execute(lbsim_vsim_t *vsim, volatile int *interrupt);
void lbsim_vsim_free(lbsim_vsim_t *vsim);

/* Requests the run's balancers sent. */
uint64_t lbsim_vsim_requests(const lbsim_vsim_t *vsim);

#endif
