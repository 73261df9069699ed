/* The sans-I/O HTTP/1.1 server session, driven directly: bytes and times
 * in, bytes out, with a tiny application that answers with the request's
 * path after the delay given in its query ("/a?d=30": 30 ms). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "harness.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"
#include "lbsim/net/http/hsession.h"
#include "lbsim/base/rng.h"

#define MS(x) ((uint64_t)(x) * UINT64_C(1000000))
#define T0 MS(1000) /* sessions start at t = 1 s */

/* ---- the fake application ------------------------------------------------ */

typedef struct fake_app_s {
  char paths[64][64];   /* routed paths, in routing order */
  uint32_t routed;
  uint32_t rendered;
  uint32_t dropped;
  uint32_t errors_sent;
  int error_status;     /* of the last error answer the session sent */
} fake_app_t;

static void fake_route(void *data, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  fake_app_t *app = data;
  uint32_t i = app->routed++ % 64;
  size_t n = req->path ? req->path_len : 0;
  if (n >= sizeof(app->paths[i]))
    n = sizeof(app->paths[i]) - 1;
  memcpy(app->paths[i], req->path ? req->path : "", n);
  app->paths[i][n] = '\0';
  unsigned delay_ms = 0;
  if (req->query && req->query_len > 2 && req->query[0] == 'd' && req->query[1] == '=')
    delay_ms = (unsigned)strtoul(req->query + 2, NULL, 10);
  e->kind = 1;
  e->status = 200;
  e->arg = i;
  e->due_ns = now_ns + MS(delay_ms);
  if (n == 6 && memcmp(req->path, "/close", 6) == 0)
    e->flags |= LBSIM_HENTRY_CLOSE; /* the application turns this one away */
}

static void fake_render(void *data, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  fake_app_t *app = data;
  app->rendered++;
  const char *body = app->paths[e->arg];
  lbsim_hreply_simple(out, e, e->status, "text/plain", NULL, body, strlen(body));
}

static void fake_dropped(void *data, const lbsim_hentry_t *e) {
  fake_app_t *app = data;
  app->dropped++;
}

static void fake_error_sent(void *data, const lbsim_hentry_t *e) {
  fake_app_t *app = data;
  app->errors_sent++;
  app->error_status = e->status;
}

static const lbsim_happ_t fake_vtable = {
    .route = fake_route, .render = fake_render, .dropped = fake_dropped, .error_sent = fake_error_sent};

/* ---- fixture -------------------------------------------------------------- */

static lbsim_hlimits_t limits;
static fake_app_t app;
static lbsim_hsession_t session;
static lbsim_buf_t out;

static void setup(void) {
  limits = (lbsim_hlimits_t){
      .max_header_bytes = 1024,
      .max_url_bytes = 256,
      .max_body_bytes = 1000,
      .max_headers = 10,
      .max_pipeline = 8,
      .request_timeout_ns = MS(100),
      .idle_timeout_ns = MS(500),
      .linger_timeout_ns = MS(50),
      .linger_bytes = 1000,
  };
  memset(&app, 0, sizeof(app));
  lbsim_buf_free(&out);
}

static void start(void) {
  lbsim_hsession_init(&session, &limits, &fake_vtable, &app, T0);
}

static size_t feed_at(const char *data, uint64_t at) {
  return lbsim_hsession_feed(&session, data, strlen(data), at, &out);
}

static size_t feed(const char *data) {
  return feed_at(data, T0);
}

static void tick(uint64_t at) {
  lbsim_hsession_tick(&session, at, &out);
}

/* The output so far, as a string. */
static const char *output(void) {
  lbsim_buf_reserve(&out, 1);
  out.data[out.len] = '\0';
  return out.data;
}

static int count(const char *haystack, const char *needle) {
  int n = 0;
  for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static int responses(void) {
  return count(output(), "HTTP/1.1 ");
}

/* The status of the n-th response (0-based), or -1. */
static int status_of(int n) {
  const char *p = output();
  for (int i = 0; p && i <= n; i++) {
    p = strstr(p, "HTTP/1.1 ");
    if (p && i < n)
      p++;
  }
  return p ? atoi(p + 9) : -1;
}

static void teardown(void) {
  lbsim_hsession_free(&session);
  lbsim_buf_free(&out);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- basics --------------------------------------------------------------- */

TEST(simple_get) {
  setup();
  start();
  const char *req = GET("/a");
  CHECK_EQ(feed(req), strlen(req));
  CHECK_EQ(responses(), 1);
  CHECK_EQ(status_of(0), 200);
  CHECK(strstr(output(), "Content-Length: 2\r\n\r\n/a") != NULL);
  CHECK(strstr(output(), "Connection:") == NULL); /* HTTP/1.1 keeps alive silently */
  CHECK(strstr(output(), "\r\nDate: ") != NULL);
  CHECK(strstr(output(), "\r\nServer: lbsim/") != NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  CHECK(lbsim_hsession_wants_input(&session));
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + limits.idle_timeout_ns);
  teardown();
}

TEST(pipelined_answers_keep_request_order) {
  setup();
  start();
  /* The first is the slowest: the others wait for it. */
  const char *reqs = GET("/a?d=30") GET("/b?d=10") GET("/c");
  CHECK_EQ(feed(reqs), strlen(reqs));
  CHECK_EQ(app.routed, 3);
  CHECK_EQ(out.len, 0);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(30));
  tick(T0 + MS(10));
  CHECK_EQ(out.len, 0);
  tick(T0 + MS(30));
  CHECK_EQ(responses(), 3);
  const char *a = strstr(output(), "\r\n\r\n/a"), *b = strstr(output(), "\r\n\r\n/b"),
             *c = strstr(output(), "\r\n\r\n/c");
  CHECK(a && b && c && a < b && b < c);
  teardown();
}

TEST(answers_go_out_as_they_become_due) {
  setup();
  start();
  feed(GET("/a?d=10") GET("/b?d=30"));
  tick(T0 + MS(10));
  CHECK_EQ(responses(), 1);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(30));
  tick(T0 + MS(30));
  CHECK_EQ(responses(), 2);
  teardown();
}

TEST(byte_by_byte_feeding) {
  setup();
  start();
  const char *reqs = GET("/one") "HEAD /two HTTP/1.1\r\nHost: t\r\nX-Long: " "abcdefghijklmnopqrstuvwxyz" "\r\n\r\n";
  for (size_t i = 0; reqs[i]; i++) {
    char byte[2] = {reqs[i], '\0'};
    CHECK_EQ(feed(byte), 1);
  }
  CHECK_EQ(app.routed, 2);
  CHECK_STR_EQ(app.paths[0], "/one");
  CHECK_STR_EQ(app.paths[1], "/two");
  CHECK_EQ(responses(), 2);
  teardown();
}

TEST(absolute_form_target_routes_by_path) {
  setup();
  start();
  feed("GET http://t/x/y?d=0 HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK_EQ(app.routed, 1);
  CHECK_STR_EQ(app.paths[0], "/x/y");
  teardown();
}

TEST(head_has_no_body) {
  setup();
  start();
  feed("HEAD /abcd HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK_EQ(responses(), 1);
  CHECK(strstr(output(), "Content-Length: 5\r\n") != NULL);
  CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
  CHECK(strstr(output(), "/abcd") == NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  teardown();
}

TEST(http10_keep_alive_is_echoed) {
  setup();
  start();
  feed("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK_EQ(responses(), 1);
  CHECK(strstr(output(), "\r\nConnection: keep-alive\r\n") != NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  /* A second request on the same connection. */
  feed("GET /b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  CHECK_EQ(responses(), 2);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  teardown();
}

TEST(http10_without_keep_alive_closes) {
  setup();
  start();
  /* HTTP/1.0 needs no Host; what follows the request is ignored. */
  const char *reqs = "GET /a HTTP/1.0\r\n\r\n" GET("/b");
  CHECK_EQ(feed(reqs), strlen(reqs));
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 1);
  CHECK(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  teardown();
}

TEST(connection_close_on_http11) {
  setup();
  start();
  feed("GET /a?d=5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" GET("/b"));
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(session.state, LBSIM_HSTATE_DRAINING);
  CHECK(!lbsim_hsession_wants_input(&session));
  tick(T0 + MS(5));
  CHECK_EQ(responses(), 1);
  CHECK(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  teardown();
}

/* The application may close a connection after its answer (a client it
 * turns away): what follows is not read. */
TEST(a_route_can_close_the_connection_after_its_answer) {
  setup();
  start();
  feed(GET("/close") GET("/b"));
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 1);
  CHECK(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  teardown();
}

/* ---- pipelining limit ----------------------------------------------------- */

TEST(pause_at_max_pipeline_and_resume) {
  setup();
  limits.max_pipeline = 2;
  start();
  const char *two = GET("/a?d=10") GET("/b?d=10");
  const char *four = GET("/a?d=10") GET("/b?d=10") GET("/c?d=10") GET("/d?d=10");
  size_t used = feed(four);
  CHECK_EQ(used, strlen(two));
  CHECK_EQ(app.routed, 2);
  CHECK(!lbsim_hsession_wants_input(&session));
  /* Still full: nothing more is taken. */
  CHECK_EQ(feed(four + used), 0);
  CHECK_EQ(app.routed, 2);

  tick(T0 + MS(10));
  CHECK_EQ(responses(), 2);
  CHECK(lbsim_hsession_wants_input(&session));
  CHECK_EQ(feed_at(four + used, T0 + MS(10)), strlen(four) - used);
  CHECK_EQ(app.routed, 4);
  tick(T0 + MS(20));
  CHECK_EQ(responses(), 4);
  CHECK_STR_EQ(app.paths[2], "/c");
  CHECK_STR_EQ(app.paths[3], "/d");
  const char *b = strstr(output(), "\r\n\r\n/b"), *c = strstr(output(), "\r\n\r\n/c");
  CHECK(b && c && b < c);
  teardown();
}

TEST(pause_resumes_in_the_middle_of_a_request) {
  setup();
  limits.max_pipeline = 1;
  start();
  /* The second request is cut in two across feeds while paused. */
  const char *all = GET("/a?d=1") GET("/b");
  size_t used = feed(all);
  CHECK_EQ(used, strlen(GET("/a?d=1")));
  tick(T0 + MS(1));
  CHECK_EQ(responses(), 1);
  char head[8] = {0};
  memcpy(head, all + used, 5);
  CHECK_EQ(feed_at(head, T0 + MS(1)), 5);
  CHECK_EQ(feed_at(all + used + 5, T0 + MS(2)), strlen(all) - used - 5);
  CHECK_EQ(app.routed, 2);
  CHECK_STR_EQ(app.paths[1], "/b");
  CHECK_EQ(responses(), 2);
  teardown();
}

/* ---- limits --------------------------------------------------------------- */

/* Feeds one request expected to be refused with `status`, and checks the
 * answer closes the connection. */
static int check_refused(const char *request, int status) {
  start();
  feed(request);
  REQUIRE(responses() == 1);
  REQUIRE(status_of(0) == status);
  REQUIRE(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  REQUIRE(app.routed == 0);
  REQUIRE(session.state == LBSIM_HSTATE_LINGER);
  char code[16];
  snprintf(code, sizeof(code), "\"code\":%d", status);
  REQUIRE(strstr(output(), code) != NULL);
  REQUIRE(app.errors_sent == 1 && app.error_status == status); /* the application can count it */
  teardown();
  memset(&app, 0, sizeof(app));
  return 0;
}

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

TEST(header_section_too_large_431) {
  setup();
  char *big = repeat('v', 1100);
  char req[1300];
  snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big);
  free(big);
  CHECK(check_refused(req, 431) == 0);
}

TEST(header_section_counts_the_whole_target_431) {
  /* The target is within its own cap, but target + headers are over the
   * header-section cap. */
  setup();
  limits.max_header_bytes = 256;
  limits.max_url_bytes = 4096;
  char *path = repeat('p', 200);
  char req[600];
  snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: t\r\nX-Fill: %s\r\n\r\n", path, "0123456789012345678901234567890123456789");
  free(path);
  CHECK(check_refused(req, 431) == 0);
}

TEST(too_many_header_lines_431) {
  setup();
  char req[1024] = "GET / HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 10; i++)
    snprintf(req + strlen(req), sizeof(req) - strlen(req), "X-%d: y\r\n", i);
  strcat(req, "\r\n");
  CHECK(check_refused(req, 431) == 0);
}

TEST(url_too_long_414) {
  setup();
  char *path = repeat('u', 300);
  char req[512];
  snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", path);
  free(path);
  CHECK(check_refused(req, 414) == 0);
}

TEST(long_url_within_cap_is_routed) {
  /* Longer than the session keeps for routing, shorter than the cap. */
  setup();
  start();
  char *path = repeat('u', 200);
  char req[512];
  snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", path);
  free(path);
  feed(req);
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 1);
  CHECK_EQ(status_of(0), 200);
  teardown();
}

TEST(body_too_large_413) {
  setup();
  CHECK(check_refused("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413) == 0);
}

TEST(chunked_body_too_large_413) {
  setup();
  char *chunk = repeat('b', 0x300);
  char req[2048];
  snprintf(req, sizeof(req),
           "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n%s\r\n300\r\n%s\r\n0\r\n\r\n",
           chunk, chunk);
  free(chunk);
  CHECK(check_refused(req, 413) == 0);
}

TEST(body_within_limit_is_accepted) {
  setup();
  start();
  feed("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" GET("/b"));
  CHECK_EQ(app.routed, 2);
  CHECK_STR_EQ(app.paths[1], "/b");
  teardown();
}

TEST(missing_host_400) {
  setup();
  CHECK(check_refused("GET / HTTP/1.1\r\n\r\n", 400) == 0);
}

TEST(duplicate_host_400) {
  setup();
  CHECK(check_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400) == 0);
}

TEST(malformed_request_400) {
  setup();
  CHECK(check_refused("HELLO THERE\r\n\r\n", 400) == 0);
  CHECK(check_refused("GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400) == 0);
  /* Both Content-Length and chunked: the smuggling shape strict mode refuses. */
  CHECK(check_refused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "0\r\n\r\n",
                      400) == 0);
}

TEST(unsupported_version_505) {
  setup();
  CHECK(check_refused("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505) == 0);
  CHECK(check_refused("GET / HTTP/3.1\r\nHost: t\r\n\r\n", 505) == 0);
}

TEST(unknown_expectation_417) {
  setup();
  CHECK(check_refused("POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417) == 0);
}

TEST(expect_100_continue) {
  setup();
  start();
  feed("POST /a HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  CHECK(strncmp(output(), "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
  feed("hi");
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 2);
  CHECK_EQ(status_of(1), 200);
  teardown();
}

/* RFC 9110 10.1.1: an HTTP/1.0 client cannot take an interim answer. */
TEST(http10_expect_100_continue_is_ignored) {
  setup();
  start();
  feed("POST /a HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  CHECK_EQ(out.len, 0);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  feed("hi");
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 1);
  CHECK(strncmp(output(), "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  teardown();
}

/* Expect is an HTTP/1.1 mechanism: from HTTP/1.0 any value is ignored, as
 * nginx does, rather than refused with 417. */
TEST(http10_unknown_expectation_is_ignored) {
  setup();
  start();
  feed("POST /a HTTP/1.0\r\nExpect: teapot\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx");
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(responses(), 1);
  CHECK_EQ(status_of(0), 200);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  teardown();
}

TEST(error_waits_for_earlier_answers) {
  setup();
  start();
  feed(GET("/a?d=20") "GET / HTTP/1.1\r\n\r\n");
  CHECK_EQ(app.routed, 1);
  CHECK_EQ(out.len, 0);
  CHECK_EQ(app.errors_sent, 0); /* counted when sent, not when queued */
  tick(T0 + MS(20));
  CHECK_EQ(app.errors_sent, 1);
  CHECK_EQ(responses(), 2);
  CHECK_EQ(status_of(0), 200);
  CHECK_EQ(status_of(1), 400);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  teardown();
}

TEST(head_error_has_no_body) {
  setup();
  start();
  char *big = repeat('v', 1100);
  char req[1300];
  snprintf(req, sizeof(req), "HEAD / HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big);
  free(big);
  feed(req);
  CHECK_EQ(status_of(0), 431);
  CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
  teardown();
}

/* ---- time ----------------------------------------------------------------- */

TEST(request_timeout_408) {
  setup();
  start();
  feed_at("GET /a HTTP/1.1\r\nHost: t\r\n", T0 + MS(1));
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(1) + limits.request_timeout_ns);
  /* Trickling bytes do not move the deadline. */
  feed_at("X-1: y\r\n", T0 + MS(50));
  feed_at("X-2: y\r\n", T0 + MS(99));
  tick(T0 + MS(100));
  CHECK_EQ(out.len, 0);
  tick(T0 + MS(101));
  CHECK_EQ(responses(), 1);
  CHECK_EQ(status_of(0), 408);
  CHECK(strstr(output(), "\r\nConnection: close\r\n") != NULL);
  CHECK_EQ(app.routed, 0);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  teardown();
}

TEST(request_deadline_is_per_request) {
  setup();
  start();
  /* A complete request followed by the start of the next: the deadline
   * runs from the second request's first byte. */
  feed_at(GET("/a") "GET /b HT", T0 + MS(80));
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(80) + limits.request_timeout_ns);
  tick(T0 + MS(179));
  CHECK_EQ(responses(), 1);
  feed_at("TP/1.1\r\nHost: t\r\n\r\n", T0 + MS(179));
  CHECK_EQ(responses(), 2);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  teardown();
}

TEST(idle_connection_closes) {
  setup();
  start();
  /* Without any request ... */
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + limits.idle_timeout_ns);
  tick(T0 + limits.idle_timeout_ns - 1);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  tick(T0 + limits.idle_timeout_ns);
  CHECK_EQ(session.state, LBSIM_HSTATE_CLOSE);
  CHECK(lbsim_hsession_next_wakeup(&session) == LBSIM_NEVER);
  CHECK_EQ(out.len, 0); /* idle connections close without an answer */
  teardown();

  /* ... and after the last answer. */
  setup();
  start();
  feed_at(GET("/a?d=5"), T0 + MS(100));
  tick(T0 + MS(105));
  CHECK_EQ(responses(), 1);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(105) + limits.idle_timeout_ns);
  tick(T0 + MS(104) + limits.idle_timeout_ns);
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  tick(T0 + MS(105) + limits.idle_timeout_ns);
  CHECK_EQ(session.state, LBSIM_HSTATE_CLOSE);
  teardown();
}

TEST(no_idle_close_while_answers_are_pending) {
  setup();
  limits.idle_timeout_ns = MS(10);
  start();
  feed(GET("/slow?d=50"));
  tick(T0 + MS(20));
  CHECK_EQ(session.state, LBSIM_HSTATE_OPEN);
  tick(T0 + MS(50));
  CHECK_EQ(responses(), 1);
  teardown();
}

/* ---- the end of a connection ---------------------------------------------- */

TEST(eof_still_sends_queued_answers) {
  setup();
  start();
  feed(GET("/a?d=10"));
  lbsim_hsession_eof(&session, T0, &out);
  CHECK_EQ(out.len, 0);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + MS(10));
  tick(T0 + MS(10));
  CHECK_EQ(responses(), 1);
  CHECK_EQ(app.dropped, 0);
  teardown();
}

TEST(eof_in_the_middle_of_a_request_answers_nothing) {
  setup();
  start();
  feed("GET /a HTTP/1.1\r\nHo");
  lbsim_hsession_eof(&session, T0, &out);
  /* Nothing left to answer: the transport closes once earlier output is
   * written. */
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  CHECK_EQ(out.len, 0);
  CHECK_EQ(app.routed, 0);
  teardown();
}

TEST(eof_after_answers_lingers_for_the_transport) {
  setup();
  start();
  feed(GET("/a"));
  CHECK_EQ(responses(), 1);
  lbsim_hsession_eof(&session, T0, &out);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  CHECK_EQ(responses(), 1);
  teardown();
}

TEST(last_answer_gets_time_to_be_written) {
  /* After a closing answer, the transport may still be writing it to a slow
   * reader: the session does not ask to close before the idle timeout. */
  setup();
  start();
  feed("GET /a HTTP/1.0\r\n\r\n");
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + limits.idle_timeout_ns);
  tick(T0 + MS(1));
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  tick(T0 + limits.idle_timeout_ns);
  CHECK_EQ(session.state, LBSIM_HSTATE_CLOSE);
  teardown();
}

TEST(free_drops_pending_answers) {
  setup();
  start();
  feed(GET("/a?d=10") GET("/b?d=10"));
  lbsim_hsession_free(&session);
  CHECK_EQ(app.dropped, 2);
  CHECK_EQ(app.rendered, 0);
  lbsim_buf_free(&out);
}

TEST(linger_discards_then_closes) {
  setup();
  start();
  feed("GET / HTTP/1.1\r\n\r\n");
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  lbsim_hsession_linger(&session, T0);
  CHECK(lbsim_hsession_next_wakeup(&session) == T0 + limits.linger_timeout_ns);
  size_t before = out.len;
  char *junk = repeat('j', 600);
  CHECK_EQ(feed(junk), 600);
  CHECK_EQ(session.state, LBSIM_HSTATE_LINGER);
  CHECK_EQ(feed(junk), 600); /* past linger_bytes */
  free(junk);
  CHECK_EQ(session.state, LBSIM_HSTATE_CLOSE);
  CHECK_EQ(out.len, before);
  teardown();

  setup();
  start();
  feed("GET / HTTP/1.1\r\n\r\n");
  lbsim_hsession_linger(&session, T0);
  tick(T0 + limits.linger_timeout_ns);
  CHECK_EQ(session.state, LBSIM_HSTATE_CLOSE);
  teardown();
}

/* ---- hostile input ---------------------------------------------------------- */

TEST(mutated_requests_never_break_the_session) {
  /* Valid requests with random bytes flipped, inserted or cut, fed in
   * random pieces: the session must answer or refuse, keep its queue
   * within the pipelining cap, and never grow output without bound. */
  static const char *const seeds[] = {
      GET("/a?d=1") GET("/b"),
      "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "HEAD /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "GET /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
  };
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 4242, 0);
  for (int round = 0; round < 3000; round++) {
    setup();
    limits.max_pipeline = 1 + (uint32_t)lbsim_rng_below(&rng, 4);
    start();
    char input[512];
    size_t n = 0;
    while (n < 300) {
      const char *s = seeds[lbsim_rng_below(&rng, sizeof(seeds) / sizeof(seeds[0]))];
      size_t len = strlen(s);
      if (n + len >= sizeof(input))
        break;
      memcpy(input + n, s, len);
      n += len;
    }
    for (int m = (int)lbsim_rng_below(&rng, 6); m > 0; m--) {
      size_t at = lbsim_rng_below(&rng, n);
      switch (lbsim_rng_below(&rng, 3)) {
      case 0:
        input[at] = (char)lbsim_rng_below(&rng, 256);
        break;
      case 1:
        input[at] = "\r\n :/?\0"[lbsim_rng_below(&rng, 7)];
        break;
      default:
        n = at; /* cut short */
        break;
      }
    }
    uint64_t now = T0;
    size_t off = 0;
    while (off < n && session.state != LBSIM_HSTATE_CLOSE) {
      size_t piece = 1 + lbsim_rng_below(&rng, 64);
      if (piece > n - off)
        piece = n - off;
      size_t used = lbsim_hsession_feed(&session, input + off, piece, now, &out);
      CHECK(used <= piece);
      CHECK(session.queue_len <= limits.max_pipeline + 1);
      off += used;
      now += MS(lbsim_rng_below(&rng, 3));
      if (used < piece || lbsim_rng_below(&rng, 4) == 0)
        tick(now);
      if (used == 0 && !lbsim_hsession_wants_input(&session)) {
        uint64_t wake = lbsim_hsession_next_wakeup(&session);
        CHECK(wake != LBSIM_NEVER);
        now = wake > now ? wake : now;
        tick(now);
      }
    }
    lbsim_hsession_eof(&session, now, &out);
    for (int i = 0; i < 8 && session.state != LBSIM_HSTATE_CLOSE; i++) {
      uint64_t wake = lbsim_hsession_next_wakeup(&session);
      if (wake == LBSIM_NEVER)
        break;
      now = wake > now ? wake : now;
      tick(now);
    }
    CHECK(out.len < 64 * 1024);
    /* After EOF every answer goes out; then only closing is left. */
    CHECK(session.state == LBSIM_HSTATE_LINGER || session.state == LBSIM_HSTATE_CLOSE);
    CHECK_EQ(session.queue_len, 0);
    lbsim_hsession_free(&session);
    CHECK_EQ(app.rendered + app.dropped, app.routed);
    lbsim_buf_free(&out);
  }
}
