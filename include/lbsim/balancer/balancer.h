/* One balancer — one client of a fleet — as pure code: the client side of
 * a request's life.
 *
 *   pick (the policy) → send (a transport) → outcome → observe (the EMA and
 *   the policy) → statistics and the oracle's verdict
 *
 * The balancer decides where each request goes and learns from how it
 * ended; a *transport* carries the request there and reports back. On real
 * sockets the transport is the client's HTTP pools (net/client.h); under the
 * virtual clock it is the virtual network (virtual/vnet.h), which the
 * clients of one fleet share. The balancer reads no clock: every entry
 * point is told the time.
 *
 * A *fleet* (fleet.h) is the clients of one policy: --clients N of them,
 * each with its own policy state, estimates and random stream, over the
 * backends it may use (its subset, or all); they count their requests in
 * the fleet's statistics. Compare mode has one fleet per policy, each with
 * its own copies of the backends. */
#ifndef LBSIM_BALANCER_H
#define LBSIM_BALANCER_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/cli/config.h"
#include "lbsim/balancer/ema.h"
#include "lbsim/balancer/loads.h"
#include "lbsim/model/oracle.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/balancer/result.h"
#include "lbsim/balancer/stats.h"
#include "lbsim/base/clock.h"

typedef struct lbsim_fleet_s lbsim_fleet_t;
typedef struct lbsim_tools_s lbsim_tools_t;

/* What the balancer tells the transport about a request, and gets back
 * with its outcome. Transports embed it in their own request objects. */
typedef struct lbsim_request_s {
  uint64_t start_ns;          /* the pick: latency is measured from here */
  uint64_t deadline_ns;       /* when the client gives up on it; 0: start_ns + --timeout */
  double oracle_ms;           /* the best expected cost at the pick (< 0: unknown) */
  uint32_t backend;           /* which backend: its index among all of them */
  uint32_t pick;              /* ... among those of the client (its subset); = backend without one */
  uint32_t client;            /* which client of the fleet sent it */
  uint32_t ticket;            /* a retry: its user request's record (tools.h); 0: a first attempt */
  bool to_fastest;            /* the pick was as good as the truly fastest */
  bool probe;                 /* a probe the policy asked for (GET /probe): not a user's request */
  /* With its answer (--load-reports): the load its backend reported, or
   * NULL with the reason none could be read. Set by the transport with the
   * outcome: what the balancer filled in at the pick is not read. */
  const lbsim_load_report_t *report;
  const char *no_report;
} lbsim_request_t;

typedef struct lbsim_transport_s lbsim_transport_t;

/* `count` identical requests ended at end_ns (a transport may report
 * requests that end together as one). */
typedef void (*lbsim_transport_done_cb)(void *data, const lbsim_request_t *req, lbsim_result_t result,
                                        uint64_t end_ns, uint32_t count);

typedef struct lbsim_transport_ops_s {
  /* A request to fill and submit; NULL when out of memory. */
  lbsim_request_t *(*request)(lbsim_transport_t *transport);
  /* Sends it; every submitted request ends in exactly one done call, which
   * may come before submit returns. */
  void (*submit)(lbsim_transport_t *transport, lbsim_request_t *req);
  /* Requests not sent yet end as cancelled. */
  void (*cancel_queued)(lbsim_transport_t *transport);
  /* The time now, for transports whose clock moves while a burst is being
   * launched (on sockets, each submit may open a connection): each pick of
   * the burst is stamped when it is made. NULL: a burst takes no time. */
  uint64_t (*now)(lbsim_transport_t *transport);
} lbsim_transport_ops_t;

struct lbsim_transport_s {
  const lbsim_transport_ops_t *ops;
  lbsim_transport_done_cb on_done;
  void *done_data;
  uint64_t resent;            /* requests it sent again by itself (a keep-alive race): not attempts */
};

/* Probes a policy may ask for between two sends; beyond, they are dropped
 * (and counted). */
#define LBSIM_PROBES_PENDING 16

typedef struct lbsim_balancer_s lbsim_balancer_t;
typedef void (*lbsim_balancer_cb)(lbsim_balancer_t *balancer, uint64_t now_ns);
/* `count` requests ended at now_ns. */
typedef void (*lbsim_balancer_done_cb)(lbsim_balancer_t *balancer, uint32_t count, uint64_t now_ns);

struct lbsim_balancer_s {
  const lbsim_config_t *cfg;
  lbsim_fleet_t *fleet;
  uint32_t client;              /* its index in the fleet */
  uint32_t n;                   /* the backends it may use */
  const uint32_t *subset;       /* their indices among all, ascending; NULL: all of them */
  lbsim_oracle_t *oracle;       /* NULL when the backends are elsewhere */
  lbsim_transport_t *transport;
  lbsim_ema_t ema;              /* per backend it may use */
  lbsim_policy_t policy;
  lbsim_stats_t *stats;         /* the fleet's */

  uint64_t in_flight;           /* user requests launched, not done (in flight or waiting to be retried) */
  bool measuring;               /* its fleet's (fleet.h): kept here, beside what a pick touches */
  uint64_t *in_flight_to;       /* attempts per backend it may use: counted by lbsim_policy_select and _observe_n */
  uint64_t launched;            /* user requests it started in the run */
  uint64_t rounds;              /* its own rounds counted (fleets of more than one client) */
  uint32_t last_pick;           /* the backend (among all) of its last pick; UINT32_MAX: none yet */
  uint64_t round_outstanding;   /* launched in this round, not done */
  uint64_t round_start_ns;
  bool launching;               /* a burst is being launched: round ends wait */
  bool round_open;
  bool detached;                /* shutting down: no more callbacks */

  /* Probes its policy asked for, sent once the policy has returned. */
  uint32_t probes_pending[LBSIM_PROBES_PENDING];
  uint32_t nprobes_pending;
  uint64_t probes_sent, probes_answered, probes_dropped;

  lbsim_tools_t *tools;         /* retries, deadlines, ejection, weights (tools.h); NULL: none on */

  lbsim_balancer_done_cb on_requests_done; /* after completions of user requests (the runner) */
  lbsim_balancer_cb on_round_done;   /* the round's last request is done */
  void *data;                   /* the runner */
  lbsim_timer_t pause;          /* its own rounds' pause (fleets of more than one client) */
  lbsim_loads_t loads;          /* what it knows of the backends' load (--load-reports, --load-board) */
};

/* Client `client` of `fleet`, over the fleet's backends or the `n` of
 * `subset` (indices among them, ascending; kept, not copied). 0, or a
 * negative error code. */
int lbsim_balancer_init(lbsim_balancer_t *b, lbsim_fleet_t *fleet, uint32_t client, const uint32_t *subset,
                        uint32_t n);
/* Connects the transport: its completions come to the fleet, which hands
 * each to the client that sent it. */
void lbsim_balancer_attach(lbsim_balancer_t *b, lbsim_transport_t *transport);
/* Starts one user request: picks a backend with the policy and sends its
 * first attempt there. */
void lbsim_balancer_launch(lbsim_balancer_t *b, uint64_t now_ns);
/* Sends one attempt of a user request under way (tools.h): a retry, with
 * its ticket and deadline, to a backend other than `avoid` (the client's
 * index; UINT32_MAX: none) when one is eligible. */
void lbsim_balancer_attempt(lbsim_balancer_t *b, uint64_t now_ns, uint32_t ticket, uint64_t deadline_ns,
                            uint32_t avoid);
/* `count` user requests ended with `result` (their last attempt's, `req`),
 * the first picked at first_ns: the user's statistics, and the runner told. */
void lbsim_balancer_user_done(lbsim_balancer_t *b, const lbsim_request_t *req, lbsim_result_t result,
                              uint64_t first_ns, uint64_t end_ns, uint32_t count);
/* Starts a round: `burst` requests, all picked now, one after another. */
void lbsim_balancer_round(lbsim_balancer_t *b, uint32_t burst, uint64_t now_ns);
/* Requests not sent yet end as cancelled. */
void lbsim_balancer_cancel_queued(lbsim_balancer_t *b);
/* A signal stops the run: retries waiting in their backoff end as
 * cancelled, and no failure is retried any more. */
void lbsim_balancer_cancel_retries(lbsim_balancer_t *b, uint64_t now_ns);
/* Stops calling back the runner (shutdown); completions are still counted. */
void lbsim_balancer_detach(lbsim_balancer_t *b);
void lbsim_balancer_free(lbsim_balancer_t *b);

/* The client's index of backend i (among all), or UINT32_MAX when its
 * subset does not hold it. */
uint32_t lbsim_balancer_local(const lbsim_balancer_t *b, uint32_t i);

/* The backend (among all) of the client's i-th. */
static inline uint32_t lbsim_balancer_backend(const lbsim_balancer_t *b, uint32_t i) {
  return b->subset ? b->subset[i] : i;
}

#endif
