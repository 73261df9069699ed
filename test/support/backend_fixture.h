/* One backend on its own real loop, port 0, for tests that talk to it over
 * TCP (test/support/rawclient.h). */
#ifndef LBSIM_TEST_BACKEND_FIXTURE_H
#define LBSIM_TEST_BACKEND_FIXTURE_H

#include <uv.h>

#include "lbsim/net/backend.h"
#include "lbsim/net/sched.h"
#include "rawclient.h"

typedef struct backend_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;         /* adjust between bfx_defaults and bfx_start */
  lbsim_farm_t farm;        /* one model, drifting on the loop's clock */
  lbsim_backend_t backend;
  uint16_t port;
} backend_fixture_t;

/* The command line's defaults, no drift. */
void bfx_defaults(backend_fixture_t *f);
/* Starts the backend at a fixed latency: 0 or -1. */
int bfx_start(backend_fixture_t *f, double latency_ms);
/* Closes everything and checks that the loop closes: 0 or -1. */
int bfx_stop(backend_fixture_t *f);
/* Sends `req` on a new connection; waits for `want` answers (0: the close). */
int bfx_exchange(backend_fixture_t *f, const char *req, int want, raw_result_t *res);
bool bfx_starts(raw_result_t *r, const char *prefix);

#endif
