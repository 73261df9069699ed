/* An HTTP/1.1 listener on the loop: accepts connections, moves bytes between
 * sockets and lbsim_hsession_t, arms one timer per connection, applies the
 * connection cap and output backpressure. The application (a backend, the
 * admin endpoint) plugs in through lbsim_happ_t. */
#ifndef LBSIM_HTTPD_H
#define LBSIM_HTTPD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/hserver.h"
#include "lbsim/queue.h"
#include "lbsim/sched.h"

typedef struct lbsim_hconn_s lbsim_hconn_t;
typedef struct lbsim_httpd_s lbsim_httpd_t;

typedef void (*lbsim_httpd_closed_cb)(lbsim_httpd_t *server);

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

  uint64_t accepted;
  uint64_t rejected;           /* over the connection cap: 503 and closed */
  uint64_t accept_errors;      /* EMFILE and friends; connections closed for want of memory */
};

/* Fills limits from the defaults (8 KiB headers, 100 header lines, ...).
 * Callers adjust them before lbsim_httpd_listen. */
void lbsim_httpd_init(lbsim_httpd_t *server, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_happ_t *app,
                      void *app_data);
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

#endif
