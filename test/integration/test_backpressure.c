/* Output backpressure on a real socket: a client that pipelines tens of
 * thousands of requests and does not read. The backend must stop reading
 * (its output cap plus the kernel buffers bound what it holds) and, once the
 * client reads, deliver every answer in order, whether the connection then
 * stays open, is closed by the last request, or was half-closed by the
 * client. These tests move megabytes: they run alone (RUN_SERIAL) so the
 * timing tests elsewhere do not compete with them for the CPU. */
#include <stdlib.h>

#include "harness.h"
#include "lbsim/base/buf.h"
#include "backend_fixture.h"
#include "rawclient.h"
#include "tnet.h"

/* Bound on waiting for something that must happen (for long transfers:
 * without any progress), generous so that a loaded machine or valgrind
 * only makes the tests slower. */
#define WAIT_MS 10000

/* Request i of a pipelined batch: mostly /ping, every third a 404, the
 * last one asking to close when `close_last`. */
static char *pipelined_batch(int n, bool close_last, size_t *len) {
  lbsim_buf_t buf = {0};
  for (int i = 0; i < n; i++) {
    const char *path = i % 3 == 2 ? "/missing" : "/ping";
    const char *conn = close_last && i == n - 1 ? "Connection: close\r\n" : "";
    lbsim_buf_printf(&buf, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", path, conn);
  }
  *len = buf.len;
  return buf.data;
}

static uint64_t answered_by(const backend_fixture_t *t) {
  const lbsim_backend_t *b = &t->backend;
  return b->answered_200 + b->answered_404 + b->answered_405 + b->answered_503;
}

/* The count of answers once it stops growing while the client does not
 * read: the same over two looks 40 ms apart, each taken after the loop has
 * handled what was ready (a late timer must not end the wait before the
 * sockets had their turn). */
static uint64_t settled_answers(backend_fixture_t *t) {
  uint64_t answered = 0;
  for (int settled = 0, i = 0; settled < 2 && i < 250; i++) {
    tnet_sleep(&t->loop, 40);
    uv_run(&t->loop, UV_RUN_NOWAIT);
    uint64_t now = answered_by(t);
    settled = now == answered ? settled + 1 : 0;
    answered = now;
  }
  return answered;
}

/* Sends n pipelined requests to a client that does not read, so the
 * backend's output backs up; then reads everything and checks that every
 * answer arrived, in order. */
static int backpressure_run(int n, bool close_last, bool half_close) {
  backend_fixture_t t;
  bfx_defaults(&t);
  t.cfg.max_output_bytes = 1024;
  t.cfg.max_pipeline = 16;
  REQUIRE(bfx_start(&t, 0) == 0);
  rawclient_t c;
  REQUIRE(rawclient_connect(&c, &t.loop, t.port, 4096) == 0);
  rawclient_pause_reading(&c);
  size_t len;
  char *batch = pipelined_batch(n, close_last, &len);
  rawclient_send(&c, batch, len);
  free(batch);
  if (half_close)
    rawclient_shutdown(&c);
  /* The backend stops once the kernel buffers and its own output cap are
   * full: the count of answers settles far below n while the client does
   * not read. */
  uint64_t answered = settled_answers(&t);
  REQUIRE(answered < (uint64_t)n);
  REQUIRE(c.nresp == 0);

  rawclient_resume_reading(&c);
  REQUIRE(rawclient_wait_responses(&c, n, WAIT_MS));
  for (int i = 0; i < n; i++) {
    int want = i % 3 == 2 ? 404 : 200;
    if (c.resp[i].status != want) {
      lbsim_test_fail(__FILE__, __LINE__, "answer %d: status %d, expected %d", i, c.resp[i].status, want);
      return -1;
    }
  }
  REQUIRE(!c.parse_error);
  if (close_last || half_close) {
    REQUIRE(rawclient_wait_closed(&c, WAIT_MS));
    REQUIRE(c.eof && c.read_error == 0);
  }
  REQUIRE(c.nresp == n);
  rawclient_close(&c);
  REQUIRE(bfx_stop(&t) == 0);
  return 0;
}

TEST(backpressure_loses_no_answer) {
  CHECK(backpressure_run(40000, false, false) == 0);
}

TEST(backpressure_then_connection_close) {
  CHECK(backpressure_run(40000, true, false) == 0);
}

TEST(backpressure_then_half_close) {
  CHECK(backpressure_run(40000, false, true) == 0);
}

/* The accepted socket of the backend: the one TCP handle on the loop that
 * is neither the listener nor the client. */
typedef struct find_s {
  const backend_fixture_t *t;
  const rawclient_t *c;
  uv_handle_t *found;
} find_t;

static void find_server_side(uv_handle_t *handle, void *arg) {
  find_t *f = arg;
  if (handle->type == UV_TCP && handle != (uv_handle_t *)&f->t->backend.httpd.listener &&
      handle != (uv_handle_t *)&f->c->tcp && !uv_is_closing(handle))
    f->found = handle;
}

static bool server_side_found(void *arg) {
  find_t *f = arg;
  uv_walk(f->t->backend.httpd.loop, find_server_side, f);
  return f->found != NULL;
}

TEST(held_output_is_bounded_by_the_cap) {
  /* With both socket buffers pinned small, what the backend answers while
   * the client does not read is what fits in them plus its own output cap,
   * not one whole read's worth of pipelined requests (64 KiB of requests
   * is some 1800 answers). */
  backend_fixture_t t;
  bfx_defaults(&t);
  t.cfg.max_output_bytes = 1024;
  t.cfg.max_pipeline = 16;
  CHECK_EQ(bfx_start(&t, 0), 0);
  rawclient_t c;
  CHECK_EQ(rawclient_connect(&c, &t.loop, t.port, 4096), 0);
  rawclient_pause_reading(&c);
  CHECK(rawclient_wait_connected(&c, WAIT_MS));
  find_t f = {&t, &c, NULL};
  CHECK(tnet_run_until(&t.loop, server_side_found, &f, WAIT_MS));
  int sndbuf = 4096;
  CHECK_EQ(uv_send_buffer_size(f.found, &sndbuf), 0);

  enum { N = 20000 };
  size_t len;
  char *batch = pipelined_batch(N, false, &len);
  rawclient_send(&c, batch, len);
  free(batch);
  uint64_t answered = settled_answers(&t);
  CHECK_MSG(answered < 600, "%llu answers held for a client that does not read", (unsigned long long)answered);

  rawclient_resume_reading(&c);
  CHECK(rawclient_wait_responses(&c, N, WAIT_MS));
  CHECK_EQ(c.nresp, N);
  rawclient_close(&c);
  CHECK_EQ(bfx_stop(&t), 0);
}

