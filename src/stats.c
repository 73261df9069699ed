#include "lbsim/stats.h"

#include <stdlib.h>
#include <string.h>

static void counts_init(lbsim_counts_t *c) {
  memset(c, 0, sizeof(*c));
  lbsim_hist_init(&c->latency);
}

static void counts_reset(lbsim_counts_t *c) {
  lbsim_hist_t keep = c->latency;
  memset(c, 0, sizeof(*c));
  c->latency = keep;
  lbsim_hist_reset(&c->latency);
}

static void counts_add(lbsim_counts_t *c, lbsim_result_t result, double latency_ms) {
  c->requests++;
  c->by_result[result]++;
  if (result == LBSIM_RESULT_OK) {
    c->ok++;
    lbsim_hist_record(&c->latency, latency_ms <= 0 ? 0 : (uint64_t)(latency_ms * 1000.0 + 0.5));
  } else {
    c->failed++;
  }
}

int lbsim_stats_init(lbsim_stats_t *stats, uint32_t n) {
  memset(stats, 0, sizeof(*stats));
  stats->n = n;
  stats->backend = calloc(n, sizeof(*stats->backend));
  stats->round_picks = calloc(n, sizeof(*stats->round_picks));
  if (stats->backend == NULL || stats->round_picks == NULL) {
    lbsim_stats_free(stats);
    return -1;
  }
  counts_init(&stats->total);
  counts_init(&stats->round);
  for (uint32_t i = 0; i < n; i++)
    counts_init(&stats->backend[i]);
  return 0;
}

void lbsim_stats_free(lbsim_stats_t *stats) {
  if (stats->backend)
    for (uint32_t i = 0; i < stats->n; i++)
      lbsim_hist_free(&stats->backend[i].latency);
  lbsim_hist_free(&stats->total.latency);
  lbsim_hist_free(&stats->round.latency);
  free(stats->backend);
  free(stats->round_picks);
  stats->backend = NULL;
  stats->round_picks = NULL;
}

void lbsim_stats_pick(lbsim_stats_t *stats, uint32_t backend) {
  stats->round_picks[backend]++;
  stats->launched++;
}

void lbsim_stats_record(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms) {
  counts_add(&stats->total, result, latency_ms);
  counts_add(&stats->round, result, latency_ms);
  counts_add(&stats->backend[backend], result, latency_ms);
}

void lbsim_stats_new_round(lbsim_stats_t *stats) {
  counts_reset(&stats->round);
  memset(stats->round_picks, 0, stats->n * sizeof(*stats->round_picks));
}

double lbsim_counts_quantile_ms(const lbsim_counts_t *counts, double q) {
  return counts->ok ? lbsim_hist_quantile(&counts->latency, q) / 1000.0 : 0.0;
}
