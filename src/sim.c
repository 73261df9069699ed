/* The simulation: one loop, the backends, the client, signals, shutdown. */
#include "lbsim/sim.h"

#include <signal.h>
#include <sys/resource.h>

#include "internal.h"
#include "lbsim_version.h"

uint64_t lbsim_raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* The signal handles close last, so that a second SIGINT during shutdown
 * is still ours. */
static void close_signals(lbsim_sim_t *sim) {
  uv_close((uv_handle_t *)&sim->sigint, NULL);
  uv_close((uv_handle_t *)&sim->sigterm, NULL);
}

static void handle_closed(lbsim_sim_t *sim) {
  if (--sim->open_handles == 0)
    close_signals(sim);
}

static void on_handle_closed(uv_handle_t *handle) {
  handle_closed(handle->loop->data);
}

static void on_backend_closed(lbsim_httpd_t *server) {
  handle_closed(server->loop->data);
}

static void on_model_changed(lbsim_model_t *model, double old_ms, void *data) {
  lbsim_sim_t *sim = data;
  if (!sim->cfg->quiet)
    lbsim_log("backend %u latency %.2f -> %.2f ms", model->index + 1, old_ms, model->latency.latency_ms);
}

/* Stops everything: the loop then runs until the last handle is closed. */
static void sim_stop(lbsim_sim_t *sim) {
  if (sim->stopping)
    return;
  sim->stopping = true;
  sim->open_handles++; /* held until everything below is under way */
  for (uint32_t i = 0; i < sim->nmodels; i++) {
    sim->open_handles++;
    lbsim_model_close(&sim->models[i], on_handle_closed);
  }
  for (uint32_t i = 0; i < sim->nbackends; i++) {
    sim->open_handles++;
    lbsim_backend_close(&sim->backends[i], on_backend_closed);
  }
  handle_closed(sim);
}

static void on_signal(uv_signal_t *handle, int signum) {
  lbsim_sim_t *sim = handle->data;
  if (!sim->stopping) {
    sim_stop(sim);
  } else if (signum == SIGINT) {
    /* A second Ctrl-C: leave at once. */
    sim->exit_code = LBSIM_EXIT_INTERRUPTED;
    sim->aborted = true;
    uv_stop(&sim->loop);
  }
}

static int start_backends(lbsim_sim_t *sim) {
  const lbsim_config_t *cfg = sim->cfg;
  sim->nmodels = cfg->backends;
  sim->models = calloc(sim->nmodels, sizeof(*sim->models));
  sim->backends = calloc(sim->nmodels, sizeof(*sim->backends));
  if (sim->models == NULL || sim->backends == NULL) {
    lbsim_log_error("out of memory for %u backends", cfg->backends);
    return -1;
  }
  for (uint32_t i = 0; i < sim->nmodels; i++) {
    lbsim_model_init(&sim->models[i], &sim->loop, cfg, sim->seed, i);
    sim->models[i].on_change = on_model_changed;
    sim->models[i].on_change_data = sim;
  }
  for (uint32_t i = 0; i < sim->nmodels; i++) {
    uint16_t port = cfg->port_base ? (uint16_t)(cfg->port_base + i) : 0;
    int err = lbsim_backend_start(&sim->backends[i], &sim->loop, &sim->models[i], cfg, port);
    sim->nbackends = i + 1; /* a failed start still has a listener closing */
    if (err != 0) {
      lbsim_log_error("cannot listen on %s:%u: %s", cfg->host, port, uv_strerror(err));
      return -1;
    }
    lbsim_log("backend %u listening on %s latency=%.2f ms", i + 1, sim->backends[i].url,
              sim->models[i].latency.latency_ms);
  }
  for (uint32_t i = 0; i < sim->nmodels; i++)
    lbsim_model_start_drift(&sim->models[i]);
  return 0;
}

int lbsim_sim_run(const lbsim_config_t *cfg) {
  lbsim_sim_t sim_storage;
  lbsim_sim_t *sim = &sim_storage;
  memset(sim, 0, sizeof(*sim));
  sim->cfg = cfg;
  sim->exit_code = LBSIM_EXIT_OK;
  sim->seed = cfg->seed_given ? cfg->seed : lbsim_rng_clock_seed();

  signal(SIGPIPE, SIG_IGN);
  lbsim_raise_fd_limit();
  int err = uv_loop_init(&sim->loop);
  if (err != 0) {
    lbsim_log_error("cannot create the event loop: %s", uv_strerror(err));
    return LBSIM_EXIT_RUNTIME;
  }
  sim->loop.data = sim;

  lbsim_log("lbsim %s seed=%llu", LBSIM_VERSION, (unsigned long long)sim->seed);

  uv_signal_init(&sim->loop, &sim->sigint);
  uv_signal_init(&sim->loop, &sim->sigterm);
  sim->sigint.data = sim->sigterm.data = sim;
  uv_signal_start(&sim->sigint, on_signal, SIGINT);
  uv_signal_start(&sim->sigterm, on_signal, SIGTERM);

  if (cfg->role != LBSIM_ROLE_CLIENT && start_backends(sim) != 0) {
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  } else if (cfg->role == LBSIM_ROLE_DEMO) {
    lbsim_log("running the backends only: the balancer client is not built yet (Ctrl-C to stop)");
  }

  /* Runs until every handle is closed: sim_stop() starts that. */
  uv_run(&sim->loop, UV_RUN_DEFAULT);
  if (sim->aborted) {
    fflush(stdout);
    return sim->exit_code; /* no cleanup: the user asked to leave now */
  }
  err = uv_loop_close(&sim->loop);
  if (err != 0) {
    lbsim_log_error("internal error: handles left open at exit (%s)", uv_strerror(err));
    if (sim->exit_code == LBSIM_EXIT_OK)
      sim->exit_code = LBSIM_EXIT_RUNTIME;
  }
  free(sim->models);
  free(sim->backends);
  return sim->exit_code;
}
