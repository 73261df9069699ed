/* The admin endpoint and the dashboard. See lbsim/control/admin.h. */
#include "lbsim/control/admin.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>

#include "lbsim/base/error.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/base/rng.h"
#include "lbsim/control/metrics.h"
#include "lbsim/net/http/hreply.h"
#include "web_assets.h"

/* The session's entries: an answer rendered at route time, waiting in slot
 * `arg` (see "answers" below); the head of an event stream, whose slot
 * holds its Last-Event-ID; or none, memory having run out before anything
 * was changed. */
enum { ENTRY_STORED = 1, ENTRY_EVENTS, ENTRY_NO_MEMORY };

#define ERROR_LEN 320 /* a refusal's reason */
#define MAX_CHANGES 8 /* fields of one POST */

/* The request headers the admin reads (lbsim_hlimits_t.capture). */
static const char *const captured[] = {"host", "origin", "content-type", "last-event-id", NULL};
enum { H_HOST, H_ORIGIN, H_CONTENT_TYPE, H_LAST_EVENT_ID };

/* Every answer: nothing is sniffed, framed, or leaks a referrer, and the
 * only scripts a page of ours may run are the admin's own files. */
#define SECURITY_HEADERS                                                                                            \
  "X-Content-Type-Options: nosniff\r\n"                                                                             \
  "Referrer-Policy: no-referrer\r\n"                                                                                \
  "X-Frame-Options: DENY\r\n"                                                                                       \
  "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "             \
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
#define NO_STORE "Cache-Control: no-store\r\n"

static const char api_headers[] = SECURITY_HEADERS NO_STORE;
/* Revalidated on every load: a rebuilt lbsim serves a new page. */
static const char asset_headers[] = SECURITY_HEADERS "Cache-Control: no-cache\r\n";
static const char get_only_headers[] = SECURITY_HEADERS NO_STORE "Allow: GET, HEAD\r\n";
static const char get_post_headers[] = SECURITY_HEADERS NO_STORE "Allow: GET, HEAD, POST\r\n";
static const char json_only_headers[] = SECURITY_HEADERS NO_STORE "Accept-Post: application/json\r\n";

struct lbsim_admin_answer_s {
  lbsim_buf_t body;
  const unsigned char *static_body; /* an embedded file instead of body */
  size_t static_len;
  const char *type;
  const char *headers;
  char last_event_id[LBSIM_HFIELD_MAX]; /* of an /events request ("" none) */
  bool has_last_event_id;
  uint32_t next_free;
};

#define NO_SLOT UINT32_MAX

/* A viewer of /events: where it is in the history. */
typedef struct viewer_s {
  lbsim_queue_t node;
  lbsim_hconn_t *conn;
  uint64_t next_id;       /* the next event it gets */
} viewer_t;

/* A viewer is sent more once its socket holds less than this. */
#define VIEWER_LOW_WATER (64u << 10)
/* Kernel buffer of a viewer's socket: fixed, so that a viewer that does not
 * read holds little there, and falls behind the history soon enough. */
#define VIEWER_SOCKET_BUFFER (256 << 10)
/* When the run ends, what a viewer has not read yet is written out, and it
 * has this long to take it. */
#define VIEWER_FINISH_NS (5 * (uint64_t)LBSIM_NS_PER_S)
/* Beyond this it is not worth the memory: the viewer is cut. */
#define VIEWER_FINISH_MAX_BYTES (8u << 20)

/* ---- JSON answers -------------------------------------------------------------- */

/* Appends a JSON value (and a newline) to out, and releases it. A NULL
 * value (out of memory) leaves out in error. */
static void put_json(lbsim_buf_t *out, json_t *value) {
  const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(12);
  size_t n = value ? json_dumpb(value, NULL, 0, flags) : 0;
  if (n == 0 || lbsim_buf_reserve(out, n + 1) != 0) {
    if (out->err == 0)
      out->err = LBSIM_ENOMEM;
  } else {
    json_dumpb(value, out->data + out->len, n, flags);
    out->len += n;
    lbsim_buf_append(out, "\n", 1);
  }
  json_decref(value);
}

static json_t *number_or_null(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static json_t *backend_state(const lbsim_admin_t *a, uint32_t i) {
  const lbsim_model_t *m = &a->farm->models[i];
  json_int_t in_flight = 0, conns = 0, ok = 0, failed = 0;
  for (uint32_t k = i; k < a->nbackends; k += a->farm->n) {
    const lbsim_backend_t *b = &a->backends[k];
    in_flight += (json_int_t)b->in_flight;
    conns += (json_int_t)b->httpd.nconns;
    ok += (json_int_t)b->answered_200;
    failed += (json_int_t)b->answered_503;
  }
  char jitter[48];
  lbsim_jitter_format(&m->jitter, jitter, sizeof(jitter));
  return json_pack("{s:I,s:s,s:f,s:o,s:f,s:b,s:b,s:I,s:s,s:I,s:I,s:I,s:I}", "backend", (json_int_t)i + 1, "url",
                   a->nbackends ? a->backends[i].url : "", "latency_ms", m->latency.latency_ms, "true_ms",
                   number_or_null(lbsim_model_true_ms(m, uv_hrtime())), "error_rate", m->error_rate, "down", m->down,
                   "stalled", m->stalled, "capacity", (json_int_t)m->capacity, "jitter", jitter, "in_flight",
                   in_flight, "connections", conns, "answered_200", ok, "answered_503", failed);
}

static json_t *backends_state(const lbsim_admin_t *a) {
  json_t *list = json_array();
  for (uint32_t i = 0; list && i < a->farm->n; i++)
    if (json_array_append_new(list, backend_state(a, i)) != 0) {
      json_decref(list);
      return NULL;
    }
  return list;
}

/* ---- answers ----------------------------------------------------------------- */

/* Pipelined requests come in one read and are all routed before the first
 * answer is sent. So that each answer shows the state at its own request
 * (after the changes before it, before those after it) and each refusal its
 * own reason, an answer's body is rendered when its request is routed and
 * kept in a slot until the session sends it, or drops it with the
 * connection. Slots are bounded by the connection cap times the pipeline
 * cap. */
static uint32_t slot_take(lbsim_admin_t *a) {
  if (a->free_answer == NO_SLOT) {
    uint32_t cap = a->nanswers ? a->nanswers * 2 : 16;
    struct lbsim_admin_answer_s *grown = realloc(a->answers, cap * sizeof(*grown));
    if (grown == NULL)
      return NO_SLOT;
    for (uint32_t k = a->nanswers; k < cap; k++)
      grown[k] = (struct lbsim_admin_answer_s){.next_free = k + 1 < cap ? k + 1 : NO_SLOT};
    a->answers = grown;
    a->free_answer = a->nanswers;
    a->nanswers = cap;
  }
  uint32_t slot = a->free_answer;
  struct lbsim_admin_answer_s *ans = &a->answers[slot];
  a->free_answer = ans->next_free;
  lbsim_buf_clear(&ans->body);
  ans->static_body = NULL;
  ans->static_len = 0;
  ans->type = "application/json";
  ans->headers = api_headers;
  ans->has_last_event_id = false;
  return slot;
}

static void slot_release(lbsim_admin_t *a, uint32_t slot) {
  struct lbsim_admin_answer_s *ans = &a->answers[slot];
  if (ans->body.cap > 65536)
    lbsim_buf_free(&ans->body); /* do not keep a /metrics body's worth */
  ans->next_free = a->free_answer;
  a->free_answer = slot;
}

/* An error answer: {"status":"error","code":N,"reason":"..."}. */
static int refuse(struct lbsim_admin_answer_s *ans, int status, const char *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct lbsim_admin_answer_s *ans, int status, const char *headers, const char *fmt, ...) {
  char reason[ERROR_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof(reason), fmt, ap);
  va_end(ap);
  ans->headers = headers ? headers : api_headers;
  ans->body.len = 0;
  put_json(&ans->body, json_pack("{s:s,s:i,s:s}", "status", "error", "code", status, "reason", reason));
  return status;
}

static const char help_text[] =
    "lbsim admin\n"
    "  GET  /              the dashboard (open it in a browser)\n"
    "  GET  /events        Server-Sent Events: the run's --format json objects, and ticks\n"
    "  GET  /backends      every backend's state (JSON)\n"
    "  GET  /backends/N    one backend\n"
    "  POST /backends/N    change it, with Content-Type: application/json:\n"
    "                        curl --json '{\"latency_ms\": 2000}' URL\n"
    "                        curl --json '{\"error_rate\": 0.5, \"capacity\": 10}' URL\n"
    "                        curl --json '{\"down\": true}' URL     ({\"stalled\": true}, {\"jitter\": \"exp:20\"})\n"
    "                        curl --json '{\"action\": \"up\", \"slow_start_s\": 5, \"factor\": 3}' URL\n"
    "  POST /backends      the same change to every backend\n"
    "  GET  /metrics       Prometheus metrics of the client and the backends\n";

/* ---- requests ------------------------------------------------------------------ */

static const lbsim_hfield_t *field(const lbsim_hrequest_t *req, int which) {
  return req->fields ? &req->fields[which] : NULL;
}

/* `value` is scheme + one of the admin's own names + ":" + its port. */
static bool own_authority(const lbsim_admin_t *a, const char *value, const char *scheme) {
  static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(names); k++) {
    char want[64];
    snprintf(want, sizeof(want), "%s%s:%u", scheme, names[k], a->port);
    if (strcasecmp(value, want) == 0)
      return true;
  }
  return false;
}

/* DNS rebinding: a page of another site whose name has been made to resolve
 * to 127.0.0.1 reaches this port with that name in Host. Only requests for
 * the admin's own address are answered. 0, or the status of the refusal. */
static int check_host(const lbsim_admin_t *a, const lbsim_hrequest_t *req, struct lbsim_admin_answer_s *ans) {
  const lbsim_hfield_t *host = field(req, H_HOST);
  if (host == NULL || host->count == 0)
    return refuse(ans, 421, NULL, "Host is required: use http://127.0.0.1:%u/", a->port);
  if (host->count > 1 || host->too_long || !own_authority(a, host->value, ""))
    return refuse(ans, 421, NULL, "Host '%.64s' is not this admin endpoint: use http://127.0.0.1:%u/",
                  host->value, a->port);
  return 0;
}

/* CSRF: a change needs no Origin (curl, scripts) or the admin's own (the
 * dashboard), and a JSON body, which a page of another site cannot send
 * without a preflight, and preflights are never granted. */
static int check_change(const lbsim_admin_t *a, const lbsim_hrequest_t *req, struct lbsim_admin_answer_s *ans) {
  const lbsim_hfield_t *origin = field(req, H_ORIGIN);
  if (origin && origin->count > 0 &&
      (origin->count > 1 || origin->too_long || !own_authority(a, origin->value, "http://")))
    return refuse(ans, 403, NULL, "cross-origin change refused: Origin '%.64s' is not http://127.0.0.1:%u",
                  origin->value, a->port);
  const lbsim_hfield_t *type = field(req, H_CONTENT_TYPE);
  char media[LBSIM_HFIELD_MAX] = "";
  if (type && type->count == 1 && !type->too_long) {
    size_t n = strcspn(type->value, ";");
    while (n > 0 && (type->value[n - 1] == ' ' || type->value[n - 1] == '\t'))
      n--;
    memcpy(media, type->value, n);
    media[n] = '\0';
  }
  if (strcasecmp(media, "application/json") != 0)
    return refuse(ans, 415, json_only_headers,
                  "a change is a JSON object sent with Content-Type: application/json (got %s%.64s%s), "
                  "e.g. curl --json '{\"latency_ms\": 2000}' http://127.0.0.1:%u/backends/1",
                  media[0] ? "'" : "", media[0] ? media : "none", media[0] ? "'" : "", a->port);
  return 0;
}

/* "/backends/12" -> 11 (0-based); -1 when not that shape; -2 out of range. */
static int backend_of(const lbsim_admin_t *a, const lbsim_hrequest_t *req) {
  static const char prefix[] = "/backends/";
  size_t n = sizeof(prefix) - 1;
  if (req->path_len <= n || memcmp(req->path, prefix, n) != 0)
    return -1;
  unsigned v = 0;
  for (size_t k = n; k < req->path_len; k++) {
    if (!isdigit((unsigned char)req->path[k]) || v > 100000)
      return -1;
    v = v * 10 + (unsigned)(req->path[k] - '0');
  }
  return v >= 1 && v <= a->farm->n ? (int)v - 1 : -2;
}

static bool is(const lbsim_hrequest_t *req, const char *path) {
  return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static const lbsim_web_asset_t *asset_of(const lbsim_hrequest_t *req) {
  for (size_t k = 0; k < lbsim_web_nassets; k++)
    if (is(req, lbsim_web_assets[k].path))
      return &lbsim_web_assets[k];
  return NULL;
}

/* Applies a POST body to backend i (or every backend, i < 0); all its
 * fields are checked before any is applied. 0, or the refusal's status. */
static int apply_change(lbsim_admin_t *a, int i, const lbsim_hrequest_t *req, struct lbsim_admin_answer_s *ans) {
  lbsim_event_t events[MAX_CHANGES];
  char err[ERROR_LEN - 32];
  int n = lbsim_admin_parse_body(req->body, req->body_len, events, MAX_CHANGES, err, sizeof(err));
  if (n < 0)
    return refuse(ans, 400, NULL, "%s", err);
  uint64_t now = uv_hrtime();
  int32_t target = i < 0 ? LBSIM_ALL_BACKENDS : i;
  for (int k = 0; k < n; k++) {
    events[k].backend = target;
    lbsim_farm_apply(a->farm, target, &events[k], now);
  }
  return 0;
}

/* Decides and renders the answer to one request. Its status. */
static int answer(lbsim_admin_t *a, const lbsim_hrequest_t *req, lbsim_hentry_t *e, struct lbsim_admin_answer_s *ans) {
  int status = check_host(a, req, ans);
  if (status != 0)
    return status;
  if (req->path == NULL)
    return refuse(ans, 404, NULL, "Not Found");
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  bool change = req->method == HTTP_POST || req->method == HTTP_PUT || req->method == HTTP_PATCH;
  const lbsim_web_asset_t *asset = asset_of(req);
  int i = -1;
  if (asset || is(req, "/events") || is(req, "/api") || is(req, "/metrics")) {
    if (!get)
      return refuse(ans, 405, get_only_headers,
                    req->method == HTTP_OPTIONS ? "no cross-origin access is granted" : "Method Not Allowed");
  } else if (is(req, "/backends") || (i = backend_of(a, req)) >= 0) {
    if (!get && !change)
      return refuse(ans, 405, get_post_headers,
                    req->method == HTTP_OPTIONS ? "no cross-origin access is granted" : "Method Not Allowed");
    if (change && ((status = check_change(a, req, ans)) != 0 || (status = apply_change(a, i, req, ans)) != 0))
      return status;
  } else if (i == -2) {
    return refuse(ans, 404, NULL, "no such backend (there are %u)", a->farm->n);
  } else {
    return refuse(ans, 404, NULL, "Not Found");
  }
  if (asset) {
    ans->static_body = asset->data;
    ans->static_len = asset->len;
    ans->type = asset->type;
    ans->headers = asset_headers;
  } else if (is(req, "/events")) {
    const lbsim_hfield_t *last = field(req, H_LAST_EVENT_ID);
    if (req->method == HTTP_GET && a->streams >= LBSIM_ADMIN_MAX_VIEWERS) {
      e->flags |= LBSIM_HENTRY_CLOSE; /* its connection goes too: it would only wait there for another try */
      return refuse(ans, 503, NULL, "%u viewers of /events already: at most %u, so that control requests keep room",
                    a->streams, LBSIM_ADMIN_MAX_VIEWERS);
    }
    e->kind = ENTRY_EVENTS;
    if (req->method == HTTP_GET) {
      e->flags |= LBSIM_HENTRY_STREAM;
      a->streams++; /* a viewer from now: until its stream closes, or it is dropped unanswered */
    }
    if (last && last->count > 0) {
      ans->has_last_event_id = true;
      snprintf(ans->last_event_id, sizeof(ans->last_event_id), "%s", last->value);
    }
  } else if (is(req, "/api")) {
    ans->type = "text/plain; charset=utf-8";
    lbsim_buf_append_str(&ans->body, help_text);
  } else if (is(req, "/metrics")) {
    ans->type = "text/plain; version=0.0.4; charset=utf-8";
    lbsim_metrics_text(a->fleets, a->nfleets, a->backends, a->nbackends, &ans->body);
  } else if (i >= 0) {
    put_json(&ans->body, backend_state(a, (uint32_t)i));
  } else {
    put_json(&ans->body, backends_state(a));
  }
  return 200;
}

/* ---- the HTTP application ------------------------------------------------------ */

static void admin_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  lbsim_admin_t *a = app;
  (void)now_ns;
  uint32_t slot = slot_take(a);
  if (slot == NO_SLOT) {
    e->kind = ENTRY_NO_MEMORY; /* before any change is applied */
    e->status = 503;
    return;
  }
  e->kind = ENTRY_STORED;
  e->arg = slot;
  e->status = (uint16_t)answer(a, req, e, &a->answers[slot]);
}

static void admin_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  lbsim_admin_t *a = app;
  struct lbsim_admin_answer_s *ans = e->kind == ENTRY_NO_MEMORY ? NULL : &a->answers[e->arg];
  if (ans == NULL || !lbsim_buf_ok(&ans->body)) {
    static const char body[] = "{\"status\":\"error\",\"code\":503,\"reason\":\"out of memory\"}\n";
    lbsim_hreply_simple(out, e, 503, "application/json", api_headers, body, sizeof(body) - 1);
    if (ans)
      slot_release(a, e->arg);
    return;
  }
  if (e->kind == ENTRY_EVENTS) {
    /* No length: the stream runs until the run ends (the connection closes). */
    lbsim_hreply_head(out, e, 200);
    lbsim_buf_append_str(out, api_headers);
    lbsim_buf_append_str(out, "Content-Type: text/event-stream\r\n\r\n");
    if (!(e->flags & LBSIM_HENTRY_STREAM) || (e->flags & LBSIM_HENTRY_HEAD))
      slot_release(a, e->arg);
    /* else the slot goes with the stream: on_stream (or on_stream_closed) */
    return;
  }
  if (ans->static_body)
    lbsim_hreply_simple(out, e, e->status, ans->type, ans->headers, (const char *)ans->static_body,
                           ans->static_len);
  else
    lbsim_hreply_simple(out, e, e->status, ans->type, ans->headers, ans->body.data ? ans->body.data : "",
                           ans->body.len);
  slot_release(a, e->arg);
}

static void admin_dropped(void *app, const lbsim_hentry_t *e) {
  lbsim_admin_t *a = app;
  if (e->kind == ENTRY_EVENTS && (e->flags & LBSIM_HENTRY_STREAM))
    a->streams--;
  if (e->kind != ENTRY_NO_MEMORY)
    slot_release(a, e->arg);
}

static const lbsim_happ_t admin_app = {.route = admin_route, .render = admin_render, .dropped = admin_dropped};

/* ---- viewers of /events ------------------------------------------------------------ */

static lbsim_admin_t *admin_of(lbsim_httpd_t *server) {
  return LBSIM_CONTAINER_OF(server, lbsim_admin_t, httpd);
}

/* A viewer too slow to follow: what it needs next has left the history. */
static void viewer_drop(lbsim_admin_t *a, viewer_t *v) {
  a->viewers_dropped++;
  lbsim_log("dashboard viewer disconnected: it fell behind by more than the history holds (%zu bytes)",
            a->events.max_bytes);
  lbsim_httpd_stream_drop(v->conn); /* on_stream_closed frees it */
}

/* Sends a viewer what it has not had yet, as its socket takes it. 0, or -1
 * when it is gone (dropped, or its connection failed): v is freed. */
static int viewer_pump(lbsim_admin_t *a, viewer_t *v) {
  if (lbsim_sse_behind(&a->events, v->next_id)) {
    /* What it needs next has left the history: it is too slow to follow. */
    viewer_drop(a, v);
    return -1;
  }
  while (lbsim_httpd_stream_pending(v->conn) < VIEWER_LOW_WATER) {
    const lbsim_sse_item_t *item = lbsim_sse_get(&a->events, v->next_id);
    if (item == NULL)
      break; /* it has everything */
    v->next_id++;
    if (lbsim_httpd_stream_write(v->conn, item->data, item->len) != 0)
      return -1;
  }
  return 0;
}

static void pump_all(lbsim_admin_t *a) {
  lbsim_queue_t *q = a->viewers.next;
  while (q != &a->viewers) {
    lbsim_queue_t *next = q->next; /* the pump may free this viewer, never another */
    viewer_pump(a, LBSIM_CONTAINER_OF(q, viewer_t, node));
    q = next;
  }
}

static void on_stream(lbsim_httpd_t *server, lbsim_hconn_t *conn, uint32_t slot) {
  lbsim_admin_t *a = admin_of(server);
  struct lbsim_admin_answer_s *ans = &a->answers[slot];
  lbsim_sse_start_t start = lbsim_sse_resume(&a->events, ans->has_last_event_id ? ans->last_event_id : NULL);
  viewer_t *v = calloc(1, sizeof(*v));
  if (v == NULL) {
    slot_release(a, slot);
    lbsim_httpd_stream_drop(conn);
    return;
  }
  v->conn = conn;
  v->next_id = start.next_id;
  lbsim_queue_insert_tail(&a->viewers, &v->node);
  a->nviewers++;
  lbsim_httpd_stream_set_data(conn, v);
  /* The greeting: how soon to reconnect, why it starts afresh, the start. */
  lbsim_buf_t greeting = LBSIM_BUF_INIT;
  lbsim_buf_append_str(&greeting, "retry: 2000\n\n");
  if (start.reset)
    lbsim_sse_reset_event(&a->events, ans->last_event_id, &greeting);
  slot_release(a, slot);
  const lbsim_sse_item_t *first = a->events.start;
  if (start.send_start && first)
    lbsim_buf_append(&greeting, first->data, first->len);
  int err = lbsim_buf_ok(&greeting) ? lbsim_httpd_stream_write(conn, greeting.data, greeting.len) : LBSIM_ENOMEM;
  lbsim_buf_free(&greeting);
  if (err == LBSIM_ENOMEM)
    lbsim_httpd_stream_drop(conn);
  else if (err == 0 && viewer_pump(a, v) == 0 && a->ended && lbsim_sse_get(&a->events, v->next_id) == NULL)
    lbsim_httpd_stream_end(conn, uv_hrtime() + VIEWER_FINISH_NS); /* the run is over: it has it all */
}

static void on_stream_writable(lbsim_httpd_t *server, lbsim_hconn_t *conn) {
  viewer_t *v = lbsim_httpd_stream_data(conn);
  if (v != NULL)
    viewer_pump(admin_of(server), v);
}

static void on_stream_closed(lbsim_httpd_t *server, lbsim_hconn_t *conn) {
  lbsim_admin_t *a = admin_of(server);
  viewer_t *v = lbsim_httpd_stream_data(conn);
  a->streams--;
  if (v == NULL) {
    slot_release(a, lbsim_httpd_stream_arg(conn)); /* closed before it was announced */
    return;
  }
  lbsim_httpd_stream_set_data(conn, NULL);
  lbsim_queue_remove(&v->node);
  a->nviewers--;
  free(v);
}

void lbsim_admin_publish(lbsim_admin_t *a, const char *lines, size_t len) {
  const char *p = lines, *end = lines + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    char type[32];
    if (n > 0 && lbsim_sse_type_of(p, n, type, sizeof(type)) == 0 && !a->ended) {
      if (lbsim_sse_publish(&a->events, type, p, n) != 0)
        lbsim_log_error("out of memory: a dashboard event was lost");
      if (strcmp(type, "start") == 0)
        a->started = true;
    }
    p += n + 1;
  }
  pump_all(a);
}

static void on_report(void *data, const char *bytes, size_t len) {
  lbsim_admin_publish(data, bytes, len);
}

static void on_tick(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_admin_t *a = LBSIM_CONTAINER_OF(timer, lbsim_admin_t, tick);
  if (a->started && !a->ended && a->reporting)
    lbsim_report_tick(&a->report, now_ns);
  if (!a->ended)
    lbsim_sched_set(a->sched, &a->tick, now_ns + a->tick_ns, on_tick);
}

/* The run is over: the last event, and every viewer gets what it has not
 * read yet (bounded), then its stream ends. */
static void end_stream(lbsim_admin_t *a) {
  if (a->ended)
    return;
  uint64_t now = uv_hrtime();
  char end[96];
  double t = a->reporting && a->report.start_ns && now > a->report.start_ns
                 ? (double)(now - a->report.start_ns) / LBSIM_NS_PER_S
                 : 0.0;
  int n = snprintf(end, sizeof(end), "{\"type\":\"end\",\"t\":%.3f}\n", t);
  lbsim_admin_publish(a, end, (size_t)n);
  a->ended = true;
  lbsim_sched_cancel(a->sched, &a->tick);
  lbsim_queue_t *q = a->viewers.next;
  while (q != &a->viewers) {
    lbsim_queue_t *next = q->next;
    viewer_t *v = LBSIM_CONTAINER_OF(q, viewer_t, node);
    size_t left = 0;
    for (uint64_t id = v->next_id; id < a->events.next_id; id++) {
      const lbsim_sse_item_t *item = lbsim_sse_get(&a->events, id);
      left += item ? item->len : 0;
    }
    if (left > VIEWER_FINISH_MAX_BYTES || lbsim_sse_behind(&a->events, v->next_id)) {
      viewer_drop(a, v);
    } else {
      int err = 0;
      while (err == 0 && v->next_id < a->events.next_id) {
        const lbsim_sse_item_t *item = lbsim_sse_get(&a->events, v->next_id++);
        err = lbsim_httpd_stream_write(v->conn, item->data, item->len); /* on error v is gone */
      }
      if (err == 0)
        lbsim_httpd_stream_end(v->conn, now + VIEWER_FINISH_NS);
    }
    q = next;
  }
}

/* ---- start and close ---------------------------------------------------------------- */

static uint32_t run_token(void) {
  /* Distinguishes this run's event ids from another's on the same port. */
  return (uint32_t)lbsim_mix64(uv_hrtime() ^ ((uint64_t)getpid() << 32));
}

static size_t history_bytes(const lbsim_admin_t *a) {
  if (a->history_bytes)
    return a->history_bytes;
  /* $LBSIM_EVENTS_HISTORY, read and checked with the command line. */
  if (a->cfg != NULL && a->cfg->events_history > 0)
    return a->cfg->events_history;
  return LBSIM_ADMIN_HISTORY_BYTES;
}

int lbsim_admin_start(lbsim_admin_t *a, uv_loop_t *loop, lbsim_sched_t *sched, uint16_t port) {
  a->answers = NULL;
  a->nanswers = 0;
  a->free_answer = NO_SLOT;
  a->sched = sched;
  lbsim_queue_init(&a->viewers);
  a->nviewers = a->streams = 0;
  a->started = a->ended = false;
  lbsim_sse_init(&a->events, run_token(), history_bytes(a), LBSIM_ADMIN_HISTORY_EVENTS);
  a->reporting = a->cfg != NULL;
  if (a->reporting)
    lbsim_report_init_emit(&a->report, a->cfg, a->seed, lbsim_format_find("json"), on_report, a);
  /* A few times a second; once a second when there is a lot to say. */
  uint64_t pairs = (uint64_t)(a->nfleets ? a->nfleets : 1) * (a->farm ? a->farm->n : 1);
  a->tick_ns = (pairs > 2000 ? 1000 : 250) * (uint64_t)LBSIM_NS_PER_MS;
  lbsim_timer_init(&a->tick, LBSIM_ORDER_REPORT);
  lbsim_httpd_init(&a->httpd, loop, sched, &admin_app, a);
  a->httpd.limits.capture_body = true;
  a->httpd.limits.capture = captured;
  a->httpd.limits.max_body_bytes = 2000;
  a->httpd.max_conns = LBSIM_ADMIN_MAX_CONNS;
  a->httpd.on_stream = on_stream;
  a->httpd.on_stream_writable = on_stream_writable;
  a->httpd.on_stream_closed = on_stream_closed;
  a->httpd.stream_send_buffer = VIEWER_SOCKET_BUFFER;
  /* Loopback only: whoever can reach it can change the backends. */
  int err = lbsim_httpd_listen(&a->httpd, "127.0.0.1", port, &a->port);
  if (err == 0 && a->reporting)
    err = lbsim_sched_set(sched, &a->tick, uv_hrtime() + a->tick_ns, on_tick);
  return err;
}

void lbsim_admin_close(lbsim_admin_t *a, lbsim_httpd_closed_cb on_closed) {
  end_stream(a);
  /* Viewers that have ended finish writing; everything else closes now,
   * dropping its queued answers: every slot is free then. */
  lbsim_httpd_close(&a->httpd, on_closed);
  for (uint32_t k = 0; k < a->nanswers; k++)
    lbsim_buf_free(&a->answers[k].body);
  free(a->answers);
  a->answers = NULL;
  a->nanswers = 0;
  a->free_answer = NO_SLOT;
  lbsim_sse_free(&a->events);
  if (a->reporting)
    lbsim_report_free(&a->report);
}
