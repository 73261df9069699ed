#include "rawclient.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "tnet.h"

/* ---- closing ---------------------------------------------------------------- */

static void handle_closed(uv_handle_t *handle) {
  rawclient_t *c = handle->data;
  if (--c->open_handles > 0)
    return;
  lbsim_buf_free(&c->in);
  free(c->resp);
  free(c->pace_data);
  c->resp = NULL;
  c->pace_data = NULL;
}

void rawclient_close(rawclient_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  uv_close((uv_handle_t *)&c->tcp, handle_closed);
  uv_close((uv_handle_t *)&c->pace_timer, handle_closed);
}

/* ---- reading ---------------------------------------------------------------- */

static void add_answer(rawclient_t *c) {
  if (c->nresp == c->resp_cap) {
    int cap = c->resp_cap ? 2 * c->resp_cap : 16;
    raw_answer_t *grown = realloc(c->resp, (size_t)cap * sizeof(*grown));
    if (grown == NULL)
      abort();
    c->resp = grown;
    c->resp_cap = cap;
  }
  c->resp[c->nresp++] = (raw_answer_t){c->parser.status, c->parser.body_bytes};
  lbsim_hresp_next(&c->parser);
}

/* Feeds what arrived to the parser, one answer after another (several may
 * come in one read when requests were pipelined). */
static void parse(rawclient_t *c, const char *data, size_t len) {
  while (len > 0 && !c->parse_error) {
    lbsim_hresp_status_t st = lbsim_hresp_feed(&c->parser, data, len);
    if (st == LBSIM_HRESP_ERROR)
      c->parse_error = true;
    if (st != LBSIM_HRESP_DONE)
      return;
    size_t used = c->parser.consumed < len ? c->parser.consumed : len;
    add_answer(c);
    if (used == 0)
      return;
    data += used;
    len -= used;
  }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  static char space[65536];
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(space, sizeof(space));
}

static void stop_reading(rawclient_t *c) {
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  rawclient_t *c = stream->data;
  if (nread > 0) {
    if (c->in.len == 0)
      c->first_byte_ns = uv_hrtime();
    if (lbsim_buf_append(&c->in, buf->base, (size_t)nread) != 0)
      abort();
    parse(c, buf->base, (size_t)nread);
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF) {
    c->eof = true;
    /* A close-delimited body ends here. */
    if (!c->parse_error && c->parser.bytes > 0 && lbsim_hresp_eof(&c->parser) == LBSIM_HRESP_DONE)
      add_answer(c);
  } else {
    c->read_error = (int)nread;
  }
  c->eof_ns = uv_hrtime();
  stop_reading(c);
}

static void start_reading(rawclient_t *c) {
  if (c->reading || c->read_paused || c->closing || c->connect_status != 0 || rawclient_peer_closed(c))
    return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = true;
}

void rawclient_pause_reading(rawclient_t *c) {
  c->read_paused = true;
  stop_reading(c);
}

void rawclient_resume_reading(rawclient_t *c) {
  c->read_paused = false;
  start_reading(c);
}

bool rawclient_peer_closed(const rawclient_t *c) {
  return c->eof || c->read_error != 0 || (c->connect_status != 0 && c->connect_status != 1);
}

/* ---- connecting and writing ------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status) {
  rawclient_t *c = req->data;
  c->connect_status = status;
  start_reading(c);
}

int rawclient_connect(rawclient_t *c, uv_loop_t *loop, uint16_t port, int rcvbuf) {
  signal(SIGPIPE, SIG_IGN);
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->connect_status = 1;
  lbsim_hresp_init(&c->parser);
  int err = uv_tcp_init_ex(loop, &c->tcp, AF_INET);
  if (err != 0)
    return err;
  uv_timer_init(loop, &c->pace_timer);
  c->tcp.data = c;
  c->pace_timer.data = c;
  c->open_handles = 2;
  if (rcvbuf > 0)
    uv_recv_buffer_size((uv_handle_t *)&c->tcp, &rcvbuf);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  c->connect_req.data = c;
  err = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr, on_connect);
  if (err != 0)
    c->connect_status = err;
  return err;
}

typedef struct rawwrite_s {
  uv_write_t req;
  rawclient_t *client;
  char data[];
} rawwrite_t;

static void on_write(uv_write_t *req, int status) {
  rawwrite_t *w = LBSIM_CONTAINER_OF(req, rawwrite_t, req);
  if (status != 0 && status != UV_ECANCELED && w->client->write_error == 0)
    w->client->write_error = status;
  free(w);
}

void rawclient_send(rawclient_t *c, const void *data, size_t len) {
  if (c->closing)
    return;
  rawwrite_t *w = malloc(sizeof(*w) + len);
  if (w == NULL)
    abort();
  w->client = c;
  memcpy(w->data, data, len);
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
  int err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (err != 0) {
    if (c->write_error == 0)
      c->write_error = err;
    free(w);
  }
}

void rawclient_send_str(rawclient_t *c, const char *s) {
  rawclient_send(c, s, strlen(s));
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

static void shutdown_now(rawclient_t *c) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (req == NULL)
    abort();
  if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    free(req);
}

static bool pacing(const rawclient_t *c) {
  return c->pace_off < c->pace_len;
}

static void on_pace(uv_timer_t *timer) {
  rawclient_t *c = timer->data;
  if (rawclient_peer_closed(c) || c->write_error != 0) {
    c->pace_off = c->pace_len; /* the rest could not go anywhere */
    return;
  }
  size_t n = c->pace_len - c->pace_off;
  if (n > c->pace_chunk)
    n = c->pace_chunk;
  rawclient_send(c, c->pace_data + c->pace_off, n);
  c->pace_off += n;
  if (pacing(c))
    uv_timer_start(&c->pace_timer, on_pace, c->pace_interval_ms, 0);
  else if (c->shutdown_when_sent)
    shutdown_now(c);
}

void rawclient_send_paced(rawclient_t *c, const void *data, size_t len, size_t chunk, unsigned interval_ms) {
  free(c->pace_data);
  c->pace_data = malloc(len ? len : 1);
  if (c->pace_data == NULL)
    abort();
  memcpy(c->pace_data, data, len);
  c->pace_len = len;
  c->pace_off = 0;
  c->pace_chunk = chunk ? chunk : 1;
  c->pace_interval_ms = interval_ms;
  if (len > 0)
    on_pace(&c->pace_timer);
}

void rawclient_shutdown(rawclient_t *c) {
  if (pacing(c))
    c->shutdown_when_sent = true;
  else
    shutdown_now(c);
}

/* ---- waiting ------------------------------------------------------------------ */

typedef struct wait_s {
  rawclient_t *client;
  int n;
  size_t received, sent;   /* when the current wait began */
} wait_t;

static bool have_responses(const wait_t *w) {
  return w->client->nresp >= w->n || rawclient_peer_closed(w->client);
}

static bool responses_or_progress(void *arg) {
  wait_t *w = arg;
  return have_responses(w) || w->client->in.len != w->received || w->client->pace_off != w->sent;
}

bool rawclient_wait_responses(rawclient_t *c, int n, unsigned timeout_ms) {
  wait_t w = {c, n, 0, 0};
  while (!have_responses(&w)) {
    w.received = c->in.len;
    w.sent = c->pace_off;
    if (!tnet_run_until(c->loop, responses_or_progress, &w, timeout_ms))
      break; /* nothing for timeout_ms */
  }
  return c->nresp >= n;
}

static bool is_closed(void *arg) {
  return rawclient_peer_closed(arg);
}

bool rawclient_wait_closed(rawclient_t *c, unsigned timeout_ms) {
  return tnet_run_until(c->loop, is_closed, c, timeout_ms);
}

static bool is_connected(void *arg) {
  return ((rawclient_t *)arg)->connect_status != 1;
}

bool rawclient_wait_connected(rawclient_t *c, unsigned timeout_ms) {
  tnet_run_until(c->loop, is_connected, c, timeout_ms);
  return c->connect_status == 0;
}

static bool is_gone(void *arg) {
  return ((rawclient_t *)arg)->open_handles == 0;
}

/* ---- one exchange -------------------------------------------------------------- */

void raw_exchange(uv_loop_t *loop, uint16_t port, const char *data, size_t len, const raw_opts_t *opts,
                  raw_result_t *result) {
  memset(result, 0, sizeof(*result));
  unsigned wait_ms = opts->wait_ms ? opts->wait_ms : 2000;
  rawclient_t c;
  if (rawclient_connect(&c, loop, port, 0) != 0 || !rawclient_wait_connected(&c, wait_ms)) {
    result->connect_failed = true;
  } else {
    uint64_t start_ns = uv_hrtime();
    rawclient_send_paced(&c, data, len, opts->chunk ? opts->chunk : len, opts->gap_ms);
    if (opts->half_close)
      rawclient_shutdown(&c);
    rawclient_wait_responses(&c, opts->want_responses ? opts->want_responses : INT_MAX, wait_ms);
    result->responses = c.nresp;
    result->peer_closed = rawclient_peer_closed(&c) || c.write_error != 0;
    if (c.first_byte_ns)
      result->first_byte_ns = c.first_byte_ns - start_ns;
    if (rawclient_peer_closed(&c))
      result->closed_ns = c.eof_ns - start_ns;
    result->in = c.in;
    memset(&c.in, 0, sizeof(c.in));
  }
  rawclient_close(&c);
  tnet_run_until(loop, is_gone, &c, wait_ms);
}

void raw_result_free(raw_result_t *result) {
  lbsim_buf_free(&result->in);
}

const char *raw_text(raw_result_t *result) {
  lbsim_buf_append(&result->in, "", 1);
  result->in.len--;
  return result->in.data;
}
