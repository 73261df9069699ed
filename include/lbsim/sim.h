/* The simulation: owns the loop, the backend models and their copies, the
 * balancers and the runner, signals and shutdown. */
#ifndef LBSIM_SIM_H
#define LBSIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/admin.h"
#include "lbsim/backend.h"
#include "lbsim/config.h"
#include "lbsim/oracle.h"
#include "lbsim/runner.h"
#include "lbsim/sched.h"
#include "lbsim/traffic.h"

typedef struct lbsim_sim_s {
  uv_loop_t loop;
  lbsim_sched_t sched;          /* precise deadlines of every connection */
  const lbsim_config_t *cfg;
  uint64_t seed;
  uint64_t start_ns;            /* scenario times and the t of changes count from here */

  lbsim_model_t *models;        /* the truth about each backend (none with --client-only) */
  uint32_t nmodels;
  lbsim_backend_t *backends;    /* copies: nworlds x nmodels, world-major */
  uint32_t nbackends;
  lbsim_oracle_t oracle;
  uv_timer_t scenario_timer;    /* the next scripted change */
  uint32_t next_event;

  lbsim_url_t *urls;            /* what each balancer drives: nworlds x nurls */
  uint32_t nurls;               /* backends per balancer */
  lbsim_traffic_t *worlds;      /* one balancer per policy; none with --backends-only */
  uint32_t nworlds;
  lbsim_runner_t runner;
  bool runner_ready;
  lbsim_admin_t admin;
  bool admin_ready;
  uint32_t resolving;           /* name look-ups still under way */
  uint32_t max_connections;     /* per balancer, from the descriptor limit */

  uv_signal_t sigint, sigterm;
  uint32_t open_handles;        /* counted down by close callbacks */
  bool stopping;
  bool aborted;                 /* second SIGINT: exit without cleanup */
  int exit_code;
} lbsim_sim_t;

/* Runs the configured role to completion; returns the process exit code.
 * Errors are reported on stderr as one line. */
int lbsim_sim_run(const lbsim_config_t *cfg);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the limit now
 * in force. */
uint64_t lbsim_raise_fd_limit(void);

#endif
