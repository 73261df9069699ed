/* A fleet: the --clients N balancers of one policy over the same backends.
 *
 * Each client is an lbsim_balancer_t of its own — its own policy state,
 * estimates and random streams, its own share of the traffic, over its
 * subset of the backends (subset.h) or all of them — and knows only what it
 * saw. What the fleet keeps is what is reported: one set of statistics for
 * every client's requests, per backend (the backends' indices among all)
 * and in total, and with more than one client the fleet's own measures over
 * each interval (lbsim_fleet_measures_t): how evenly the load is spread,
 * whether the clients herd, and the spread of the clients' own success and
 * tail. A fleet of one client is the seed's balancer, and reports exactly
 * what it did. Pure code. */
#ifndef LBSIM_FLEET_H
#define LBSIM_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/balancer/stats.h"
#include "lbsim/cli/config.h"
#include "lbsim/model/oracle.h"

/* One figure over the clients (or the backends): its least, median, mean
 * and greatest value (NAN: no value). */
typedef struct lbsim_spread_s {
  double min, median, mean, max;
} lbsim_spread_t;

/* The fleet's measures over one interval (fleets of more than one client). */
struct lbsim_fleet_tools_s;

typedef struct lbsim_fleet_measures_s {
  double imbalance;             /* time-averaged requests in flight: busiest backend / mean (0: none) */
  double herd;                  /* the largest share of clients whose last pick went to one backend */
  uint32_t clients_heard;       /* clients with an answer in the interval ... */
  lbsim_spread_t success;       /* ... their success, % */
  lbsim_spread_t p99_ms;        /* ... their p99 (of those with an ok answer) */
  lbsim_spread_t conns;         /* connections per backend (the transport's count) */
  lbsim_spread_t clients;       /* clients per backend (whose subset holds it) */
} lbsim_fleet_measures_t;

struct lbsim_fleet_s {
  const lbsim_config_t *cfg;
  uint64_t seed;
  uint32_t index;               /* which policy of --compare */
  const char *policy_name;
  uint32_t n;                   /* backends */
  const char **names;           /* their URLs, as printed (n; kept, not copied) */
  lbsim_oracle_t *oracle;       /* NULL when the backends are elsewhere */
  lbsim_balancer_t *clients;
  uint32_t nclients;            /* initialised: freed at the end */
  uint32_t subset_size;         /* backends per client */
  uint32_t *subsets;            /* nclients x subset_size, or NULL: every client uses every backend */
  lbsim_stats_t stats;          /* every client's requests */
  struct lbsim_fleet_tools_s *tools; /* retries, deadlines, ejection, weights (tools.h); NULL: none on */
  uint64_t resent_before;       /* lbsim_fleet_resent when the statistics were last forgotten */

  uint64_t in_flight;           /* every client's, when measuring (else its one client's: lbsim_fleet_in_flight) */
  uint64_t *in_flight_to;       /* ... per backend (a fleet of one: its client's) */
  double *judge_cost_ms;        /* each backend's expected cost, for picks ... */
  uint64_t judge_version;       /* ... while the oracle's version is this one */

  /* The measures (more than one client): per backend, requests in flight
   * times nanoseconds since the interval began, and since when the count
   * is what it is; how many clients picked it last; how many may use it.
   * Per client, its requests in the interval. */
  bool measuring;
  double *load_area;
  double *run_area;             /* ... since the run began counting */
  uint64_t run_start_ns;
  uint64_t *load_since_ns;
  uint64_t period_start_ns;
  uint32_t *last_picks;
  uint32_t *clients_of;
  lbsim_counts_t *period;
  uint32_t *heard;              /* the clients with requests in `period`: an interval costs */
  uint32_t nheard;              /* ... what its clients did, not how many there are */
  double *scratch;              /* nclients values to sort */
  /* Connections open to each backend (n values), as the transport counts
   * them (NULL: unknown). */
  void (*conns)(const lbsim_fleet_t *fleet, void *data, uint32_t *out);
  void *conns_data;
  uint32_t *conns_out;
  lbsim_fleet_measures_t measures; /* the last interval's (lbsim_fleet_measure) */
  /* --load-board: the copies serving this fleet, as the driver shows them. */
  lbsim_board_t board;
  bool told_no_report;          /* an answer without a usable load report has been said */
};

/* The fleet of policy `index` of the command line: cfg->clients clients
 * over `n` backends named by `names`, judged by `oracle` (NULL: none), with
 * their subsets when --subset is given. 0, or a negative error code (said
 * on stderr); lbsim_fleet_free afterwards in either case. */
int lbsim_fleet_init(lbsim_fleet_t *fleet, const lbsim_config_t *cfg, uint64_t seed, uint32_t index,
                     const char **names, uint32_t n, lbsim_oracle_t *oracle);
/* Every client's transport: `transports` is one per client, or one for all
 * of them (`shared`). */
void lbsim_fleet_attach(lbsim_fleet_t *fleet, lbsim_transport_t *transports, bool shared);
void lbsim_fleet_free(lbsim_fleet_t *fleet);

/* The clients' estimate of backend i in ms: the client's own in a fleet of
 * one (0 until measured, as the seed prints it), else the mean of those of
 * the clients that have measured it (NAN: none has). */
double lbsim_fleet_ema_ms(const lbsim_fleet_t *fleet, uint32_t i);

/* Bookkeeping of the measures, called by the clients. */
void lbsim_fleet_sent(lbsim_fleet_t *fleet, lbsim_balancer_t *client, uint32_t backend, uint64_t now_ns);
void lbsim_fleet_ended(lbsim_fleet_t *fleet, uint32_t backend, uint32_t count, uint64_t now_ns);
void lbsim_fleet_heard(lbsim_fleet_t *fleet, uint32_t client, lbsim_result_t result, double measured_ms, uint32_t count);

/* The load imbalance since the run began counting (0: no load). */
double lbsim_fleet_run_imbalance(lbsim_fleet_t *fleet, uint64_t now_ns);
/* The measures of the interval ending at now_ns; then a new interval. */
void lbsim_fleet_measure(lbsim_fleet_t *fleet, uint64_t now_ns, lbsim_fleet_measures_t *out);
/* Starts an interval (the start of the run, the end of --warmup); with
 * `forget`, what was counted so far is forgotten. */
void lbsim_fleet_reset(lbsim_fleet_t *fleet, uint64_t now_ns, bool forget);

/* Requests the fleet's clients have in flight. */
static inline uint64_t lbsim_fleet_in_flight(const lbsim_fleet_t *f) {
  return f->measuring ? f->in_flight : f->nclients > 0 ? f->clients[0].in_flight : 0;
}

/* Requests the clients' transports sent again by themselves so far (the
 * keep-alive race): not attempts of the balancer. */
uint64_t lbsim_fleet_resent(const lbsim_fleet_t *fleet);

/* The traffic of client k: an evenly shared integer total (the remainder to
 * the first clients). */
static inline uint64_t lbsim_fleet_share(uint64_t total, uint32_t nclients, uint32_t k) {
  return total / nclients + (k < total % nclients);
}

#endif
