#include "lbsim/balancer/stats.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

void lbsim_counts_init(lbsim_counts_t *c) {
  memset(c, 0, sizeof(*c));
  lbsim_hist_init(&c->latency);
}

void lbsim_counts_free(lbsim_counts_t *c) {
  lbsim_hist_free(&c->latency);
}

void lbsim_counts_reset(lbsim_counts_t *c) {
  lbsim_hist_t keep = c->latency;
  memset(c, 0, sizeof(*c));
  c->latency = keep;
  lbsim_hist_reset(&c->latency);
}

static void counts_add(lbsim_counts_t *c, lbsim_result_t result, uint64_t latency_us, double sample_ms,
                       double oracle_ms, bool to_fastest, uint32_t count, bool latency) {
  if (oracle_ms >= 0) {
    c->judged += count;
    c->to_fastest += to_fastest ? count : 0;
    c->regret_sum_ms += (sample_ms - oracle_ms) * count;
  }
  c->requests += count;
  c->by_result[result] += count;
  if (result == LBSIM_RESULT_OK) {
    c->ok += count;
    if (latency)
      lbsim_hist_record_n(&c->latency, latency_us, count);
  } else {
    c->failed += count;
  }
}

int lbsim_stats_init(lbsim_stats_t *stats, uint32_t n) {
  memset(stats, 0, sizeof(*stats));
  stats->n = n;
  stats->backend = calloc(n, sizeof(*stats->backend));
  stats->round_picks = calloc(n, sizeof(*stats->round_picks));
  if (stats->backend == NULL || stats->round_picks == NULL) {
    lbsim_stats_free(stats);
    return LBSIM_ENOMEM;
  }
  lbsim_counts_init(&stats->total);
  lbsim_counts_init(&stats->round);
  stats->majority = -1;
  stats->round_latency = true;
  for (uint32_t i = 0; i < n; i++)
    lbsim_counts_init(&stats->backend[i]);
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

void lbsim_counts_add(lbsim_counts_t *c, lbsim_result_t result, double latency_ms, uint32_t count) {
  uint64_t us = latency_ms <= 0 ? 0 : (uint64_t)(latency_ms * 1000.0 + 0.5);
  counts_add(c, result, us, 0, -1, false, count, true);
}

void lbsim_stats_reset(lbsim_stats_t *stats) {
  lbsim_counts_reset(&stats->total);
  lbsim_counts_reset(&stats->round);
  for (uint32_t i = 0; i < stats->n; i++)
    lbsim_counts_reset(&stats->backend[i]);
  memset(stats->round_picks, 0, stats->n * sizeof(*stats->round_picks));
  stats->launched = 0;
  memset(&stats->tally, 0, sizeof(stats->tally));
  memset(&stats->round_tally, 0, sizeof(stats->round_tally));
  stats->majority = -1;
  stats->majority_switches = stats->rounds = 0;
  stats->top_share_sum = 0;
  stats->divert_pending = false;
  stats->window_picks = stats->window_to_target = 0;
  stats->changes = stats->diverts = 0;
  stats->divert_sum_s = stats->divert_max_s = 0;
  stats->view_age_sum_ms = 0;
  stats->view_age_picks = 0;
}

static uint64_t to_us(double latency_ms) {
  return latency_ms <= 0 ? 0 : (uint64_t)(latency_ms * 1000.0 + 0.5);
}

void lbsim_stats_record(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms,
                        double sample_ms, double oracle_ms, bool to_fastest, uint32_t count) {
  uint64_t us = to_us(latency_ms);
  counts_add(&stats->total, result, us, sample_ms, oracle_ms, to_fastest, count, true);
  counts_add(&stats->round, result, us, sample_ms, oracle_ms, to_fastest, count, stats->round_latency);
  counts_add(&stats->backend[backend], result, us, sample_ms, oracle_ms, to_fastest, count, true);
}

void lbsim_stats_record_attempt(lbsim_stats_t *stats, uint32_t backend, lbsim_result_t result, double latency_ms,
                                double sample_ms, double oracle_ms, bool to_fastest, uint32_t count) {
  counts_add(&stats->backend[backend], result, to_us(latency_ms), sample_ms, oracle_ms, to_fastest, count, true);
}

void lbsim_stats_record_user(lbsim_stats_t *stats, lbsim_result_t result, double latency_ms, double sample_ms,
                             double oracle_ms, bool to_fastest, uint32_t count) {
  uint64_t us = to_us(latency_ms);
  counts_add(&stats->total, result, us, sample_ms, oracle_ms, to_fastest, count, true);
  counts_add(&stats->round, result, us, sample_ms, oracle_ms, to_fastest, count, stats->round_latency);
}

const char *lbsim_result_name(lbsim_result_t result) {
  static const char *const names[LBSIM_RESULT_COUNT] = {"ok", "connect", "reset", "timeout",
                                                        "bad_response", "status", "cancelled"};
  return (unsigned)result < LBSIM_RESULT_COUNT ? names[result] : "unknown";
}

void lbsim_stats_end_round(lbsim_stats_t *stats) {
  uint64_t total = 0, top = 0;
  uint32_t top_backend = 0;
  for (uint32_t i = 0; i < stats->n; i++) {
    total += stats->round_picks[i];
    if (stats->round_picks[i] > top) {
      top = stats->round_picks[i];
      top_backend = i;
    }
  }
  if (total == 0)
    return;
  stats->rounds++;
  stats->top_share_sum += (double)top / (double)total;
  if (2 * top > total) {
    if (stats->majority >= 0 && stats->majority != (int64_t)top_backend)
      stats->majority_switches++;
    stats->majority = top_backend;
  }
}

void lbsim_stats_fastest_changed(lbsim_stats_t *stats, uint32_t target, uint64_t since_ns) {
  stats->changes++;
  stats->divert_pending = true;
  stats->divert_target = target;
  stats->divert_since_ns = since_ns;
  stats->window_picks = stats->window_to_target = 0;
}

void lbsim_stats_divert_window(lbsim_stats_t *stats, uint64_t picks, uint64_t to_target, uint64_t at_ns) {
  if (!stats->divert_pending || picks == 0)
    return;
  if (2 * to_target <= picks)
    return;
  double s = at_ns > stats->divert_since_ns ? (double)(at_ns - stats->divert_since_ns) / 1e9 : 0.0;
  stats->divert_pending = false;
  stats->diverts++;
  stats->divert_sum_s += s;
  if (s > stats->divert_max_s)
    stats->divert_max_s = s;
}

void lbsim_stats_new_round(lbsim_stats_t *stats) {
  lbsim_counts_reset(&stats->round);
  memset(&stats->round_tally, 0, sizeof(stats->round_tally));
  memset(stats->round_picks, 0, stats->n * sizeof(*stats->round_picks));
}

double lbsim_counts_quantile_ms(const lbsim_counts_t *counts, double q) {
  return counts->ok ? lbsim_hist_quantile(&counts->latency, q) / 1000.0 : 0.0;
}
