/* Simulated backends: models (latency and drift) and their HTTP copies. */
#include "lbsim/backend.h"

#include <math.h>

#include "internal.h"

enum { KIND_PING = 1, KIND_NOT_FOUND, KIND_METHOD_NOT_ALLOWED };

/* ---- models ------------------------------------------------------------- */

static void on_drift(uv_timer_t *timer) {
  lbsim_model_t *model = timer->data;
  double old = model->latency.latency_ms;
  lbsim_latency_drift(&model->latency);
  model->generation++;
  if (model->on_change)
    model->on_change(model, old, model->on_change_data);
}

void lbsim_model_init(lbsim_model_t *model, uv_loop_t *loop, const lbsim_config_t *cfg, uint64_t seed,
                      uint32_t index) {
  memset(model, 0, sizeof(*model));
  model->index = index;
  lbsim_latency_init(&model->latency, &cfg->latency, seed, index);
  model->drift_period_ms = lbsim_s_to_ms(cfg->drift_period_s);
  model->generation = 1;
  uv_timer_init(loop, &model->drift_timer);
  model->drift_timer.data = model;
}

void lbsim_model_start_drift(lbsim_model_t *model) {
  if (model->drift_period_ms > 0)
    uv_timer_start(&model->drift_timer, on_drift, model->drift_period_ms, model->drift_period_ms);
}

void lbsim_model_set_latency(lbsim_model_t *model, double ms) {
  double old = model->latency.latency_ms;
  model->latency.latency_ms = ms;
  model->generation++;
  if (model->on_change)
    model->on_change(model, old, model->on_change_data);
}

double lbsim_model_true_ms(const lbsim_model_t *model) {
  return model->latency.latency_ms;
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

static void backend_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  static const char ping[] = "/ping";
  if (req->path == NULL || req->path_len != sizeof(ping) - 1 || memcmp(req->path, ping, sizeof(ping) - 1) != 0) {
    e->kind = KIND_NOT_FOUND;
    e->status = 404;
    return;
  }
  if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
    e->kind = KIND_METHOD_NOT_ALLOWED;
    e->status = 405;
    return;
  }
  e->kind = KIND_PING;
  e->status = 200;
  e->due_ns = now_ns + lbsim_ms_to_ns(b->model->latency.latency_ms);
  b->in_flight++;
}

static void backend_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  lbsim_backend_t *b = app;
  b->answered[e->status / 100 < 6 ? e->status / 100 : 0]++;
  switch (e->kind) {
  case KIND_PING:
    b->in_flight--;
    if (b->ping_generation != b->model->generation)
      refresh_ping(b);
    lbsim_hresponse_head(out, e, 200);
    lbsim_buf_append(out, b->ping_tail,
                     (e->flags & LBSIM_HENTRY_HEAD) ? b->ping_tail_len - b->ping_body_len : b->ping_tail_len);
    break;
  case KIND_METHOD_NOT_ALLOWED: {
    static const char body[] = "{\"status\":\"error\",\"code\":405,\"reason\":\"Method Not Allowed\"}\n";
    lbsim_hresponse_simple(out, e, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    break;
  }
  default: {
    static const char body[] = "{\"status\":\"error\",\"code\":404,\"reason\":\"Not Found\"}\n";
    lbsim_hresponse_simple(out, e, 404, "application/json", NULL, body, sizeof(body) - 1);
    break;
  }
  }
}

static void backend_dropped(void *app, const lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  if (e->kind == KIND_PING)
    b->in_flight--;
}

static const lbsim_happ_t backend_app = {
    .route = backend_route,
    .render = backend_render,
    .dropped = backend_dropped,
};

int lbsim_backend_start(lbsim_backend_t *b, uv_loop_t *loop, lbsim_sched_t *sched, lbsim_model_t *model,
                        const lbsim_config_t *cfg, uint16_t port) {
  memset(b, 0, sizeof(*b));
  b->model = model;
  lbsim_httpd_init(&b->httpd, loop, sched, &backend_app, b);
  b->httpd.max_conns = cfg->max_conns;
  b->httpd.max_output_bytes = cfg->max_output_bytes;
  b->httpd.limits.max_header_bytes = cfg->max_header_bytes;
  b->httpd.limits.max_url_bytes = cfg->max_url_bytes;
  b->httpd.limits.max_body_bytes = cfg->max_body_bytes;
  b->httpd.limits.max_pipeline = cfg->max_pipeline;
  b->httpd.limits.request_timeout_ns = lbsim_ms_to_ns(cfg->header_timeout_s * 1000.0);
  b->httpd.limits.idle_timeout_ns = lbsim_ms_to_ns(cfg->idle_timeout_s * 1000.0);
  int err = lbsim_httpd_listen(&b->httpd, cfg->host, port, &b->port);
  if (err != 0)
    return err;
  bool v6 = strchr(cfg->host, ':') != NULL;
  snprintf(b->url, sizeof(b->url), v6 ? "http://[%s]:%u/ping" : "http://%s:%u/ping", cfg->host, b->port);
  refresh_ping(b);
  return 0;
}

void lbsim_backend_close(lbsim_backend_t *b, lbsim_httpd_closed_cb on_closed) {
  lbsim_httpd_close(&b->httpd, on_closed);
}
