/* The admin endpoint. See lbsim/admin.h. */
#include "lbsim/admin.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* What an answer says. */
enum { KIND_HELP = 1, KIND_LIST, KIND_ONE, KIND_METRICS, KIND_BAD_REQUEST, KIND_NOT_FOUND, KIND_NOT_ALLOWED };
/* The session's entries: an answer rendered at route time, waiting in slot
 * `arg` (see "answers" below); or none, memory having run out before
 * anything was changed. */
enum { ENTRY_STORED = 1, ENTRY_NO_MEMORY };

#define ERROR_LEN 256 /* a refusal's reason */

struct lbsim_admin_answer_s {
  lbsim_buf_t body;
  const char *type;
  const char *extra_headers;
  uint32_t next_free;
};

#define NO_SLOT UINT32_MAX

/* ---- state as JSON ---------------------------------------------------------- */

static void backend_json(const lbsim_admin_t *a, uint32_t i, lbsim_buf_t *out) {
  const lbsim_model_t *m = &a->fleet->models[i];
  uint64_t in_flight = 0, conns = 0, ok = 0, failed = 0;
  for (uint32_t k = i; k < a->nbackends; k += a->fleet->n) {
    const lbsim_backend_t *b = &a->backends[k];
    in_flight += b->in_flight;
    conns += b->httpd.nconns;
    ok += b->answered_200;
    failed += b->answered_503;
  }
  char jitter[48];
  lbsim_jitter_format(&m->jitter, jitter, sizeof(jitter));
  double true_ms = lbsim_model_true_ms(m, uv_hrtime());
  lbsim_buf_printf(out,
                   "{\"backend\":%u,\"url\":\"%s\",\"latency_ms\":%.3f,\"true_ms\":", i + 1,
                   a->backends[i].url, m->latency.latency_ms);
  if (isfinite(true_ms))
    lbsim_buf_printf(out, "%.3f", true_ms);
  else
    lbsim_buf_append_str(out, "null");
  lbsim_buf_printf(out,
                   ",\"error_rate\":%g,\"down\":%s,\"stalled\":%s,\"capacity\":%u,\"jitter\":\"%s\","
                   "\"in_flight\":%llu,\"connections\":%llu,\"answered_200\":%llu,\"answered_503\":%llu}",
                   m->error_rate, m->down ? "true" : "false", m->stalled ? "true" : "false", m->capacity, jitter,
                   (unsigned long long)in_flight, (unsigned long long)conns, (unsigned long long)ok,
                   (unsigned long long)failed);
}

/* ---- changes ---------------------------------------------------------------- */

static bool truthy(const char *v) {
  return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0;
}

static bool falsy(const char *v) {
  return strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0;
}

static int bad(char *err, const char *fmt, const char *what) {
  snprintf(err, ERROR_LEN, fmt, what);
  return -1;
}

/* One key = value of a form or a JSON object, turned into an event. */
static int key_event(char *error, const char *key, const char *value, lbsim_event_t *ev) {
  char err[200];
  char buf[64];
  char *words[2] = {buf, (char *)value};
  memset(ev, 0, sizeof(*ev));
  ev->origin = LBSIM_ORIGIN_ADMIN;
  if (strcmp(key, "latency_ms") == 0 || strcmp(key, "latency") == 0) {
    /* a plain number is milliseconds */
    char with_unit[64];
    bool bare = value[0] && strspn(value, "0123456789.") == strlen(value);
    snprintf(with_unit, sizeof(with_unit), bare ? "%sms" : "%s", value);
    strcpy(buf, "latency");
    words[1] = with_unit;
    if (lbsim_action_parse(ev, words, 2, err, sizeof(err)) != 0)
      return bad(error, "%s", err);
    return 0;
  }
  if (strcmp(key, "error_rate") == 0 || strcmp(key, "error-rate") == 0 || strcmp(key, "capacity") == 0 ||
      strcmp(key, "jitter") == 0) {
    snprintf(buf, sizeof(buf), "%s", strcmp(key, "error_rate") == 0 ? "error-rate" : key);
    if (lbsim_action_parse(ev, words, 2, err, sizeof(err)) != 0)
      return bad(error, "%s", err);
    return 0;
  }
  bool yes = truthy(value), no = falsy(value);
  if (!yes && !no)
    return bad(error, "'%s' takes true or false", key);
  if (strcmp(key, "down") == 0)
    ev->action = yes ? LBSIM_ACTION_DOWN : LBSIM_ACTION_UP;
  else if (strcmp(key, "up") == 0)
    ev->action = yes ? LBSIM_ACTION_UP : LBSIM_ACTION_DOWN;
  else if (strcmp(key, "stalled") == 0 || strcmp(key, "stall") == 0)
    ev->action = yes ? LBSIM_ACTION_STALL : LBSIM_ACTION_RESUME;
  else
    return bad(error, "unknown setting '%s' (latency_ms, error_rate, down, stalled, capacity, jitter)", key);
  ev->slow_start_factor = 1;
  return 0;
}

/* Strips spaces, and the quotes of a JSON string, in place. */
static char *trim(char *t) {
  while (isspace((unsigned char)*t))
    t++;
  char *e = t + strlen(t);
  while (e > t && isspace((unsigned char)e[-1]))
    *--e = '\0';
  if (e - t >= 2 && *t == '"' && e[-1] == '"') {
    e[-1] = '\0';
    t++;
  }
  return t;
}

/* Splits a flat JSON object or a form into keys and values, in place. */
static int split_pairs(char *error, char *s, char **keys, char **values, int max) {
  int n = 0;
  bool json = *s == '{';
  if (json) {
    char *end = strrchr(s, '}');
    if (end == NULL)
      return bad(error, "%s", "unterminated JSON object");
    *end = '\0';
    s++;
  }
  while (*s && n < max) {
    while (*s && (isspace((unsigned char)*s) || *s == ',' || *s == '&'))
      s++;
    if (!*s)
      break;
    char *key = s;
    char *sep = json ? strchr(s, ':') : strchr(s, '=');
    if (sep == NULL)
      return bad(error, "expected key%s value pairs", json ? ":" : "=");
    *sep = '\0';
    char *value = sep + 1;
    char *next = value + strcspn(value, json ? "," : "&");
    bool more = *next != '\0';
    *next = '\0';
    s = more ? next + 1 : next;
    key = trim(key);
    value = trim(value);
    keys[n] = key;
    values[n] = value;
    n++;
  }
  return n;
}

/* Applies a POST body to backend i: 0, or -1 with the reason in error
 * (ERROR_LEN bytes). All settings are checked before any is applied. */
static int apply_body(lbsim_admin_t *a, uint32_t i, const char *body, size_t len, char *error) {
  char text[2048];
  if (len >= sizeof(text))
    return bad(error, "%s", "body too large");
  memcpy(text, body, len);
  text[len] = '\0';
  char *start = text + strspn(text, " \t\r\n");
  lbsim_event_t events[8];
  int n = 0;
  if (*start == '{' || strchr(start, '=') != NULL) {
    char *keys[8], *values[8];
    n = split_pairs(error, start, keys, values, 8);
    if (n < 0)
      return -1;
    for (int k = 0; k < n; k++)
      if (key_event(error, keys[k], values[k], &events[k]) != 0)
        return -1;
  } else {
    char *words[16];
    int nw = 0;
    for (char *tok = strtok(start, " \t\r\n"); tok && nw < 16; tok = strtok(NULL, " \t\r\n"))
      words[nw++] = tok;
    char err[200];
    memset(&events[0], 0, sizeof(events[0]));
    if (lbsim_action_parse(&events[0], words, nw, err, sizeof(err)) != 0)
      return bad(error, "%s", err);
    events[0].origin = LBSIM_ORIGIN_ADMIN;
    n = 1;
  }
  if (n == 0)
    return bad(error, "%s", "nothing to change");
  uint64_t now = uv_hrtime();
  for (int k = 0; k < n; k++) {
    events[k].backend = (int32_t)i;
    lbsim_fleet_apply(a->fleet, (int32_t)i, &events[k], now);
  }
  return 0;
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
  ans->body.len = 0;
  ans->type = "application/json";
  ans->extra_headers = NULL;
  return slot;
}

static void slot_release(lbsim_admin_t *a, uint32_t slot) {
  struct lbsim_admin_answer_s *ans = &a->answers[slot];
  if (ans->body.cap > 65536)
    lbsim_buf_free(&ans->body); /* do not keep a /metrics body's worth */
  ans->next_free = a->free_answer;
  a->free_answer = slot;
}

/* The body of an answer, as the state is now. */
static void render_body(lbsim_admin_t *a, int kind, uint32_t i, const char *error,
                        struct lbsim_admin_answer_s *ans) {
  lbsim_buf_t *body = &ans->body;
  switch (kind) {
  case KIND_HELP:
    ans->type = "text/plain; charset=utf-8";
    lbsim_buf_append_str(body, "lbsim admin\n"
                               "  GET  /backends      every backend's state (JSON)\n"
                               "  GET  /backends/N    one backend\n"
                               "  POST /backends/N    change it, e.g. -d '{\"latency_ms\":2000}', -d 'down=true',\n"
                               "                      -d 'error_rate=0.5', -d 'up slow-start 5s', -d 'capacity=10'\n"
                               "  GET  /metrics       Prometheus metrics of the client and the backends\n");
    break;
  case KIND_LIST:
    lbsim_buf_append_str(body, "[");
    for (uint32_t k = 0; k < a->fleet->n; k++) {
      if (k)
        lbsim_buf_append_str(body, ",");
      backend_json(a, k, body);
    }
    lbsim_buf_append_str(body, "]\n");
    break;
  case KIND_ONE:
    backend_json(a, i, body);
    lbsim_buf_append_str(body, "\n");
    break;
  case KIND_METRICS:
    ans->type = "text/plain; version=0.0.4; charset=utf-8";
    lbsim_client_metrics(a->balancers, a->nbalancers, body);
    if (a->nbackends > 0)
      lbsim_backend_metrics(a->backends, a->nbackends, body); /* every copy of every backend */
    break;
  case KIND_BAD_REQUEST:
    lbsim_buf_printf(body, "{\"status\":\"error\",\"code\":400,\"reason\":\"");
    for (const char *c = error; *c; c++)
      lbsim_buf_printf(body, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    lbsim_buf_append_str(body, "\"}\n");
    break;
  case KIND_NOT_ALLOWED:
    ans->extra_headers = "Allow: GET, POST\r\n";
    lbsim_buf_append_str(body, "{\"status\":\"error\",\"code\":405,\"reason\":\"Method Not Allowed\"}\n");
    break;
  default:
    lbsim_buf_append_str(body, "{\"status\":\"error\",\"code\":404,\"reason\":\"Not Found\"}\n");
    break;
  }
}

/* ---- the HTTP application ------------------------------------------------------ */

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
  return v >= 1 && v <= a->fleet->n ? (int)v - 1 : -2;
}

static bool is(const lbsim_hrequest_t *req, const char *path) {
  return req->path && req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static void admin_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  lbsim_admin_t *a = app;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  bool change = false;
  int kind;
  int i = -1;
  (void)now_ns;
  if (req->path == NULL) {
    kind = KIND_NOT_FOUND;
  } else if (is(req, "/")) {
    kind = get ? KIND_HELP : KIND_NOT_ALLOWED;
  } else if (is(req, "/metrics")) {
    kind = get ? KIND_METRICS : KIND_NOT_ALLOWED;
  } else if (is(req, "/backends")) {
    kind = get ? KIND_LIST : KIND_NOT_ALLOWED;
  } else {
    i = backend_of(a, req);
    change = req->method == HTTP_POST || req->method == HTTP_PUT || req->method == HTTP_PATCH;
    if (i < 0)
      kind = KIND_NOT_FOUND;
    else
      kind = get || change ? KIND_ONE : KIND_NOT_ALLOWED;
  }
  uint32_t slot = slot_take(a);
  if (slot == NO_SLOT) {
    e->kind = ENTRY_NO_MEMORY; /* before any change is applied */
    e->status = 503;
    return;
  }
  char error[ERROR_LEN] = "";
  if (kind == KIND_ONE && change &&
      apply_body(a, (uint32_t)i, req->body ? req->body : "", req->body_len, error) != 0)
    kind = KIND_BAD_REQUEST;
  render_body(a, kind, (uint32_t)i, error, &a->answers[slot]);
  e->kind = ENTRY_STORED;
  e->arg = slot;
  e->status = kind == KIND_NOT_FOUND ? 404 : kind == KIND_NOT_ALLOWED ? 405 : kind == KIND_BAD_REQUEST ? 400 : 200;
}

static void admin_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  lbsim_admin_t *a = app;
  if (e->kind == ENTRY_NO_MEMORY) {
    static const char body[] = "{\"status\":\"error\",\"code\":503,\"reason\":\"out of memory\"}\n";
    lbsim_hresponse_simple(out, e, 503, "application/json", "Retry-After: 1\r\n", body, sizeof(body) - 1);
    return;
  }
  const struct lbsim_admin_answer_s *ans = &a->answers[e->arg];
  lbsim_hresponse_simple(out, e, e->status, ans->type, ans->extra_headers, ans->body.data ? ans->body.data : "",
                         ans->body.len);
  slot_release(a, e->arg);
}

static void admin_dropped(void *app, const lbsim_hentry_t *e) {
  if (e->kind == ENTRY_STORED)
    slot_release(app, e->arg);
}

static const lbsim_happ_t admin_app = {.route = admin_route, .render = admin_render, .dropped = admin_dropped};

int lbsim_admin_start(lbsim_admin_t *a, uv_loop_t *loop, lbsim_sched_t *sched, uint16_t port) {
  a->answers = NULL;
  a->nanswers = 0;
  a->free_answer = NO_SLOT;
  lbsim_httpd_init(&a->httpd, loop, sched, &admin_app, a);
  a->httpd.limits.capture_body = true;
  a->httpd.limits.max_body_bytes = 2000;
  a->httpd.max_conns = 64;
  /* Loopback only: whoever can reach it can change the backends. */
  return lbsim_httpd_listen(&a->httpd, "127.0.0.1", port, &a->port);
}

void lbsim_admin_close(lbsim_admin_t *a, lbsim_httpd_closed_cb on_closed) {
  lbsim_httpd_close(&a->httpd, on_closed);
  /* Closing the connections has dropped their queued answers: every slot
   * is free now. */
  for (uint32_t k = 0; k < a->nanswers; k++)
    lbsim_buf_free(&a->answers[k].body);
  free(a->answers);
  a->answers = NULL;
  a->nanswers = 0;
  a->free_answer = NO_SLOT;
}

/* ---- the client's metrics ---------------------------------------------------------- */

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

void lbsim_client_metrics(const lbsim_balancer_t *worlds, uint32_t nworlds, lbsim_buf_t *out) {
  lbsim_buf_append_str(out, "# HELP lbsim_client_requests_total Requests completed by the balancer, by backend and "
                            "result.\n# TYPE lbsim_client_requests_total counter\n");
  for (uint32_t w = 0; w < nworlds; w++) {
    const lbsim_balancer_t *t = &worlds[w];
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
  for (uint32_t w = 0; w < nworlds; w++) {
    const lbsim_counts_t *c = &worlds[w].stats.total;
    for (size_t k = 0; k < LBSIM_ARRAY_SIZE(bounds_s); k++)
      lbsim_buf_printf(out, "lbsim_client_request_duration_seconds_bucket{policy=\"%s\",le=\"%g\"} %llu\n",
                       worlds[w].policy_name, bounds_s[k],
                       (unsigned long long)lbsim_hist_count_le(&c->latency, bounds_s[k] * 1e6));
    lbsim_buf_printf(out,
                     "lbsim_client_request_duration_seconds_bucket{policy=\"%s\",le=\"+Inf\"} %llu\n"
                     "lbsim_client_request_duration_seconds_sum{policy=\"%s\"} %.6f\n"
                     "lbsim_client_request_duration_seconds_count{policy=\"%s\"} %llu\n",
                     worlds[w].policy_name, (unsigned long long)c->ok, worlds[w].policy_name, c->latency.sum_us / 1e6,
                     worlds[w].policy_name, (unsigned long long)c->ok);
  }
  lbsim_buf_append_str(out, "# HELP lbsim_client_estimate_seconds The balancer's EMA of each backend's latency.\n"
                            "# TYPE lbsim_client_estimate_seconds gauge\n");
  for (uint32_t w = 0; w < nworlds; w++)
    for (uint32_t i = 0; i < worlds[w].n; i++) {
      lbsim_buf_printf(out, "lbsim_client_estimate_seconds{policy=\"%s\",backend=\"", worlds[w].policy_name);
      escape_label(out, worlds[w].names[i]);
      lbsim_buf_printf(out, "\"} %.6f\n", worlds[w].ema.value_ms[i] / 1000.0);
    }
  lbsim_buf_append_str(out, "# HELP lbsim_client_in_flight Requests launched and not yet completed.\n"
                            "# TYPE lbsim_client_in_flight gauge\n");
  for (uint32_t w = 0; w < nworlds; w++)
    lbsim_buf_printf(out, "lbsim_client_in_flight{policy=\"%s\"} %llu\n", worlds[w].policy_name,
                     (unsigned long long)worlds[w].in_flight);
}
