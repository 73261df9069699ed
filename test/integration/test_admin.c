/* The admin endpoint on a real loop, port 0, over models and backend copies
 * that do not listen (the admin only reads them), driven by a raw client. */
#include <jansson.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <stdio.h>

#include "harness.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/control/admin.h"
#include "lbsim/net/sched.h"
#include "control/web_assets.h"
#include "rawclient.h"
#include "tnet.h"

typedef struct admin_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;
  lbsim_farm_t farm;
  lbsim_backend_t *copies;    /* balancer-major: the copies of one policy, then the next (as in compare mode) */
  lbsim_admin_t admin;
} admin_fixture_t;

static const char *const policies[] = {"ema-greedy", "round-robin"};

/* nmodels backends, one copy of each per policy (npolicies 1: the demo). */
static int afx_start(admin_fixture_t *f, uint32_t nmodels, uint32_t npolicies) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->cfg.backends = nmodels;
  REQUIRE(lbsim_farm_init(&f->farm, &f->cfg, 1, &f->sched.clock) == 0);
  f->copies = calloc((size_t)nmodels * npolicies, sizeof(*f->copies));
  REQUIRE(f->copies != NULL);
  for (uint32_t i = 0; i < nmodels; i++)
    f->farm.models[i].latency.latency_ms = 10;
  for (uint32_t k = 0; k < nmodels * npolicies; k++) {
    lbsim_backend_t *b = &f->copies[k];
    b->model = &f->farm.models[k % nmodels];
    b->policy = npolicies > 1 ? policies[k / nmodels] : NULL;
    snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%u/ping", 7000 + k);
  }
  f->admin.farm = &f->farm;
  f->admin.backends = f->copies;
  f->admin.nbackends = nmodels * npolicies;
  REQUIRE(lbsim_admin_start(&f->admin, &f->loop, &f->sched, 0) == 0);
  REQUIRE(f->admin.port != 0);
  return 0;
}

static int afx_stop(admin_fixture_t *f) {
  lbsim_admin_close(&f->admin, NULL);
  for (int i = 0; i < 50 && f->admin.httpd.nhandles > 0; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  REQUIRE(f->admin.httpd.nhandles == 0);
  lbsim_sched_close(&f->sched, NULL);
  int rc = tnet_close_loop(&f->loop);
  lbsim_farm_free(&f->farm);
  free(f->copies);
  return rc;
}

static void afx_exchange(admin_fixture_t *f, const char *req, int want, raw_result_t *r) {
  /* Generous: /metrics of 4,200 copies takes seconds under valgrind. */
  raw_opts_t o = {.want_responses = want, .wait_ms = 60000};
  raw_exchange(&f->loop, f->admin.port, req, strlen(req), &o, r);
}

/* The n-th answer (0-based) of a pipelined exchange, copied into buf. */
static const char *answer(raw_result_t *r, int n, char *buf, size_t len) {
  const char *p = raw_text(r);
  for (int i = 0; p != NULL && i <= n; i++) {
    p = strstr(p, "HTTP/1.1 ");
    if (p != NULL && i < n)
      p++;
  }
  if (p == NULL)
    return "";
  const char *end = strstr(p + 1, "HTTP/1.1 ");
  size_t size = end ? (size_t)(end - p) : strlen(p);
  if (size >= len)
    size = len - 1;
  memcpy(buf, p, size);
  buf[size] = '\0';
  return buf;
}

/* strstr, ignoring case: whether `needle` is in `hay`. */
static bool has_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return true;
  return false;
}

/* A request to the fixture's admin, Host and all. */
static void afx_request(admin_fixture_t *f, lbsim_buf_t *req, const char *method, const char *path,
                        const char *headers, const char *body) {
  lbsim_buf_printf(req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s", method, path, f->admin.port,
                   headers ? headers : "");
  if (body)
    lbsim_buf_printf(req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
  else
    lbsim_buf_append_str(req, "\r\n");
}

/* The body of an answer (after its head), parsed as JSON; NULL if it is not. */
static json_t *answer_json(const char *answer_text) {
  const char *body = strstr(answer_text, "\r\n\r\n");
  if (body == NULL)
    return NULL;
  return json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL);
}

static double number_of(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_number(v) ? json_number_value(v) : -1;
}

static const char *string_of(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

TEST(pipelined_requests_get_their_own_results) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  static const char *const bodies[] = {"{\"latency_ms\": 200}", "{\"latency_ms\": \"fast\"}",
                                       "{\"colour\": \"red\"}", "{\"latency_ms\": 300}"};
  lbsim_buf_t req = {0};
  afx_request(&f, &req, "POST", "/backends/1", NULL, bodies[0]);
  afx_request(&f, &req, "GET", "/backends/1", NULL, NULL);
  for (int i = 1; i < 4; i++)
    afx_request(&f, &req, "POST", "/backends/1", NULL, bodies[i]);
  afx_request(&f, &req, "GET", "/backends", NULL, NULL);
  lbsim_buf_append(&req, "", 1);
  raw_result_t r;
  afx_exchange(&f, req.data, 6, &r);
  lbsim_buf_free(&req);
  CHECK_EQ(r.responses, 6);
  char a[4096];
  /* Each answer shows the state right after its own request: the first
   * change, and a GET between two changes, see 200 ms, not the last 300. */
  CHECK_MSG(strncmp(answer(&r, 0, a, sizeof(a)), "HTTP/1.1 200 ", 13) == 0, "%s", a);
  json_t *j = answer_json(a);
  CHECK_MSG(j && number_of(j, "backend") == 1 && number_of(j, "latency_ms") == 200, "%s", a);
  json_decref(j);
  j = answer_json(answer(&r, 1, a, sizeof(a)));
  CHECK_MSG(j && number_of(j, "latency_ms") == 200, "%s", a);
  json_decref(j);
  /* Each refusal carries its own reason, naming the field. */
  CHECK_MSG(strncmp(answer(&r, 2, a, sizeof(a)), "HTTP/1.1 400 ", 13) == 0, "%s", a);
  j = answer_json(a);
  CHECK_MSG(j && number_of(j, "code") == 400 && strstr(string_of(j, "reason"), "'latency_ms' must be a number"), "%s",
            a);
  json_decref(j);
  CHECK_MSG(strncmp(answer(&r, 3, a, sizeof(a)), "HTTP/1.1 400 ", 13) == 0, "%s", a);
  j = answer_json(a);
  CHECK_MSG(j && strstr(string_of(j, "reason"), "unknown field 'colour'"), "%s", a);
  json_decref(j);
  j = answer_json(answer(&r, 4, a, sizeof(a)));
  CHECK_MSG(j && number_of(j, "latency_ms") == 300, "%s", a);
  json_decref(j);
  j = answer_json(answer(&r, 5, a, sizeof(a)));
  CHECK_MSG(json_array_size(j) == 2, "%s", a);
  CHECK(number_of(json_array_get(j, 0), "latency_ms") == 300 && number_of(json_array_get(j, 1), "latency_ms") == 10);
  json_decref(j);
  CHECK(!r.peer_closed);
  raw_result_free(&r);
  CHECK_EQ(f.farm.models[0].latency.latency_ms, 300);
  CHECK(afx_stop(&f) == 0);
}

/* More pipelined requests than the first batch of answer slots, the last
 * one closing: every answer arrives, in order. */
TEST(a_long_pipeline_is_answered_in_full) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 3, 1) == 0);
  lbsim_buf_t req = {0};
  char path[32];
  for (int i = 0; i < 40; i++) {
    snprintf(path, sizeof(path), "/backends/%d", i % 3 + 1);
    afx_request(&f, &req, "GET", path, NULL, NULL);
  }
  afx_request(&f, &req, "GET", "/backends/1", "Connection: close\r\n", NULL);
  lbsim_buf_append(&req, "", 1);
  raw_result_t r;
  afx_exchange(&f, req.data, 0, &r);
  lbsim_buf_free(&req);
  CHECK_EQ(r.responses, 41);
  CHECK(r.peer_closed);
  char a[2048], want[32];
  for (int i = 0; i < 41; i++) {
    snprintf(want, sizeof(want), "{\"backend\":%d,", i < 40 ? i % 3 + 1 : 1);
    CHECK_MSG(strstr(answer(&r, i, a, sizeof(a)), want) != NULL, "answer %d: %s", i, a);
  }
  raw_result_free(&r);
  CHECK(afx_stop(&f) == 0);
}

/* One request on its own connection: the whole answer, in buf. */
static const char *afx_one(admin_fixture_t *f, const char *request, char *buf, size_t len) {
  raw_result_t r;
  afx_exchange(f, request, 1, &r);
  snprintf(buf, len, "%s", raw_text(&r));
  raw_result_free(&r);
  return buf;
}

static int status_of(const char *answer_text) {
  int status = 0;
  return sscanf(answer_text, "HTTP/1.1 %d ", &status) == 1 ? status : 0;
}

/* DNS rebinding: a page whose own name has been made to resolve to
 * 127.0.0.1 reaches the port with that name in Host. Only the admin's own
 * addresses, with its exact port, are answered. */
TEST(only_requests_for_the_admin_itself_are_answered) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  uint16_t port = f.admin.port;
  char req[512], a[4096];
  static const char *const own[] = {"127.0.0.1", "localhost", "LocalHost", "[::1]"};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(own); k++) {
    snprintf(req, sizeof(req), "GET /backends/1 HTTP/1.1\r\nHost: %s:%u\r\n\r\n", own[k], port);
    CHECK_MSG(status_of(afx_one(&f, req, a, sizeof(a))) == 200, "%s: %s", own[k], a);
  }
  char wrong_port[32], other_name[48];
  snprintf(wrong_port, sizeof(wrong_port), "127.0.0.1:%u", port == 65535 ? 1 : port + 1);
  snprintf(other_name, sizeof(other_name), "evil.example:%u", port);
  const char *const refused[] = {other_name, wrong_port, "127.0.0.1", "localhost", "127.0.0.2:80", "0.0.0.0"};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(refused); k++) {
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", refused[k]);
    afx_one(&f, req, a, sizeof(a));
    CHECK_MSG(status_of(a) == 421 && strstr(a, "is not this admin endpoint") && !strstr(a, "<html"), "%s: %s",
              refused[k], a);
  }
  /* HTTP/1.0 may omit Host: not here. */
  CHECK(status_of(afx_one(&f, "GET /backends HTTP/1.0\r\n\r\n", a, sizeof(a))) == 421);
  CHECK(strstr(a, "Host is required") != NULL);
  /* A rebound page's change is refused before anything is parsed or applied. */
  snprintf(req, sizeof(req),
           "POST /backends/1 HTTP/1.1\r\nHost: evil.example:%u\r\nContent-Type: application/json\r\n"
           "Content-Length: 14\r\n\r\n{\"down\": true}",
           port);
  CHECK(status_of(afx_one(&f, req, a, sizeof(a))) == 421);
  CHECK(!f.farm.models[0].down);
  CHECK(afx_stop(&f) == 0);
}

/* CSRF: a page of another site can post a form (text/plain, form-encoded)
 * without a preflight, and would send its own Origin. */
TEST(changes_need_json_and_no_foreign_origin) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  uint16_t port = f.admin.port;
  char req[768], a[4096];
  struct {
    const char *origin; /* NULL: none */
    const char *type;
    const char *body;
    int status;
    const char *reason;
  } cases[] = {
      {"http://evil.example", "text/plain", "{\"down\": true}", 403, "cross-origin change refused"},
      {"http://evil.example", "application/json", "{\"down\": true}", 403, "cross-origin change refused"},
      {"null", "application/json", "{\"down\": true}", 403, "cross-origin change refused"},
      {"https://127.0.0.1:%u", "application/json", "{\"down\": true}", 403, "cross-origin change refused"},
      {"http://127.0.0.1:1", "application/json", "{\"down\": true}", 403, "cross-origin change refused"},
      {NULL, "text/plain", "{\"down\": true}", 415, "Content-Type: application/json"},
      {NULL, "application/x-www-form-urlencoded", "down=true", 415, "got 'application/x-www-form-urlencoded'"},
      {NULL, NULL, "{\"down\": true}", 415, "got none"},
      {NULL, "application/jsonx", "{\"down\": true}", 415, "Content-Type"},
      {NULL, "application/json", "down=true", 400, "malformed JSON"},
      {NULL, "application/json", "up slow-start 5s", 400, "malformed JSON"},
  };
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(cases); k++) {
    char origin[96] = "", type[96] = "";
    if (cases[k].origin) {
      snprintf(origin, sizeof(origin), "Origin: ");
      snprintf(origin + 8, sizeof(origin) - 8, cases[k].origin, port);
      strcat(origin, "\r\n");
    }
    if (cases[k].type)
      snprintf(type, sizeof(type), "Content-Type: %s\r\n", cases[k].type);
    snprintf(req, sizeof(req), "POST /backends/1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%sContent-Length: %zu\r\n\r\n%s",
             port, origin, type, strlen(cases[k].body), cases[k].body);
    afx_one(&f, req, a, sizeof(a));
    CHECK_MSG(status_of(a) == cases[k].status && strstr(a, cases[k].reason), "case %zu: %s", k, a);
    CHECK_MSG(cases[k].status != 415 || strstr(a, "\r\nAccept-Post: application/json\r\n"), "%s", a);
    CHECK_MSG(!f.farm.models[0].down, "case %zu changed the backend", k);
  }
  /* The dashboard itself (same origin, any of the admin's names) and curl --json (no Origin). */
  static const char *const own[] = {"http://127.0.0.1:%u", "http://localhost:%u", "http://[::1]:%u", NULL};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(own); k++) {
    char origin[96] = "";
    if (own[k]) {
      snprintf(origin, sizeof(origin), "Origin: ");
      snprintf(origin + 8, sizeof(origin) - 8, own[k], port);
      strcat(origin, "\r\n");
    }
    snprintf(req, sizeof(req),
             "POST /backends/2 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Type: application/json; charset=utf-8\r\n"
             "Content-Length: 19\r\n\r\n{\"latency_ms\": %3zu}",
             port, origin, 100 + k);
    CHECK_MSG(status_of(afx_one(&f, req, a, sizeof(a))) == 200, "%s", a);
    CHECK_EQ(f.farm.models[1].latency.latency_ms, 100 + k);
  }
  CHECK(afx_stop(&f) == 0);
}

/* No cross-origin access, ever: a preflight is refused and no answer
 * carries an Access-Control header. */
TEST(no_cross_origin_access_is_granted) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  char req[512], a[4096];
  static const char *const paths[] = {"/backends/1", "/backends", "/events", "/"};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(paths); k++) {
    snprintf(req, sizeof(req),
             "OPTIONS %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://evil.example\r\n"
             "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n",
             paths[k], f.admin.port);
    afx_one(&f, req, a, sizeof(a));
    CHECK_MSG(status_of(a) == 405 && strstr(a, "no cross-origin access is granted"), "%s", a);
    CHECK_MSG(strstr(a, "\r\nAllow: GET, HEAD") != NULL, "%s", a);
    CHECK_MSG(!has_ci(a, "access-control-"), "%s", a);
  }
  snprintf(req, sizeof(req), "GET /backends HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://evil.example\r\n\r\n",
           f.admin.port);
  afx_one(&f, req, a, sizeof(a));
  CHECK_MSG(status_of(a) == 200 && !has_ci(a, "access-control-"), "%s", a);
  CHECK(afx_stop(&f) == 0);
}

/* The page and its files: the right types, and headers that keep it to
 * its own scripts, unframed, unsniffed. */
TEST(the_page_is_served_with_a_content_security_policy) {
  admin_fixture_t f;
  CHECK(afx_start(&f, 2, 1) == 0);
  static const struct {
    const char *path, *type, *inside;
  } files[] = {
      {"/", "text/html; charset=utf-8", "<script src=\"app.js\""},
      {"/app.js", "text/javascript; charset=utf-8", "EventSource"},
      {"/chart.js", "text/javascript; charset=utf-8", "Chart.js v3."},
      {"/style.css", "text/css; charset=utf-8", "body"},
      {"/favicon.svg", "image/svg+xml", "<svg"},
  };
  char req[256];
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(files); k++) {
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", files[k].path, f.admin.port);
    raw_result_t r;
    afx_exchange(&f, req, 1, &r);
    const char *a = raw_text(&r);
    char type[96];
    snprintf(type, sizeof(type), "\r\nContent-Type: %s\r\n", files[k].type);
    CHECK_MSG(status_of(a) == 200 && strstr(a, type) && strstr(a, files[k].inside), "%s: %.300s", files[k].path, a);
    CHECK_MSG(strstr(a, "\r\nContent-Security-Policy: default-src 'none'; script-src 'self'; ") != NULL, "%.600s", a);
    CHECK(strstr(a, "\r\nX-Content-Type-Options: nosniff\r\n") != NULL);
    CHECK(strstr(a, "\r\nReferrer-Policy: no-referrer\r\n") != NULL);
    CHECK(strstr(a, "\r\nX-Frame-Options: DENY\r\n") != NULL);
    CHECK(strstr(a, "\r\nCache-Control: no-cache\r\n") != NULL);
    CHECK(!has_ci(a, "unsafe-"));
    raw_result_free(&r);
  }
  CHECK(afx_stop(&f) == 0);
}

/* The page has no inline script (the policy would block it) and loads
 * nothing from elsewhere. */
TEST(the_page_has_no_inline_script_and_nothing_from_elsewhere) {
  const lbsim_web_asset_t *page = NULL;
  for (size_t k = 0; k < lbsim_web_nassets; k++)
    if (strcmp(lbsim_web_assets[k].path, "/") == 0)
      page = &lbsim_web_assets[k];
  CHECK(page != NULL);
  const char *html = (const char *)page->data;
  int scripts = 0;
  for (const char *p = strstr(html, "<script"); p; p = strstr(p + 1, "<script")) {
    const char *close = strchr(p, '>');
    CHECK(close != NULL);
    CHECK_MSG(strstr(p, " src=\"") && strstr(p, " src=\"") < close, "inline script: %.60s", p);
    CHECK_MSG(strncmp(close, "></script>", 10) == 0, "a script with a body: %.60s", p);
    scripts++;
  }
  CHECK(scripts >= 2);
  CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL && strstr(html, "//cdn") == NULL);
  CHECK(!has_ci(html, " onclick=") && !has_ci(html, " onload=") &&
        !has_ci(html, "<style") && !has_ci(html, " style="));
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Compare mode: every copy of every backend, well past 4,096 copies. */
TEST(metrics_cover_every_copy_in_compare_mode) {
  enum { N = 2100 };
  admin_fixture_t f;
  CHECK(afx_start(&f, N, 2) == 0);
  f.copies[2 * N - 1].answered_200 = 7;
  raw_result_t r;
  char req[96];
  snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", f.admin.port);
  afx_exchange(&f, req, 1, &r);
  const char *text = raw_text(&r);
  CHECK(strncmp(text, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK_EQ(count(text, "\nlbsim_backend_up{"), 2 * N);
  CHECK_EQ(count(text, "\nlbsim_backend_latency_seconds{"), 2 * N);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"1\",policy=\"ema-greedy\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"2100\",policy=\"round-robin\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_requests_total{backend=\"2100\",policy=\"round-robin\",code=\"200\"} 7\n") !=
        NULL);
  raw_result_free(&r);
  CHECK(afx_stop(&f) == 0);
}
