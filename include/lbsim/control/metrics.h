/* A read-only Prometheus endpoint (--metrics ADDR:PORT): GET /metrics, the
 * client's metrics and every backend copy's, on any address, so that a
 * Prometheus on another host can scrape a client. Nothing on it changes
 * state: control stays on the loopback-only admin port (--admin). */
#ifndef LBSIM_METRICS_H
#define LBSIM_METRICS_H

#include <stdint.h>

#include <uv.h>

#include "lbsim/net/backend.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/base/buf.h"
#include "lbsim/net/http/httpd.h"

typedef struct lbsim_metrics_s {
  lbsim_httpd_t httpd;
  uint16_t port;                       /* as bound */
  const lbsim_fleet_t *fleets;   /* none with --backends-only */
  uint32_t nfleets;
  const lbsim_backend_t *backends;     /* every copy; none with --client-only */
  uint32_t nbackends;
} lbsim_metrics_t;

/* The client's families (lbsim_client_*), appended to out. */
void lbsim_metrics_client(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out);
/* The whole exposition: the client's families, then every copy's. */
/* A fleet's measures (fleets of more than one client, or with subsets):
 * gauges of the last interval. */
void lbsim_metrics_fleet(const lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_buf_t *out);
void lbsim_metrics_text(const lbsim_fleet_t *fleets, uint32_t nfleets, const lbsim_backend_t *backends,
                        uint32_t nbackends, lbsim_buf_t *out);
/* Listens on host:port (port 0: chosen by the OS). 0 or a libuv error. */
int lbsim_metrics_start(lbsim_metrics_t *metrics, uv_loop_t *loop, lbsim_sched_t *sched, const char *host,
                        uint16_t port);
void lbsim_metrics_close(lbsim_metrics_t *metrics, lbsim_httpd_closed_cb on_closed);

#endif
