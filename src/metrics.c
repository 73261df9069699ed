/* The read-only metrics endpoint. See lbsim/metrics.h. */
#include "lbsim/metrics.h"

#include "internal.h"
#include "lbsim/admin.h"

enum { KIND_METRICS = 1, KIND_NOT_FOUND, KIND_NOT_ALLOWED };

void lbsim_metrics_text(const lbsim_balancer_t *balancers, uint32_t nbalancers, const lbsim_backend_t *backends,
                        uint32_t nbackends, lbsim_buf_t *out) {
  if (nbalancers > 0)
    lbsim_client_metrics(balancers, nbalancers, out);
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
    lbsim_metrics_text(m->balancers, m->nbalancers, m->backends, m->nbackends, &body);
    if (lbsim_buf_ok(&body)) {
      lbsim_hresponse_simple(out, e, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body.data, body.len);
    } else {
      static const char oom[] = "out of memory\n";
      lbsim_hresponse_simple(out, e, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n", oom, sizeof(oom) - 1);
    }
    lbsim_buf_free(&body);
    break;
  }
  case KIND_NOT_ALLOWED: {
    static const char body[] = "read-only: GET /metrics\n";
    lbsim_hresponse_simple(out, e, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    break;
  }
  default: {
    static const char body[] = "not found: GET /metrics\n";
    lbsim_hresponse_simple(out, e, 404, "text/plain; charset=utf-8", NULL, body, sizeof(body) - 1);
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
