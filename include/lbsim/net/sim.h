/* The simulation on the real clock: wiring. It owns the loop and the
 * scheduler, builds the models (model.h), serves their copies over HTTP
 * (backend.h), gives each balancer (balancer.h) an HTTP client (client.h)
 * as its transport, lets the runner (runner.h) drive the traffic, and
 * handles signals and shutdown. The virtual clock's wiring is vsim.h. */
#ifndef LBSIM_SIM_H
#define LBSIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/control/admin.h"
#include "lbsim/net/backend.h"
#include "lbsim/balancer/balancer.h"
#include "lbsim/net/client.h"
#include "lbsim/cli/config.h"
#include "lbsim/control/metrics.h"
#include "lbsim/model/model.h"
#include "lbsim/model/oracle.h"
#include "lbsim/report/report.h"
#include "lbsim/balancer/runner.h"
#include "lbsim/net/sched.h"

typedef struct lbsim_sim_s {
  uv_loop_t loop;
  lbsim_sched_t sched;          /* every deadline, and the models' clock */
  const lbsim_config_t *cfg;
  uint64_t seed;

  lbsim_fleet_t fleet;          /* the truth about each backend (none with --client-only) */
  lbsim_oracle_t oracle;
  lbsim_backend_t *backends;    /* copies: nbalancers x fleet.n, balancer-major */
  uint32_t nbackends;

  lbsim_url_t *urls;            /* what each balancer drives: nbalancers x nurls */
  uint32_t nurls;               /* backends per balancer */
  const char **names;           /* the URLs as printed, in the same order */
  lbsim_balancer_t *balancers;  /* one per policy; none with --backends-only */
  lbsim_client_t *clients;      /* their transports */
  uint32_t nbalancers;
  uint32_t nclients;            /* initialised: closed at shutdown */
  lbsim_report_t report;
  lbsim_runner_t runner;
  bool runner_ready;
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
