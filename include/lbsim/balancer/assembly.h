/* What a run is made of, built the same way on either clock: the backends'
 * models and the oracle that judges picks against them (none with
 * --client-only: the backends are elsewhere), one balancer per policy
 * (none with --backends-only), the report, and the runner that drives the
 * traffic. A driver — the sockets (net/sim.h) or the virtual clock
 * (virtual/vsim.h) — adds what only it has: the copies of the models that
 * serve the requests (backends on ports, or the virtual network) and the
 * balancers' transports.
 *
 *   lbsim_assembly_init        the report
 *   lbsim_assembly_models      the models and the oracle
 *   lbsim_assembly_fleets      the fleets, over the backends' URLs
 *   (driver)                   the transports: lbsim_balancer_attach
 *   lbsim_assembly_runner      the runner
 *   lbsim_assembly_start       output, scenario, drift and traffic start
 *   lbsim_assembly_stop        no more traffic, no more changes
 *   (driver)                   the transports freed
 *   lbsim_assembly_free        the rest
 *
 * Each step that can fail says why in one line on stderr and returns a
 * negative error code; lbsim_assembly_free applies after any of them. */
#ifndef LBSIM_ASSEMBLY_H
#define LBSIM_ASSEMBLY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/runner.h"
#include "lbsim/base/clock.h"
#include "lbsim/cli/config.h"
#include "lbsim/model/model.h"
#include "lbsim/model/oracle.h"
#include "lbsim/report/report.h"

typedef struct lbsim_assembly_s lbsim_assembly_t;

/* A model changed: the driver brings every copy of model `i` in line (an
 * outage ends what is in flight to it, a new capacity resizes its queue). */
typedef void (*lbsim_assembly_sync_cb)(lbsim_assembly_t *assembly, uint32_t i, uint64_t now_ns);

struct lbsim_assembly_s {
  const lbsim_config_t *cfg;
  uint64_t seed;
  lbsim_clock_t *clock;
  lbsim_assembly_sync_cb sync;
  lbsim_farm_t farm;          /* the truth about each backend; farm.n = 0: none */
  lbsim_oracle_t oracle;
  lbsim_fleet_t *fleets;
  uint32_t nfleets;             /* initialised: freed at the end */
  uint32_t npolicies;           /* fleets to build: one per policy compared */
  uint32_t nbackends;           /* per balancer */
  const char **names;           /* the backends' URLs as printed, per balancer: npolicies x nbackends */
  lbsim_report_t report;
  lbsim_runner_t runner;
  bool runner_ready;
};

/* The report goes to `out` (NULL: nowhere), written in blocks of
 * `flush_at` bytes (0: every block as it comes). */
void lbsim_assembly_init(lbsim_assembly_t *a, const lbsim_config_t *cfg, uint64_t seed, lbsim_clock_t *clock,
                         FILE *out, size_t flush_at, lbsim_assembly_sync_cb sync);
/* The models of cfg->backends backends, and the oracle. */
int lbsim_assembly_models(lbsim_assembly_t *a);
/* The names' array (npolicies x nbackends), for the driver to fill before
 * lbsim_assembly_fleets. */
int lbsim_assembly_names(lbsim_assembly_t *a, uint32_t nbackends);
/* One fleet per policy over the named backends, judged by the oracle when
 * the models are here. */
int lbsim_assembly_fleets(lbsim_assembly_t *a);
/* The runner, once the fleets' clients have their transports. */
int lbsim_assembly_runner(lbsim_assembly_t *a);
/* The run starts at now_ns: the report's start (the backends named by
 * `names`, n of them: the fleets' own, or the models' with
 * --backends-only), the scenario's changes at 0 s, the drift, the traffic. */
int lbsim_assembly_start(lbsim_assembly_t *a, const char *const *names, uint32_t n, uint64_t now_ns,
                         lbsim_runner_cb on_finished);
/* Launches nothing more, changes nothing more. */
void lbsim_assembly_stop(lbsim_assembly_t *a);
void lbsim_assembly_free(lbsim_assembly_t *a);

/* Requests the fleets launched. */
uint64_t lbsim_assembly_requests(const lbsim_assembly_t *a);

#endif
