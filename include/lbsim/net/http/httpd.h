/* An HTTP/1.1 listener on the loop: accepts connections, moves bytes between
 * sockets and lbsim_hsession_t, arms one timer per connection, applies the
 * connection cap and output backpressure. The application (a backend, the
 * admin endpoint) plugs in through lbsim_happ_t. */
#ifndef LBSIM_HTTPD_H
#define LBSIM_HTTPD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/cli/config.h"
#include "lbsim/net/http/hsession.h"
#include "lbsim/base/queue.h"
#include "lbsim/net/sched.h"

typedef struct lbsim_hconn_s lbsim_hconn_t;
typedef struct lbsim_httpd_s lbsim_httpd_t;

typedef void (*lbsim_httpd_closed_cb)(lbsim_httpd_t *server);
/* A connection whose answer became a stream (LBSIM_HENTRY_STREAM): `arg` is
 * the answer's. */
typedef void (*lbsim_httpd_stream_cb)(lbsim_httpd_t *server, lbsim_hconn_t *conn, uint32_t arg);
typedef void (*lbsim_httpd_conn_cb)(lbsim_httpd_t *server, lbsim_hconn_t *conn);

struct lbsim_httpd_s {
  uv_loop_t *loop;
  lbsim_sched_t *sched;
  uv_tcp_t listener;
  lbsim_hlimits_t limits;
  const lbsim_happ_t *app;
  void *app_data;
  uint32_t max_conns;
  uint32_t max_output_bytes;

  lbsim_queue_t conns;         /* live connections */
  uint32_t nconns;
  uint32_t nhandles;           /* listener + every handle not yet closed */
  bool listening;
  bool listener_closing;       /* uv_close'd, callback not run yet */
  bool relisten;               /* listen again once it has closed */
  char host[256];
  uint16_t port;               /* as bound */
  bool closing;
  lbsim_httpd_closed_cb on_closed;

  uv_tcp_t spare;              /* closes connections nothing can be allocated for */
  bool spare_busy;             /* closing one */
  bool drop_pending;           /* libuv holds another, and accepts nothing until it is taken */

  /* Streams: on_stream when a stream's head is written; on_stream_writable
   * when its pending output has been written; on_stream_closed when it
   * closes, for whatever reason (the last call about it; also for a stream
   * closed before on_stream could run). */
  lbsim_httpd_stream_cb on_stream;
  lbsim_httpd_conn_cb on_stream_writable;
  lbsim_httpd_conn_cb on_stream_closed;
  int stream_send_buffer;      /* SO_SNDBUF of a stream's socket; 0: the system's */

  uint64_t accepted;
  uint64_t rejected;           /* over the connection cap: 503 and closed */
  uint64_t accept_errors;      /* EMFILE and friends; connections closed for want of memory */
};

/* Fills limits from the defaults: those of the command line's options
 * (--max-conns, --max-header-bytes, ... as lbsim_config_defaults sets
 * them), 100 header lines, 2 s and 64 KiB of lingering after an error
 * answer. Callers adjust them before lbsim_httpd_listen. */
void lbsim_httpd_init(lbsim_httpd_t *server, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_happ_t *app,
                      void *app_data);
/* The limits the command line sets: --max-conns, --max-output-bytes,
 * --max-header-bytes, --max-url-bytes, --max-body-bytes, --max-pipeline,
 * --header-timeout, --idle-timeout. */
void lbsim_httpd_configure(lbsim_httpd_t *server, const lbsim_config_t *cfg);
/* Binds host:port (port 0: chosen by the OS) and starts accepting.
 * Returns 0 or a libuv error code; *bound_port receives the port. */
int lbsim_httpd_listen(lbsim_httpd_t *server, const char *host, uint16_t port, uint16_t *bound_port);
/* Stops accepting (closes the listener); existing connections go on. */
void lbsim_httpd_stop_listening(lbsim_httpd_t *server);
/* Listens again on the host and port of the first lbsim_httpd_listen. */
int lbsim_httpd_relisten(lbsim_httpd_t *server);
/* Closes the listener and every connection, dropping queued answers;
 * on_closed (may be NULL) runs when the last handle is closed. */
void lbsim_httpd_close(lbsim_httpd_t *server, lbsim_httpd_closed_cb on_closed);
/* Closes every connection, with a reset (RST) when `reset`: what peers of
 * a crashed server see. */
void lbsim_httpd_close_connections(lbsim_httpd_t *server, bool reset);
/* Bytes held for connections: output not yet written and input not yet
 * parsed. Bounded per connection by the limits, whatever peers do. */
uint64_t lbsim_httpd_buffered_bytes(const lbsim_httpd_t *server);

/* ---- streams ---------------------------------------------------------------
 * Once on_stream has run, the application writes the stream's body. Output
 * the kernel does not take at once is held for the connection: the
 * application bounds it with lbsim_httpd_stream_pending(). */
int lbsim_httpd_stream_write(lbsim_hconn_t *conn, const char *data, size_t len);
/* Bytes written to the stream and not yet taken by the kernel. */
size_t lbsim_httpd_stream_pending(const lbsim_hconn_t *conn);
/* The stream is complete: the connection closes once it is written, or at
 * deadline_ns; lbsim_httpd_close() leaves it to finish. */
void lbsim_httpd_stream_end(lbsim_hconn_t *conn, uint64_t deadline_ns);
/* Closes the stream now, with a reset: what is pending is lost. */
void lbsim_httpd_stream_drop(lbsim_hconn_t *conn);
/* The application's pointer for a stream (NULL until it sets one: in
 * on_stream_closed, a stream closed before on_stream could run). */
void lbsim_httpd_stream_set_data(lbsim_hconn_t *conn, void *data);
void *lbsim_httpd_stream_data(const lbsim_hconn_t *conn);
/* The `arg` of the answer that became the stream. */
uint32_t lbsim_httpd_stream_arg(const lbsim_hconn_t *conn);

#endif
