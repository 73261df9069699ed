/* A balancer on a real loop, port 0, against lbsim backends or misbehaving
 * servers: one balancer, the runner, output captured in a temporary file. */
#ifndef LBSIM_TEST_CLIENT_FIXTURE_H
#define LBSIM_TEST_CLIENT_FIXTURE_H

#include <stdio.h>

#include <uv.h>

#include "lbsim/net/backend.h"
#include "lbsim/net/client.h"
#include "lbsim/model/model.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/runner.h"

#define CFX_MAX_BACKENDS 8
#define CFX_MAX_ADDRS 4

typedef struct client_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;         /* adjust between cfx_setup and cfx_run */
  lbsim_farm_t farm;        /* the lbsim backends' models, on the loop's clock */
  lbsim_backend_t backends[CFX_MAX_BACKENDS];
  uint32_t nbackends;
  lbsim_url_t urls[CFX_MAX_BACKENDS];
  uint32_t nurls;
  const char *names[CFX_MAX_BACKENDS];
  lbsim_fleet_t fleet;        /* of one client */
  lbsim_client_t client;      /* its transport */
  lbsim_report_t report;
  lbsim_runner_t runner;
  FILE *out;
  bool finished;
  double elapsed_s;
  uint32_t max_connections;   /* the client's cap over all backends */
  /* When naddrs[i] > 0: the addresses of URL i, in order, instead of its host. */
  const struct sockaddr *addrs[CFX_MAX_BACKENDS][CFX_MAX_ADDRS];
  uint32_t naddrs[CFX_MAX_BACKENDS];
} client_fixture_t;

int cfx_setup(client_fixture_t *f);
/* A server of the test's own on 127.0.0.1:port. */
int cfx_add_url(client_fixture_t *f, uint16_t port);
/* An lbsim backend at a fixed latency. */
int cfx_add_backend(client_fixture_t *f, double latency_ms);
/* Runs the balancer to the end of its rounds. */
int cfx_run(client_fixture_t *f);
/* Closes everything; 0 when the loop closes clean. */
int cfx_teardown(client_fixture_t *f);
/* The requests= column of every round block printed, in order. */
int cfx_read_blocks(client_fixture_t *f, uint64_t picks[][CFX_MAX_BACKENDS], int max_rounds);
void cfx_on_finished(lbsim_runner_t *r, uint64_t now_ns);
/* Descriptors the process has open now. */
int cfx_open_fds(void);

#endif
