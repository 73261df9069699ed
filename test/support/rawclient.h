/* A raw HTTP client for tests on a real loop: it sends exact bytes (whole,
 * or paced in pieces), can stop reading and half-close, and collects every
 * byte that comes back, with the answers among them read by lbsim's own
 * response parser (1xx interim answers skipped, bodies counted).
 *
 *  - rawclient_t: one connection the test drives step by step;
 *  - raw_exchange: one request (or pipelined batch) on a new connection,
 *    until the answers wanted are in, the server closes, or it falls
 *    silent. */
#ifndef LBSIM_TEST_RAWCLIENT_H
#define LBSIM_TEST_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/base/buf.h"
#include "lbsim/net/http/hresp.h"

typedef struct raw_answer_s {
  int status;
  uint64_t body_len;
} raw_answer_t;

typedef struct rawclient_s {
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
  uint64_t first_byte_ns;  /* uv_hrtime() of the first byte received (0: none yet) */
  uint64_t eof_ns;         /* ... of the end of the connection */

  /* paced sending */
  char *pace_data;
  size_t pace_len, pace_off, pace_chunk;
  unsigned pace_interval_ms;
  bool shutdown_when_sent;

  /* what came back */
  lbsim_buf_t in;          /* every byte */
  lbsim_hresp_t parser;
  bool parse_error;
  raw_answer_t *resp;      /* the complete answers, in order */
  int nresp, resp_cap;
} rawclient_t;

/* Connects to 127.0.0.1:port; returns 0 or a libuv error. rcvbuf > 0 sets
 * SO_RCVBUF before connecting (a small window makes backpressure quick). */
int rawclient_connect(rawclient_t *c, uv_loop_t *loop, uint16_t port, int rcvbuf);
/* Queues bytes (copied); writes wait for the connection. */
void rawclient_send(rawclient_t *c, const void *data, size_t len);
void rawclient_send_str(rawclient_t *c, const char *s);
/* Sends `chunk` bytes now and then one piece every interval_ms (0: on
 * every pass of the loop) until all are sent. */
void rawclient_send_paced(rawclient_t *c, const void *data, size_t len, size_t chunk, unsigned interval_ms);
/* Half-close: no more bytes from us, once what is paced has been sent. */
void rawclient_shutdown(rawclient_t *c);
void rawclient_pause_reading(rawclient_t *c);
void rawclient_resume_reading(rawclient_t *c);

/* Waits for n complete answers or the end of the connection as long as
 * something happens (a byte arrives, a piece goes out): gives up after
 * timeout_ms of silence, so that a slow machine only makes a long transfer
 * slower. True when n answers are in. */
bool rawclient_wait_responses(rawclient_t *c, int n, unsigned timeout_ms);
/* Waits for the peer to close (EOF or reset). */
bool rawclient_wait_closed(rawclient_t *c, unsigned timeout_ms);
bool rawclient_wait_connected(rawclient_t *c, unsigned timeout_ms);
/* True once the peer has closed or reset the connection, or refused it. */
bool rawclient_peer_closed(const rawclient_t *c);
/* Closes the handles; memory is released when they are closed. */
void rawclient_close(rawclient_t *c);

typedef struct raw_result_s {
  lbsim_buf_t in;          /* every byte received */
  int responses;           /* complete HTTP answers among them */
  bool peer_closed;        /* EOF or reset from the server */
  bool connect_failed;
  uint64_t first_byte_ns;  /* since the connection was made */
  uint64_t closed_ns;      /* since the connection was made, when peer_closed */
} raw_result_t;

typedef struct raw_opts_s {
  size_t chunk;            /* send in pieces of this size (0: whole) */
  unsigned gap_ms;         /* between pieces */
  int want_responses;      /* stop once this many answers are in (0: wait for the close) */
  unsigned wait_ms;        /* give up after this long without a byte (0: 2 s) */
  bool half_close;         /* shut down our write side after sending */
} raw_opts_t;

/* Runs `loop` until the exchange is over; the connection is then closed.
 * Other handles on the loop (the backends) keep running meanwhile. */
void raw_exchange(uv_loop_t *loop, uint16_t port, const char *data, size_t len, const raw_opts_t *opts,
                  raw_result_t *result);
void raw_result_free(raw_result_t *result);
/* Text of the result (NUL-terminated view of `in`). */
const char *raw_text(raw_result_t *result);

#endif
