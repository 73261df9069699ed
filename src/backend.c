/* Simulated backends: models (latency, drift, faults) and their HTTP copies. */
#include "lbsim/backend.h"

#include <math.h>

#include "internal.h"

enum { KIND_PING = 1, KIND_FAILED, KIND_METRICS, KIND_NOT_FOUND, KIND_METHOD_NOT_ALLOWED };

/* ---- models ------------------------------------------------------------- */

static void changed(lbsim_model_t *model, const lbsim_event_t *event, double old_value) {
  model->generation++;
  if (model->on_change)
    model->on_change(model, event, old_value, model->on_change_data);
}

static void on_drift(uv_timer_t *timer) {
  lbsim_model_t *model = timer->data;
  double old = model->latency.latency_ms;
  lbsim_latency_drift(&model->latency);
  /* A drift step is reported as a latency event without a line number. */
  lbsim_event_t ev = {.backend = (int32_t)model->index, .origin = LBSIM_ORIGIN_DRIFT,
                      .action = LBSIM_ACTION_LATENCY, .value = model->latency.latency_ms};
  changed(model, &ev, old);
}

void lbsim_model_init(lbsim_model_t *model, uv_loop_t *loop, const lbsim_config_t *cfg, uint64_t seed,
                      uint32_t index) {
  memset(model, 0, sizeof(*model));
  model->index = index;
  lbsim_latency_init(&model->latency, &cfg->latency, seed, index);
  model->drift_period_ms = lbsim_s_to_ms(cfg->drift_period_s);
  model->generation = 1;
  model->error_rate = cfg->error_rate;
  model->capacity = cfg->capacity;
  model->jitter = cfg->jitter;
  model->slow_start_factor = 1;
  uv_timer_init(loop, &model->drift_timer);
  model->drift_timer.data = model;
}

void lbsim_model_start_drift(lbsim_model_t *model) {
  if (model->drift_period_ms > 0)
    uv_timer_start(&model->drift_timer, on_drift, model->drift_period_ms, model->drift_period_ms);
}

void lbsim_model_apply(lbsim_model_t *model, const lbsim_event_t *ev, uint64_t now_ns) {
  double old = 0;
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    old = model->latency.latency_ms;
    model->latency.latency_ms = ev->value;
    break;
  case LBSIM_ACTION_ERROR_RATE:
    old = model->error_rate;
    model->error_rate = ev->value;
    break;
  case LBSIM_ACTION_DOWN:
    old = model->down;
    model->down = true;
    break;
  case LBSIM_ACTION_UP:
    old = model->down;
    model->down = false;
    model->slow_start_from_ns = now_ns;
    model->slow_start_ns = lbsim_ms_to_ns(ev->slow_start_s * 1000.0);
    model->slow_start_factor = ev->slow_start_factor > 1 ? ev->slow_start_factor : 1;
    break;
  case LBSIM_ACTION_STALL:
    old = model->stalled;
    model->stalled = true;
    break;
  case LBSIM_ACTION_RESUME:
    old = model->stalled;
    model->stalled = false;
    break;
  case LBSIM_ACTION_CAPACITY:
    old = model->capacity;
    model->capacity = (uint32_t)ev->value;
    break;
  case LBSIM_ACTION_JITTER:
    model->jitter = ev->jitter;
    break;
  }
  changed(model, ev, old);
}

void lbsim_model_set_latency(lbsim_model_t *model, double ms) {
  lbsim_event_t ev = {.backend = (int32_t)model->index, .action = LBSIM_ACTION_LATENCY, .value = ms};
  lbsim_model_apply(model, &ev, 0);
}

/* The base latency, slowed down for a while after a recovery. */
static double current_ms(const lbsim_model_t *model, uint64_t now_ns) {
  double ms = model->latency.latency_ms;
  if (model->slow_start_ns > 0 && now_ns < model->slow_start_from_ns + model->slow_start_ns) {
    double left = 1.0 - (double)(now_ns - model->slow_start_from_ns) / (double)model->slow_start_ns;
    ms *= 1.0 + (model->slow_start_factor - 1.0) * left;
  }
  return ms;
}

double lbsim_model_true_ms(const lbsim_model_t *model, uint64_t now_ns) {
  if (model->down || model->stalled)
    return INFINITY;
  return current_ms(model, now_ns);
}

void lbsim_model_close(lbsim_model_t *model, uv_close_cb closed) {
  uv_close((uv_handle_t *)&model->drift_timer, closed);
}

/* ---- the HTTP application ------------------------------------------------ */

static void refresh_ping(lbsim_backend_t *b) {
  char body[128];
  int n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"backend\":%u,\"latency_ms\":%.2f}",
                   b->model->index + 1, b->model->latency.latency_ms);
  int m = snprintf(b->ping_tail, sizeof(b->ping_tail),
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", n, body);
  b->ping_tail_len = (uint32_t)m;
  b->ping_body_len = (uint32_t)n;
  b->ping_generation = b->model->generation;
}

static bool path_is(const lbsim_hrequest_t *req, const char *path) {
  size_t n = strlen(path);
  return req->path != NULL && req->path_len == n && memcmp(req->path, path, n) == 0;
}

static void route_ping(lbsim_backend_t *b, uint64_t now_ns, lbsim_hentry_t *e) {
  const lbsim_model_t *m = b->model;
  b->in_flight++;
  if (m->stalled) {
    /* Accepted, never answered: the client's deadline decides. */
    e->kind = KIND_PING;
    e->status = 200;
    e->due_ns = LBSIM_NEVER;
    return;
  }
  double service_ms = lbsim_jitter_apply(&m->jitter, current_ms(m, now_ns), &b->jitter_rng);
  e->due_ns = lbsim_servers_schedule(&b->servers, now_ns, lbsim_ms_to_ns(service_ms));
  if (m->error_rate > 0 && lbsim_rng_double(&b->error_rng) < m->error_rate) {
    e->kind = KIND_FAILED;
    e->status = 503;
  } else {
    e->kind = KIND_PING;
    e->status = 200;
  }
}

static void backend_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  if (path_is(req, "/ping")) {
    if (get) {
      route_ping(b, now_ns, e);
      return;
    }
  } else if (path_is(req, "/metrics")) {
    if (get) {
      e->kind = KIND_METRICS;
      e->status = 200;
      return;
    }
  } else {
    e->kind = KIND_NOT_FOUND;
    e->status = 404;
    return;
  }
  e->kind = KIND_METHOD_NOT_ALLOWED;
  e->status = 405;
}

static void backend_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  lbsim_backend_t *b = app;
  switch (e->kind) {
  case KIND_PING:
    b->in_flight--;
    b->answered_200++;
    if (b->ping_generation != b->model->generation)
      refresh_ping(b);
    lbsim_hresponse_head(out, e, 200);
    lbsim_buf_append(out, b->ping_tail,
                     (e->flags & LBSIM_HENTRY_HEAD) ? b->ping_tail_len - b->ping_body_len : b->ping_tail_len);
    break;
  case KIND_FAILED: {
    b->in_flight--;
    b->answered_503++;
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"status\":\"error\",\"backend\":%u,\"reason\":\"injected failure\"}\n",
                     b->model->index + 1);
    lbsim_hresponse_simple(out, e, 503, "application/json", NULL, body, (size_t)n);
    break;
  }
  case KIND_METRICS: {
    lbsim_buf_t text = {0};
    lbsim_backend_metrics(&b, 1, &text);
    lbsim_buf_take_error(out, &text);
    lbsim_hresponse_simple(out, e, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text.data, text.len);
    lbsim_buf_free(&text);
    break;
  }
  case KIND_METHOD_NOT_ALLOWED: {
    static const char body[] = "{\"status\":\"error\",\"code\":405,\"reason\":\"Method Not Allowed\"}\n";
    b->answered_405++;
    lbsim_hresponse_simple(out, e, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    break;
  }
  default: {
    static const char body[] = "{\"status\":\"error\",\"code\":404,\"reason\":\"Not Found\"}\n";
    b->answered_404++;
    lbsim_hresponse_simple(out, e, 404, "application/json", NULL, body, sizeof(body) - 1);
    break;
  }
  }
}

static void backend_dropped(void *app, const lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  if (e->kind == KIND_PING || e->kind == KIND_FAILED)
    b->in_flight--;
}

static const lbsim_happ_t backend_app = {
    .route = backend_route,
    .render = backend_render,
    .dropped = backend_dropped,
};

/* The labels of a copy: backend="N", and policy="..." in compare mode. */
static void labels(const lbsim_backend_t *b, char *buf, size_t len) {
  if (b->policy)
    snprintf(buf, len, "backend=\"%u\",policy=\"%s\"", b->model->index + 1, b->policy);
  else
    snprintf(buf, len, "backend=\"%u\"", b->model->index + 1);
}

static uint64_t queue_length(const lbsim_backend_t *b) {
  uint32_t cap = b->model->capacity;
  return cap && b->in_flight > cap ? b->in_flight - cap : 0;
}

void lbsim_backend_metrics(lbsim_backend_t *const *copies, uint32_t n, lbsim_buf_t *out) {
  char l[128];
  static const struct {
    const char *code;
    size_t offset;
  } codes[] = {{"200", offsetof(lbsim_backend_t, answered_200)},
               {"404", offsetof(lbsim_backend_t, answered_404)},
               {"405", offsetof(lbsim_backend_t, answered_405)},
               {"503", offsetof(lbsim_backend_t, answered_503)}};
  lbsim_buf_printf(out, "# HELP lbsim_backend_requests_total Requests answered, by status code.\n"
                        "# TYPE lbsim_backend_requests_total counter\n");
  for (uint32_t k = 0; k < n; k++) {
    labels(copies[k], l, sizeof(l));
    for (size_t c = 0; c < LBSIM_ARRAY_SIZE(codes); c++)
      lbsim_buf_printf(out, "lbsim_backend_requests_total{%s,code=\"%s\"} %llu\n", l, codes[c].code,
                       (unsigned long long)*(const uint64_t *)((const char *)copies[k] + codes[c].offset));
  }
  static const struct {
    const char *name, *type, *help;
  } gauges[] = {
      {"lbsim_backend_latency_seconds", "gauge", "Current base latency of the backend."},
      {"lbsim_backend_in_flight", "gauge", "Requests received and not yet answered."},
      {"lbsim_backend_queue_length", "gauge", "Requests waiting for a free server (beyond --capacity)."},
      {"lbsim_backend_connections", "gauge", "Open client connections."},
      {"lbsim_backend_error_rate", "gauge", "Probability of answering 503."},
      {"lbsim_backend_up", "gauge", "1 if the backend accepts and answers requests."},
  };
  for (size_t g = 0; g < LBSIM_ARRAY_SIZE(gauges); g++) {
    lbsim_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", gauges[g].name, gauges[g].help, gauges[g].name,
                     gauges[g].type);
    for (uint32_t k = 0; k < n; k++) {
      const lbsim_backend_t *b = copies[k];
      const lbsim_model_t *m = b->model;
      double v = 0;
      switch (g) {
      case 0: v = m->latency.latency_ms / 1000.0; break;
      case 1: v = (double)b->in_flight; break;
      case 2: v = (double)queue_length(b); break;
      case 3: v = b->httpd.nconns; break;
      case 4: v = m->error_rate; break;
      default: v = !(m->down || m->stalled); break;
      }
      labels(b, l, sizeof(l));
      lbsim_buf_printf(out, "%s{%s} %.9g\n", gauges[g].name, l, v);
    }
  }
}

int lbsim_backend_start(lbsim_backend_t *b, uv_loop_t *loop, lbsim_sched_t *sched, lbsim_model_t *model,
                        const lbsim_config_t *cfg, uint16_t port, uint64_t seed) {
  memset(b, 0, sizeof(*b));
  b->model = model;
  lbsim_rng_init(&b->jitter_rng, seed, LBSIM_STREAM_JITTER + model->index);
  lbsim_rng_init(&b->error_rng, seed, LBSIM_STREAM_ERRORS + model->index);
  lbsim_httpd_init(&b->httpd, loop, sched, &backend_app, b);
  if (lbsim_servers_init(&b->servers, model->capacity) != 0)
    return UV_ENOMEM;
  b->httpd.max_conns = cfg->max_conns;
  b->httpd.max_output_bytes = cfg->max_output_bytes;
  b->httpd.limits.max_header_bytes = cfg->max_header_bytes;
  b->httpd.limits.max_url_bytes = cfg->max_url_bytes;
  b->httpd.limits.max_body_bytes = cfg->max_body_bytes;
  b->httpd.limits.max_pipeline = cfg->max_pipeline;
  b->httpd.limits.request_timeout_ns = lbsim_ms_to_ns(cfg->header_timeout_s * 1000.0);
  b->httpd.limits.idle_timeout_ns = lbsim_ms_to_ns(cfg->idle_timeout_s * 1000.0);
  snprintf(b->host, sizeof(b->host), "%s", cfg->host);
  int err = lbsim_httpd_listen(&b->httpd, cfg->host, port, &b->port);
  if (err != 0)
    return err;
  bool v6 = strchr(cfg->host, ':') != NULL;
  snprintf(b->url, sizeof(b->url), v6 ? "http://[%s]:%u/ping" : "http://%s:%u/ping", cfg->host, b->port);
  refresh_ping(b);
  return 0;
}

void lbsim_backend_sync(lbsim_backend_t *b, uint64_t now_ns) {
  const lbsim_model_t *m = b->model;
  if (m->down && !b->down) {
    /* A crash: nothing listens, connections are reset, answers are lost. */
    b->down = true;
    lbsim_httpd_stop_listening(&b->httpd);
    lbsim_httpd_close_connections(&b->httpd, true);
  } else if (!m->down && b->down) {
    b->down = false;
    int err = lbsim_httpd_relisten(&b->httpd);
    if (err != 0)
      lbsim_log_error("backend %u cannot listen again on port %u: %s", m->index + 1, b->port, uv_strerror(err));
  }
  if (m->capacity != b->servers.capacity && lbsim_servers_resize(&b->servers, m->capacity, now_ns) != 0)
    lbsim_log_error("backend %u: out of memory for capacity %u", m->index + 1, m->capacity);
}

void lbsim_backend_close(lbsim_backend_t *b, lbsim_httpd_closed_cb on_closed) {
  lbsim_servers_free(&b->servers);
  lbsim_httpd_close(&b->httpd, on_closed);
}
