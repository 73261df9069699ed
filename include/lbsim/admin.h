/* Runtime control and metrics on 127.0.0.1:PORT (--admin PORT):
 *
 *   GET  /backends      every backend's state (JSON)
 *   GET  /backends/N    one backend
 *   POST /backends/N    change it: a JSON object ({"latency_ms": 2000,
 *                       "error_rate": 0.5, "down": true, "stalled": false,
 *                       "capacity": 10, "jitter": "exp:20"}), the same as a
 *                       form (latency=2000&down=1), or a scenario action
 *                       ("up slow-start 5s")
 *   GET  /metrics       the client's metrics, and the backends', in the
 *                       Prometheus text format */
#ifndef LBSIM_ADMIN_H
#define LBSIM_ADMIN_H

#include <stdint.h>

#include <uv.h>

#include "lbsim/backend.h"
#include "lbsim/httpd.h"
#include "lbsim/balancer.h"
#include "lbsim/model.h"

typedef struct lbsim_admin_s {
  lbsim_httpd_t httpd;
  uint16_t port;
  lbsim_fleet_t *fleet;         /* the models: changes go through it */
  lbsim_backend_t *backends;    /* every copy, world-major */
  uint32_t nbackends;
  const lbsim_balancer_t *balancers;
  uint32_t nbalancers;
  /* Answers rendered when their request was routed, until they are sent
   * (src/admin.c says why): slots, and the first free one. */
  struct lbsim_admin_answer_s *answers;
  uint32_t nanswers;
  uint32_t free_answer;
} lbsim_admin_t;

int lbsim_admin_start(lbsim_admin_t *admin, uv_loop_t *loop, lbsim_sched_t *sched, uint16_t port);
void lbsim_admin_close(lbsim_admin_t *admin, lbsim_httpd_closed_cb on_closed);
/* The client's Prometheus metrics, appended to out. */
void lbsim_client_metrics(const lbsim_balancer_t *balancers, uint32_t nbalancers, lbsim_buf_t *out);

#endif
