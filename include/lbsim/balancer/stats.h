/* Counters and latency histograms of a client's requests: per backend and
 * in total, for the run and for the current round. Pure code. */
#ifndef LBSIM_STATS_H
#define LBSIM_STATS_H

#include <stdint.h>

#include <stdbool.h>

#include "lbsim/base/histogram.h"
#include "lbsim/balancer/result.h"

/* In the order a successful request's record writes them. */
typedef struct lbsim_counts_s {
  lbsim_hist_t latency;                     /* ok requests, microseconds */
  uint64_t requests;                        /* completed: ok + failed */
  uint64_t ok;
  /* oracle (only for requests whose pick knew the truth) */
  uint64_t judged;                          /* requests with a known fastest */
  uint64_t to_fastest;                      /* ... sent to the truly fastest */
  double regret_sum_ms;                     /* obtained minus the best expected cost */
  uint64_t by_result[LBSIM_RESULT_COUNT];
  uint64_t failed;
} lbsim_counts_t;

/* What the tools around the pick did (tools.h): user requests and their
 * attempts, retries and what refused them, ejections. Counted only with a
 * tool on (without, a user request is its one attempt: the counts say it).
 *
 *   users = ok + failed of the user requests ended (+ those still under way)
 *   attempts = users + retries (each user request's first attempt, then its retries)
 *   a failed attempt leads to exactly one of: a retry (sent, or cancelled
 *   in its backoff), or the end of its user request: not retryable,
 *   exhausted, refused by the budget, the throttle or the deadline. */
typedef struct lbsim_tally_s {
  uint64_t users;                           /* user requests started */
  uint64_t attempts;                        /* attempts sent: first tries and retries */
  uint64_t retries;                         /* retries sent */
  uint64_t backoff_cancelled;               /* retries cancelled in their backoff (the run stopped) */
  uint64_t not_retryable;                   /* failures --retry-on leaves alone (with retries on) */
  uint64_t exhausted;                       /* failures with no retry left */
  uint64_t refused_budget;                  /* retries the budget refused */
  uint64_t refused_throttle;                /* ... the throttle */
  uint64_t refused_deadline;                /* ... the deadline would pass first */
  uint64_t resent;                          /* sent again by the transport itself: the keep-alive race */
  uint64_t ejections, returns;              /* outlier ejection, every client's */
} lbsim_tally_t;

typedef struct lbsim_stats_s {
  uint32_t n;
  lbsim_counts_t total;                     /* the run */
  lbsim_counts_t *backend;                  /* the run, per backend */
  lbsim_counts_t round;                     /* the current round (or interval) */
  uint64_t *round_picks;                    /* requests sent to each backend this round */
  uint64_t launched;                        /* requests started in the run (attempts) */
  bool round_latency;                       /* round.latency is kept (the report shows it); default true */

  /* Herding and flapping, per round: the backend that got the majority of
   * a round's requests, and how often that changed. */
  int64_t majority;                         /* -1: none yet */
  uint64_t majority_switches;
  uint64_t rounds;
  double top_share_sum;                     /* share of each round's busiest backend */

  /* Time to divert: after the truly fastest changes, how long until the
   * majority of the traffic goes to it (or to backends as fast). */
  uint64_t seen_epoch;
  bool divert_pending;
  uint32_t divert_target;
  uint64_t divert_since_ns;
  uint64_t window_picks, window_to_target;
  uint64_t changes;                         /* the fastest became another backend */
  uint64_t diverts;                         /* ... and traffic followed */
  double divert_sum_s, divert_max_s;

  /* The backends' load as the clients knew it (--load-reports, --load-board):
   * how old the view of the backend each pick chose was, over the picks
   * whose backend had been heard from. */
  double view_age_sum_ms;
  uint64_t view_age_picks;
  /* Last: what a request's record reads stays together above. */
  lbsim_tally_t tally;                      /* the run's user requests, attempts, retries, ejections */
  lbsim_tally_t round_tally;                /* ... this round (or interval) */
} lbsim_stats_t;

int lbsim_stats_init(lbsim_stats_t *stats, uint32_t n);
void lbsim_stats_free(lbsim_stats_t *stats);
static inline void lbsim_stats_pick(lbsim_stats_t *stats, uint32_t backend) {
  stats->round_picks[backend]++;
  stats->launched++;
}
/* `count` completed requests alike: latency_ms measured; sample_ms what the
 * estimator got (the failure latency for a failure); oracle_ms the lowest
 * expected cost of any backend at the pick (< 0: unknown; see oracle.h).
 * Regret is sample_ms - oracle_ms: always picking the best backend averages
 * zero, plus what the network and queueing add. */
void lbsim_stats_record(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms,
                        double sample_ms, double oracle_ms, bool to_fastest, uint32_t count);
/* The same, split: an attempt's outcome counts for its backend; a user
 * request's (its last attempt's, timed from its first pick) in the run's
 * and the round's totals. */
void lbsim_stats_record_attempt(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms,
                                double sample_ms, double oracle_ms, bool to_fastest, uint32_t count);
void lbsim_stats_record_user(lbsim_stats_t *stats, lbsim_result_t result, double latency_ms, double sample_ms,
                             double oracle_ms, bool to_fastest, uint32_t count);
/* Adds to a tally field of the run and of the round:
 * LBSIM_TALLY(stats, retries, 1). */
#define LBSIM_TALLY(stats, field, n)                                                                               \
  do {                                                                                                             \
    (stats)->tally.field += (n);                                                                                   \
    (stats)->round_tally.field += (n);                                                                             \
  } while (0)
/* Ends a round: majority holder, switches, top share. */
void lbsim_stats_end_round(lbsim_stats_t *stats);
/* The truly fastest backend changed at since_ns to `target`. */
void lbsim_stats_fastest_changed(lbsim_stats_t *stats, uint32_t target, uint64_t since_ns);
/* Feeds the diverting check with `picks` requests, `to_target` of them to
 * the new fastest, ending at now_ns; a majority ends the wait. */
void lbsim_stats_divert_window(lbsim_stats_t *stats, uint64_t picks, uint64_t to_target, uint64_t at_ns);
/* Starts a new round: round counters and picks back to zero. */
void lbsim_stats_new_round(lbsim_stats_t *stats);
/* Everything counted so far forgotten (the end of --warmup); the backend
 * the truth favours is still known. */
void lbsim_stats_reset(lbsim_stats_t *stats);

void lbsim_counts_init(lbsim_counts_t *counts);
void lbsim_counts_free(lbsim_counts_t *counts);
/* Back to zero, keeping the histogram's memory. */
void lbsim_counts_reset(lbsim_counts_t *counts);
/* `count` requests alike, without the oracle's verdict. */
void lbsim_counts_add(lbsim_counts_t *counts, lbsim_result_t result, double latency_ms, uint32_t count);
/* Latency quantile q of `counts` in milliseconds (0 when it has no ok request). */
double lbsim_counts_quantile_ms(const lbsim_counts_t *counts, double q);

#endif
