/* The libuv transport on its own, with an application whose answers are
 * large enough to outlast the kernel's buffers: the end of a connection
 * (half-close by the client, Connection: close, a reader that never reads)
 * must neither cut an answer short nor hold the connection forever. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"
#include "lbsim/net/http/httpd.h"
#include "rawclient.h"
#include "tnet.h"

/* Bound on waiting for something that must happen (for the download:
 * without any progress), generous so that a loaded machine or valgrind
 * only makes the tests slower. */
#define WAIT_MS 10000
#define BIG_BYTES (8u << 20) /* beyond any loopback socket buffer (4 MiB) */

/* ---- an application with one large answer ---------------------------------- */

static void big_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  e->kind = 1;
  e->status = 200;
  e->due_ns = now_ns;
}

static void big_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  lbsim_hreply_head(out, e, 200);
  lbsim_buf_printf(out, "Content-Type: application/octet-stream\r\nContent-Length: %u\r\n\r\n", BIG_BYTES);
  if (e->flags & LBSIM_HENTRY_HEAD)
    return;
  if (lbsim_buf_reserve(out, BIG_BYTES) != 0)
    abort();
  memset(out->data + out->len, 'x', BIG_BYTES);
  out->len += BIG_BYTES;
}

static const lbsim_happ_t big_app = {.route = big_route, .render = big_render};

typedef struct fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_httpd_t httpd;
  uint16_t port;
  bool closed;
} fixture_t;

static int fixture_start(fixture_t *f, double idle_timeout_s, uint32_t max_output_bytes) {
  memset(f, 0, sizeof(*f));
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  lbsim_httpd_init(&f->httpd, &f->loop, &f->sched, &big_app, f);
  f->httpd.limits.idle_timeout_ns = lbsim_ms_to_ns(idle_timeout_s * 1000);
  f->httpd.max_output_bytes = max_output_bytes;
  REQUIRE(lbsim_httpd_listen(&f->httpd, "127.0.0.1", 0, &f->port) == 0);
  return 0;
}

static void on_httpd_closed(lbsim_httpd_t *server) {
  LBSIM_CONTAINER_OF(server, fixture_t, httpd)->closed = true;
}

static int fixture_stop(fixture_t *f) {
  lbsim_httpd_close(&f->httpd, on_httpd_closed);
  lbsim_sched_close(&f->sched, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  REQUIRE(f->closed);
  return uv_loop_close(&f->loop);
}

/* A client with a tiny receive window that does not read for a while.
 * With an output cap above the answer's size, the backend goes on reading
 * while the answer is still unwritten, and so sees the client's FIN. */
static int slow_big_download(const char *request, bool half_close, uint32_t max_output_bytes) {
  fixture_t f;
  REQUIRE(fixture_start(&f, 5, max_output_bytes) == 0);
  rawclient_t c;
  REQUIRE(rawclient_connect(&c, &f.loop, f.port, 4096) == 0);
  rawclient_pause_reading(&c);
  rawclient_send_str(&c, request);
  if (half_close)
    rawclient_shutdown(&c);
  tnet_sleep(&f.loop, 100);
  rawclient_resume_reading(&c);
  REQUIRE(rawclient_wait_responses(&c, 1, WAIT_MS));
  REQUIRE(rawclient_wait_closed(&c, WAIT_MS));
  REQUIRE(c.nresp == 1);
  REQUIRE(c.resp[0].status == 200);
  if (c.resp[0].body_len != BIG_BYTES) {
    lbsim_test_fail(__FILE__, __LINE__, "body of %llu bytes, expected %u", (unsigned long long)c.resp[0].body_len, BIG_BYTES);
    return -1;
  }
  REQUIRE(c.eof && c.read_error == 0 && !c.parse_error);
  rawclient_close(&c);
  return fixture_stop(&f);
}

TEST(large_answer_to_a_half_closed_client_is_whole) {
  /* `printf 'GET ...' | nc -N host port`: the request, then FIN at once. */
  CHECK_EQ(slow_big_download("GET /big HTTP/1.1\r\nHost: t\r\n\r\n", true, 2 * BIG_BYTES), 0);
  CHECK_EQ(slow_big_download("GET /big HTTP/1.1\r\nHost: t\r\n\r\n", true, 65536), 0);
}

TEST(large_answer_before_connection_close_is_whole) {
  CHECK_EQ(slow_big_download("GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false, 65536), 0);
}

TEST(large_http10_answer_is_whole) {
  CHECK_EQ(slow_big_download("GET /big HTTP/1.0\r\n\r\n", false, 65536), 0);
}

static bool has_a_connection(void *httpd) {
  return ((lbsim_httpd_t *)httpd)->nconns == 1;
}

static bool has_no_connection(void *httpd) {
  return ((lbsim_httpd_t *)httpd)->nconns == 0;
}

TEST(reader_that_never_reads_is_dropped) {
  /* The last answer is never taken: the connection goes after the idle
   * timeout instead of staying forever. */
  fixture_t f;
  CHECK_EQ(fixture_start(&f, 0.2, 65536), 0);
  rawclient_t c;
  CHECK_EQ(rawclient_connect(&c, &f.loop, f.port, 4096), 0);
  rawclient_pause_reading(&c);
  uint64_t sent_ns = uv_hrtime();
  rawclient_send_str(&c, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  CHECK(tnet_run_until(&f.loop, has_a_connection, &f.httpd, WAIT_MS));
  CHECK(tnet_run_until(&f.loop, has_no_connection, &f.httpd, WAIT_MS));
  double ms = (double)(uv_hrtime() - sent_ns) / 1e6;
  CHECK_MSG(ms >= 199, "dropped after %.1f ms, before the idle timeout", ms);
  rawclient_close(&c);
  CHECK_EQ(fixture_stop(&f), 0);
}
