#include "client_fixture.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "tnet.h"

int cfx_setup(client_fixture_t *f) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
  f->cfg.sleep_s = 0;
  f->cfg.seed = 1;
  f->cfg.timeout_s = 2;
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->out = tmpfile();
  REQUIRE(f->out != NULL);
  return 0;
}

int cfx_add_url(client_fixture_t *f, uint16_t port) {
  char text[64], why[128];
  snprintf(text, sizeof(text), "http://127.0.0.1:%u/ping", port);
  REQUIRE(lbsim_url_parse(&f->urls[f->nurls++], text, why, sizeof(why)) == 0);
  return 0;
}

int cfx_add_backend(client_fixture_t *f, double latency_ms) {
  if (f->farm.models == NULL) {
    lbsim_config_t cfg = f->cfg;
    cfg.backends = CFX_MAX_BACKENDS;
    REQUIRE(lbsim_farm_init(&f->farm, &cfg, 1, &f->sched.clock) == 0);
  }
  uint32_t i = f->nbackends++;
  f->farm.models[i].latency.latency_ms = latency_ms;
  REQUIRE(lbsim_backend_start(&f->backends[i], &f->loop, &f->sched, &f->farm.models[i], &f->cfg, 0, 1) == 0);
  return cfx_add_url(f, f->backends[i].port);
}

void cfx_on_finished(lbsim_runner_t *r, uint64_t now_ns) {
  (void)now_ns;
  client_fixture_t *f = LBSIM_CONTAINER_OF(r, client_fixture_t, runner);
  f->finished = true;
}

int cfx_run(client_fixture_t *f) {
  for (uint32_t i = 0; i < f->nurls; i++)
    f->names[i] = f->urls[i].text;
  REQUIRE(lbsim_fleet_init(&f->fleet, &f->cfg, f->cfg.seed, 0, f->names, f->nurls, NULL) == 0);
  lbsim_client_config_t ccfg = {
      .pool_size = f->cfg.pool_size,
      .max_total = f->max_connections,
      .max_pipeline = 8,
      .timeout_ns = lbsim_ms_to_ns(f->cfg.timeout_s * 1000.0),
      .idle_ns = lbsim_ms_to_ns(f->cfg.client_idle_s * 1000.0),
  };
  REQUIRE(lbsim_client_init(&f->client, &f->loop, &f->sched, &ccfg, f->urls, NULL, f->nurls) == 0);
  lbsim_fleet_attach(&f->fleet, &f->client.transport, true);
  for (uint32_t i = 0; i < f->nurls; i++) {
    struct sockaddr_in a;
    uv_ip4_addr(f->urls[i].host, f->urls[i].port, &a);
    if (f->naddrs[i] > 0)
      REQUIRE(lbsim_client_set_addresses(&f->client, i, f->addrs[i], f->naddrs[i]) == 0);
    else
      REQUIRE(lbsim_client_set_address(&f->client, i, (struct sockaddr *)&a) == 0);
  }
  lbsim_report_init(&f->report, &f->cfg, f->cfg.seed, f->out, 0);
  REQUIRE(lbsim_runner_init(&f->runner, &f->sched.clock, &f->cfg, f->cfg.seed, &f->fleet, 1, NULL, &f->report) == 0);
  uint64_t t0 = uv_hrtime();
  lbsim_report_bind(&f->report, &f->fleet, 1, f->names, f->nurls, NULL, t0);
  lbsim_runner_start(&f->runner, t0, cfx_on_finished);
  while (!f->finished)
    uv_run(&f->loop, UV_RUN_ONCE);
  f->elapsed_s = (double)(uv_hrtime() - t0) / 1e9;
  return 0;
}

static void on_client_closed(lbsim_client_t *client) {
  (void)client;
}

int cfx_teardown(client_fixture_t *f) {
  lbsim_runner_close(&f->runner);
  lbsim_client_close(&f->client, on_client_closed);
  for (uint32_t i = 0; i < f->nbackends; i++)
    lbsim_backend_close(&f->backends[i], NULL);
  lbsim_farm_stop(&f->farm);
  for (int i = 0; i < 50; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  lbsim_sched_close(&f->sched, NULL);
  int ok = tnet_close_loop(&f->loop);
  lbsim_runner_free(&f->runner);
  lbsim_client_free(&f->client);
  lbsim_fleet_free(&f->fleet);
  lbsim_report_free(&f->report);
  lbsim_farm_free(&f->farm);
  fclose(f->out);
  return ok;
}

int cfx_read_blocks(client_fixture_t *f, uint64_t picks[][CFX_MAX_BACKENDS], int max_rounds) {
  rewind(f->out);
  char line[512];
  int round = -1;
  uint32_t i = 0;
  while (fgets(line, sizeof(line), f->out)) {
    if (strncmp(line, "=== Traffic Round ", 18) == 0) {
      round++;
      i = 0;
      continue;
    }
    const char *p = strstr(line, ", requests=");
    if (round >= 0 && round < max_rounds && p && strstr(line, ": avg=") && i < CFX_MAX_BACKENDS)
      picks[round][i++] = strtoull(p + 11, NULL, 10);
    if (strncmp(line, "=== Run Summary ===", 19) == 0)
      break;
  }
  return round + 1;
}

int cfx_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  int n = 0;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n - 3; /* ".", "..", and the directory's own descriptor */
}
