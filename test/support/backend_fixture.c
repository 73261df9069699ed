#include "backend_fixture.h"

#include "harness.h"

void bfx_defaults(backend_fixture_t *f) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
}

int bfx_start(backend_fixture_t *f, double latency_ms) {
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->cfg.backends = 1;
  REQUIRE(lbsim_farm_init(&f->farm, &f->cfg, 1, &f->sched.clock) == 0);
  f->farm.models[0].latency.latency_ms = latency_ms;
  REQUIRE(lbsim_backend_start(&f->backend, &f->loop, &f->sched, &f->farm.models[0], &f->cfg, 0, 1) == 0);
  f->port = f->backend.port;
  REQUIRE(f->port != 0);
  REQUIRE(lbsim_farm_start(&f->farm, uv_hrtime()) == 0);
  return 0;
}

int bfx_stop(backend_fixture_t *f) {
  lbsim_backend_close(&f->backend, NULL);
  lbsim_farm_stop(&f->farm);
  for (int i = 0; i < 50; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  REQUIRE(f->backend.httpd.nhandles == 0);
  lbsim_sched_close(&f->sched, NULL);
  lbsim_farm_free(&f->farm);
  return close_loop(&f->loop);
}

int bfx_exchange(backend_fixture_t *f, const char *req, int want, raw_result_t *res) {
  raw_opts_t o = {.want_responses = want, .wait_ms = 2000};
  return raw_exchange(&f->loop, f->port, req, strlen(req), &o, res);
}

bool bfx_starts(raw_result_t *r, const char *prefix) {
  return strncmp(raw_text(r), prefix, strlen(prefix)) == 0;
}
