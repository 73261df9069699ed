/* The tools around the pick, for the clients of a fleet: attempts and
 * deadlines, retries with their backoff, budget and throttle (retry.h),
 * outlier ejection (outlier.h), weights and slow start (weights.h). They sit
 * between the traffic source and the balancer, the same on both clocks; a
 * fleet has them only when one of them is on (lbsim_config_tools).
 *
 * A user request's first attempt is picked and sent as any request is. When
 * an attempt fails in a way --retry-on names, with retries left, the
 * throttle above its threshold, its backoff over before the user request's
 * deadline and the budget's consent, a retry is sent after the backoff, to
 * another backend when one is eligible; otherwise the user request ends with
 * that attempt's outcome. While it waits or is retried, a user request has a
 * record (lbsim_retrying_t), which its attempts carry as their ticket through
 * the transport. Every attempt teaches the client's estimates and its
 * outlier detector; the user request's outcome, timed from its first pick,
 * is what the run's totals count. Pure code on an lbsim_clock_t. */
#ifndef LBSIM_TOOLS_H
#define LBSIM_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/balancer/outlier.h"
#include "lbsim/balancer/retry.h"
#include "lbsim/balancer/weights.h"
#include "lbsim/base/clock.h"
#include "lbsim/base/queue.h"
#include "lbsim/base/rng.h"

/* A user request between its attempts, or with a retry under way. */
typedef struct lbsim_retrying_s {
  lbsim_timer_t timer;          /* the end of its backoff */
  lbsim_queue_t link;           /* in its client's list of those in backoff */
  uint64_t first_ns;            /* its first pick */
  uint64_t deadline_ns;         /* its deadline; LBSIM_NEVER: none */
  uint32_t client;
  uint32_t avoid;               /* its last attempt's backend (the client's index) */
  uint32_t attempts;            /* sent so far */
  uint32_t ticket;              /* its own: index + 1 */
  uint32_t next_free;           /* in the free list: the next free ticket (0: none) */
  struct lbsim_fleet_tools_s *owner;
} lbsim_retrying_t;

/* One client's tools. */
struct lbsim_tools_s {
  lbsim_balancer_t *balancer;
  bool stopped;                 /* a signal: nothing more is retried */
  lbsim_budget_t budget;
  lbsim_throttle_t throttle;
  lbsim_rng_t rng;              /* backoff draws */
  lbsim_queue_t backoff;        /* its user requests waiting for a retry */
  lbsim_outlier_t outlier;      /* with --outlier-ejection */
  lbsim_weights_t weights;      /* with --weights or --lb-slow-start */
  uint32_t *avoid_list;         /* a retry's eligible backends, without the last one's */
  uint8_t *avoid_member;
};

/* An ejection or a return, as the fleet reports it. */
typedef struct lbsim_ejection_s {
  uint32_t client;
  uint32_t backend;             /* among all */
  bool ejected;                 /* false: it returned */
  lbsim_eject_reason_t reason;  /* ejections only */
  double duration_s;            /* ejections only */
  uint32_t times;               /* ejections of this backend by this client so far */
} lbsim_ejection_t;

typedef void (*lbsim_ejection_cb)(void *data, lbsim_fleet_t *fleet, const lbsim_ejection_t *e, uint64_t now_ns);

#define LBSIM_RETRYING_CHUNK 1024

/* A fleet's tools: every client's, the records of user requests being
 * retried, and the outlier detectors' sweep. */
typedef struct lbsim_fleet_tools_s {
  lbsim_fleet_t *fleet;
  const lbsim_config_t *cfg;
  lbsim_clock_t *clock;         /* set by lbsim_fleet_tools_start */
  lbsim_tools_t *clients;       /* nclients */
  uint32_t nclients;            /* initialised: freed at the end */
  bool retrying, ejecting, weighing, deadline;
  bool picking;                 /* ejecting or weighing: a first attempt's pick goes through the tools */
  uint64_t timeout_ns, deadline_ns;
  lbsim_retrying_t **chunks;    /* records, LBSIM_RETRYING_CHUNK a chunk: they never move */
  uint32_t nchunks;
  uint32_t free_ticket;         /* the first free record's ticket; 0: none */
  lbsim_timer_t sweep;          /* the outlier detectors' interval */
  lbsim_ejection_cb on_ejection;
  void *ejection_data;
} lbsim_fleet_tools_t;

/* The tools of a fleet of `nclients` (cfg's: lbsim_config_tools must hold).
 * 0, or LBSIM_ENOMEM; free it either way. Each client's are set up by
 * lbsim_tools_client_init, before its policy. */
int lbsim_fleet_tools_init(lbsim_fleet_tools_t *ft, lbsim_fleet_t *fleet, uint32_t nclients);
int lbsim_tools_client_init(lbsim_fleet_tools_t *ft, lbsim_balancer_t *b);
/* The weights a client's policy reads, NULL when none are weighed. */
const lbsim_policy_weights_t *lbsim_tools_weights(const lbsim_tools_t *t);
/* The run starts: timers on `clock`; ejections and returns reported to on_ejection. */
void lbsim_fleet_tools_start(lbsim_fleet_tools_t *ft, lbsim_clock_t *clock, uint64_t now_ns,
                             lbsim_ejection_cb on_ejection, void *data);
/* No more timers (the run is over, or torn down). */
void lbsim_fleet_tools_stop(lbsim_fleet_tools_t *ft);
void lbsim_fleet_tools_free(lbsim_fleet_tools_t *ft);
/* Backend i (among all) came up: its slow start begins in every client that uses it. */
void lbsim_fleet_tools_backend_up(lbsim_fleet_tools_t *ft, uint32_t i, uint64_t now_ns);

/* ---- the balancer's calls ---- */

/* A user request starts (the budget's deposit). */
void lbsim_tools_user(lbsim_tools_t *t, uint64_t now_ns);
/* An attempt's pick: weights brought up to date, ejected backends and
 * `avoid` (UINT32_MAX: none) left out when another is eligible. */
uint32_t lbsim_tools_pick(lbsim_tools_t *t, uint64_t now_ns, uint32_t avoid);
/* An attempt's deadline, for one picked at now_ns of a user request that
 * must end by user_deadline_ns (LBSIM_NEVER: none); 0: the transport's own. */
uint64_t lbsim_tools_attempt_deadline(const lbsim_fleet_tools_t *ft, uint64_t now_ns, uint64_t user_deadline_ns);
/* The user deadline of a request first picked at first_ns. */
uint64_t lbsim_tools_user_deadline(const lbsim_fleet_tools_t *ft, uint64_t first_ns);
/* `count` attempts alike ended (already learnt from and counted as
 * attempts): each is retried, or its user request ends. */
void lbsim_tools_done(lbsim_tools_t *t, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                      uint32_t count);
/* A signal: the retries in backoff end as cancelled, none follows. */
void lbsim_tools_cancel_retries(lbsim_tools_t *t, uint64_t now_ns);

#endif
