/* The simulation on the real clock: wiring, signals, shutdown. See lbsim/net/sim.h. */
#include "lbsim/net/sim.h"

#include <signal.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#endif

#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/net/fdbudget.h"
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
    /* Closing the handles gives SIGTERM its default action back: during
     * the last moments of a shutdown it would kill the process instead of
     * letting it exit with its own status. */
    signal(SIGTERM, SIG_IGN);
  }
}

static void on_httpd_closed(lbsim_httpd_t *server) {
  handle_closed(server->loop->data);
}

static void on_client_closed(lbsim_client_t *client) {
  handle_closed(client->loop->data);
}

/* Closes everything; the loop then runs until the last handle is gone. */
static void sim_stop(lbsim_sim_t *sim) {
  if (sim->stopping)
    return;
  sim->stopping = true;
  sim->open_handles++; /* held until everything below is under way */
  lbsim_assembly_stop(&sim->run);
  if (sim->admin_ready) {
    sim->open_handles++;
    lbsim_admin_close(&sim->admin, on_httpd_closed);
  }
  if (sim->metrics_ready) {
    sim->open_handles++;
    lbsim_metrics_close(&sim->metrics, on_httpd_closed);
  }
  for (uint32_t w = 0; w < sim->nclients; w++) {
    sim->open_handles++;
    lbsim_client_close(&sim->clients[w], on_client_closed);
  }
  for (uint32_t i = 0; i < sim->nbackends; i++) {
    sim->open_handles++;
    lbsim_backend_close(&sim->backends[i], on_httpd_closed);
  }
  handle_closed(sim);
}

static void on_runner_finished(lbsim_runner_t *runner, uint64_t now_ns) {
  (void)now_ns;
  sim_stop(LBSIM_CONTAINER_OF(runner, lbsim_sim_t, run.runner));
}

static void on_signal(uv_signal_t *handle, int signum) {
  lbsim_sim_t *sim = handle->data;
  lbsim_runner_t *r = &sim->run.runner;
  bool running = sim->run.runner_ready && r->started && !r->finished;
  if (running && !r->stopping) {
    /* The summary comes once what is in flight has ended. */
    uint64_t in_flight = lbsim_runner_in_flight(r);
    if (in_flight > 0)
      lbsim_log("stopping: waiting for %llu requests in flight (at most %g s; Ctrl-C again to quit now)",
                (unsigned long long)in_flight, sim->run.cfg->timeout_s);
    lbsim_runner_stop(r, uv_hrtime());
  } else if (!running && !sim->stopping) {
    sim_stop(sim);
  } else if (signum == SIGINT) {
    /* A second Ctrl-C: leave at once. A second SIGTERM changes nothing. */
    sim->exit_code = LBSIM_EXIT_INTERRUPTED;
    sim->aborted = true;
    uv_stop(&sim->loop);
  }
}

/* A client run against servers elsewhere that got no answer at all is a
 * failed run (a scenario that fails the built-in backends on purpose is
 * not). */
static bool nothing_succeeded(const lbsim_sim_t *sim) {
  for (uint32_t w = 0; w < sim->run.nfleets; w++)
    if (sim->run.fleets[w].stats.total.ok > 0)
      return false;
  return true;
}

/* ---- backends -------------------------------------------------------------- */

/* A model changed: every copy of it takes the change in. */
static void sync_backends(lbsim_assembly_t *run, uint32_t i, uint64_t now_ns) {
  lbsim_sim_t *sim = LBSIM_CONTAINER_OF(run, lbsim_sim_t, run);
  for (uint32_t k = i; k < sim->nbackends; k += run->farm.n)
    lbsim_backend_sync(&sim->backends[k], now_ns);
}

static int start_backends(lbsim_sim_t *sim, uint32_t copies) {
  const lbsim_config_t *cfg = sim->run.cfg;
  int err = lbsim_assembly_models(&sim->run);
  if (err != 0)
    return err;
  const lbsim_farm_t *farm = &sim->run.farm;
  sim->backends = calloc((size_t)copies * farm->n, sizeof(*sim->backends));
  if (sim->backends == NULL) {
    lbsim_log_error("out of memory for %u backends", cfg->backends);
    return UV_ENOMEM;
  }
  for (uint32_t k = 0; k < copies * farm->n; k++) {
    uint32_t i = k % farm->n;
    uint16_t port = cfg->port_base ? (uint16_t)(cfg->port_base + k) : 0;
    lbsim_backend_t *b = &sim->backends[k];
    err = lbsim_backend_start(b, &sim->loop, &sim->sched, &farm->models[i], cfg, port, sim->run.seed);
    sim->nbackends = k + 1; /* a failed start still has a listener closing */
    if (err == UV_ENOMEM) {
      lbsim_log_error("out of memory for backend %u", i + 1);
      return err;
    }
    if (err != 0) {
      lbsim_log_error("cannot listen on %s:%u: %s", cfg->host, port, uv_strerror(err));
      return err;
    }
    if (copies > 1) {
      b->policy = cfg->policies[k / farm->n];
      lbsim_log("backend %u (copy for %s) listening on %s latency=%.2f ms", i + 1, b->policy, b->url,
                farm->models[i].latency.latency_ms);
    } else {
      lbsim_log("backend %u listening on %s latency=%.2f ms", i + 1, b->url, farm->models[i].latency.latency_ms);
    }
  }
  return 0;
}

/* The demo's balancers drive the copies just started, by their URLs. */
static int urls_of_backends(lbsim_sim_t *sim) {
  sim->urls = calloc(sim->nbackends, sizeof(*sim->urls));
  if (sim->urls == NULL) {
    lbsim_log_error("out of memory for the URLs of %u backends", sim->nbackends);
    return UV_ENOMEM;
  }
  sim->nurls = sim->run.farm.n;
  for (uint32_t k = 0; k < sim->nbackends; k++) {
    char why[128];
    if (lbsim_url_parse(&sim->urls[k], sim->backends[k].url, why, sizeof(why)) != 0) {
      lbsim_log_error("internal error: backend URL %s: %s", sim->backends[k].url, why);
      return UV_EINVAL;
    }
  }
  return 0;
}

/* ---- the run ------------------------------------------------------------------ */

/* Everything is listening and every address known: the output starts, the
 * scenario's clock starts (its changes at 0 s follow the start object), and
 * so does the traffic. */
static void start_run(lbsim_sim_t *sim) {
  if (sim->resolving > 0 || sim->stopping)
    return;
  lbsim_assembly_t *run = &sim->run;
  if (run->names == NULL && sim->nbackends > 0) {
    /* --backends-only: the start object names the backends by their URLs. */
    if (lbsim_assembly_names(run, sim->nbackends) != 0) {
      sim->exit_code = LBSIM_EXIT_RUNTIME;
      sim_stop(sim);
      return;
    }
    for (uint32_t k = 0; k < sim->nbackends; k++)
      run->names[k] = sim->backends[k].url;
  }
  if (lbsim_assembly_start(run, run->names, run->nbackends, uv_hrtime(), on_runner_finished) != 0) {
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  }
}

/* The HTTP client of client c of fleet f. */
static lbsim_client_t *http_client(lbsim_sim_t *sim, const lbsim_fleet_t *f, uint32_t c) {
  return &sim->clients[(size_t)f->index * f->nclients + c];
}

typedef struct resolve_s {
  uv_getaddrinfo_t req;
  lbsim_sim_t *sim;
  uint32_t index;
} resolve_t;

/* The client gets every address, in the resolver's order, and tries them
 * in turn as curl does: `localhost` is often ::1 first, then 127.0.0.1. */
static int set_resolved(lbsim_sim_t *sim, uint32_t index, const struct addrinfo *res) {
  uint32_t n = 0;
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
    n++;
  const struct sockaddr **addrs = calloc(n, sizeof(*addrs));
  if (addrs == NULL)
    return UV_ENOMEM;
  n = 0;
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
    addrs[n++] = ai->ai_addr;
  int err = 0;
  lbsim_fleet_t *f = &sim->run.fleets[index / sim->nurls];
  for (uint32_t c = 0; c < f->nclients && err == 0; c++) {
    uint32_t pool = lbsim_balancer_local(&f->clients[c], index % sim->nurls);
    if (pool != UINT32_MAX)
      err = lbsim_client_set_addresses(http_client(sim, f, c), pool, addrs, n);
  }
  free(addrs);
  return err;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  resolve_t *r = LBSIM_CONTAINER_OF(req, resolve_t, req);
  lbsim_sim_t *sim = r->sim;
  sim->resolving--;
  if (status == 0 && res == NULL)
    status = UV_EAI_NODATA;
  if (status == 0)
    status = set_resolved(sim, r->index, res);
  if (status != 0 && !sim->stopping) {
    lbsim_log_error("cannot resolve %s: %s", sim->urls[r->index].host, uv_strerror(status));
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  }
  uv_freeaddrinfo(res);
  free(r);
  start_run(sim);
}

/* Numeric hosts are used as they are; names are resolved once, here, with
 * uv_getaddrinfo. Traffic starts when every address is known. */
static int resolve_all(lbsim_sim_t *sim) {
  sim->resolving = 1; /* held while the look-ups are issued */
  for (uint32_t k = 0; k < sim->run.nfleets * sim->nurls; k++) {
    const lbsim_url_t *url = &sim->urls[k];
    struct sockaddr_storage addr;
    if (uv_ip4_addr(url->host, url->port, (struct sockaddr_in *)&addr) == 0 ||
        uv_ip6_addr(url->host, url->port, (struct sockaddr_in6 *)&addr) == 0) {
      const lbsim_fleet_t *f = &sim->run.fleets[k / sim->nurls];
      for (uint32_t c = 0; c < f->nclients; c++) {
        uint32_t pool = lbsim_balancer_local(&f->clients[c], k % sim->nurls);
        if (pool != UINT32_MAX)
          lbsim_client_set_address(http_client(sim, f, c), pool, (struct sockaddr *)&addr);
      }
      continue;
    }
    /* Only --client-only has names, and it has one fleet. */
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

/* Connections open to each backend: every client's pools. */
static void count_conns(const lbsim_fleet_t *f, void *data, uint32_t *out) {
  lbsim_sim_t *sim = data;
  memset(out, 0, f->n * sizeof(*out));
  for (uint32_t c = 0; c < f->nclients; c++) {
    const lbsim_balancer_t *b = &f->clients[c];
    for (uint32_t k = 0; k < b->n; k++) {
      uint32_t open, idle;
      lbsim_client_pool_counts(http_client(sim, f, c), k, &open, &idle);
      out[lbsim_balancer_backend(b, k)] += open;
    }
  }
}

static int start_fleets(lbsim_sim_t *sim) {
  lbsim_assembly_t *run = &sim->run;
  const lbsim_config_t *cfg = run->cfg;
  int err = lbsim_assembly_names(run, sim->nurls);
  if (err != 0)
    return err;
  for (uint32_t k = 0; k < run->npolicies * sim->nurls; k++)
    run->names[k] = sim->urls[k].text;
  err = lbsim_assembly_fleets(run);
  if (err != 0)
    return err;
  uint32_t nclients = run->fleets[0].nclients;
  sim->clients = calloc((size_t)run->nfleets * nclients, sizeof(*sim->clients));
  if (sim->clients == NULL) {
    lbsim_log_error("cannot start the client: %s", uv_strerror(UV_ENOMEM));
    return UV_ENOMEM;
  }
  lbsim_client_config_t ccfg = {
      .pool_size = cfg->pool_size,
      .max_total = sim->max_connections,
      /* Beyond the descriptor budget, a few requests per connection rather
       * than a whole round trip's wait: far below any server's cap
       * (nginx and lbsim's backends queue dozens). */
      .max_pipeline = 8,
      .timeout_ns = lbsim_ms_to_ns(cfg->timeout_s * 1000.0),
      .idle_ns = lbsim_ms_to_ns(cfg->client_idle_s * 1000.0),
  };
  for (uint32_t w = 0; w < run->nfleets; w++) {
    lbsim_fleet_t *f = &run->fleets[w];
    for (uint32_t c = 0; c < f->nclients; c++) {
      lbsim_balancer_t *b = &f->clients[c];
      lbsim_client_t *client = http_client(sim, f, c);
      /* Counted as soon as it is tried: closing and freeing handle a client
       * that stopped half-way. */
      sim->nclients++;
      err = lbsim_client_init(client, &sim->loop, &sim->sched, &ccfg, &sim->urls[(size_t)w * sim->nurls], b->subset,
                              b->n);
      if (err != 0) {
        lbsim_log_error("cannot start the client: %s", uv_strerror(err));
        return err;
      }
      lbsim_balancer_attach(b, &client->transport);
    }
    f->conns = count_conns;
    f->conns_data = sim;
  }
  err = lbsim_assembly_runner(run);
  if (err != 0)
    return err;
  return resolve_all(sim);
}

/* ---- admin ----------------------------------------------------------------------- */

static int start_admin(lbsim_sim_t *sim) {
  lbsim_admin_t *a = &sim->admin;
  memset(a, 0, sizeof(*a));
  a->cfg = sim->run.cfg;
  a->seed = sim->run.seed;
  a->farm = &sim->run.farm;
  a->backends = sim->backends;
  a->nbackends = sim->nbackends;
  a->fleets = sim->run.fleets;
  a->nfleets = sim->run.nfleets;
  int err = lbsim_admin_start(a, &sim->loop, &sim->sched, (uint16_t)a->cfg->admin_port);
  sim->admin_ready = true; /* a failed start still has a listener closing */
  if (err != 0) {
    lbsim_log_error("cannot listen on 127.0.0.1:%u for --admin: %s", a->cfg->admin_port, uv_strerror(err));
    return err;
  }
  lbsim_log("admin listening on http://127.0.0.1:%u/ (GET /backends, POST /backends/N, GET /metrics)", a->port);
  lbsim_log("dashboard on http://127.0.0.1:%u/", a->port);
  /* The dashboard gets the run in JSON, whatever stdout's format. */
  sim->run.report.next = &a->report;
  return 0;
}

/* A read-only scrape endpoint, on any address the user names. */
static int start_metrics(lbsim_sim_t *sim) {
  lbsim_metrics_t *m = &sim->metrics;
  memset(m, 0, sizeof(*m));
  m->fleets = sim->run.fleets;
  m->nfleets = sim->run.nfleets;
  m->backends = sim->backends;
  m->nbackends = sim->nbackends;
  const lbsim_config_t *cfg = sim->run.cfg;
  int err = lbsim_metrics_start(m, &sim->loop, &sim->sched, cfg->metrics_host, (uint16_t)cfg->metrics_port);
  sim->metrics_ready = true; /* a failed start still has a listener closing */
  bool v6 = strchr(cfg->metrics_host, ':') != NULL;
  if (err != 0) {
    lbsim_log_error(v6 ? "cannot listen on [%s]:%u for --metrics: %s" : "cannot listen on %s:%u for --metrics: %s",
                    cfg->metrics_host, cfg->metrics_port, uv_strerror(err));
    return err;
  }
  lbsim_log(v6 ? "metrics on http://[%s]:%u/metrics (read-only)" : "metrics on http://%s:%u/metrics (read-only)",
            cfg->metrics_host, m->port);
  return 0;
}

/* ---- file descriptors ------------------------------------------------------------ */

/* Raises the descriptor limit and shares it out (fdbudget.h). */
static int plan_descriptors(lbsim_sim_t *sim, const lbsim_config_t *cfg) {
  uint64_t limit = lbsim_raise_fd_limit();
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(cfg, limit, &plan);
  switch (plan.verdict) {
  case LBSIM_FD_NO_LISTENERS:
    lbsim_log_error("%llu backends need about %llu file descriptors but the limit is %llu: raise it (ulimit -n)",
                    (unsigned long long)(plan.fixed - LBSIM_FD_RESERVE), (unsigned long long)plan.fixed,
                    (unsigned long long)limit);
    return UV_EMFILE;
  case LBSIM_FD_NO_CONNECTION:
    lbsim_log_error("the file descriptor limit %llu leaves no connection for the client: raise it (ulimit -n)",
                    (unsigned long long)limit);
    return UV_EMFILE;
  case LBSIM_FD_CAPPED:
    sim->max_connections = plan.max_connections;
    lbsim_log("note: the file descriptor limit (%llu) allows %u client connections%s; "
              "requests beyond are pipelined on busy ones",
              (unsigned long long)limit, sim->max_connections,
              plan.balancers == 1 ? "" : cfg->clients > 1 ? " per client" : " per policy");
    return 0;
  case LBSIM_FD_OK:
  default:
    return 0;
  }
}

/* ---- run --------------------------------------------------------------------- */

int lbsim_sim_run(const lbsim_config_t *cfg) {
  lbsim_sim_t sim_storage;
  lbsim_sim_t *sim = &sim_storage;
  memset(sim, 0, sizeof(*sim));
  sim->exit_code = LBSIM_EXIT_OK;
  uint64_t seed = cfg->seed_given ? cfg->seed : lbsim_rng_clock_seed();

  signal(SIGPIPE, SIG_IGN);
#ifdef __linux__
  /* Deadlines are simulated latencies: let the kernel wake us on time
   * rather than up to 50 us late to batch wake-ups. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
#endif
  if (plan_descriptors(sim, cfg) != 0)
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
  lbsim_assembly_t *run = &sim->run;
  lbsim_assembly_init(run, cfg, seed, &sim->sched.clock, stdout, 0, sync_backends);

  lbsim_log("lbsim %s seed=%llu", LBSIM_VERSION, (unsigned long long)seed);
  unsigned long errors_before = lbsim_log_errors();

  uv_signal_init(&sim->loop, &sim->sigint);
  uv_signal_init(&sim->loop, &sim->sigterm);
  sim->sigint.data = sim->sigterm.data = sim;
  uv_signal_start(&sim->sigint, on_signal, SIGINT);
  uv_signal_start(&sim->sigterm, on_signal, SIGTERM);

  err = 0;
  if (cfg->role != LBSIM_ROLE_CLIENT)
    err = start_backends(sim, cfg->role == LBSIM_ROLE_DEMO ? run->npolicies : 1);
  if (err == 0 && cfg->role == LBSIM_ROLE_DEMO)
    err = urls_of_backends(sim);
  if (err == 0 && cfg->role == LBSIM_ROLE_CLIENT) {
    sim->nurls = cfg->nservers;
    sim->urls = cfg->servers;
  }
  if (err == 0 && cfg->role != LBSIM_ROLE_BACKENDS)
    err = start_fleets(sim);
  if (err == 0 && cfg->admin)
    err = start_admin(sim);
  if (err == 0 && cfg->metrics)
    err = start_metrics(sim);
  if (err == 0)
    start_run(sim); /* or, with names to look up, once they are resolved */
  if (err != 0) {
    sim->exit_code = LBSIM_EXIT_RUNTIME;
    sim_stop(sim);
  }

  /* Runs until every handle is closed: sim_stop() starts that. */
  uv_run(&sim->loop, UV_RUN_DEFAULT);
  if (sim->aborted) {
    lbsim_report_flush(&run->report);
    return sim->exit_code; /* no cleanup: the user asked to leave now */
  }
  if (run->runner_ready && (run->runner.report_failed || run->report.failed) && sim->exit_code == LBSIM_EXIT_OK)
    sim->exit_code = LBSIM_EXIT_RUNTIME;
  if (run->runner_ready && cfg->role == LBSIM_ROLE_CLIENT && sim->exit_code == LBSIM_EXIT_OK &&
      nothing_succeeded(sim)) {
    if (lbsim_log_errors() == errors_before) /* else the reason is told already (out of memory) */
      lbsim_log_error("not one request succeeded: no server answered 200 in time");
    sim->exit_code = LBSIM_EXIT_RUNTIME;
  }
  err = uv_loop_close(&sim->loop);
  if (err != 0) {
    lbsim_log_error("internal error: handles left open at exit (%s)", uv_strerror(err));
    if (sim->exit_code == LBSIM_EXIT_OK)
      sim->exit_code = LBSIM_EXIT_RUNTIME;
  }
  for (uint32_t w = 0; w < sim->nclients; w++)
    lbsim_client_free(&sim->clients[w]);
  free(sim->clients);
  if (sim->urls != cfg->servers)
    free(sim->urls);
  free(sim->backends);
  lbsim_assembly_free(run);
  return sim->exit_code;
}
