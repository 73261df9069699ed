#include "rawclient.h"

#include "harness.h"
#include "lbsim/net/http/hresp.h"

typedef struct raw_s {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_timer_t timer;      /* pacing of pieces, then the overall wait */
  uv_shutdown_t sreq;
  const char *data;
  size_t len, sent;
  raw_opts_t opts;
  raw_result_t *result;
  lbsim_hresp_t parser;
  uint64_t start_ns;
  uint64_t deadline_ns;
  int closing;
  bool done;
} raw_t;

static void on_closed(uv_handle_t *h) {
  raw_t *r = h->data;
  r->closing--;
}

static void finish(raw_t *r) {
  if (r->done)
    return;
  r->done = true;
  r->closing = 2;
  uv_close((uv_handle_t *)&r->tcp, on_closed);
  uv_close((uv_handle_t *)&r->timer, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  static char space[65536];
  (void)size;
  *buf = uv_buf_init(space, sizeof(space));
}

static void count_responses(raw_t *r, const char *data, size_t len) {
  while (len > 0) {
    lbsim_hresp_status_t st = lbsim_hresp_feed(&r->parser, data, len);
    if (st != LBSIM_HRESP_DONE)
      return;
    r->result->responses++;
    /* Bytes past the response belong to the next one: re-feed them. */
    size_t used = (size_t)(llhttp_get_error_pos(&r->parser.parser) - data);
    if (used > len)
      used = len;
    lbsim_hresp_next(&r->parser);
    if (used == 0)
      return;
    data += used;
    len -= used;
  }
}

static void on_timer(uv_timer_t *t);

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  raw_t *r = s->data;
  if (n > 0) {
    if (r->result->in.len == 0)
      r->result->first_byte_ns = uv_hrtime() - r->start_ns;
    lbsim_buf_append(&r->result->in, buf->base, (size_t)n);
    count_responses(r, buf->base, (size_t)n);
    if (r->opts.want_responses && r->result->responses >= r->opts.want_responses)
      finish(r);
    else if (r->sent == r->len)
      uv_timer_start(&r->timer, on_timer, r->opts.wait_ms, 0); /* still coming: wait on */
  } else if (n < 0) {
    r->result->peer_closed = true;
    r->result->closed_ns = uv_hrtime() - r->start_ns;
    finish(r);
  }
}

static void send_next(raw_t *r);

static void on_timer(uv_timer_t *t) {
  raw_t *r = t->data;
  if (r->sent < r->len)
    send_next(r);
  else
    finish(r); /* waited long enough */
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  (void)status;
}

static void send_next(raw_t *r) {
  size_t piece = r->opts.chunk ? r->opts.chunk : r->len;
  if (piece > r->len - r->sent)
    piece = r->len - r->sent;
  uv_buf_t buf = uv_buf_init((char *)r->data + r->sent, (unsigned)piece);
  /* Tests send little: the kernel takes it at once. */
  int n = piece ? uv_try_write((uv_stream_t *)&r->tcp, &buf, 1) : 0;
  if (n < 0) {
    r->result->peer_closed = true;
    finish(r);
    return;
  }
  r->sent += (size_t)n;
  if (r->sent < r->len) {
    uv_timer_start(&r->timer, on_timer, r->opts.chunk ? r->opts.gap_ms : 1, 0);
    return;
  }
  if (r->opts.half_close)
    uv_shutdown(&r->sreq, (uv_stream_t *)&r->tcp, on_shutdown);
  uv_timer_start(&r->timer, on_timer, r->opts.wait_ms, 0);
}

static void on_connect(uv_connect_t *req, int status) {
  raw_t *r = req->data;
  if (status != 0) {
    r->result->connect_failed = true;
    finish(r);
    return;
  }
  r->start_ns = uv_hrtime();
  uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
  send_next(r);
}

int raw_exchange(uv_loop_t *loop, uint16_t port, const char *data, size_t len, const raw_opts_t *opts,
                 raw_result_t *result) {
  raw_t r;
  memset(&r, 0, sizeof(r));
  memset(result, 0, sizeof(*result));
  r.data = data;
  r.len = len;
  r.opts = *opts;
  if (r.opts.wait_ms == 0)
    r.opts.wait_ms = 2000;
  r.result = result;
  lbsim_hresp_init(&r.parser);
  uv_tcp_init(loop, &r.tcp);
  uv_timer_init(loop, &r.timer);
  r.tcp.data = r.timer.data = r.creq.data = &r;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  REQUIRE(uv_tcp_connect(&r.creq, &r.tcp, (const struct sockaddr *)&addr, on_connect) == 0);
  while (!r.done || r.closing > 0)
    uv_run(loop, UV_RUN_ONCE);
  return 0;
}

void raw_result_free(raw_result_t *result) {
  lbsim_buf_free(&result->in);
}

const char *raw_text(raw_result_t *result) {
  lbsim_buf_append(&result->in, "", 1);
  result->in.len--;
  return result->in.data;
}

static void on_run_timer(uv_timer_t *t) {
  *(bool *)t->data = true;
}

static void on_run_timer_closed(uv_handle_t *h) {
  (void)h;
}

void run_for(uv_loop_t *loop, uint64_t ms) {
  uv_timer_t t;
  bool fired = false;
  uv_timer_init(loop, &t);
  t.data = &fired;
  uv_timer_start(&t, on_run_timer, ms, 0);
  while (!fired)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, on_run_timer_closed);
  uv_run(loop, UV_RUN_NOWAIT);
}

int close_loop(uv_loop_t *loop) {
  /* Whatever the test closed is finishing: let the callbacks run. */
  for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++)
    uv_sleep(1);
  int err = uv_loop_close(loop);
  if (err != 0) {
    lbsim_test_fail(__FILE__, __LINE__, "uv_loop_close: %s", uv_strerror(err));
    return -1;
  }
  return 0;
}
