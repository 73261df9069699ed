/* Test helpers on a real loop: a raw TCP client that sends exact bytes
 * (whole or in pieces) and collects what comes back, and a fixture with
 * backends, balancers and a runner on port 0. */
#ifndef LBSIM_TEST_RAWCLIENT_H
#define LBSIM_TEST_RAWCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/base/buf.h"

typedef struct raw_result_s {
  lbsim_buf_t in;          /* every byte received */
  int responses;           /* complete HTTP responses among them */
  bool peer_closed;        /* EOF or reset from the server */
  bool connect_failed;
  uint64_t first_byte_ns;  /* since the first byte was sent */
  uint64_t closed_ns;      /* since the first byte was sent, when peer_closed */
} raw_result_t;

typedef struct raw_opts_s {
  size_t chunk;            /* send in pieces of this size (0: whole) */
  uint64_t gap_ms;         /* between pieces */
  int want_responses;      /* stop once this many responses are in (0: wait for close) */
  uint64_t wait_ms;        /* give up after this long without a byte */
  bool half_close;         /* shut down our write side after sending */
} raw_opts_t;

/* Runs `loop` until the exchange is over; the connection is then closed.
 * Other handles on the loop (the backends) keep running meanwhile. */
int raw_exchange(uv_loop_t *loop, uint16_t port, const char *data, size_t len, const raw_opts_t *opts,
                 raw_result_t *result);
void raw_result_free(raw_result_t *result);
/* Text of the result (NUL-terminated view of `in`). */
const char *raw_text(raw_result_t *result);

/* Runs the loop for `ms` milliseconds. */
void run_for(uv_loop_t *loop, uint64_t ms);
/* Closes every handle still open and checks that the loop closes: 0 or -1. */
int close_loop(uv_loop_t *loop);

#endif
