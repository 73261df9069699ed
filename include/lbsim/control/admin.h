/* Runtime control, metrics and the dashboard on 127.0.0.1:PORT (--admin PORT):
 *
 *   GET  /              the dashboard (index.html, app.js, style.css and the
 *                       charting library, embedded at build time)
 *   GET  /events        Server-Sent Events: the --format json objects of the
 *                       run, and `tick` objects a few times a second (sse.h)
 *   GET  /backends      every backend's state (JSON)
 *   GET  /backends/N    one backend
 *   POST /backends/N    change it: a JSON object of settings
 *                       ({"latency_ms": 2000, "error_rate": 0.5, "down": true,
 *                       "stalled": false, "capacity": 10, "jitter": "exp:20"})
 *                       or an action ({"action": "up", "slow_start_s": 5,
 *                       "factor": 3}); POST /backends: every backend
 *   GET  /metrics       the client's metrics, and the backends', in the
 *                       Prometheus text format
 *   GET  /api           this list, as text
 *
 * Only requests addressed to the admin itself are answered (Host
 * 127.0.0.1:PORT, localhost:PORT or [::1]:PORT: DNS rebinding); a change
 * needs Content-Type: application/json and no Origin or the admin's own
 * (CSRF); no cross-origin access is ever granted. */
#ifndef LBSIM_ADMIN_H
#define LBSIM_ADMIN_H

#include <stdint.h>

#include <uv.h>

#include "lbsim/net/backend.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/net/http/httpd.h"
#include "lbsim/model/model.h"
#include "lbsim/base/queue.h"
#include "lbsim/report/report.h"
#include "lbsim/report/sse.h"

/* The history of events kept for viewers that reconnect (and for new ones),
 * by default: about twenty rounds of 16 policies x 1,000 backends. */
#define LBSIM_ADMIN_HISTORY_BYTES (32u << 20)
#define LBSIM_ADMIN_HISTORY_EVENTS 100000u
/* Connections the admin takes at once (beyond: 503 and closed), and of
 * them viewers of /events (beyond: 503): the rest stay free for control
 * requests however many dashboards are open. */
#define LBSIM_ADMIN_MAX_CONNS 64u
#define LBSIM_ADMIN_MAX_VIEWERS 48u

typedef struct lbsim_admin_s {
  lbsim_httpd_t httpd;
  uint16_t port;
  lbsim_sched_t *sched;
  /* Set by the owner before lbsim_admin_start: */
  const lbsim_config_t *cfg;    /* NULL: no report of the run (tests publish themselves) */
  uint64_t seed;
  lbsim_farm_t *farm;         /* the models: changes go through it */
  lbsim_backend_t *backends;    /* every copy, balancer-major */
  uint32_t nbackends;
  const lbsim_fleet_t *fleets;
  uint32_t nfleets;
  size_t history_bytes;         /* 0: cfg->events_history ($LBSIM_EVENTS_HISTORY), else LBSIM_ADMIN_HISTORY_BYTES */

  /* Answers rendered when their request was routed, until they are sent
   * (src/admin.c says why): slots, and the first free one. */
  struct lbsim_admin_answer_s *answers;
  uint32_t nanswers;
  uint32_t free_answer;

  /* The dashboard's stream. */
  lbsim_report_t report;        /* the run's objects in JSON, chained behind the user's report */
  bool reporting;
  lbsim_sse_t events;           /* framed, with ids, and the history */
  lbsim_queue_t viewers;
  uint32_t nviewers;
  uint32_t streams;             /* viewers, and /events answers on their way to become one */
  uint64_t viewers_dropped;     /* fell behind the history */
  lbsim_timer_t tick;
  uint64_t tick_ns;             /* its period */
  bool started;                 /* the start object is out */
  bool ended;                   /* the end event is out */
} lbsim_admin_t;

int lbsim_admin_start(lbsim_admin_t *admin, uv_loop_t *loop, lbsim_sched_t *sched, uint16_t port);
/* Ends the stream (viewers get the `end` event and what they have not
 * read yet), then closes; on_closed runs when every connection is gone. */
void lbsim_admin_close(lbsim_admin_t *admin, lbsim_httpd_closed_cb on_closed);
/* Publishes JSON Lines (one object per line, as --format json writes them)
 * to the viewers. */
void lbsim_admin_publish(lbsim_admin_t *admin, const char *lines, size_t len);

/* A POST body (JSON only), parsed into the changes it asks for, all checked
 * before any is applied: how many events (1 .. max), or LBSIM_EINVAL with the
 * reason in err, naming the field. Pure code (admin_body.c). */
int lbsim_admin_parse_body(const char *body, size_t len, lbsim_event_t *events, int max, char *err, size_t errlen);

#endif
