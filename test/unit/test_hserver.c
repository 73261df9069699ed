/* The backend's request handling, without sockets: bytes and time in,
 * answers out, with an application shaped like the backend's (/ping, 404).
 * The session's general behaviour (pipelining, limits, time, the end of a
 * connection) is tested in test_hsession.c; here, the cases found by
 * throwing odd requests at a backend. */
#include "harness.h"

#include <string.h>
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"
#include "lbsim/net/http/hsession.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static uint64_t ping_delay_ns = 10 * MS;

static void app_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  (void)app;
  if (req->path && req->path_len == 5 && memcmp(req->path, "/ping", 5) == 0) {
    e->kind = 1;
    e->status = 200;
    e->due_ns = now_ns + ping_delay_ns;
  } else {
    e->kind = 2;
    e->status = 404;
  }
}

static void app_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  (void)app;
  if (e->kind == 1)
    lbsim_hreply_simple(out, e, 200, "text/plain", NULL, "pong", 4);
  else
    lbsim_hreply_simple(out, e, 404, "text/plain", NULL, "none", 4);
}

static void app_dropped(void *app, const lbsim_hentry_t *e) {
  (void)app;
  (void)e;
}

static const lbsim_happ_t app = {.route = app_route, .render = app_render, .dropped = app_dropped};

static lbsim_hlimits_t limits(void) {
  return (lbsim_hlimits_t){
      .max_header_bytes = 8192,
      .max_url_bytes = 1024,
      .max_body_bytes = 1000,
      .max_headers = 20,
      .max_pipeline = 8,
      .request_timeout_ns = 2000 * MS,
      .idle_timeout_ns = 5000 * MS,
      .linger_timeout_ns = 1000 * MS,
      .linger_bytes = 4096,
  };
}

typedef struct fixture_s {
  lbsim_hlimits_t limits;
  lbsim_hsession_t s;
  lbsim_buf_t out;
} fixture_t;

static void setup(fixture_t *f) {
  f->limits = limits();
  memset(&f->out, 0, sizeof(f->out));
  ping_delay_ns = 10 * MS;
  lbsim_hsession_init(&f->s, &f->limits, &app, NULL, T0);
}

static void teardown(fixture_t *f) {
  lbsim_hsession_free(&f->s);
  lbsim_buf_free(&f->out);
}

static size_t feed(fixture_t *f, const char *text, uint64_t now) {
  return lbsim_hsession_feed(&f->s, text, strlen(text), now, &f->out);
}

static const char *out(fixture_t *f) {
  lbsim_buf_append(&f->out, "", 1);
  f->out.len--;
  return f->out.data ? f->out.data : "";
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Sends `request`, expects the error status and a closing connection. */
static int rejects(const char *request, const char *status) {
  fixture_t f;
  setup(&f);
  ping_delay_ns = 0;
  lbsim_hsession_feed(&f.s, request, strlen(request), T0, &f.out);
  lbsim_hsession_tick(&f.s, T0, &f.out);
  const char *o = out(&f);
  int ok = strncmp(o, status, strlen(status)) == 0 && strstr(o, "Connection: close\r\n") != NULL &&
           count(o, "HTTP/1.1 ") == 1 && f.s.state == LBSIM_HSTATE_LINGER;
  if (!ok)
    lbsim_test_fail(__FILE__, __LINE__, "request %.40s...: got '%.60s' state %d", request, o, f.s.state);
  teardown(&f);
  return ok ? 0 : -1;
}

TEST(http10_with_transfer_encoding_is_answered_then_closed) {
  /* RFC 9112 6.1: the framing of a 1.0 request with Transfer-Encoding is
   * faulty even when keep-alive is asked for; what follows is not parsed. */
  fixture_t f;
  setup(&f);
  ping_delay_ns = 0;
  feed(&f, "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
           "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", T0);
  CHECK_EQ(count(out(&f), "200 OK"), 1);
  CHECK(strstr(out(&f), "Connection: close\r\n") != NULL);
  CHECK_EQ(f.s.state, LBSIM_HSTATE_LINGER);
  teardown(&f);
}

TEST(connection_close_stops_reading_and_drops_nothing_before) {
  fixture_t f;
  setup(&f);
  feed(&f, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
           "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", T0);
  lbsim_hsession_tick(&f.s, T0 + 10 * MS, &f.out);
  CHECK_EQ(count(out(&f), "200 OK"), 2);
  CHECK_EQ(f.s.state, LBSIM_HSTATE_LINGER);
  teardown(&f);
}

TEST(folded_and_nameless_headers_are_refused) {
  CHECK(rejects("GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "HTTP/1.1 400 ") == 0);
  CHECK(rejects("GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", "HTTP/1.1 400 ") == 0);
  CHECK(rejects("GET /ping HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n", "HTTP/1.1 400 ") == 0);
  /* a bad line end after a good version is malformed, not unsupported */
  CHECK(rejects("GET /ping HTTP/1.1\rHost: x\r\r", "HTTP/1.1 400 ") == 0);
  CHECK(rejects("GET /ping HTTP/1.2\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ") == 0);
  CHECK(rejects("GET /ping HTTP/3.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ") == 0);
}

TEST(folding_split_across_reads_is_still_seen) {
  fixture_t f;
  setup(&f);
  ping_delay_ns = 0;
  feed(&f, "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\r\n", T0);
  feed(&f, " b\r\n\r\n", T0);
  CHECK(strncmp(out(&f), "HTTP/1.1 400 ", 13) == 0);
  teardown(&f);
}

TEST(upgrade_requests_are_answered_then_closed) {
  fixture_t f;
  setup(&f);
  ping_delay_ns = 0;
  feed(&f, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", T0);
  CHECK(strncmp(out(&f), "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(out(&f), "Connection: close\r\n") != NULL);
  CHECK(f.s.state == LBSIM_HSTATE_LINGER);
  teardown(&f);
}

/* An error answer to a HEAD request has no body, however the bytes came. */
TEST(error_answers_to_head_have_no_body_whatever_the_split) {
  static const struct {
    const char *request;
    bool head;
  } cases[] = {
      {"HEAD /?q=\xea HTTP/1.1\r\nHost: x\r\n\r\n", true}, /* a bad target */
      {"HEAD /ping HTTP/1.1\r\nHost : x\r\n\r\n", true},   /* a bad header */
      {"HEADX /ping HTTP/1.1\r\nHost: x\r\n\r\n", false},  /* not HEAD at all */
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(cases); i++) {
    for (int bytewise = 0; bytewise < 2; bytewise++) {
      fixture_t f;
      setup(&f);
      const char *req = cases[i].request;
      size_t len = strlen(req);
      for (size_t at = 0; at < len && f.s.state == LBSIM_HSTATE_OPEN; at += bytewise ? 1 : len)
        lbsim_hsession_feed(&f.s, req + at, bytewise ? 1 : len, T0, &f.out);
      const char *o = out(&f);
      bool has_body = strstr(o, "\r\n\r\n{") != NULL;
      CHECK_MSG(strncmp(o, "HTTP/1.1 400 ", 13) == 0 && has_body != cases[i].head,
                "case %zu bytewise %d: '%.80s'", i, bytewise, o);
      teardown(&f);
    }
  }
}
