/* Text and JSON Lines output. See lbsim/report.h. */
#include "lbsim/report.h"

#include <math.h>
#include <string.h>

#include "lbsim_version.h"

static const char *const shape_names[] = {"burst", "rate", "concurrency"};

/* ---- JSON helpers --------------------------------------------------------- */

static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

/* Numbers that may be unknown (no oracle, no sample) print as null. */
static void json_number(FILE *out, double v) {
  if (isfinite(v))
    fprintf(out, "%.3f", v);
  else
    fputs("null", out);
}

static void json_quantiles(FILE *out, const lbsim_counts_t *c) {
  static const struct {
    const char *name;
    double q;
  } qs[] = {{"p50_ms", 0.5}, {"p90_ms", 0.9}, {"p99_ms", 0.99}, {"p999_ms", 0.999}};
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    fprintf(out, ",\"%s\":", qs[i].name);
    json_number(out, c->ok ? lbsim_counts_quantile_ms(c, qs[i].q) : NAN);
  }
}

/* ---- shared figures --------------------------------------------------------- */

static double share_to_fastest(const lbsim_counts_t *c) {
  return c->judged ? (double)c->to_fastest / (double)c->judged : NAN;
}

static double mean_regret_ms(const lbsim_counts_t *c) {
  return c->judged ? c->regret_sum_ms / (double)c->judged : NAN;
}

static double true_ms(lbsim_oracle_t *oracle, uint32_t i) {
  return oracle ? lbsim_oracle_true_ms(oracle, i) : NAN;
}

/* ---- start ------------------------------------------------------------------ */

static void json_start_head(FILE *out, uint64_t seed, const char *shape) {
  fprintf(out, "{\"type\":\"start\",\"version\":\"%s\",\"seed\":%llu,\"shape\":", LBSIM_VERSION,
          (unsigned long long)seed);
  if (shape)
    json_string(out, shape);
  else
    fputs("null", out);
  fputs(",\"policies\":[", out);
}

static void json_start_backend(FILE *out, uint32_t i, const char *url, lbsim_oracle_t *oracle) {
  fprintf(out, "%s{\"backend\":%u,\"url\":", i ? "," : "", i + 1);
  json_string(out, url);
  fputs(",\"true_ms\":", out);
  json_number(out, true_ms(oracle, i));
  fputc('}', out);
}

void lbsim_report_start(FILE *out, const lbsim_config_t *cfg, uint64_t seed, lbsim_traffic_t *worlds,
                        uint32_t nworlds, lbsim_oracle_t *oracle) {
  if (cfg->format != LBSIM_FORMAT_JSON)
    return;
  json_start_head(out, seed, shape_names[cfg->shape]);
  for (uint32_t w = 0; w < nworlds; w++) {
    if (w)
      fputc(',', out);
    json_string(out, worlds[w].policy_name);
  }
  fputs("],\"backends\":[", out);
  for (uint32_t i = 0; i < worlds[0].n; i++)
    json_start_backend(out, i, worlds[0].names[i], oracle);
  fputs("]}\n", out);
  fflush(out);
}

void lbsim_report_start_backends(FILE *out, const lbsim_config_t *cfg, uint64_t seed,
                                 const lbsim_backend_t *backends, uint32_t n, lbsim_oracle_t *oracle) {
  if (cfg->format != LBSIM_FORMAT_JSON)
    return;
  json_start_head(out, seed, NULL);
  fputs("],\"backends\":[", out);
  for (uint32_t i = 0; i < n; i++)
    json_start_backend(out, i, backends[i].url, oracle);
  fputs("]}\n", out);
  fflush(out);
}

/* ---- rounds ------------------------------------------------------------------ */

static void json_round(FILE *out, const lbsim_config_t *cfg, uint64_t round, double t_s, lbsim_traffic_t *t,
                       lbsim_oracle_t *oracle) {
  const lbsim_counts_t *c = &t->stats.round;
  uint64_t picks = 0;
  for (uint32_t i = 0; i < t->n; i++)
    picks += t->stats.round_picks[i];
  fprintf(out, "{\"type\":\"%s\",\"n\":%llu,\"t\":%.3f,\"policy\":", cfg->shape == LBSIM_SHAPE_BURST ? "round" : "interval",
          (unsigned long long)round, t_s);
  json_string(out, t->policy_name);
  fprintf(out, ",\"requests\":%llu,\"ok\":%llu,\"failed\":%llu", (unsigned long long)picks,
          (unsigned long long)c->ok, (unsigned long long)c->failed);
  json_quantiles(out, c);
  fputs(",\"to_fastest\":", out);
  json_number(out, share_to_fastest(c));
  fputs(",\"regret_ms\":", out);
  json_number(out, mean_regret_ms(c));
  fputs(",\"fastest\":", out);
  if (oracle && isfinite(lbsim_oracle_fastest_ms(oracle)))
    fprintf(out, "%u", lbsim_oracle_fastest(oracle) + 1);
  else
    fputs("null", out);
  fputs(",\"backends\":[", out);
  for (uint32_t i = 0; i < t->n; i++) {
    fprintf(out, "%s{\"backend\":%u,\"url\":", i ? "," : "", i + 1);
    json_string(out, t->names[i]);
    fprintf(out, ",\"requests\":%llu,\"ema_ms\":%.3f,\"true_ms\":", (unsigned long long)t->stats.round_picks[i],
            t->ema.value_ms[i]);
    json_number(out, true_ms(oracle, i));
    fputc('}', out);
  }
  fputs("]}\n", out);
}

static size_t name_width(const lbsim_traffic_t *t) {
  size_t w = 7;
  for (uint32_t i = 0; i < t->n; i++)
    if (strlen(t->names[i]) > w)
      w = strlen(t->names[i]);
  return w;
}

#define COL 24 /* one compared policy's column */

static void compare_header(FILE *out, int width, const char *first, lbsim_traffic_t *worlds, uint32_t nworlds) {
  fprintf(out, "%-*s %9s", width, first, "true ms");
  for (uint32_t w = 0; w < nworlds; w++)
    fprintf(out, " | %-*s", COL - 3, worlds[w].policy_name);
  fputc('\n', out);
}

/* Compare mode: one row per backend (requests and EMA per policy), then the
 * round's figures per policy. */
static void text_compare_round(FILE *out, const lbsim_config_t *cfg, uint64_t round, lbsim_traffic_t *worlds,
                               uint32_t nworlds, lbsim_oracle_t *oracle) {
  int width = (int)name_width(&worlds[0]);
  fprintf(out, "\n=== %s %llu ===\n", cfg->shape == LBSIM_SHAPE_BURST ? "Round" : "Interval", (unsigned long long)round);
  compare_header(out, width, "backend", worlds, nworlds);
  for (uint32_t i = 0; i < worlds[0].n; i++) {
    fprintf(out, "%-*s %9.2f", width, worlds[0].names[i], oracle ? lbsim_oracle_true_ms(oracle, i) : NAN);
    for (uint32_t w = 0; w < nworlds; w++)
      fprintf(out, " | %5llu req ema %8.2f ", (unsigned long long)worlds[w].stats.round_picks[i],
              worlds[w].ema.value_ms[i]);
    fputc('\n', out);
  }
  char cell[64];
  fprintf(out, "%-*s %9s", width, "ok / failed", "");
  for (uint32_t w = 0; w < nworlds; w++) {
    snprintf(cell, sizeof(cell), "%llu / %llu", (unsigned long long)worlds[w].stats.round.ok,
             (unsigned long long)worlds[w].stats.round.failed);
    fprintf(out, " | %-*s", COL - 3, cell);
  }
  fprintf(out, "\n%-*s %9s", width, "p50 / p99 ms", "");
  for (uint32_t w = 0; w < nworlds; w++) {
    const lbsim_counts_t *c = &worlds[w].stats.round;
    snprintf(cell, sizeof(cell), "%.2f / %.2f", lbsim_counts_quantile_ms(c, 0.5), lbsim_counts_quantile_ms(c, 0.99));
    fprintf(out, " | %-*s", COL - 3, cell);
  }
  if (oracle) {
    fprintf(out, "\n%-*s %9s", width, "to fastest / regret", "");
    for (uint32_t w = 0; w < nworlds; w++) {
      const lbsim_counts_t *c = &worlds[w].stats.round;
      if (c->judged)
        snprintf(cell, sizeof(cell), "%.1f %% / %+.2f ms", 100.0 * share_to_fastest(c), mean_regret_ms(c));
      else
        snprintf(cell, sizeof(cell), "-");
      fprintf(out, " | %-*s", COL - 3, cell);
    }
  }
  fputc('\n', out);
}

void lbsim_report_round(FILE *out, const lbsim_config_t *cfg, uint64_t round, double t_s, lbsim_traffic_t *worlds,
                        uint32_t nworlds, lbsim_oracle_t *oracle) {
  if (cfg->format == LBSIM_FORMAT_JSON) {
    for (uint32_t w = 0; w < nworlds; w++)
      json_round(out, cfg, round, t_s, &worlds[w], oracle);
  } else if (nworlds > 1) {
    text_compare_round(out, cfg, round, worlds, nworlds, oracle);
  } else {
    /* The seed's block, byte for byte. */
    const lbsim_traffic_t *t = &worlds[0];
    fprintf(out, "\n=== Traffic %s %llu Summary ===\n", cfg->shape == LBSIM_SHAPE_BURST ? "Round" : "Interval",
            (unsigned long long)round);
    for (uint32_t i = 0; i < t->n; i++)
      fprintf(out, "%s: avg=%.2f ms, requests=%llu\n", t->names[i], t->ema.value_ms[i],
              (unsigned long long)t->stats.round_picks[i]);
  }
  fflush(out);
}

/* ---- the run ------------------------------------------------------------------ */

static double divert_mean_s(const lbsim_stats_t *s) {
  return s->diverts ? s->divert_sum_s / (double)s->diverts : NAN;
}

static double top_share(const lbsim_stats_t *s) {
  return s->rounds ? s->top_share_sum / (double)s->rounds : NAN;
}

static void json_summary(FILE *out, const lbsim_config_t *cfg, lbsim_traffic_t *t, double elapsed_s) {
  const lbsim_counts_t *c = &t->stats.total;
  const lbsim_stats_t *s = &t->stats;
  fputs("{\"type\":\"summary\",\"policy\":", out);
  json_string(out, t->policy_name);
  fprintf(out, ",\"shape\":\"%s\",\"requests\":%llu,\"ok\":%llu,\"failed\":%llu,\"failures\":{", shape_names[cfg->shape],
          (unsigned long long)c->requests, (unsigned long long)c->ok, (unsigned long long)c->failed);
  for (int r = LBSIM_RESULT_OK + 1; r < LBSIM_RESULT_COUNT; r++)
    fprintf(out, "%s\"%s\":%llu", r > 1 ? "," : "", lbsim_result_name((lbsim_result_t)r),
            (unsigned long long)c->by_result[r]);
  fprintf(out, "},\"elapsed_s\":%.3f,\"rate\":%.3f", elapsed_s, elapsed_s > 0 ? (double)c->requests / elapsed_s : 0.0);
  json_quantiles(out, c);
  fputs(",\"to_fastest\":", out);
  json_number(out, share_to_fastest(c));
  fputs(",\"regret_ms\":", out);
  json_number(out, mean_regret_ms(c));
  fprintf(out, ",\"fastest_changes\":%llu,\"diverted\":%llu,\"divert_mean_s\":", (unsigned long long)s->changes,
          (unsigned long long)s->diverts);
  json_number(out, divert_mean_s(s));
  fputs(",\"divert_max_s\":", out);
  json_number(out, s->diverts ? s->divert_max_s : NAN);
  fprintf(out, ",\"rounds\":%llu,\"majority_switches\":%llu,\"top_share\":", (unsigned long long)s->rounds,
          (unsigned long long)s->majority_switches);
  json_number(out, top_share(s));
  fputs(",\"backends\":[", out);
  for (uint32_t i = 0; i < t->n; i++) {
    const lbsim_counts_t *b = &s->backend[i];
    fprintf(out, "%s{\"backend\":%u,\"url\":", i ? "," : "", i + 1);
    json_string(out, t->names[i]);
    fprintf(out, ",\"requests\":%llu,\"ok\":%llu,\"failed\":%llu", (unsigned long long)b->requests,
            (unsigned long long)b->ok, (unsigned long long)b->failed);
    json_quantiles(out, b);
    fprintf(out, ",\"ema_ms\":%.3f}", t->ema.value_ms[i]);
  }
  fputs("]}\n", out);
}

static void text_summary(FILE *out, const lbsim_traffic_t *t, lbsim_oracle_t *oracle, double elapsed_s) {
  const lbsim_counts_t *c = &t->stats.total;
  const lbsim_stats_t *s = &t->stats;
  fprintf(out, "\n=== Run Summary ===\n");
  fprintf(out, "requests=%llu ok=%llu failed=%llu elapsed=%.2f s rate=%.2f req/s\n", (unsigned long long)c->requests,
          (unsigned long long)c->ok, (unsigned long long)c->failed, elapsed_s,
          elapsed_s > 0 ? (double)c->requests / elapsed_s : 0.0);
  if (c->failed > 0) {
    fprintf(out, "failures:");
    for (int r = LBSIM_RESULT_OK + 1; r < LBSIM_RESULT_COUNT; r++)
      fprintf(out, " %s=%llu", lbsim_result_name((lbsim_result_t)r), (unsigned long long)c->by_result[r]);
    fputc('\n', out);
  }
  for (uint32_t i = 0; i < s->n; i++) {
    const lbsim_counts_t *b = &s->backend[i];
    fprintf(out, "%s: requests=%llu ok=%llu failed=%llu p50=%.2f ms p99=%.2f ms ema=%.2f ms\n", t->names[i],
            (unsigned long long)b->requests, (unsigned long long)b->ok, (unsigned long long)b->failed,
            lbsim_counts_quantile_ms(b, 0.50), lbsim_counts_quantile_ms(b, 0.99), t->ema.value_ms[i]);
  }
  fprintf(out, "latency: p50=%.2f ms p90=%.2f ms p99=%.2f ms p99.9=%.2f ms\n", lbsim_counts_quantile_ms(c, 0.5),
          lbsim_counts_quantile_ms(c, 0.9), lbsim_counts_quantile_ms(c, 0.99), lbsim_counts_quantile_ms(c, 0.999));
  if (s->rounds > 0)
    fprintf(out, "balance: rounds=%llu top_share=%.1f%% majority_switches=%llu\n", (unsigned long long)s->rounds,
            100.0 * top_share(s), (unsigned long long)s->majority_switches);
  if (oracle) {
    fprintf(out, "oracle: to_fastest=%.1f%% regret=%+.2f ms fastest_changes=%llu diverted=%llu", 100.0 * share_to_fastest(c),
            mean_regret_ms(c), (unsigned long long)s->changes, (unsigned long long)s->diverts);
    if (s->diverts)
      fprintf(out, " divert_mean=%.2f s divert_max=%.2f s", divert_mean_s(s), s->divert_max_s);
    fputc('\n', out);
  }
}

static void text_comparison(FILE *out, lbsim_traffic_t *worlds, uint32_t nworlds, lbsim_oracle_t *oracle,
                            double elapsed_s) {
  fprintf(out, "\n=== Comparison Summary (%.2f s) ===\n", elapsed_s);
  fprintf(out, "%-18s %9s %9s %7s %9s %9s %9s %8s %10s %9s %9s %9s\n", "policy", "requests", "ok", "failed", "p50 ms",
          "p99 ms", "p99.9 ms", "fastest", "regret ms", "divert s", "switches", "top share");
  for (uint32_t w = 0; w < nworlds; w++) {
    const lbsim_stats_t *s = &worlds[w].stats;
    const lbsim_counts_t *c = &s->total;
    fprintf(out, "%-18s %9llu %9llu %7llu %9.2f %9.2f %9.2f", worlds[w].policy_name, (unsigned long long)c->requests,
            (unsigned long long)c->ok, (unsigned long long)c->failed, lbsim_counts_quantile_ms(c, 0.5),
            lbsim_counts_quantile_ms(c, 0.99), lbsim_counts_quantile_ms(c, 0.999));
    if (oracle && c->judged)
      fprintf(out, " %7.1f%% %+10.2f", 100.0 * share_to_fastest(c), mean_regret_ms(c));
    else
      fprintf(out, " %8s %10s", "-", "-");
    if (s->diverts)
      fprintf(out, " %9.2f", divert_mean_s(s));
    else
      fprintf(out, " %9s", "-");
    fprintf(out, " %9llu", (unsigned long long)s->majority_switches);
    if (s->rounds)
      fprintf(out, " %8.1f%%\n", 100.0 * top_share(s));
    else
      fprintf(out, " %9s\n", "-");
  }
  if (oracle) {
    const lbsim_stats_t *s = &worlds[0].stats;
    fprintf(out, "the fastest backend changed %llu times; divert s: mean time until it got most of the traffic\n",
            (unsigned long long)s->changes);
  }
}

void lbsim_report_run(FILE *out, const lbsim_config_t *cfg, lbsim_traffic_t *worlds, uint32_t nworlds,
                      lbsim_oracle_t *oracle, double elapsed_s) {
  if (cfg->format == LBSIM_FORMAT_JSON) {
    for (uint32_t w = 0; w < nworlds; w++)
      json_summary(out, cfg, &worlds[w], elapsed_s);
  } else if (nworlds > 1) {
    text_comparison(out, worlds, nworlds, oracle, elapsed_s);
  } else {
    text_summary(out, &worlds[0], oracle, elapsed_s);
  }
  fflush(out);
}

void lbsim_report_change(FILE *out, const lbsim_config_t *cfg, double t_s, uint32_t backend, const lbsim_event_t *ev,
                         double from, double to, const char *jitter) {
  static const char *const origins[] = {"scenario", "drift", "admin"};
  if (cfg->format != LBSIM_FORMAT_JSON)
    return;
  if (ev->origin == LBSIM_ORIGIN_DRIFT) {
    fprintf(out, "{\"type\":\"drift\",\"t\":%.3f,\"backend\":%u,\"from_ms\":%.3f,\"to_ms\":%.3f}\n", t_s,
            backend + 1, from, to);
  } else {
    fprintf(out, "{\"type\":\"change\",\"t\":%.3f,\"backend\":%u,\"source\":\"%s\",\"action\":\"%s\"", t_s,
            backend + 1, origins[ev->origin], lbsim_action_name(ev->action));
    switch (ev->action) {
    case LBSIM_ACTION_JITTER:
      fputs(",\"to\":", out);
      json_string(out, jitter);
      break;
    case LBSIM_ACTION_UP:
      fprintf(out, ",\"slow_start_s\":%.3f,\"slow_start_factor\":%.3f", ev->slow_start_s, ev->slow_start_factor);
      break;
    case LBSIM_ACTION_LATENCY:
    case LBSIM_ACTION_ERROR_RATE:
    case LBSIM_ACTION_CAPACITY:
      fprintf(out, ",\"from\":%.3f,\"to\":%.3f", from, to);
      break;
    case LBSIM_ACTION_DOWN:
    case LBSIM_ACTION_STALL:
    case LBSIM_ACTION_RESUME:
      break;
    }
    fputs("}\n", out);
  }
  fflush(out);
}
