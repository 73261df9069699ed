#include "tnet.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

/* ---- running the loop ----------------------------------------------------- */

static void on_deadline(uv_timer_t *timer) {
  *(bool *)timer->data = true;
}

static void free_on_close(uv_handle_t *handle) {
  free(handle);
}

bool tnet_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms) {
  bool expired = false;
  uv_timer_t *deadline = malloc(sizeof(*deadline));
  if (deadline == NULL)
    abort();
  uv_timer_init(loop, deadline);
  deadline->data = &expired;
  uv_timer_start(deadline, on_deadline, timeout_ms, 0);
  while (!(done && done(arg)) && !expired)
    uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(deadline);
  uv_close((uv_handle_t *)deadline, free_on_close);
  return done ? done(arg) : true;
}

void tnet_sleep(uv_loop_t *loop, unsigned ms) {
  tnet_run_until(loop, NULL, NULL, ms);
}

/* ---- client: closing ------------------------------------------------------ */

static void client_handle_closed(uv_handle_t *handle) {
  tclient_t *c = handle->data;
  if (--c->open_handles > 0)
    return;
  free(c->raw);
  free(c->resp);
  free(c->pace_data);
  c->raw = NULL;
  c->resp = NULL;
  c->pace_data = NULL;
}

void tclient_close(tclient_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  uv_close((uv_handle_t *)&c->tcp, client_handle_closed);
  uv_close((uv_handle_t *)&c->pace_timer, client_handle_closed);
}

/* ---- client: parsing responses -------------------------------------------- */

static tclient_t *client_of(llhttp_t *p) {
  return p->data;
}

static void append_text(char *dst, size_t cap, const char *src, size_t len, bool lower) {
  size_t have = strlen(dst);
  for (size_t i = 0; i < len && have + 1 < cap; i++)
    dst[have++] = lower ? (char)tolower((unsigned char)src[i]) : src[i];
  dst[have] = '\0';
}

static int on_message_begin(llhttp_t *p) {
  tclient_t *c = client_of(p);
  memset(&c->cur, 0, sizeof(c->cur));
  c->cur_in_value = false;
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  tclient_t *c = client_of(p);
  append_text(c->cur.headers, sizeof(c->cur.headers), at, len, true);
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  tclient_t *c = client_of(p);
  if (!c->cur_in_value)
    append_text(c->cur.headers, sizeof(c->cur.headers), ": ", 2, false);
  c->cur_in_value = true;
  append_text(c->cur.headers, sizeof(c->cur.headers), at, len, false);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  tclient_t *c = client_of(p);
  if (!c->cur_in_value)
    append_text(c->cur.headers, sizeof(c->cur.headers), ": ", 2, false);
  append_text(c->cur.headers, sizeof(c->cur.headers), "\n", 1, false);
  c->cur_in_value = false;
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  tclient_t *c = client_of(p);
  c->cur.status = p->status_code;
  c->cur.http_minor = p->http_minor;
  if (c->nresp < 64 && (c->head_mask >> c->nresp) & 1)
    return 1; /* a HEAD answer: no body follows */
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  tclient_t *c = client_of(p);
  size_t limit = sizeof(c->cur.body) - 1;
  size_t have = c->cur.body_len < limit ? c->cur.body_len : limit;
  size_t n = len < limit - have ? len : limit - have;
  memcpy(c->cur.body + have, at, n);
  c->cur.body[have + n] = '\0';
  c->cur.body_len += len;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  tclient_t *c = client_of(p);
  c->cur.keep_alive = llhttp_should_keep_alive(p) != 0;
  c->cur.done_ns = uv_hrtime();
  if (c->nresp == c->resp_cap) {
    int cap = c->resp_cap ? 2 * c->resp_cap : 16;
    tresp_t *grown = realloc(c->resp, (size_t)cap * sizeof(*grown));
    if (grown == NULL)
      abort();
    c->resp = grown;
    c->resp_cap = cap;
  }
  c->resp[c->nresp++] = c->cur;
  return 0;
}

/* ---- client: I/O ------------------------------------------------------------ */

static char read_buffer[65536];

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  *buf = uv_buf_init(read_buffer, sizeof(read_buffer));
}

static void stop_reading(tclient_t *c) {
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  tclient_t *c = stream->data;
  if (nread > 0) {
    size_t n = (size_t)nread;
    if (c->raw_len + n + 1 > c->raw_cap) {
      size_t cap = c->raw_cap ? c->raw_cap : 4096;
      while (cap < c->raw_len + n + 1)
        cap *= 2;
      char *grown = realloc(c->raw, cap);
      if (grown == NULL)
        abort();
      c->raw = grown;
      c->raw_cap = cap;
    }
    memcpy(c->raw + c->raw_len, buf->base, n);
    c->raw_len += n;
    c->raw[c->raw_len] = '\0';
    if (!c->parse_error && llhttp_execute(&c->parser, buf->base, n) != HPE_OK)
      c->parse_error = true;
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF) {
    c->eof = true;
    if (!c->parse_error && llhttp_finish(&c->parser) != HPE_OK)
      c->parse_error = true;
  } else {
    c->read_error = (int)nread;
  }
  c->eof_ns = uv_hrtime();
  stop_reading(c);
}

static void start_reading(tclient_t *c) {
  if (c->reading || c->read_paused || c->closing || c->connect_status != 0 || tclient_peer_closed(c))
    return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = true;
}

static void on_connect(uv_connect_t *req, int status) {
  tclient_t *c = req->data;
  c->connect_status = status;
  start_reading(c);
}

int tclient_connect_rcvbuf(tclient_t *c, uv_loop_t *loop, uint16_t port, int rcvbuf) {
  signal(SIGPIPE, SIG_IGN);
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->connect_status = 1;
  llhttp_settings_init(&c->settings);
  c->settings.on_message_begin = on_message_begin;
  c->settings.on_header_field = on_header_field;
  c->settings.on_header_value = on_header_value;
  c->settings.on_header_value_complete = on_header_value_complete;
  c->settings.on_headers_complete = on_headers_complete;
  c->settings.on_body = on_body;
  c->settings.on_message_complete = on_message_complete;
  llhttp_init(&c->parser, HTTP_RESPONSE, &c->settings);
  c->parser.data = c;

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

int tclient_connect(tclient_t *c, uv_loop_t *loop, uint16_t port) {
  return tclient_connect_rcvbuf(c, loop, port, 0);
}

typedef struct twrite_s {
  uv_write_t req;
  tclient_t *client;
  char data[];
} twrite_t;

static void on_write(uv_write_t *req, int status) {
  twrite_t *w = LBSIM_CONTAINER_OF(req, twrite_t, req);
  if (status != 0 && status != UV_ECANCELED && w->client->write_error == 0)
    w->client->write_error = status;
  free(w);
}

void tclient_send(tclient_t *c, const void *data, size_t len) {
  if (c->closing)
    return;
  twrite_t *w = malloc(sizeof(*w) + len);
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

void tclient_send_str(tclient_t *c, const char *s) {
  tclient_send(c, s, strlen(s));
}

static void on_pace(uv_timer_t *timer) {
  tclient_t *c = timer->data;
  size_t n = c->pace_len - c->pace_off;
  if (n > c->pace_chunk)
    n = c->pace_chunk;
  if (!tclient_peer_closed(c) && c->write_error == 0)
    tclient_send(c, c->pace_data + c->pace_off, n);
  c->pace_off += n;
  if (c->pace_off >= c->pace_len || tclient_peer_closed(c))
    uv_timer_stop(timer);
}

void tclient_send_paced(tclient_t *c, const void *data, size_t len, size_t chunk, unsigned interval_ms) {
  free(c->pace_data);
  c->pace_data = malloc(len);
  if (c->pace_data == NULL)
    abort();
  memcpy(c->pace_data, data, len);
  c->pace_len = len;
  c->pace_off = 0;
  c->pace_chunk = chunk ? chunk : 1;
  c->pace_interval_ms = interval_ms;
  on_pace(&c->pace_timer);
  if (c->pace_off < c->pace_len)
    uv_timer_start(&c->pace_timer, on_pace, interval_ms, interval_ms);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  free(req);
}

void tclient_shutdown(tclient_t *c) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  if (req == NULL)
    abort();
  if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    free(req);
}

void tclient_pause_reading(tclient_t *c) {
  c->read_paused = true;
  stop_reading(c);
}

void tclient_resume_reading(tclient_t *c) {
  c->read_paused = false;
  start_reading(c);
}

bool tclient_peer_closed(const tclient_t *c) {
  return c->eof || c->read_error != 0 || (c->connect_status != 0 && c->connect_status != 1);
}

typedef struct wait_s {
  tclient_t *client;
  int n;
  size_t seen;             /* bytes received when the current wait began */
} wait_t;

static bool have_responses(void *arg) {
  wait_t *w = arg;
  return w->client->nresp >= w->n || tclient_peer_closed(w->client) || w->client->parse_error;
}

static bool responses_or_progress(void *arg) {
  wait_t *w = arg;
  return have_responses(w) || w->client->raw_len != w->seen;
}

bool tclient_wait_responses(tclient_t *c, int n, unsigned timeout_ms) {
  wait_t w = {c, n, 0};
  while (!have_responses(&w)) {
    w.seen = c->raw_len;
    if (!tnet_run_until(c->loop, responses_or_progress, &w, timeout_ms))
      break; /* nothing for timeout_ms */
  }
  return c->nresp >= n;
}

static bool is_closed(void *arg) {
  return tclient_peer_closed(arg);
}

bool tclient_wait_closed(tclient_t *c, unsigned timeout_ms) {
  return tnet_run_until(c->loop, is_closed, c, timeout_ms);
}

static bool is_connected(void *arg) {
  return ((tclient_t *)arg)->connect_status != 1;
}

bool tclient_wait_connected(tclient_t *c, unsigned timeout_ms) {
  tnet_run_until(c->loop, is_connected, c, timeout_ms);
  return c->connect_status == 0;
}

/* ---- backend fixture ------------------------------------------------------ */

void tbackend_init(tbackend_t *t) {
  signal(SIGPIPE, SIG_IGN);
  memset(t, 0, sizeof(*t));
  uv_loop_init(&t->loop);
  lbsim_sched_init(&t->sched, &t->loop);
  lbsim_config_defaults(&t->cfg);
  t->cfg.role = LBSIM_ROLE_BACKENDS;
  t->cfg.backends = 1;
  t->cfg.port_base = 0;
  t->cfg.latency.min_ms = t->cfg.latency.max_ms = 1;
  t->cfg.drift_period_s = 0;
  t->cfg.seed = 1;
  t->cfg.seed_given = true;
}

static void on_backend_closed(lbsim_httpd_t *server) {
  tbackend_t *t = LBSIM_CONTAINER_OF(server, tbackend_t, backend.httpd);
  t->open--;
}

int tbackend_start(tbackend_t *t) {
  int err = lbsim_farm_init(&t->farm, &t->cfg, t->cfg.seed, &t->sched.clock);
  if (err != 0)
    return err;
  t->open = 1;
  t->started = true;
  err = lbsim_backend_start(&t->backend, &t->loop, &t->sched, &t->farm.models[0], &t->cfg, 0, t->cfg.seed);
  t->port = t->backend.port;
  if (err == 0)
    err = lbsim_farm_start(&t->farm, uv_hrtime());
  return err;
}

int tbackend_stop(tbackend_t *t) {
  if (t->started) {
    lbsim_farm_stop(&t->farm);
    lbsim_backend_close(&t->backend, on_backend_closed);
  }
  lbsim_sched_close(&t->sched, NULL);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  lbsim_farm_free(&t->farm);
  if (t->open != 0)
    return -1;
  return uv_loop_close(&t->loop);
}
