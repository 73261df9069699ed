/* Simulated backends on sockets: an HTTP listener per copy of a backend
 * model (model.h), answering GET /ping as its copy says, on the real clock.
 * The model, the copy's queue and its per-request draws are the pure
 * model's; this module is the HTTP around them. */
#ifndef LBSIM_BACKEND_H
#define LBSIM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/url.h"
#include "lbsim/cli/config.h"
#include "lbsim/net/http/httpd.h"
#include "lbsim/model/model.h"

/* One listening copy of a backend. */
typedef struct lbsim_backend_s {
  const lbsim_model_t *model;
  lbsim_copy_t copy;          /* the model as this copy serves it: queue, draws */
  const char *policy;         /* compare mode: the policy this copy serves, else NULL */
  lbsim_httpd_t httpd;
  char host[256];
  uint16_t port;
  char url[LBSIM_BACKEND_URL_LEN]; /* http://host:port/ping */

  /* The 200 answer's Content-Type/Length and body, rebuilt when the model
   * changes, so that answering formats nothing. */
  char ping_tail[192];
  uint32_t ping_tail_len;
  uint32_t ping_body_len;
  uint64_t ping_generation;

  /* Answers sent, by status, as GET /metrics counts them: the backend's
   * own (200 for /ping and /metrics, 503 injected, 404, 405) and those the
   * HTTP session sends for bad requests. Turned-away connections (503 over
   * --max-conns) are httpd.rejected. */
  uint64_t answered_200, answered_400, answered_404, answered_405, answered_408, answered_413, answered_414,
      answered_417, answered_431, answered_503, answered_505;
  uint64_t in_flight;         /* /ping requests routed, not yet answered */
} lbsim_backend_t;

/* Copies. port 0: chosen by the OS. Returns 0 or a libuv error (UV_ENOMEM
 * when its queue cannot be allocated); either way the copy is then closed
 * with lbsim_backend_close. */
int lbsim_backend_start(lbsim_backend_t *backend, uv_loop_t *loop, lbsim_sched_t *sched,
                        const lbsim_model_t *model, const lbsim_config_t *cfg, uint16_t port, uint64_t seed);
/* Brings the copy in line with its model after a change: an outage closes
 * the listener and resets every connection, recovery listens again on the
 * same port, a new capacity resizes the queue. */
void lbsim_backend_sync(lbsim_backend_t *backend, uint64_t now_ns);
void lbsim_backend_close(lbsim_backend_t *backend, lbsim_httpd_closed_cb on_closed);
/* Prometheus text for n copies in an array (GET /metrics), appended to
 * out: each family once, one sample per copy. */
void lbsim_backend_metrics(const lbsim_backend_t *copies, uint32_t n, lbsim_buf_t *out);

#endif
