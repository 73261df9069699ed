/* The simulation: one loop, the backends, the balancers, signals, shutdown. */
#include "lbsim/sim.h"

#include <signal.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "internal.h"
#include "lbsim/report.h"
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

/* ---- shutdown ------------------------------------------------------------ */

/* The signal handles close last, so that a second SIGINT during shutdown
 * is still ours. */
static void handle_closed(lbsim_sim_t *sim) {
  if (--sim->open_handles == 0) {
    lbsim_sched_close(&sim->sched, NULL); /* every connection is gone */
    uv_close((uv_handle_t *)&sim->sigint, NULL);
    uv_close((uv_handle_t *)&sim->sigterm, NULL);
  }
}

static void on_handle_closed(uv_handle_t *handle) {
  handle_closed(handle->loop->data);
}

static void on_backend_closed(lbsim_httpd_t *server) {
  handle_closed(server->loop->data);
}

static void on_runner_closed(lbsim_runner_t *runner) {
  handle_closed(runner->loop->data);
}

/* Closes everything; the loop then runs until the last handle is gone. */
static void sim_stop(lbsim_sim_t *sim) {
  if (sim->stopping)
    return;
  sim->stopping = true;
  sim->open_handles++; /* held until everything below is under way */
  if (sim->runner_ready) {
    sim->open_handles++;
    lbsim_runner_close(&sim->runner, on_runner_closed);
  }
  if (sim->admin_ready) {
    sim->open_handles++;
    lbsim_admin_close(&sim->admin, on_backend_closed);
  }
  for (uint32_t i = 0; i < sim->nmodels; i++) {
    sim->open_handles++;
    lbsim_model_close(&sim->models[i], on_handle_closed);
  }
  if (sim->nmodels > 0) {
    sim->open_handles++;
    uv_close((uv_handle_t *)&sim->scenario_timer, on_handle_closed);
  }
  for (uint32_t i = 0; i < sim->nbackends; i++) {
    sim->open_handles++;
    lbsim_backend_close(&sim->backends[i], on_backend_closed);
  }
  handle_closed(sim);
}

static void on_runner_finished(lbsim_runner_t *runner) {
  sim_stop(runner->loop->data);
}

static void on_signal(uv_signal_t *handle, int signum) {
  lbsim_sim_t *sim = handle->data;
  lbsim_runner_t *r = &sim->runner;
  bool running = sim->runner_ready && r->started && !r->finished;
  if (running && !r->stopping) {
    /* The summary comes once what is in flight has ended. */
    uint64_t in_flight = lbsim_runner_in_flight(r);
    if (in_flight > 0)
      lbsim_log("stopping: waiting for %llu requests in flight (at most %g s; Ctrl-C again to quit now)",
                (unsigned long long)in_flight, sim->cfg->timeout_s);
    lbsim_runner_stop(r);
  } else if (!running && !sim->stopping) {
    sim_stop(sim);
  } else if (signum == SIGINT) {
    /* A second Ctrl-C: leave at once. A second SIGTERM changes nothing. */
    sim->exit_code = LBSIM_EXIT_INTERRUPTED;
    sim->aborted = true;
    uv_stop(&sim->loop);
  }
}

/* ---- backends -------------------------------------------------------------- */

static const char *const origin_names[] = {"scenario", "drift", "admin"};

/* Logs a change (stderr; drift steps unless --quiet), reports it (JSON),
 * and brings every copy of the backend in line. */
static void on_model_changed(lbsim_model_t *model, const lbsim_event_t *ev, double old, void *data) {
  lbsim_sim_t *sim = data;
  uint64_t now = uv_hrtime();
  double t = (double)(now - sim->start_ns) / LBSIM_NS_PER_S;
  unsigned i = model->index + 1;
  const char *origin = origin_names[ev->origin];
  double now_value = ev->value;
  char jitter[48] = "";
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    if (ev->origin != LBSIM_ORIGIN_DRIFT || !sim->cfg->quiet)
      lbsim_log("backend %u latency %.2f -> %.2f ms%s%s%s", i, old, model->latency.latency_ms,
                ev->origin == LBSIM_ORIGIN_DRIFT ? "" : " (", ev->origin == LBSIM_ORIGIN_DRIFT ? "" : origin,
                ev->origin == LBSIM_ORIGIN_DRIFT ? "" : ")");
    now_value = model->latency.latency_ms;
    break;
  case LBSIM_ACTION_UP:
    if (ev->slow_start_s > 0)
      lbsim_log("backend %u up, slow start over %g s from x%g (%s)", i, ev->slow_start_s, ev->slow_start_factor,
                origin);
    else
      lbsim_log("backend %u up (%s)", i, origin);
    break;
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    lbsim_log("backend %u %s (%s)", i, lbsim_action_name(ev->action), origin);
    break;
  case LBSIM_ACTION_JITTER:
    lbsim_jitter_format(&ev->jitter, jitter, sizeof(jitter));
    lbsim_log("backend %u jitter %s (%s)", i, jitter, origin);
    break;
  case LBSIM_ACTION_ERROR_RATE:
  case LBSIM_ACTION_CAPACITY:
    lbsim_log("backend %u %s %g -> %g (%s)", i, lbsim_action_name(ev->action), old, ev->value, origin);
    break;
  }
  lbsim_report_change(stdout, sim->cfg, t, model->index, ev, old, now_value, jitter);
  for (uint32_t k = model->index; k < sim->nbackends; k += sim->nmodels)
    lbsim_backend_sync(&sim->backends[k], now);
  lbsim_oracle_touch(&sim->oracle, now);
}

/* ---- scenario ------------------------------------------------------------------ */

static uint64_t event_due_ms(const lbsim_sim_t *sim, const lbsim_event_t *ev) {
  return lbsim_s_to_ms(ev->at_s * sim->cfg->time_scale);
}

static void on_scenario_timer(uv_timer_t *timer) {
  lbsim_sim_t *sim = timer->data;
  const lbsim_scenario_t *sc = &sim->cfg->scenario;
  uint64_t elapsed_ms = (uv_hrtime() - sim->start_ns) / 1000000u;
  while (sim->next_event < sc->nevents && event_due_ms(sim, &sc->events[sim->next_event]) <= elapsed_ms + 1) {
    const lbsim_event_t *ev = &sc->events[sim->next_event++];
    uint64_t now = uv_hrtime();
    if (ev->backend == LBSIM_ALL_BACKENDS)
      for (uint32_t i = 0; i < sim->nmodels; i++)
        lbsim_model_apply(&sim->models[i], ev, now);
    else
      lbsim_model_apply(&sim->models[ev->backend], ev, now);
  }
  if (sim->next_event < sc->nevents) {
    uint64_t due = event_due_ms(sim, &sc->events[sim->next_event]);
    uv_timer_start(timer, on_scenario_timer, due > elapsed_ms ? due - elapsed_ms : 0, 0);
  }
}

/* Events at 0 s apply before anything listens; the rest by the timer. */
static void start_scenario(lbsim_sim_t *sim) {
  uv_timer_init(&sim->loop, &sim->scenario_timer);
  sim->scenario_timer.data = sim;
  if (sim->cfg->scenario.nevents > 0)
    on_scenario_timer(&sim->scenario_timer);
}

/* On an error, what was started is closed by sim_stop: the models and the
 * scenario timer once nmodels is set, and every backend below nbackends. */
static int start_backends(lbsim_sim_t *sim, uint32_t copies) {
  const lbsim_config_t *cfg = sim->cfg;
  sim->models = calloc(cfg->backends, sizeof(*sim->models));
  sim->backends = calloc((size_t)copies * cfg->backends, sizeof(*sim->backends));
  if (sim->models == NULL || sim->backends == NULL) {
    lbsim_log_error("out of memory for %u backends", cfg->backends);
    return UV_ENOMEM;
  }
  for (uint32_t i = 0; i < cfg->backends; i++) {
    lbsim_model_init(&sim->models[i], &sim->loop, cfg, sim->seed, i);
    sim->models[i].on_change = on_model_changed;
    sim->models[i].on_change_data = sim;
  }
  sim->nmodels = cfg->backends;
  lbsim_oracle_init(&sim->oracle, sim->models, sim->nmodels);
  start_scenario(sim);
  for (uint32_t k = 0; k < copies * sim->nmodels; k++) {
    uint32_t i = k % sim->nmodels;
    uint16_t port = cfg->port_base ? (uint16_t)(cfg->port_base + k) : 0;
    lbsim_backend_t *b = &sim->backends[k];
    int err = lbsim_backend_start(b, &sim->loop, &sim->sched, &sim->models[i], cfg, port, sim->seed);
    sim->nbackends = k + 1; /* a failed start still has a listener closing */
    if (err == UV_ENOMEM) {
      lbsim_log_error("out of memory for backend %u", i + 1);
      return err;
    }
    if (err != 0) {
      lbsim_log_error("cannot listen on %s:%u: %s", cfg->host, port, uv_strerror(err));
      return err;
    }
    lbsim_backend_sync(b, uv_hrtime()); /* a backend scripted down at 0 s */
    if (copies > 1)
      b->policy = cfg->policies[k / sim->nmodels];
    if (copies == 1)
      lbsim_log("backend %u listening on %s latency=%.2f ms", i + 1, b->url, sim->models[i].latency.latency_ms);
    else
      lbsim_log("backend %u (copy for %s) listening on %s latency=%.2f ms", i + 1, cfg->policies[k / sim->nmodels],
                b->url, sim->models[i].latency.latency_ms);
  }
  for (uint32_t i = 0; i < sim->nmodels; i++)
    lbsim_model_start_drift(&sim->models[i]);
  return 0;
}

/* The demo's balancers drive the copies just started, by their URLs. */
static int urls_of_backends(lbsim_sim_t *sim) {
  sim->urls = calloc(sim->nbackends, sizeof(*sim->urls));
  if (sim->urls == NULL) {
    lbsim_log_error("out of memory for the URLs of %u backends", sim->nbackends);
    return UV_ENOMEM;
  }
  sim->nurls = sim->nmodels;
  for (uint32_t k = 0; k < sim->nbackends; k++) {
    char why[128];
    if (lbsim_url_parse(&sim->urls[k], sim->backends[k].url, why, sizeof(why)) != 0) {
      lbsim_log_error("internal error: backend URL %s: %s", sim->backends[k].url, why);
      return UV_EINVAL;
    }
  }
  return 0;
}

/* ---- balancers --------------------------------------------------------------- */

static void start_runner_when_resolved(lbsim_sim_t *sim) {
  if (sim->resolving > 0 || sim->stopping)
    return;
  lbsim_runner_start(&sim->runner, on_runner_finished);
}

typedef struct resolve_s {
  uv_getaddrinfo_t req;
  lbsim_sim_t *sim;
  uint32_t index;
} resolve_t;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_t *r = LBSIM_CONTAINER_OF(req, resolve_t, req);
  lbsim_sim_t *sim = r->sim;
  sim->resolving--;
  if (status == 0 && res != NULL) {
    for (uint32_t w = 0; w < sim->nworlds; w++)
      lbsim_traffic_set_address(&sim->worlds[w], r->index, res->ai_addr);
  } else if (!sim->stopping) {
    lbsim_log_error("cannot resolve %s: %s", sim->urls[r->index].host, status ? uv_strerror(status) : "no address");
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  }
  uv_freeaddrinfo(res);
  free(r);
  start_runner_when_resolved(sim);
}

/* Numeric hosts are used as they are; names are resolved once, here, with
 * uv_getaddrinfo. Traffic starts when every address is known. */
static int resolve_all(lbsim_sim_t *sim) {
  sim->resolving = 1; /* held while the look-ups are issued */
  for (uint32_t k = 0; k < sim->nworlds * sim->nurls; k++) {
    const lbsim_url_t *url = &sim->urls[k];
    struct sockaddr_storage addr;
    if (uv_ip4_addr(url->host, url->port, (struct sockaddr_in *)&addr) == 0 ||
        uv_ip6_addr(url->host, url->port, (struct sockaddr_in6 *)&addr) == 0) {
      lbsim_traffic_set_address(&sim->worlds[k / sim->nurls], k % sim->nurls, (struct sockaddr *)&addr);
      continue;
    }
    /* Only --client-only has names, and it has one balancer. */
    resolve_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
      lbsim_log_error("cannot resolve %s: %s", url->host, uv_strerror(UV_ENOMEM));
      return UV_ENOMEM;
    }
    r->sim = sim;
    r->index = k;
    char port[8];
    snprintf(port, sizeof(port), "%u", url->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    sim->resolving++;
    int err = uv_getaddrinfo(&sim->loop, &r->req, on_resolved, url->host, port, &hints);
    if (err != 0) {
      sim->resolving--;
      free(r);
      lbsim_log_error("cannot resolve %s: %s", url->host, uv_strerror(err));
      return err;
    }
  }
  sim->resolving--;
  return 0;
}

static int start_balancers(lbsim_sim_t *sim, uint32_t nworlds) {
  const lbsim_config_t *cfg = sim->cfg;
  sim->worlds = calloc(nworlds, sizeof(*sim->worlds));
  if (sim->worlds == NULL) {
    lbsim_log_error("cannot start the client: %s", uv_strerror(UV_ENOMEM));
    return UV_ENOMEM;
  }
  lbsim_oracle_t *oracle = cfg->role == LBSIM_ROLE_DEMO ? &sim->oracle : NULL;
  int err = 0;
  for (uint32_t w = 0; w < nworlds && err == 0; w++) {
    err = lbsim_traffic_init(&sim->worlds[w], &sim->loop, &sim->sched, cfg, sim->seed, w,
                             &sim->urls[w * sim->nurls], sim->nurls, oracle, sim->max_connections);
    sim->nworlds = w + 1;
  }
  /* The runner owns closing the balancers: set it up even after an error. */
  int runner_err =
      lbsim_runner_init(&sim->runner, &sim->loop, &sim->sched, cfg, sim->seed, sim->worlds, sim->nworlds, oracle, stdout);
  sim->runner_ready = true;
  if (err != 0) {
    lbsim_log_error("cannot start the client: %s", uv_strerror(err));
    return err;
  }
  if (runner_err != 0) {
    lbsim_log_error("cannot start the report %s: %s", cfg->report_path, uv_strerror(runner_err));
    return runner_err;
  }
  err = resolve_all(sim);
  if (err != 0)
    return err;
  start_runner_when_resolved(sim);
  return 0;
}

/* ---- admin ----------------------------------------------------------------------- */

static int start_admin(lbsim_sim_t *sim) {
  lbsim_admin_t *a = &sim->admin;
  memset(a, 0, sizeof(*a));
  a->models = sim->models;
  a->nmodels = sim->nmodels;
  a->backends = sim->backends;
  a->nbackends = sim->nbackends;
  a->worlds = sim->worlds;
  a->nworlds = sim->nworlds;
  int err = lbsim_admin_start(a, &sim->loop, &sim->sched, (uint16_t)sim->cfg->admin_port);
  sim->admin_ready = true; /* a failed start still has a listener closing */
  if (err != 0) {
    lbsim_log_error("cannot listen on 127.0.0.1:%u for --admin: %s", sim->cfg->admin_port, uv_strerror(err));
    return err;
  }
  lbsim_log("admin listening on http://127.0.0.1:%u/ (GET /backends, POST /backends/N, GET /metrics)", a->port);
  return 0;
}

/* ---- file descriptors ------------------------------------------------------------ */

/* How many connections one balancer may hold open at once. */
static uint64_t connections_per_balancer(const lbsim_config_t *cfg, uint32_t nbackends) {
  uint64_t in_flight;
  switch (cfg->shape) {
  case LBSIM_SHAPE_CONCURRENCY:
    in_flight = cfg->concurrency;
    break;
  case LBSIM_SHAPE_RATE:
    in_flight = (uint64_t)(cfg->rate * cfg->timeout_s) + 1; /* at worst, every request waits its deadline */
    break;
  case LBSIM_SHAPE_BURST:
  default:
    in_flight = cfg->burst;
    break;
  }
  if (cfg->pool_size > 0 && (uint64_t)cfg->pool_size * nbackends < in_flight)
    in_flight = (uint64_t)cfg->pool_size * nbackends;
  return in_flight;
}

/* Raises the descriptor limit and shares it out. Every connection of a
 * balancer holds a socket, and in the demo one more in the backend; the
 * listeners and a reserve come first. Beyond what remains, requests are
 * pipelined on busy connections or wait for one (the client's max_total);
 * when not even one connection per balancer fits, the run is refused. */
static int plan_descriptors(lbsim_sim_t *sim) {
  const lbsim_config_t *cfg = sim->cfg;
  uint64_t limit = lbsim_raise_fd_limit();
  uint32_t worlds = cfg->compare ? cfg->npolicies : 1;
  uint32_t n = cfg->role == LBSIM_ROLE_CLIENT ? cfg->nservers : cfg->backends;
  uint64_t fixed = 64; /* stdio, the loop, signals, the scheduler, admin, name look-ups */
  if (cfg->role != LBSIM_ROLE_CLIENT)
    fixed += (uint64_t)worlds * cfg->backends;
  if (fixed >= limit) {
    lbsim_log_error("%u backends need about %llu file descriptors but the limit is %llu: raise it (ulimit -n)",
                    worlds * cfg->backends, (unsigned long long)fixed, (unsigned long long)limit);
    return -1;
  }
  if (cfg->role == LBSIM_ROLE_BACKENDS)
    return 0;
  uint64_t per_connection = cfg->role == LBSIM_ROLE_DEMO ? 2 : 1;
  /* A tenth is kept back: closed connections free their descriptors in the
   * backend a moment after the client has opened new ones. */
  uint64_t budget = (limit - fixed) * 9 / 10 / per_connection / worlds;
  if (budget < 1) {
    lbsim_log_error("the file descriptor limit %llu leaves no connection for the client: raise it (ulimit -n)",
                    (unsigned long long)limit);
    return -1;
  }
  uint64_t wanted = connections_per_balancer(cfg, n);
  if (wanted > budget) {
    sim->max_connections = budget > UINT32_MAX ? UINT32_MAX : (uint32_t)budget;
    lbsim_log("note: the file descriptor limit (%llu) allows %u client connections%s; "
              "requests beyond are pipelined on busy ones",
              (unsigned long long)limit, sim->max_connections, worlds > 1 ? " per policy" : "");
  }
  return 0;
}

/* ---- run --------------------------------------------------------------------- */

int lbsim_sim_run(const lbsim_config_t *cfg) {
  lbsim_sim_t sim_storage;
  lbsim_sim_t *sim = &sim_storage;
  memset(sim, 0, sizeof(*sim));
  sim->cfg = cfg;
  sim->exit_code = LBSIM_EXIT_OK;
  sim->seed = cfg->seed_given ? cfg->seed : lbsim_rng_clock_seed();

  signal(SIGPIPE, SIG_IGN);
#ifdef __linux__
  /* Deadlines are simulated latencies: let the kernel wake us on time
   * rather than up to 50 us late to batch wake-ups. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
#endif
  if (plan_descriptors(sim) != 0)
    return LBSIM_EXIT_RUNTIME;
  int err = uv_loop_init(&sim->loop);
  if (err != 0) {
    lbsim_log_error("cannot create the event loop: %s", uv_strerror(err));
    return LBSIM_EXIT_RUNTIME;
  }
  sim->loop.data = sim;
  err = lbsim_sched_init(&sim->sched, &sim->loop);
  if (err != 0) {
    lbsim_log_error("cannot create the scheduler: %s", uv_strerror(err));
    uv_loop_close(&sim->loop);
    return LBSIM_EXIT_RUNTIME;
  }
  sim->start_ns = uv_hrtime();

  lbsim_log("lbsim %s seed=%llu", LBSIM_VERSION, (unsigned long long)sim->seed);

  uv_signal_init(&sim->loop, &sim->sigint);
  uv_signal_init(&sim->loop, &sim->sigterm);
  sim->sigint.data = sim->sigterm.data = sim;
  uv_signal_start(&sim->sigint, on_signal, SIGINT);
  uv_signal_start(&sim->sigterm, on_signal, SIGTERM);

  uint32_t nworlds = cfg->compare ? cfg->npolicies : 1;
  bool failed = false;
  if (cfg->role != LBSIM_ROLE_CLIENT)
    failed = start_backends(sim, cfg->role == LBSIM_ROLE_DEMO ? nworlds : 1) != 0;
  if (!failed && cfg->role == LBSIM_ROLE_DEMO)
    failed = urls_of_backends(sim) != 0;
  if (!failed && cfg->role == LBSIM_ROLE_CLIENT) {
    sim->nurls = cfg->nservers;
    sim->urls = cfg->servers;
  }
  if (!failed && cfg->role != LBSIM_ROLE_BACKENDS)
    failed = start_balancers(sim, nworlds) != 0;
  if (!failed && cfg->admin)
    failed = start_admin(sim) != 0;
  if (failed) {
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  }

  /* Runs until every handle is closed: sim_stop() starts that. */
  uv_run(&sim->loop, UV_RUN_DEFAULT);
  if (sim->aborted) {
    fflush(stdout);
    return sim->exit_code; /* no cleanup: the user asked to leave now */
  }
  if (sim->runner_ready && sim->runner.report_failed && sim->exit_code == LBSIM_EXIT_OK)
    sim->exit_code = LBSIM_EXIT_RUNTIME;
  err = uv_loop_close(&sim->loop);
  if (err != 0) {
    lbsim_log_error("internal error: handles left open at exit (%s)", uv_strerror(err));
    if (sim->exit_code == LBSIM_EXIT_OK)
      sim->exit_code = LBSIM_EXIT_RUNTIME;
  }
  for (uint32_t w = 0; w < sim->nworlds; w++)
    lbsim_traffic_free(&sim->worlds[w]);
  free(sim->worlds);
  if (sim->urls != cfg->servers)
    free(sim->urls);
  free(sim->models);
  free(sim->backends);
  return sim->exit_code;
}
