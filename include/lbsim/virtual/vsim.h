/* The simulation on the virtual clock: the assembly (balancer/assembly.h)
 * of models, balancers, report and runner, with the engine (engine.h) as
 * their clock and a virtual network (vnet.h) per balancer as its transport
 * and its copies of the models. stdout is a function of the options and the
 * seed. Pure: the command (cli/run.h) brings the signals and the wall
 * clock. */
#ifndef LBSIM_VSIM_H
#define LBSIM_VSIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/balancer/assembly.h"
#include "lbsim/cli/config.h"
#include "lbsim/virtual/engine.h"
#include "lbsim/virtual/vnet.h"

/* With --port-base 0 nothing is bound: the backends are numbered from
 * this port, as if the OS had picked consecutive ones. */
#define LBSIM_VIRTUAL_PORT_BASE 1

typedef struct lbsim_vsim_s {
  lbsim_engine_t engine;
  lbsim_assembly_t run;
  char *urls;                   /* the backends' URLs, as the real clock would print them */
  lbsim_vnet_t *nets;           /* the balancers' transports */
  uint32_t nnets;
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

#endif
