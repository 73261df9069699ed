/* libuv transport for lbsim_hsession_t. See lbsim/net/http/httpd.h.
 *
 * Memory per idle connection is one struct (the handle, the parser and the
 * session; deadlines live in the loop's lbsim_sched_t): the read buffer is shared by the whole loop, since every read is
 * parsed before the callback returns, and output is composed in a shared
 * scratch buffer and handed to the kernel with one uv_try_write. Only what
 * the kernel does not take is copied into memory of the connection's own. */
#include "lbsim/net/http/httpd.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

#define READ_BUFFER_SIZE 65536
#define LISTEN_BACKLOG 4096

struct lbsim_hconn_s {
  uv_tcp_t tcp;
  lbsim_sched_entry_t wake;   /* the session's next wake-up */
  lbsim_httpd_t *server;
  lbsim_queue_t node;         /* in the server's connections */
  lbsim_hsession_t session;
  lbsim_buf_t unsent;        /* output the kernel has not taken and no write holds yet */
  char *rest;                /* input not yet parsed (the session paused) */
  uint32_t rest_len;
  uint32_t inflight_bytes;   /* held by the write in flight */
  bool writing;
  bool reading;
  bool eof;                  /* the peer closed its side, seen after `rest` */
  bool shut;                 /* our write side is shut down */
  bool closing;
  bool streaming;            /* the application writes a stream (on_stream has run) */
  bool stream_ending;        /* ... and has ended it: finishing its output */
  void *stream_data;
};

typedef struct hwrite_s {
  uv_write_t req;
  lbsim_hconn_t *conn;
  size_t len;
  char data[];
} hwrite_t;

static char read_buffer[READ_BUFFER_SIZE];
static lbsim_buf_t scratch; /* composed output of the connection being served */
static uint32_t conns_alive; /* of every server: the last one to close frees `scratch` */

static void conn_update(lbsim_hconn_t *c);

/* ---- closing ------------------------------------------------------------ */

static void server_handle_closed(lbsim_httpd_t *server) {
  assert(server->nhandles > 0);
  if (--server->nhandles == 0 && server->closing && server->on_closed)
    server->on_closed(server);
}

static void conn_handle_closed(uv_handle_t *handle) {
  lbsim_hconn_t *c = handle->data;
  lbsim_httpd_t *server = c->server;
  lbsim_buf_free(&c->unsent);
  free(c->rest);
  free(c);
  if (--conns_alive == 0)
    lbsim_buf_free(&scratch);
  server_handle_closed(server);
}

static void conn_close_how(lbsim_hconn_t *c, bool reset) {
  if (c->closing)
    return;
  c->closing = true;
  lbsim_httpd_t *server = c->server;
  if (c->streaming || c->session.state == LBSIM_HSTATE_STREAM) {
    /* Also a stream whose head went out but that was never announced. */
    c->streaming = false;
    if (server->on_stream_closed)
      server->on_stream_closed(server, c);
  }
  lbsim_hsession_free(&c->session);
  lbsim_queue_remove(&c->node);
  server->nconns--;
  lbsim_sched_cancel(server->sched, &c->wake);
  if (!reset || uv_tcp_close_reset(&c->tcp, conn_handle_closed) != 0)
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void conn_close(lbsim_hconn_t *c) {
  conn_close_how(c, false);
}

/* ---- output ------------------------------------------------------------- */

/* Where the session should append output now: the shared scratch buffer,
 * unless earlier output is still waiting (order must hold). */
static lbsim_buf_t *conn_out(lbsim_hconn_t *c) {
  if (c->writing || c->unsent.len > 0)
    return &c->unsent;
  lbsim_buf_clear(&scratch);
  return &scratch;
}

static void on_write(uv_write_t *req, int status);

static void start_write(lbsim_hconn_t *c) {
  size_t len = c->unsent.len;
  hwrite_t *w = malloc(sizeof(*w) + len);
  if (w == NULL) {
    conn_close(c);
    return;
  }
  w->conn = c;
  w->len = len;
  memcpy(w->data, c->unsent.data, len);
  c->unsent.len = 0;
  if (c->unsent.cap > 4096)
    lbsim_buf_free(&c->unsent); /* do not keep a burst's worth of memory */
  uv_buf_t buf = uv_buf_init(w->data, (unsigned int)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->writing = true;
  c->inflight_bytes = (uint32_t)len;
}

static void on_write(uv_write_t *req, int status) {
  hwrite_t *w = LBSIM_CONTAINER_OF(req, hwrite_t, req);
  lbsim_hconn_t *c = w->conn;
  free(w);
  c->writing = false;
  c->inflight_bytes = 0;
  if (c->closing)
    return;
  if (status != 0) {
    conn_close(c);
    return;
  }
  if (c->unsent.len > 0)
    start_write(c);
  if (c->streaming && !c->stream_ending && !c->writing && c->server->on_stream_writable)
    c->server->on_stream_writable(c->server, c);
  if (!c->closing)
    conn_update(c);
}

/* Hands composed output to the kernel: one try_write, the rest queued. */
static void conn_flush(lbsim_hconn_t *c, lbsim_buf_t *out) {
  if (c->closing)
    return;
  if (out->err != 0) {
    /* Part of an answer could not be composed: none of it goes out. */
    lbsim_buf_clear(&scratch);
    conn_close(c);
    return;
  }
  if (out == &scratch && scratch.len > 0) {
    uv_buf_t buf = uv_buf_init(scratch.data, (unsigned int)scratch.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
      conn_close(c);
      return;
    }
    size_t written = n > 0 ? (size_t)n : 0;
    if (written < scratch.len &&
        lbsim_buf_append(&c->unsent, scratch.data + written, scratch.len - written) != 0) {
      conn_close(c);
      return;
    }
    scratch.len = 0;
  }
  if (!c->writing && c->unsent.len > 0)
    start_write(c);
}

static size_t conn_pending_output(const lbsim_hconn_t *c) {
  return c->unsent.len + c->inflight_bytes;
}

/* ---- input -------------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof(read_buffer));
}

/* Feeds bytes to the session; keeps what it could not take yet. */
static void conn_feed(lbsim_hconn_t *c, const char *data, size_t len) {
  lbsim_buf_t *out = conn_out(c);
  size_t used = lbsim_hsession_feed(&c->session, data, len, uv_hrtime(), out);
  conn_flush(c, out);
  if (used < len && !c->closing) {
    char *rest = malloc(len - used);
    if (rest == NULL) {
      conn_close(c);
      return;
    }
    memcpy(rest, data + used, len - used);
    c->rest = rest;
    c->rest_len = (uint32_t)(len - used);
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  lbsim_hconn_t *c = stream->data;
  if (nread > 0) {
    conn_feed(c, buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    c->eof = true;
    if (c->rest == NULL) {
      lbsim_buf_t *out = conn_out(c);
      lbsim_hsession_eof(&c->session, uv_hrtime(), out);
      conn_flush(c, out);
    }
  } else if (nread < 0) {
    conn_close(c); /* reset: nobody is left to answer */
    return;
  }
  if (!c->closing)
    conn_update(c);
}

/* Feeds input the session paused on, once it wants more. */
static void conn_feed_rest(lbsim_hconn_t *c) {
  /* Held input counts against the output cap as reading does: one read's
   * worth of pipelined requests would otherwise queue some 2000 answers. */
  while (c->rest != NULL && !c->closing && lbsim_hsession_wants_input(&c->session) &&
         conn_pending_output(c) <= c->server->max_output_bytes) {
    char *rest = c->rest;
    uint32_t len = c->rest_len;
    c->rest = NULL;
    c->rest_len = 0;
    conn_feed(c, rest, len);
    free(rest);
    if (c->rest != NULL && c->rest_len == len)
      break; /* no progress: still paused */
  }
  if (c->rest == NULL && c->eof && !c->closing && c->session.state == LBSIM_HSTATE_OPEN) {
    lbsim_buf_t *out = conn_out(c);
    lbsim_hsession_eof(&c->session, uv_hrtime(), out);
    conn_flush(c, out);
  }
}

/* ---- timer -------------------------------------------------------------- */

static void on_wake(lbsim_sched_entry_t *entry, uint64_t now_ns) {
  lbsim_hconn_t *c = LBSIM_CONTAINER_OF(entry, lbsim_hconn_t, wake);
  lbsim_buf_t *out = conn_out(c);
  lbsim_hsession_tick(&c->session, now_ns, out);
  conn_flush(c, out);
  if (!c->closing)
    conn_update(c);
}

/* ---- state -------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status) {
  lbsim_hconn_t *c = req->data;
  free(req);
  (void)status;
  if (!c->closing)
    conn_update(c);
}

/* Brings the socket in line with the session: close, shut down, read or
 * not, and the timer. Called after every event. */
static void conn_update(lbsim_hconn_t *c) {
  if (c->closing)
    return;
  conn_feed_rest(c);
  if (c->closing)
    return;
  lbsim_hsession_t *s = &c->session;
  if (s->state == LBSIM_HSTATE_CLOSE) {
    conn_close(c);
    return;
  }
  if (s->state == LBSIM_HSTATE_STREAM && !c->streaming) {
    lbsim_httpd_t *server = c->server;
    if (server->on_stream == NULL) {
      conn_close(c);
      return;
    }
    if (server->stream_send_buffer > 0) {
      int size = server->stream_send_buffer;
      (void)uv_send_buffer_size((uv_handle_t *)&c->tcp, &size);
    }
    c->streaming = true;
    server->on_stream(server, c, s->stream_arg);
    if (c->closing)
      return;
  }
  if (s->state == LBSIM_HSTATE_LINGER && conn_pending_output(c) == 0 && c->eof) {
    conn_close(c); /* everything written and the peer is done: nothing to linger for */
    return;
  }
  if (s->state == LBSIM_HSTATE_LINGER && !c->shut && conn_pending_output(c) == 0) {
    /* Everything is answered and written: send FIN, then read and discard
     * for a while so that a client still sending does not get a reset that
     * destroys the answer in its receive buffer. */
    uv_shutdown_t *req = malloc(sizeof(*req));
    if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
      free(req);
      conn_close(c);
      return;
    }
    req->data = c;
    c->shut = true;
    lbsim_hsession_linger(s, uv_hrtime());
  }
  bool want_read = !c->eof && c->rest == NULL && lbsim_hsession_wants_input(s) &&
                   conn_pending_output(c) <= c->server->max_output_bytes;
  if (want_read && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
    c->reading = true;
  } else if (!want_read && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
  if (lbsim_sched_no_later(c->server->sched, &c->wake, lbsim_hsession_next_wakeup(s), on_wake) != 0)
    conn_close(c);
}

/* ---- accepting ---------------------------------------------------------- */

static void accept_failed(lbsim_httpd_t *server, int err) {
  if (server->accept_errors++ == 0)
    lbsim_log_error("accept failed: %s (further errors are counted, not logged)", uv_strerror(err));
}

static void drop(lbsim_httpd_t *server);

static void on_spare_closed(uv_handle_t *handle) {
  lbsim_httpd_t *server = handle->data;
  server->spare_busy = false;
  if (server->drop_pending) {
    server->drop_pending = false;
    drop(server);
  }
  server_handle_closed(server);
}

/* A connection that nothing can be allocated for is still taken from libuv
 * and closed, on a handle the server owns: left there, it would make libuv
 * stop accepting altogether. While that handle is closing, libuv holds the
 * next such connection and accepts nothing more until this takes it. */
static void drop(lbsim_httpd_t *server) {
  if (server->spare_busy) {
    server->drop_pending = true;
    return;
  }
  if (!server->listening || uv_tcp_init(server->loop, &server->spare) != 0)
    return;
  server->spare.data = server;
  server->spare_busy = true;
  server->nhandles++;
  (void)uv_accept((uv_stream_t *)&server->listener, (uv_stream_t *)&server->spare);
  uv_close((uv_handle_t *)&server->spare, on_spare_closed);
  accept_failed(server, UV_ENOMEM);
}

static void on_rejected_closed(uv_handle_t *handle) {
  lbsim_httpd_t *server = handle->data;
  free(handle);
  server_handle_closed(server);
}

/* Over the connection cap: answer 503 at once and close. */
#define BUSY_BODY "{\"status\":\"error\",\"code\":503,\"reason\":\"too many connections\"}"
_Static_assert(sizeof(BUSY_BODY) - 1 == 61, "Content-Length of the 503 answer");

static void reject(lbsim_httpd_t *server) {
  static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 61\r\n"
                             "Connection: close\r\n"
                             "Retry-After: 1\r\n"
                             "\r\n" BUSY_BODY;
  uv_tcp_t *tcp = malloc(sizeof(*tcp));
  if (tcp == NULL || uv_tcp_init(server->loop, tcp) != 0) {
    free(tcp);
    drop(server);
    return;
  }
  tcp->data = server;
  server->nhandles++;
  if (uv_accept((uv_stream_t *)&server->listener, (uv_stream_t *)tcp) == 0) {
    uv_buf_t buf = uv_buf_init((char *)busy, sizeof(busy) - 1);
    (void)uv_try_write((uv_stream_t *)tcp, &buf, 1);
    server->rejected++;
  }
  uv_close((uv_handle_t *)tcp, on_rejected_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  lbsim_httpd_t *server = listener->data;
  if (status != 0) {
    /* EMFILE/ENFILE: libuv already accepted and dropped the connection with
     * its reserve descriptor, so the loop does not spin. */
    accept_failed(server, status);
    return;
  }
  if (server->nconns >= server->max_conns) {
    reject(server);
    return;
  }
  lbsim_hconn_t *c = calloc(1, sizeof(*c));
  if (c == NULL || uv_tcp_init(server->loop, &c->tcp) != 0) {
    free(c);
    drop(server);
    return;
  }
  c->server = server;
  conns_alive++;
  c->tcp.data = c;
  server->nhandles++;
  lbsim_queue_insert_tail(&server->conns, &c->node);
  server->nconns++;
  lbsim_hsession_init(&c->session, &server->limits, server->app, server->app_data, uv_hrtime());
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  server->accepted++;
  uv_tcp_nodelay(&c->tcp, 1);
  conn_update(c);
}

/* ---- public ------------------------------------------------------------- */

void lbsim_httpd_init(lbsim_httpd_t *server, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_happ_t *app,
                      void *app_data) {
  memset(server, 0, sizeof(*server));
  server->loop = loop;
  server->sched = sched;
  server->app = app;
  server->app_data = app_data;
  lbsim_queue_init(&server->conns);
  server->limits = (lbsim_hlimits_t){
      .max_headers = 100,
      .linger_timeout_ns = 2 * (uint64_t)LBSIM_NS_PER_S,
      .linger_bytes = 65536,
  };
  /* The rest as the command line's options are by default. */
  lbsim_config_t defaults;
  lbsim_config_defaults(&defaults);
  lbsim_httpd_configure(server, &defaults);
}

void lbsim_httpd_configure(lbsim_httpd_t *server, const lbsim_config_t *cfg) {
  server->max_conns = cfg->max_conns;
  server->max_output_bytes = cfg->max_output_bytes;
  server->limits.max_header_bytes = cfg->max_header_bytes;
  server->limits.max_url_bytes = cfg->max_url_bytes;
  server->limits.max_body_bytes = cfg->max_body_bytes;
  server->limits.max_pipeline = cfg->max_pipeline;
  server->limits.request_timeout_ns = lbsim_ms_to_ns(cfg->header_timeout_s * 1000.0);
  server->limits.idle_timeout_ns = lbsim_ms_to_ns(cfg->idle_timeout_s * 1000.0);
}

int lbsim_httpd_listen(lbsim_httpd_t *server, const char *host, uint16_t port, uint16_t *bound_port) {
  if (server->listening)
    return UV_EALREADY;
  if (host != server->host)
    snprintf(server->host, sizeof(server->host), "%s", host);
  if (server->listener_closing) {
    /* The handle's memory is ours again only in its close callback. */
    server->relisten = true;
    server->port = port;
    if (bound_port)
      *bound_port = port;
    return 0;
  }
  struct sockaddr_storage addr;
  int err = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (err != 0)
    err = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (err != 0)
    return err;
  err = uv_tcp_init(server->loop, &server->listener);
  if (err != 0)
    return err;
  server->listener.data = server;
  server->nhandles++;
  server->listening = true;
  err = uv_tcp_bind(&server->listener, (const struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server->listener, LISTEN_BACKLOG, on_connection);
  if (err != 0) {
    lbsim_httpd_stop_listening(server);
    return err;
  }
  struct sockaddr_storage name;
  int namelen = sizeof(name);
  err = uv_tcp_getsockname(&server->listener, (struct sockaddr *)&name, &namelen);
  if (err != 0) {
    lbsim_httpd_stop_listening(server);
    return err;
  }
  server->port = ntohs(name.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&name)->sin6_port
                                                  : ((struct sockaddr_in *)&name)->sin_port);
  if (bound_port)
    *bound_port = server->port;
  return 0;
}

int lbsim_httpd_relisten(lbsim_httpd_t *server) {
  return lbsim_httpd_listen(server, server->host, server->port, NULL);
}

static void on_listener_closed(uv_handle_t *handle) {
  lbsim_httpd_t *server = handle->data;
  server->listener_closing = false;
  if (server->relisten && !server->closing) {
    server->relisten = false;
    int err = lbsim_httpd_relisten(server);
    if (err != 0)
      lbsim_log_error("cannot listen again on %s:%u: %s", server->host, server->port, uv_strerror(err));
  }
  server_handle_closed(server);
}

void lbsim_httpd_stop_listening(lbsim_httpd_t *server) {
  server->relisten = false;
  server->drop_pending = false; /* closing the listener closes what libuv holds */
  if (!server->listening)
    return;
  server->listening = false;
  server->listener_closing = true;
  uv_close((uv_handle_t *)&server->listener, on_listener_closed);
}

void lbsim_httpd_close_connections(lbsim_httpd_t *server, bool reset) {
  lbsim_queue_t *node;
  while ((node = lbsim_queue_head(&server->conns)) != NULL)
    conn_close_how(LBSIM_CONTAINER_OF(node, lbsim_hconn_t, node), reset);
}

void lbsim_httpd_close(lbsim_httpd_t *server, lbsim_httpd_closed_cb on_closed) {
  server->closing = true;
  server->on_closed = on_closed;
  lbsim_httpd_stop_listening(server);
  /* Streams that have ended finish writing (bounded by their deadline);
   * everything else closes now. */
  lbsim_queue_t *node = server->conns.next;
  while (node != &server->conns) {
    lbsim_queue_t *next = node->next;
    lbsim_hconn_t *c = LBSIM_CONTAINER_OF(node, lbsim_hconn_t, node);
    if (!c->stream_ending)
      conn_close(c);
    node = next;
  }
  if (server->nhandles == 0 && on_closed)
    on_closed(server);
}

uint64_t lbsim_httpd_buffered_bytes(const lbsim_httpd_t *server) {
  uint64_t n = 0;
  const lbsim_queue_t *node;
  lbsim_queue_foreach(node, &server->conns) {
    const lbsim_hconn_t *c = LBSIM_CONTAINER_OF(node, lbsim_hconn_t, node);
    n += c->unsent.cap + c->inflight_bytes + c->rest_len;
  }
  return n;
}

/* ---- streams ------------------------------------------------------------ */

int lbsim_httpd_stream_write(lbsim_hconn_t *c, const char *data, size_t len) {
  if (c->closing || !c->streaming || c->stream_ending)
    return UV_ECANCELED;
  size_t written = 0;
  if (!c->writing && c->unsent.len == 0) {
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
      conn_close(c);
      return n;
    }
    written = n > 0 ? (size_t)n : 0;
  }
  if (written < len && lbsim_buf_append(&c->unsent, data + written, len - written) != 0) {
    conn_close(c);
    return UV_ENOMEM;
  }
  if (!c->writing && c->unsent.len > 0)
    start_write(c);
  return c->closing ? UV_ECANCELED : 0;
}

size_t lbsim_httpd_stream_pending(const lbsim_hconn_t *c) {
  return conn_pending_output(c);
}

void lbsim_httpd_stream_end(lbsim_hconn_t *c, uint64_t deadline_ns) {
  if (c->closing || !c->streaming || c->stream_ending)
    return;
  c->stream_ending = true;
  lbsim_hsession_end_stream(&c->session, deadline_ns);
  conn_update(c);
}

void lbsim_httpd_stream_drop(lbsim_hconn_t *c) {
  conn_close_how(c, true);
}

void lbsim_httpd_stream_set_data(lbsim_hconn_t *c, void *data) {
  c->stream_data = data;
}

void *lbsim_httpd_stream_data(const lbsim_hconn_t *c) {
  return c->stream_data;
}

uint32_t lbsim_httpd_stream_arg(const lbsim_hconn_t *c) {
  return c->session.stream_arg;
}
