/* The simulation on the real clock. It owns the loop and the scheduler,
 * has the assembly (balancer/assembly.h) build the models, balancers,
 * report and runner, serves the models' copies over HTTP (backend.h),
 * gives each balancer an HTTP client (client.h) as its transport, and
 * handles signals and shutdown. The virtual clock's driver is
 * virtual/vsim.h. */
#ifndef LBSIM_SIM_H
#define LBSIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/balancer/assembly.h"
#include "lbsim/base/url.h"
#include "lbsim/control/admin.h"
#include "lbsim/net/backend.h"
#include "lbsim/net/client.h"
#include "lbsim/cli/config.h"
#include "lbsim/control/metrics.h"
#include "lbsim/net/sched.h"

typedef struct lbsim_sim_s {
  uv_loop_t loop;
  lbsim_sched_t sched;          /* every deadline, and the models' clock */
  lbsim_assembly_t run;         /* models, balancers, report, runner */
  lbsim_backend_t *backends;    /* copies: npolicies x farm.n, policy-major (none with --client-only) */
  uint32_t nbackends;
  lbsim_url_t *urls;            /* what each balancer drives: npolicies x nurls */
  uint32_t nurls;               /* backends per balancer */
  lbsim_client_t *clients;      /* the balancers' transports */
  uint32_t nclients;            /* initialised: closed at shutdown */
  lbsim_admin_t admin;
  bool admin_ready;
  lbsim_metrics_t metrics;      /* --metrics */
  bool metrics_ready;
  uint32_t resolving;           /* name look-ups still under way */
  uint32_t max_connections;     /* per balancer, from the descriptor limit */

  uv_signal_t sigint, sigterm;
  uint32_t open_handles;        /* counted down by close callbacks */
  bool stopping;
  bool aborted;                 /* second SIGINT: exit without cleanup */
  int exit_code;
} lbsim_sim_t;

int lbsim_sim_run(const lbsim_config_t *cfg);

uint64_t lbsim_raise_fd_limit(void);

#endif
