#include "backend_fixture.h"

#include <signal.h>
#include <string.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "tnet.h"

/* Bound on the closing of what the backend holds. */
#define CLOSE_WAIT_MS 10000

void bfx_defaults(backend_fixture_t *f) {
  signal(SIGPIPE, SIG_IGN);
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.role = LBSIM_ROLE_BACKENDS;
  f->cfg.backends = 1;
  f->cfg.port_base = 0;
  f->cfg.drift_period_s = 0;
  f->cfg.seed = 1;
  f->cfg.seed_given = true;
}

int bfx_start(backend_fixture_t *f, double latency_ms) {
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  REQUIRE(lbsim_farm_init(&f->farm, &f->cfg, f->cfg.seed, &f->sched.clock) == 0);
  f->farm.models[0].latency.latency_ms = latency_ms;
  REQUIRE(lbsim_backend_start(&f->backend, &f->loop, &f->sched, &f->farm.models[0], &f->cfg, 0, f->cfg.seed) == 0);
  f->started = true;
  f->port = f->backend.port;
  REQUIRE(f->port != 0);
  REQUIRE(lbsim_farm_start(&f->farm, uv_hrtime()) == 0);
  return 0;
}

static void on_closed(lbsim_httpd_t *server) {
  LBSIM_CONTAINER_OF(server, backend_fixture_t, backend.httpd)->closed = true;
}

static bool is_closed(void *f) {
  return ((backend_fixture_t *)f)->closed;
}

int bfx_stop(backend_fixture_t *f) {
  if (!f->started)
    return 0;
  lbsim_farm_stop(&f->farm);
  lbsim_backend_close(&f->backend, on_closed);
  lbsim_sched_close(&f->sched, NULL);
  bool closed = tnet_run_until(&f->loop, is_closed, f, CLOSE_WAIT_MS);
  lbsim_farm_free(&f->farm);
  REQUIRE(closed);
  return tnet_close_loop(&f->loop);
}

void bfx_exchange(backend_fixture_t *f, const char *req, int want, raw_result_t *res) {
  raw_opts_t o = {.want_responses = want, .wait_ms = 2000};
  raw_exchange(&f->loop, f->port, req, strlen(req), &o, res);
}

bool bfx_starts(raw_result_t *r, const char *prefix) {
  return strncmp(raw_text(r), prefix, strlen(prefix)) == 0;
}
