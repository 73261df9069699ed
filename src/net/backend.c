/* Simulated backends on sockets. See lbsim/net/backend.h. */
#include "lbsim/net/backend.h"

#include <assert.h>
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/net/http/hreply.h"

enum { KIND_PING = 1, KIND_FAILED, KIND_METRICS, KIND_PROBE, KIND_NOT_FOUND, KIND_METHOD_NOT_ALLOWED };

static uint64_t queue_length(const lbsim_backend_t *b);

/* Every status a backend sends, with its counter, in the order /metrics
 * lists them. */
static const struct {
  uint16_t status;
  const char *code;
  size_t offset;
} answer_counters[] = {
    {200, "200", offsetof(lbsim_backend_t, answered_200)}, {400, "400", offsetof(lbsim_backend_t, answered_400)},
    {404, "404", offsetof(lbsim_backend_t, answered_404)}, {405, "405", offsetof(lbsim_backend_t, answered_405)},
    {408, "408", offsetof(lbsim_backend_t, answered_408)}, {413, "413", offsetof(lbsim_backend_t, answered_413)},
    {414, "414", offsetof(lbsim_backend_t, answered_414)}, {417, "417", offsetof(lbsim_backend_t, answered_417)},
    {431, "431", offsetof(lbsim_backend_t, answered_431)}, {503, "503", offsetof(lbsim_backend_t, answered_503)},
    {505, "505", offsetof(lbsim_backend_t, answered_505)},
};

static uint64_t *answer_counter(lbsim_backend_t *b, size_t row) {
  return (uint64_t *)((char *)b + answer_counters[row].offset);
}

/* The answers with answer_counters[row]'s status, turned-away connections
 * included. */
static uint64_t answers_sent(const lbsim_backend_t *b, size_t row) {
  uint64_t n = *(const uint64_t *)((const char *)b + answer_counters[row].offset);
  return answer_counters[row].status == 503 ? n + b->httpd.rejected : n;
}

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
  b->in_flight++;
  /* The answer waits until the model says it is ready (a stalled backend:
   * never; the client's deadline decides). */
  e->status = lbsim_copy_serve(&b->copy, now_ns, &e->due_ns);
  e->kind = e->status == 200 ? KIND_PING : KIND_FAILED;
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
  } else if (path_is(req, "/probe")) {
    if (get) {
      /* A balancer's probe: answered at once with what the backend holds,
       * unless it is stalled (then never, as a request). */
      e->kind = KIND_PROBE;
      e->status = 200;
      e->due_ns = b->model->stalled ? LBSIM_NEVER : now_ns;
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
    lbsim_hreply_head(out, e, 200);
    lbsim_buf_append(out, b->ping_tail,
                     (e->flags & LBSIM_HENTRY_HEAD) ? b->ping_tail_len - b->ping_body_len : b->ping_tail_len);
    break;
  case KIND_FAILED: {
    b->in_flight--;
    b->answered_503++;
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"status\":\"error\",\"backend\":%u,\"reason\":\"injected failure\"}\n",
                     b->model->index + 1);
    lbsim_hreply_simple(out, e, 503, "application/json", NULL, body, (size_t)n);
    break;
  }
  case KIND_METRICS: {
    lbsim_buf_t text = {0};
    b->answered_200++; /* before rendering: the answer counts itself */
    lbsim_backend_metrics(b, 1, &text);
    lbsim_buf_take_error(out, &text);
    lbsim_hreply_simple(out, e, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text.data, text.len);
    lbsim_buf_free(&text);
    break;
  }
  case KIND_PROBE: {
    char body[128];
    b->answered_200++;
    int n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"backend\":%u,\"in_flight\":%llu,\"queue\":%llu}\n",
                     b->model->index + 1, (unsigned long long)b->in_flight, (unsigned long long)queue_length(b));
    lbsim_hreply_simple(out, e, 200, "application/json", NULL, body, (size_t)n);
    break;
  }
  case KIND_METHOD_NOT_ALLOWED: {
    static const char body[] = "{\"status\":\"error\",\"code\":405,\"reason\":\"Method Not Allowed\"}\n";
    b->answered_405++;
    lbsim_hreply_simple(out, e, 405, "application/json", "Allow: GET, HEAD\r\n", body, sizeof(body) - 1);
    break;
  }
  default: {
    static const char body[] = "{\"status\":\"error\",\"code\":404,\"reason\":\"Not Found\"}\n";
    b->answered_404++;
    lbsim_hreply_simple(out, e, 404, "application/json", NULL, body, sizeof(body) - 1);
    break;
  }
  }
}

static void backend_dropped(void *app, const lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  if (e->kind == KIND_PING || e->kind == KIND_FAILED)
    b->in_flight--;
}

/* The session's own answers to bad requests: rare, so a table search is
 * fine here; the answers above count without one. */
static void backend_error_sent(void *app, const lbsim_hentry_t *e) {
  lbsim_backend_t *b = app;
  for (size_t row = 0; row < LBSIM_ARRAY_SIZE(answer_counters); row++)
    if (answer_counters[row].status == e->status) {
      (*answer_counter(b, row))++;
      return;
    }
  assert(!"a status missing from answer_counters");
}

static const lbsim_happ_t backend_app = {
    .route = backend_route,
    .render = backend_render,
    .dropped = backend_dropped,
    .error_sent = backend_error_sent,
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

void lbsim_backend_metrics(const lbsim_backend_t *copies, uint32_t n, lbsim_buf_t *out) {
  char l[128];
  lbsim_buf_printf(out, "# HELP lbsim_backend_requests_total Requests answered, by status code.\n"
                        "# TYPE lbsim_backend_requests_total counter\n");
  for (uint32_t k = 0; k < n; k++) {
    labels(&copies[k], l, sizeof(l));
    for (size_t row = 0; row < LBSIM_ARRAY_SIZE(answer_counters); row++)
      lbsim_buf_printf(out, "lbsim_backend_requests_total{%s,code=\"%s\"} %llu\n", l, answer_counters[row].code,
                       (unsigned long long)answers_sent(&copies[k], row));
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
      const lbsim_backend_t *b = &copies[k];
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

int lbsim_backend_start(lbsim_backend_t *b, uv_loop_t *loop, lbsim_sched_t *sched,
                        const lbsim_model_t *model, const lbsim_config_t *cfg, uint16_t port, uint64_t seed) {
  memset(b, 0, sizeof(*b));
  b->model = model;
  lbsim_httpd_init(&b->httpd, loop, sched, &backend_app, b);
  if (lbsim_copy_init(&b->copy, model, seed) != 0)
    return UV_ENOMEM;
  lbsim_httpd_configure(&b->httpd, cfg);
  snprintf(b->host, sizeof(b->host), "%s", cfg->host);
  int err = lbsim_httpd_listen(&b->httpd, cfg->host, port, &b->port);
  if (err != 0)
    return err;
  lbsim_url_backend(b->url, sizeof(b->url), cfg->host, b->port);
  refresh_ping(b);
  return 0;
}

void lbsim_backend_sync(lbsim_backend_t *b, uint64_t now_ns) {
  const lbsim_model_t *m = b->model;
  int went = lbsim_copy_sync(&b->copy, now_ns);
  if (went < 0) {
    /* A crash: nothing listens, connections are reset, answers are lost. */
    lbsim_httpd_stop_listening(&b->httpd);
    lbsim_httpd_close_connections(&b->httpd, true);
  } else if (went > 0) {
    int err = lbsim_httpd_relisten(&b->httpd);
    if (err != 0)
      lbsim_log_error("backend %u cannot listen again on port %u: %s", m->index + 1, b->port, uv_strerror(err));
  }
}

void lbsim_backend_close(lbsim_backend_t *b, lbsim_httpd_closed_cb on_closed) {
  lbsim_copy_free(&b->copy);
  lbsim_httpd_close(&b->httpd, on_closed);
}
