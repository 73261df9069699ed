/* Counters and latency histograms of a client's requests: per backend and
 * in total, for the run and for the current round. Pure code. */
#ifndef LBSIM_STATS_H
#define LBSIM_STATS_H

#include <stdint.h>

#include "lbsim/client.h"
#include "lbsim/histogram.h"

typedef struct lbsim_counts_s {
  uint64_t requests;                        /* completed: ok + failed */
  uint64_t ok;
  uint64_t failed;
  uint64_t by_result[LBSIM_RESULT_COUNT];
  lbsim_hist_t latency;                     /* ok requests, microseconds */
} lbsim_counts_t;

typedef struct lbsim_stats_s {
  uint32_t n;
  lbsim_counts_t total;                     /* the run */
  lbsim_counts_t *backend;                  /* the run, per backend */
  lbsim_counts_t round;                     /* the current round (or interval) */
  uint64_t *round_picks;                    /* requests sent to each backend this round */
  uint64_t launched;                        /* requests started in the run */
} lbsim_stats_t;

int lbsim_stats_init(lbsim_stats_t *stats, uint32_t n);
void lbsim_stats_free(lbsim_stats_t *stats);
void lbsim_stats_pick(lbsim_stats_t *stats, uint32_t backend);
void lbsim_stats_record(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms);
/* Starts a new round: round counters and picks back to zero. */
void lbsim_stats_new_round(lbsim_stats_t *stats);
/* Latency quantile q of `counts` in milliseconds (0 when it has no ok request). */
double lbsim_counts_quantile_ms(const lbsim_counts_t *counts, double q);

#endif
