/* Network helpers for in-process tests on a real loop:
 *
 *  - tnet_run_until: run the loop until a condition holds or a bounded wait
 *    is over;
 *  - tclient_t: a raw-socket HTTP client on the same loop that sends given
 *    bytes (at once or paced in chunks) and collects what comes back, both
 *    as raw bytes and parsed into responses, until the peer closes;
 *  - tbackend_t: one simulated backend (model + listener on 127.0.0.1, port
 *    0) on its own loop, torn down with a uv_loop_close() check. */
#ifndef LBSIM_TEST_TNET_H
#define LBSIM_TEST_TNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>
#include <uv.h>

#include "lbsim/net/backend.h"
#include "lbsim/cli/config.h"

/* Runs `loop` until done(arg) is true or timeout_ms have passed; returns
 * done(arg). done may be NULL: then it simply runs for timeout_ms. */
bool tnet_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms);
void tnet_sleep(uv_loop_t *loop, unsigned ms);

/* ---- client --------------------------------------------------------------- */

typedef struct tresp_s {
  int status;
  int http_minor;
  bool keep_alive;         /* llhttp_should_keep_alive */
  char headers[512];       /* "name: value\n" lines, names in lower case */
  char body[512];          /* the first bytes of the body, NUL-terminated */
  size_t body_len;         /* the whole body's length */
  uint64_t done_ns;        /* uv_hrtime() when its last byte arrived */
} tresp_t;

typedef struct tclient_s {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_timer_t pace_timer;
  int open_handles;
  bool closing;

  int connect_status;      /* 1 while connecting, then 0 or a libuv error */
  bool reading;
  bool read_paused;        /* by the test: the kernel buffers fill up */
  bool eof;                /* the peer closed its side */
  int read_error;          /* e.g. UV_ECONNRESET */
  int write_error;
  uint64_t eof_ns;

  /* paced sending */
  char *pace_data;
  size_t pace_len, pace_off, pace_chunk;
  unsigned pace_interval_ms;

  /* what came back */
  char *raw;
  size_t raw_len, raw_cap;
  llhttp_t parser;
  llhttp_settings_t settings;
  bool parse_error;
  uint64_t head_mask;      /* bit i: response i answers a HEAD (no body) */
  tresp_t *resp;
  int nresp, resp_cap;
  tresp_t cur;
  bool cur_in_value;
} tclient_t;

/* Connects to 127.0.0.1:port; returns 0 or a libuv error. rcvbuf > 0 sets
 * SO_RCVBUF before connecting (a small window makes backpressure quick). */
int tclient_connect(tclient_t *c, uv_loop_t *loop, uint16_t port);
int tclient_connect_rcvbuf(tclient_t *c, uv_loop_t *loop, uint16_t port, int rcvbuf);
/* Queues bytes (copied); writes wait for the connection. */
void tclient_send(tclient_t *c, const void *data, size_t len);
void tclient_send_str(tclient_t *c, const char *s);
/* Sends `chunk` bytes every interval_ms until all are sent. */
void tclient_send_paced(tclient_t *c, const void *data, size_t len, size_t chunk, unsigned interval_ms);
/* Half-close: no more bytes from us. */
void tclient_shutdown(tclient_t *c);
void tclient_pause_reading(tclient_t *c);
void tclient_resume_reading(tclient_t *c);

/* Waits for n complete responses (or the end of the connection) as long as
 * bytes keep coming: gives up after timeout_ms without any, so that a slow
 * machine only makes a long transfer slower. */
bool tclient_wait_responses(tclient_t *c, int n, unsigned timeout_ms);
/* Waits for the peer to close (EOF or reset). */
bool tclient_wait_closed(tclient_t *c, unsigned timeout_ms);
bool tclient_wait_connected(tclient_t *c, unsigned timeout_ms);
/* True once the peer has closed or reset the connection. */
bool tclient_peer_closed(const tclient_t *c);

/* Closes the handles; memory is released when they are closed. */
void tclient_close(tclient_t *c);

/* ---- backend fixture ------------------------------------------------------ */

typedef struct tbackend_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;      /* adjust between tbackend_init and tbackend_start */
  lbsim_farm_t farm;     /* one model, drifting on the loop's clock */
  lbsim_backend_t backend;
  uint16_t port;
  int open;                /* listener not yet closed */
  bool started;
} tbackend_t;

/* Loop and a test configuration: one backend, 1 ms fixed latency, no drift,
 * 127.0.0.1 port 0, seed 1. */
void tbackend_init(tbackend_t *t);
/* Starts the model (and its drift, if configured) and the listener. */
int tbackend_start(tbackend_t *t);
/* Closes the backend and the model, runs the loop until every handle is
 * closed, and returns uv_loop_close() (0 when nothing leaked). Clients
 * must have been closed with tclient_close first. */
int tbackend_stop(tbackend_t *t);

#endif
