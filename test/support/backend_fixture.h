/* One simulated backend (a model and its listener on 127.0.0.1, port 0) on
 * a loop of its own, for tests that talk to it over TCP
 * (test/support/rawclient.h), torn down with the uv_loop_close() check. */
#ifndef LBSIM_TEST_BACKEND_FIXTURE_H
#define LBSIM_TEST_BACKEND_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/cli/config.h"
#include "lbsim/model/model.h"
#include "lbsim/net/backend.h"
#include "lbsim/net/sched.h"
#include "rawclient.h"

typedef struct backend_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;         /* adjust between bfx_defaults and bfx_start */
  lbsim_farm_t farm;        /* one model, on the loop's clock */
  lbsim_backend_t backend;
  uint16_t port;
  bool started;
  bool closed;                /* the listener and every connection */
} backend_fixture_t;

/* The command line's defaults for one backend: port 0, seed 1, no drift. */
void bfx_defaults(backend_fixture_t *f);
/* Starts the backend at a fixed latency: 0 or -1 (a test failure). */
int bfx_start(backend_fixture_t *f, double latency_ms);
/* Closes the backend, waits until every handle is closed and checks that
 * the loop closes: 0 or -1. Clients must have been closed first. */
int bfx_stop(backend_fixture_t *f);
/* Sends `req` on a new connection; waits for `want` answers (0: the close). */
void bfx_exchange(backend_fixture_t *f, const char *req, int want, raw_result_t *res);
bool bfx_starts(raw_result_t *r, const char *prefix);

#endif
