/* The read-only metrics endpoint. See lbsim/control/metrics.h. */
#include "lbsim/control/metrics.h"

#include <math.h>
#include <string.h>

#include "lbsim/balancer/tools.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"
#include "lbsim/report/report.h"

enum { KIND_METRICS = 1, KIND_NOT_FOUND, KIND_NOT_ALLOWED };

static void escape_label(lbsim_buf_t *out, const char *v) {
  for (; *v; v++) {
    if (*v == '"' || *v == '\\')
      lbsim_buf_printf(out, "\\%c", *v);
    else if (*v == '\n')
      lbsim_buf_append_str(out, "\\n");
    else
      lbsim_buf_append(out, v, 1);
  }
}

/* What the clients knew of the backends' load (--load-reports, --load-board). */
static void loads_metrics(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out) {
  lbsim_buf_append_str(out, "# HELP lbsim_client_view_age_seconds Mean age of the view of the backend's load each pick "
                            "used (picks of a backend heard from).\n# TYPE lbsim_client_view_age_seconds gauge\n");
  for (uint32_t w = 0; w < nfleets; w++) {
    double age_ms = lbsim_report_view_age_ms(&fleets[w].stats);
    lbsim_buf_printf(out, "lbsim_client_view_age_seconds{policy=\"%s\"} %.9g\n", fleets[w].policy_name,
                     isnan(age_ms) ? 0.0 : age_ms / 1000.0);
  }
  lbsim_buf_append_str(out, "# HELP lbsim_client_view_picks_total Picks whose backend's load had been heard from.\n"
                            "# TYPE lbsim_client_view_picks_total counter\n");
  for (uint32_t w = 0; w < nfleets; w++)
    lbsim_buf_printf(out, "lbsim_client_view_picks_total{policy=\"%s\"} %llu\n", fleets[w].policy_name,
                     (unsigned long long)fleets[w].stats.view_age_picks);
  if (fleets[0].cfg->load_board_s > 0)
    lbsim_buf_printf(out, "# HELP lbsim_load_board_period_seconds How often the board shows the backends' state.\n"
                          "# TYPE lbsim_load_board_period_seconds gauge\nlbsim_load_board_period_seconds %.9g\n",
                     fleets[0].cfg->load_board_s);
}

/* With a tool around the pick on: user requests apart from attempts, the
 * tally, and how many clients have each backend ejected now. */
static void tools_metrics(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out) {
  lbsim_buf_append_str(out, "# HELP lbsim_client_user_requests_total User requests ended, by result (requests_total "
                            "counts their attempts).\n# TYPE lbsim_client_user_requests_total counter\n");
  for (uint32_t w = 0; w < nfleets; w++)
    for (int r = 0; r < LBSIM_RESULT_COUNT; r++)
      lbsim_buf_printf(out, "lbsim_client_user_requests_total{policy=\"%s\",result=\"%s\"} %llu\n",
                       fleets[w].policy_name, lbsim_result_name((lbsim_result_t)r),
                       (unsigned long long)fleets[w].stats.total.by_result[r]);
  lbsim_buf_append_str(out, "# HELP lbsim_client_tally_total What the tools around the pick counted: user requests, "
                            "attempts, retries, retries not made and why, resent requests, ejections, returns.\n"
                            "# TYPE lbsim_client_tally_total counter\n");
  for (uint32_t w = 0; w < nfleets; w++)
    for (size_t k = 0; k < lbsim_tally_nfields; k++)
      lbsim_buf_printf(out, "lbsim_client_tally_total{policy=\"%s\",counter=\"%s\"} %llu\n", fleets[w].policy_name,
                       lbsim_tally_fields[k].name,
                       (unsigned long long)lbsim_tally_get(&fleets[w].stats.tally, &lbsim_tally_fields[k]));
  lbsim_buf_append_str(out, "# HELP lbsim_client_ejected Clients that have the backend ejected now (outlier "
                            "ejection).\n# TYPE lbsim_client_ejected gauge\n");
  for (uint32_t w = 0; w < nfleets; w++) {
    const lbsim_fleet_t *f = &fleets[w];
    for (uint32_t i = 0; i < f->n; i++) {
      uint32_t ejected = 0;
      for (uint32_t c = 0; f->tools->ejecting && c < f->nclients; c++) {
        const lbsim_balancer_t *b = &f->clients[c];
        uint32_t k = lbsim_balancer_local(b, i);
        ejected += k != UINT32_MAX && b->tools->outlier.hosts[k].ejected;
      }
      lbsim_buf_printf(out, "lbsim_client_ejected{policy=\"%s\",backend=\"", f->policy_name);
      escape_label(out, f->names[i]);
      lbsim_buf_printf(out, "\"} %u\n", ejected);
    }
  }
}

void lbsim_metrics_client(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out) {
  lbsim_buf_append_str(out, "# HELP lbsim_client_requests_total Requests completed by the balancer, by backend and "
                            "result.\n# TYPE lbsim_client_requests_total counter\n");
  for (uint32_t w = 0; w < nfleets; w++) {
    const lbsim_fleet_t *t = &fleets[w];
    for (uint32_t i = 0; i < t->n; i++)
      for (int r = 0; r < LBSIM_RESULT_COUNT; r++) {
        lbsim_buf_printf(out, "lbsim_client_requests_total{policy=\"%s\",backend=\"", t->policy_name);
        escape_label(out, t->names[i]);
        lbsim_buf_printf(out, "\",result=\"%s\"} %llu\n", lbsim_result_name((lbsim_result_t)r),
                         (unsigned long long)t->stats.backend[i].by_result[r]);
      }
  }
  static const double bounds_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  lbsim_buf_append_str(out, "# HELP lbsim_client_request_duration_seconds Latency of successful requests, from the "
                            "pick to the last byte.\n# TYPE lbsim_client_request_duration_seconds histogram\n");
  for (uint32_t w = 0; w < nfleets; w++) {
    const lbsim_counts_t *c = &fleets[w].stats.total;
    for (size_t k = 0; k < LBSIM_ARRAY_SIZE(bounds_s); k++)
      lbsim_buf_printf(out, "lbsim_client_request_duration_seconds_bucket{policy=\"%s\",le=\"%g\"} %llu\n",
                       fleets[w].policy_name, bounds_s[k],
                       (unsigned long long)lbsim_hist_count_le(&c->latency, bounds_s[k] * 1e6));
    lbsim_buf_printf(out,
                     "lbsim_client_request_duration_seconds_bucket{policy=\"%s\",le=\"+Inf\"} %llu\n"
                     "lbsim_client_request_duration_seconds_sum{policy=\"%s\"} %.6f\n"
                     "lbsim_client_request_duration_seconds_count{policy=\"%s\"} %llu\n",
                     fleets[w].policy_name, (unsigned long long)c->ok, fleets[w].policy_name, c->latency.sum_us / 1e6,
                     fleets[w].policy_name, (unsigned long long)c->ok);
  }
  lbsim_buf_append_str(out, "# HELP lbsim_client_estimate_seconds The balancer's EMA of each backend's latency.\n"
                            "# TYPE lbsim_client_estimate_seconds gauge\n");
  for (uint32_t w = 0; w < nfleets; w++)
    for (uint32_t i = 0; i < fleets[w].n; i++) {
      lbsim_buf_printf(out, "lbsim_client_estimate_seconds{policy=\"%s\",backend=\"", fleets[w].policy_name);
      escape_label(out, fleets[w].names[i]);
      lbsim_buf_printf(out, "\"} %.6f\n", lbsim_fleet_ema_ms(&fleets[w], i) / 1000.0);
    }
  lbsim_buf_append_str(out, "# HELP lbsim_client_in_flight Requests launched and not yet completed.\n"
                            "# TYPE lbsim_client_in_flight gauge\n");
  for (uint32_t w = 0; w < nfleets; w++)
    lbsim_buf_printf(out, "lbsim_client_in_flight{policy=\"%s\"} %llu\n", fleets[w].policy_name,
                     (unsigned long long)lbsim_fleet_in_flight(&fleets[w]));
  if (nfleets > 0 && lbsim_report_loads_on(fleets[0].cfg))
    loads_metrics(fleets, nfleets, out);
  if (nfleets > 0 && fleets[0].tools != NULL)
    tools_metrics(fleets, nfleets, out);
}

/* One gauge of a fleet's spread: min, median or mean, max. */
static void spread_gauge(lbsim_buf_t *out, const char *name, const char *policy, const lbsim_spread_t *sp, bool mean,
                         double scale) {
  const char *stats[3] = {"min", mean ? "mean" : "median", "max"};
  double v[3] = {sp->min, mean ? sp->mean : sp->median, sp->max};
  for (int k = 0; k < 3; k++)
    lbsim_buf_printf(out, "%s{policy=\"%s\",stat=\"%s\"} %.6g\n", name, policy, stats[k], v[k] * scale);
}

void lbsim_metrics_fleet(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out) {
  static const struct {
    const char *name, *help;
  } gauges[] = {
      {"lbsim_fleet_clients", "Balancers in the policy's fleet (--clients)."},
      {"lbsim_fleet_imbalance", "Last interval: time-averaged requests in flight, busiest backend over the mean."},
      {"lbsim_fleet_herd", "Last interval: the largest share of clients whose last pick went to one backend."},
      {"lbsim_fleet_client_success_ratio", "Last interval: the clients' own success ratios (min, median, max)."},
      {"lbsim_fleet_client_p99_seconds", "Last interval: the clients' own p99 latencies (min, median, max)."},
      {"lbsim_fleet_backend_connections", "Last interval's end: connections open per backend (min, mean, max)."},
      {"lbsim_fleet_backend_clients", "Clients whose subset holds each backend (min, mean, max)."},
  };
  for (size_t g = 0; g < LBSIM_ARRAY_SIZE(gauges); g++) {
    lbsim_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help, gauges[g].name);
    for (uint32_t w = 0; w < nfleets; w++) {
      const lbsim_fleet_t *f = &fleets[w];
      const lbsim_fleet_measures_t *m = &f->measures;
      const char *p = f->policy_name;
      switch (g) {
      case 0: lbsim_buf_printf(out, "%s{policy=\"%s\"} %u\n", gauges[g].name, p, f->nclients); break;
      case 1: lbsim_buf_printf(out, "%s{policy=\"%s\"} %.6g\n", gauges[g].name, p, m->imbalance); break;
      case 2: lbsim_buf_printf(out, "%s{policy=\"%s\"} %.6g\n", gauges[g].name, p, m->herd); break;
      case 3: spread_gauge(out, gauges[g].name, p, &m->success, false, 0.01); break;
      case 4: spread_gauge(out, gauges[g].name, p, &m->p99_ms, false, 0.001); break;
      case 5: spread_gauge(out, gauges[g].name, p, &m->conns, true, 1); break;
      default: spread_gauge(out, gauges[g].name, p, &m->clients, true, 1); break;
      }
    }
  }
}

void lbsim_metrics_text(const lbsim_fleet_t *fleets, uint32_t nfleets, const lbsim_backend_t *backends,
                        uint32_t nbackends, lbsim_buf_t *out) {
  if (nfleets > 0)
    lbsim_metrics_client(fleets, nfleets, out);
  if (nfleets > 0 && fleets[0].measuring)
    lbsim_metrics_fleet(fleets, nfleets, out);
  if (nbackends > 0)
    lbsim_backend_metrics(backends, nbackends, out);
}

static void metrics_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  (void)app;
  (void)now_ns;
  static const char path[] = "/metrics";
  bool is_metrics = req->path != NULL && req->path_len == sizeof(path) - 1 && memcmp(req->path, path, req->path_len) == 0;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  e->kind = !is_metrics ? KIND_NOT_FOUND : get ? KIND_METRICS : KIND_NOT_ALLOWED;
  e->status = e->kind == KIND_METRICS ? 200 : e->kind == KIND_NOT_FOUND ? 404 : 405;
}

static void metrics_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  const lbsim_metrics_t *m = app;
  switch (e->kind) {
  case KIND_METRICS: {
    lbsim_buf_t body = LBSIM_BUF_INIT;
    lbsim_metrics_text(m->fleets, m->nfleets, m->backends, m->nbackends, &body);
    if (lbsim_buf_ok(&body)) {
      lbsim_hreply_simple(out, e, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body.data, body.len);
    } else {
      static const char oom[] = "out of memory\n";
      lbsim_hreply_simple(out, e, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n", oom, sizeof(oom) - 1);
    }
    lbsim_buf_free(&body);
    break;
  }
  case KIND_NOT_ALLOWED: {
    static const char body[] = "read-only: GET /metrics\n";
    lbsim_hreply_simple(out, e, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    break;
  }
  default: {
    static const char body[] = "not found: GET /metrics\n";
    lbsim_hreply_simple(out, e, 404, "text/plain; charset=utf-8", NULL, body, sizeof(body) - 1);
    break;
  }
  }
}

static const lbsim_happ_t metrics_app = {
    .route = metrics_route,
    .render = metrics_render,
};

int lbsim_metrics_start(lbsim_metrics_t *m, uv_loop_t *loop, lbsim_sched_t *sched, const char *host, uint16_t port) {
  lbsim_httpd_init(&m->httpd, loop, sched, &metrics_app, m);
  /* Scrapers keep a connection or two: a small cap, and no request bodies. */
  m->httpd.max_conns = 64;
  m->httpd.limits.max_body_bytes = 0;
  return lbsim_httpd_listen(&m->httpd, host, port, &m->port);
}

void lbsim_metrics_close(lbsim_metrics_t *m, lbsim_httpd_closed_cb on_closed) {
  lbsim_httpd_close(&m->httpd, on_closed);
}
