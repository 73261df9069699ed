/* The simulation on the virtual clock. See lbsim/virtual/vsim.h. */
#include "lbsim/virtual/vsim.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/base/url.h"

static void sync_copies(lbsim_assembly_t *a, uint32_t i, uint64_t now_ns) {
  lbsim_vsim_t *v = LBSIM_CONTAINER_OF(a, lbsim_vsim_t, run);
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_sync(&v->nets[w], i, now_ns);
}

static void on_finished(lbsim_runner_t *runner, uint64_t now_ns) {
  (void)now_ns;
  lbsim_vsim_t *v = LBSIM_CONTAINER_OF(runner, lbsim_vsim_t, run.runner);
  v->finished = true;
  lbsim_engine_stop(&v->engine);
}

/* SIGINT or SIGTERM ends the run at once: nothing more is sent, and what
 * is in flight is cancelled now (its deadline can be a simulated day). */
static void on_interrupt(lbsim_engine_t *engine) {
  lbsim_vsim_t *v = LBSIM_CONTAINER_OF(engine, lbsim_vsim_t, engine);
  lbsim_runner_stop(&v->run.runner, engine->now_ns);
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_cancel_all(&v->nets[w]);
}

/* The backends' URLs, as the real clock would print them: each policy's
 * copies on ports of their own. */
static int name_backends(lbsim_vsim_t *v) {
  lbsim_assembly_t *a = &v->run;
  const lbsim_config_t *cfg = a->cfg;
  uint32_t n = a->farm.n, copies = a->npolicies * n;
  if (lbsim_assembly_names(a, n) != 0)
    return LBSIM_ENOMEM;
  v->urls = malloc((size_t)copies * LBSIM_BACKEND_URL_LEN);
  if (v->urls == NULL) {
    lbsim_log_error("out of memory for the URLs of %u backends", n);
    return LBSIM_ENOMEM;
  }
  uint32_t base = cfg->port_base ? cfg->port_base : LBSIM_VIRTUAL_PORT_BASE;
  for (uint32_t k = 0; k < copies; k++) {
    char *url = v->urls + (size_t)k * LBSIM_BACKEND_URL_LEN;
    lbsim_url_backend(url, LBSIM_BACKEND_URL_LEN, cfg->host, base + k);
    a->names[k] = url;
  }
  return 0;
}

/* Connections open to each backend: every request in flight holds one,
 * and idle ones stay open a while. */
static void count_conns(const lbsim_fleet_t *f, void *data, uint32_t *out) {
  lbsim_vnet_conns(data, out);
  for (uint32_t i = 0; i < f->n; i++)
    out[i] += (uint32_t)f->in_flight_to[i];
}

/* Each fleet's transport: a network over copies of the models, which its
 * clients share. */
static int start_networks(lbsim_vsim_t *v) {
  lbsim_assembly_t *a = &v->run;
  const lbsim_config_t *cfg = a->cfg;
  v->nets = calloc(a->nfleets, sizeof(*v->nets));
  if (v->nets == NULL) {
    lbsim_log_error("out of memory for %u backends", cfg->backends);
    return LBSIM_ENOMEM;
  }
  /* Requests that go one by one (--rate, --concurrency) meet a network that
   * varies, as on sockets. A burst is one instant (the seed's model): on
   * sockets its answers differ by their place in the burst, which a random
   * draw per batch would not stand for (see LBSIM_NET_SPREAD). */
  double spread = cfg->shape == LBSIM_SHAPE_BURST ? 0 : LBSIM_NET_SPREAD;
  for (uint32_t w = 0; w < a->nfleets; w++) {
    lbsim_fleet_t *f = &a->fleets[w];
    v->nnets = w + 1;
    if (lbsim_vnet_init(&v->nets[w], &v->engine, a->farm.models, a->farm.n, f->nclients, f->subset_size,
                        f->subsets, a->seed, cfg->net_delay_ms, spread, cfg->timeout_s, cfg->client_idle_s) != 0) {
      lbsim_log_error("out of memory for %u backends", cfg->backends);
      return LBSIM_ENOMEM;
    }
    lbsim_fleet_attach(f, &v->nets[w].transport, true);
    f->conns = count_conns;
    f->conns_data = &v->nets[w];
  }
  /* A unit of traffic at one instant: a round's burst, a closed loop's
   * requests, an arrival; for every policy. */
  uint64_t unit = cfg->shape == LBSIM_SHAPE_BURST ? cfg->burst
                  : cfg->shape == LBSIM_SHAPE_CONCURRENCY ? cfg->concurrency : 1;
  lbsim_engine_limit(&v->engine, unit * a->nfleets, (uint64_t)cfg->memory_mib << 20);
  return 0;
}

int lbsim_vsim_init(lbsim_vsim_t *v, const lbsim_config_t *cfg, uint64_t seed, FILE *out) {
  memset(v, 0, sizeof(*v));
  lbsim_engine_init(&v->engine, 0);
  /* Large writes: a person is not watching each block go by. */
  lbsim_assembly_init(&v->run, cfg, seed, &v->engine.clock, out, 1 << 16, sync_copies);
  int err = lbsim_assembly_models(&v->run);
  if (err == 0)
    err = name_backends(v);
  if (err == 0)
    err = lbsim_assembly_fleets(&v->run);
  if (err == 0)
    err = start_networks(v);
  if (err == 0)
    err = lbsim_assembly_runner(&v->run);
  return err;
}

void lbsim_vsim_execute(lbsim_vsim_t *v, volatile int *interrupt) {
  lbsim_assembly_t *a = &v->run;
  if (lbsim_assembly_start(a, a->names, a->nbackends, v->engine.now_ns, on_finished) != 0)
    return;
  v->engine.interrupt = interrupt;
  v->engine.on_interrupt = on_interrupt;
  lbsim_engine_run(&v->engine);
  lbsim_assembly_stop(a);
}

void lbsim_vsim_free(lbsim_vsim_t *v) {
  for (uint32_t w = 0; w < v->nnets; w++)
    lbsim_vnet_free(&v->nets[w]);
  free(v->nets);
  v->nets = NULL;
  free(v->urls);
  v->urls = NULL;
  lbsim_assembly_free(&v->run);
  lbsim_engine_free(&v->engine);
}
