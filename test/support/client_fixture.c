#include "client_fixture.h"

#include <dirent.h>
#include <stdlib.h>

#include "harness.h"
#include "internal.h"
#include "rawclient.h"

static void noop_close(uv_handle_t *h) {
  (void)h;
}

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
  uint32_t i = f->nbackends++;
  lbsim_model_init(&f->models[i], &f->loop, &f->cfg, 1, i);
  f->models[i].latency.latency_ms = latency_ms;
  REQUIRE(lbsim_backend_start(&f->backends[i], &f->loop, &f->sched, &f->models[i], &f->cfg, 0, 1) == 0);
  return cfx_add_url(f, f->backends[i].port);
}

void cfx_on_finished(lbsim_runner_t *r) {
  client_fixture_t *f = LBSIM_CONTAINER_OF(r, client_fixture_t, runner);
  f->finished = true;
}

static void on_runner_closed(lbsim_runner_t *r) {
  (void)r;
}

int cfx_run(client_fixture_t *f) {
  REQUIRE(lbsim_traffic_init(&f->world, &f->loop, &f->sched, &f->cfg, f->cfg.seed, 0, f->urls, f->nurls, NULL,
                               f->max_connections) == 0);
  for (uint32_t i = 0; i < f->nurls; i++) {
    struct sockaddr_in a;
    uv_ip4_addr(f->urls[i].host, f->urls[i].port, &a);
    if (f->naddrs[i] > 0)
      REQUIRE(lbsim_traffic_set_addresses(&f->world, i, f->addrs[i], f->naddrs[i]) == 0);
    else
      lbsim_traffic_set_address(&f->world, i, (struct sockaddr *)&a);
  }
  lbsim_runner_init(&f->runner, &f->loop, &f->sched, &f->cfg, f->cfg.seed, &f->world, 1, NULL, f->out);
  uint64_t t0 = uv_hrtime();
  lbsim_runner_start(&f->runner, cfx_on_finished);
  while (!f->finished)
    uv_run(&f->loop, UV_RUN_ONCE);
  f->elapsed_s = (double)(uv_hrtime() - t0) / 1e9;
  return 0;
}

int cfx_teardown(client_fixture_t *f) {
  lbsim_runner_close(&f->runner, on_runner_closed);
  for (uint32_t i = 0; i < f->nbackends; i++) {
    lbsim_backend_close(&f->backends[i], NULL);
    lbsim_model_close(&f->models[i], noop_close);
  }
  for (int i = 0; i < 50; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  lbsim_sched_close(&f->sched, NULL);
  int ok = close_loop(&f->loop);
  lbsim_traffic_free(&f->world);
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
