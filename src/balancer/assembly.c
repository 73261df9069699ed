/* What a run is made of, on either clock. See lbsim/balancer/assembly.h. */
#include "lbsim/balancer/assembly.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/balancer/tools.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

/* A model changed: report it, bring every copy of it in line, tell the oracle. */
static void on_model_changed(lbsim_farm_t *farm, lbsim_model_t *model, const lbsim_event_t *ev, double old,
                             uint64_t now_ns) {
  lbsim_assembly_t *a = farm->data;
  lbsim_report_change(&a->report, model, ev, old, now_ns);
  a->sync(a, model->index, now_ns);
  lbsim_oracle_touch(&a->oracle, now_ns);
  /* A backend that comes up starts slow in the clients that weigh backends
   * (--lb-slow-start), as one that joins does in Envoy. */
  if (ev->action == LBSIM_ACTION_UP && old != 0)
    for (uint32_t w = 0; w < a->nfleets; w++)
      if (a->fleets[w].tools != NULL)
        lbsim_fleet_tools_backend_up(a->fleets[w].tools, model->index, now_ns);
}

void lbsim_assembly_init(lbsim_assembly_t *a, const lbsim_config_t *cfg, uint64_t seed, lbsim_clock_t *clock,
                         FILE *out, size_t flush_at, lbsim_assembly_sync_cb sync) {
  memset(a, 0, sizeof(*a));
  a->cfg = cfg;
  a->seed = seed;
  a->clock = clock;
  a->sync = sync;
  a->npolicies = cfg->compare ? cfg->npolicies : 1;
  lbsim_report_init(&a->report, cfg, seed, out, flush_at);
}

int lbsim_assembly_models(lbsim_assembly_t *a) {
  const lbsim_config_t *cfg = a->cfg;
  if (lbsim_farm_init(&a->farm, cfg, a->seed, a->clock) != 0) {
    lbsim_log_error("out of memory for %u backends", cfg->backends);
    return LBSIM_ENOMEM;
  }
  a->farm.on_change = on_model_changed;
  a->farm.data = a;
  lbsim_oracle_init(&a->oracle, a->farm.models, a->farm.n, cfg->failure_latency_ms, cfg->timeout_s * 1000.0);
  return 0;
}

int lbsim_assembly_names(lbsim_assembly_t *a, uint32_t nbackends) {
  a->nbackends = nbackends;
  a->names = calloc((size_t)a->npolicies * nbackends, sizeof(*a->names));
  if (a->names == NULL) {
    lbsim_log_error("out of memory for the URLs of %u backends", nbackends);
    return LBSIM_ENOMEM;
  }
  return 0;
}

int lbsim_assembly_fleets(lbsim_assembly_t *a) {
  a->fleets = calloc(a->npolicies, sizeof(*a->fleets));
  if (a->fleets == NULL) {
    lbsim_log_error("out of memory for the balancers");
    return LBSIM_ENOMEM;
  }
  lbsim_oracle_t *oracle = a->farm.n > 0 ? &a->oracle : NULL;
  for (uint32_t w = 0; w < a->npolicies; w++) {
    /* Counted as soon as it is tried: freeing handles a fleet that
     * stopped half-way. */
    a->nfleets = w + 1;
    int err = lbsim_fleet_init(&a->fleets[w], a->cfg, a->seed, w, &a->names[(size_t)w * a->nbackends],
                               a->nbackends, oracle);
    if (err != 0)
      return err;
  }
  return 0;
}

int lbsim_assembly_runner(lbsim_assembly_t *a) {
  int err = lbsim_runner_init(&a->runner, a->clock, a->cfg, a->seed, a->fleets, a->nfleets,
                              a->farm.n > 0 ? &a->oracle : NULL, &a->report);
  a->runner_ready = true;
  if (err != 0)
    lbsim_log_error("cannot write the report %s: %s", a->cfg->report_path, lbsim_strerror(err));
  return err;
}

int lbsim_assembly_start(lbsim_assembly_t *a, const char *const *names, uint32_t n, uint64_t now_ns,
                         lbsim_runner_cb on_finished) {
  lbsim_report_bind(&a->report, a->fleets, a->nfleets, names, n, a->farm.n > 0 ? &a->oracle : NULL, now_ns);
  lbsim_report_start(&a->report, now_ns);
  if (a->farm.n > 0 && lbsim_farm_start(&a->farm, now_ns) != 0) {
    lbsim_log_error("out of memory for the scenario");
    return LBSIM_ENOMEM;
  }
  if (a->runner_ready)
    lbsim_runner_start(&a->runner, now_ns, on_finished);
  return 0;
}

void lbsim_assembly_stop(lbsim_assembly_t *a) {
  if (a->runner_ready)
    lbsim_runner_close(&a->runner);
  lbsim_farm_stop(&a->farm);
}

void lbsim_assembly_free(lbsim_assembly_t *a) {
  if (a->runner_ready)
    lbsim_runner_free(&a->runner);
  for (uint32_t w = 0; w < a->nfleets; w++)
    lbsim_fleet_free(&a->fleets[w]);
  free(a->fleets);
  a->fleets = NULL;
  a->nfleets = 0;
  free((void *)a->names);
  a->names = NULL;
  lbsim_farm_free(&a->farm);
  lbsim_report_free(&a->report);
}

uint64_t lbsim_assembly_requests(const lbsim_assembly_t *a) {
  uint64_t n = 0;
  for (uint32_t w = 0; w < a->nfleets; w++)
    n += a->fleets[w].stats.total.requests;
  return n;
}
