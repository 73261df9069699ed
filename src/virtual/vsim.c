/* The simulation on the virtual clock. See lbsim/virtual/vsim.h. */
#include "lbsim/virtual/vsim.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

#define URL_LEN 300

/* A model changed: report it, bring every copy of it in line, tell the oracle. */
static void on_model_changed(lbsim_fleet_t *fleet, lbsim_model_t *model, const lbsim_event_t *ev, double old,
                             uint64_t now_ns) {
  lbsim_vsim_t *v = fleet->data;
  lbsim_report_change(&v->report, model, ev, old, now_ns);
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_sync(&v->nets[w], model->index, now_ns);
  lbsim_oracle_touch(&v->oracle, now_ns);
}

static void on_finished(lbsim_runner_t *runner, uint64_t now_ns) {
  (void)now_ns;
  lbsim_vsim_t *v = LBSIM_CONTAINER_OF(runner, lbsim_vsim_t, runner);
  v->finished = true;
  lbsim_engine_stop(&v->engine);
}

/* SIGINT or SIGTERM ends the run at once: nothing more is sent, and what
 * is in flight is cancelled now (its deadline can be a simulated day). */
static void on_interrupt(lbsim_engine_t *engine) {
  lbsim_vsim_t *v = LBSIM_CONTAINER_OF(engine, lbsim_vsim_t, engine);
  lbsim_runner_stop(&v->runner, engine->now_ns);
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_cancel_all(&v->nets[w]);
}

/* The URL the real clock would print for copy k. */
static void copy_url(const lbsim_config_t *cfg, uint32_t k, char *url) {
  uint32_t base = cfg->port_base ? cfg->port_base : LBSIM_VIRTUAL_PORT_BASE;
  bool v6 = strchr(cfg->host, ':') != NULL;
  snprintf(url, URL_LEN, v6 ? "http://[%s]:%u/ping" : "http://%s:%u/ping", cfg->host, base + k);
}

int lbsim_vsim_init(lbsim_vsim_t *v, const lbsim_config_t *cfg, uint64_t seed, FILE *out) {
  memset(v, 0, sizeof(*v));
  v->cfg = cfg;
  v->seed = seed;
  lbsim_engine_init(&v->engine, 0);
  /* Large writes: a person is not watching each block go by. */
  lbsim_report_init(&v->report, cfg, seed, out, 1 << 16);
  uint32_t nbalancers = cfg->compare ? cfg->npolicies : 1;
  if (lbsim_fleet_init(&v->fleet, cfg, seed, &v->engine.clock) != 0)
    goto nomem;
  v->fleet.on_change = on_model_changed;
  v->fleet.data = v;
  uint32_t n = v->fleet.n;
  lbsim_oracle_init(&v->oracle, v->fleet.models, n, cfg->failure_latency_ms, cfg->timeout_s * 1000.0);
  v->urls = malloc((size_t)nbalancers * n * URL_LEN);
  v->names = calloc((size_t)nbalancers * n, sizeof(*v->names));
  v->balancers = calloc(nbalancers, sizeof(*v->balancers));
  v->nets = calloc(nbalancers, sizeof(*v->nets));
  if (!v->urls || !v->names || !v->balancers || !v->nets)
    goto nomem;
  for (uint32_t k = 0; k < nbalancers * n; k++) {
    copy_url(cfg, k, v->urls + (size_t)k * URL_LEN);
    v->names[k] = v->urls + (size_t)k * URL_LEN;
  }
  /* Requests that go one by one (--rate, --concurrency) meet a network that
   * varies, as on sockets. A burst is one instant (the seed's model): on
   * sockets its answers differ by their place in the burst, which a random
   * draw per batch would not stand for (see LBSIM_NET_SPREAD). */
  double spread = cfg->shape == LBSIM_SHAPE_BURST ? 0 : LBSIM_NET_SPREAD;
  for (uint32_t w = 0; w < nbalancers; w++) {
    v->nbalancers = w + 1;
    int err = lbsim_balancer_init(&v->balancers[w], cfg, seed, w, &v->names[(size_t)w * n], n, &v->oracle);
    if (err != 0) {
      lbsim_log_error("cannot set up the balancer for %s: %s", cfg->policies[w], lbsim_strerror(err));
      return err;
    }
    v->nnets = w + 1;
    if (lbsim_vnet_init(&v->nets[w], &v->engine, v->fleet.models, n, seed, cfg->net_delay_ms, spread,
                        cfg->timeout_s, cfg->client_idle_s) != 0)
      goto nomem;
    lbsim_balancer_attach(&v->balancers[w], &v->nets[w].transport);
  }
  int err = lbsim_runner_init(&v->runner, &v->engine.clock, cfg, seed, v->balancers, v->nbalancers, &v->oracle,
                              &v->report);
  if (err != 0) {
    lbsim_log_error("cannot write the report %s: %s", cfg->report_path, lbsim_strerror(err));
    return err;
  }
  lbsim_report_bind(&v->report, v->balancers, v->nbalancers, v->names, n, &v->oracle, v->engine.now_ns);
  /* A unit of traffic at one instant: a round's burst, a closed loop's
   * requests, an arrival; for every balancer. */
  uint64_t unit = cfg->shape == LBSIM_SHAPE_BURST ? cfg->burst : cfg->shape == LBSIM_SHAPE_CONCURRENCY ? cfg->concurrency : 1;
  lbsim_engine_limit(&v->engine, unit * nbalancers, (uint64_t)cfg->memory_mib << 20);
  return 0;
nomem:
  lbsim_log_error("out of memory for %u backends", cfg->backends);
  return LBSIM_ENOMEM;
}

void lbsim_vsim_execute(lbsim_vsim_t *v, volatile int *interrupt) {
  uint64_t now = v->engine.now_ns;
  lbsim_report_start(&v->report, now);
  if (lbsim_fleet_start(&v->fleet, now) != 0) {
    lbsim_log_error("out of memory for the scenario");
    return;
  }
  v->engine.interrupt = interrupt;
  v->engine.on_interrupt = on_interrupt;
  lbsim_runner_start(&v->runner, now, on_finished);
  lbsim_engine_run(&v->engine);
  lbsim_fleet_stop(&v->fleet);
}

void lbsim_vsim_free(lbsim_vsim_t *v) {
  lbsim_runner_free(&v->runner);
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_free(&v->nets[w]);
  for (uint32_t w = 0; w < v->nbalancers; w++)
    lbsim_balancer_free(&v->balancers[w]);
  free(v->nets);
  free(v->balancers);
  free((void *)v->names);
  free(v->urls);
  lbsim_fleet_free(&v->fleet);
  lbsim_engine_free(&v->engine);
  lbsim_report_free(&v->report);
}

uint64_t lbsim_vsim_requests(const lbsim_vsim_t *v) {
  uint64_t n = 0;
  for (uint32_t w = 0; w < v->nbalancers; w++)
    n += v->balancers[w].stats.total.requests;
  return n;
}
