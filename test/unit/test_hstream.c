/* The sans-I/O server session's two features for the admin endpoint: the
 * request headers an application asks to see, and answers that become a
 * stream (Server-Sent Events). */
#include "harness.h"

#include <string.h>
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"
#include "lbsim/net/http/hsession.h"

#define MS(x) ((uint64_t)(x) * UINT64_C(1000000))

static const char *const wanted[] = {"host", "origin", "content-type", NULL};

typedef struct app_s {
  int routed;
  lbsim_hfield_t seen[3];   /* the fields of the last request */
  bool had_fields;
} app_t;

static void route(void *data, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  app_t *app = data;
  (void)now_ns;
  app->routed++;
  app->had_fields = req->fields != NULL;
  if (req->fields)
    memcpy(app->seen, req->fields, sizeof(app->seen));
  e->kind = 1;
  e->status = 200;
  if (req->path_len == 2 && memcmp(req->path, "/s", 2) == 0)
    e->flags |= LBSIM_HENTRY_STREAM;
}

static void render(void *data, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  (void)data;
  if (e->flags & LBSIM_HENTRY_STREAM) {
    lbsim_hreply_head(out, e, 200);
    lbsim_buf_append_str(out, "Content-Type: text/event-stream\r\n\r\n");
  } else {
    lbsim_hreply_simple(out, e, 200, "text/plain", NULL, "ok", 2);
  }
}

static const lbsim_happ_t vtable = {.route = route, .render = render};

static lbsim_hlimits_t limits_with(const char *const *capture) {
  return (lbsim_hlimits_t){.max_header_bytes = 4096, .max_url_bytes = 256, .max_body_bytes = 100, .max_headers = 20,
                           .max_pipeline = 8, .request_timeout_ns = MS(100), .idle_timeout_ns = MS(500),
                           .linger_timeout_ns = MS(50), .linger_bytes = 1000, .capture = capture};
}

static size_t feed(lbsim_hsession_t *s, const char *text, lbsim_buf_t *out) {
  return lbsim_hsession_feed(s, text, strlen(text), MS(1), out);
}

TEST(headers_the_application_asked_for_are_captured) {
  lbsim_hlimits_t limits = limits_with(wanted);
  app_t app = {0};
  lbsim_hsession_t s;
  lbsim_buf_t out = LBSIM_BUF_INIT;
  lbsim_hsession_init(&s, &limits, &vtable, &app, 0);
  feed(&s, "POST /a HTTP/1.1\r\nHost: LocalHost:9000  \r\nORIGIN: http://x\r\nContent-Type: a\r\n"
           "content-type: application/json; charset=utf-8\r\nContent-Length: 0\r\n\r\n", &out);
  CHECK_EQ(app.routed, 1);
  CHECK(app.had_fields);
  CHECK(app.seen[0].count == 1 && strcmp(app.seen[0].value, "LocalHost:9000") == 0 && !app.seen[0].too_long);
  CHECK(app.seen[1].count == 1 && strcmp(app.seen[1].value, "http://x") == 0);
  CHECK(app.seen[2].count == 2 && strcmp(app.seen[2].value, "application/json; charset=utf-8") == 0);
  /* The next request starts afresh; a value too long is cut and says so. */
  char long_origin[300];
  memset(long_origin, 'o', sizeof(long_origin) - 1);
  long_origin[sizeof(long_origin) - 1] = '\0';
  lbsim_buf_t req = LBSIM_BUF_INIT;
  lbsim_buf_printf(&req, "GET /b HTTP/1.1\r\nHost: h\r\nOrigin: %s\r\nX-Other: y\r\nContent-Type:\r\n\r\n", long_origin);
  lbsim_buf_append(&req, "", 1);
  feed(&s, req.data, &out);
  CHECK_EQ(app.routed, 2);
  CHECK(app.seen[0].count == 1 && strcmp(app.seen[0].value, "h") == 0);
  CHECK(app.seen[1].count == 1 && app.seen[1].too_long && app.seen[1].len == LBSIM_HFIELD_MAX - 1);
  CHECK(app.seen[2].count == 1 && app.seen[2].len == 0 && app.seen[2].value[0] == '\0');
  lbsim_buf_free(&req);
  lbsim_buf_free(&out);
  lbsim_hsession_free(&s);
  /* Without a capture list: no fields (the backends pay nothing). */
  limits = limits_with(NULL);
  lbsim_hsession_init(&s, &limits, &vtable, &app, 0);
  feed(&s, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n", &out);
  CHECK(app.routed == 3 && !app.had_fields);
  lbsim_buf_free(&out);
  lbsim_hsession_free(&s);
}

TEST(a_stream_holds_the_connection_and_ends_parsing) {
  lbsim_hlimits_t limits = limits_with(NULL);
  app_t app = {0};
  lbsim_hsession_t s;
  lbsim_buf_t out = LBSIM_BUF_INIT;
  lbsim_hsession_init(&s, &limits, &vtable, &app, 0);
  feed(&s, "GET /s HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n", &out);
  lbsim_buf_append(&out, "", 1);
  CHECK_EQ(app.routed, 1); /* nothing after the stream's request */
  CHECK_MSG(strstr(out.data, "HTTP/1.1 200 OK\r\n") && strstr(out.data, "\r\nConnection: close\r\n") &&
                strstr(out.data, "text/event-stream\r\n\r\n"),
            "%s", out.data);
  CHECK(s.state == LBSIM_HSTATE_STREAM);
  CHECK(lbsim_hsession_next_wakeup(&s) == LBSIM_NEVER); /* no idle timeout while it streams */
  CHECK(lbsim_hsession_wants_input(&s));
  lbsim_buf_clear(&out);
  CHECK(feed(&s, "anything at all", &out) == 15 && out.len == 0 && app.routed == 1);
  lbsim_hsession_tick(&s, MS(10000), &out);
  CHECK(s.state == LBSIM_HSTATE_STREAM && out.len == 0);
  lbsim_hsession_end_stream(&s, MS(20000));
  CHECK(s.state == LBSIM_HSTATE_LINGER && lbsim_hsession_next_wakeup(&s) == MS(20000));
  lbsim_hsession_free(&s);
  /* The peer going away ends it at once. */
  lbsim_hsession_init(&s, &limits, &vtable, &app, 0);
  feed(&s, "GET /s HTTP/1.0\r\n\r\n", &out);
  CHECK(s.state == LBSIM_HSTATE_STREAM);
  lbsim_hsession_eof(&s, MS(2), &out);
  CHECK(s.state == LBSIM_HSTATE_CLOSE);
  lbsim_hsession_free(&s);
  /* HEAD is answered with the head only, and the connection stays. */
  lbsim_hsession_init(&s, &limits, &vtable, &app, 0);
  lbsim_buf_clear(&out);
  feed(&s, "HEAD /s HTTP/1.1\r\nHost: h\r\n\r\n", &out);
  lbsim_buf_append(&out, "", 1);
  CHECK(s.state == LBSIM_HSTATE_OPEN && strstr(out.data, "Connection: close") == NULL);
  lbsim_buf_free(&out);
  lbsim_hsession_free(&s);
}
