/* The text format: the seed's round block, byte for byte; the run summary;
 * the compare tables. See lbsim/report/report.h. */
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/report/report.h"

static void text_start(lbsim_report_t *r, uint64_t now_ns) {
  (void)r;
  (void)now_ns;
}

/* A latency in ms with two decimals, or "-" when there is none (no request
 * was answered), in a field of `width` (0: as long as it is). */
static void latency(lbsim_buf_t *out, int width, double ms) {
  if (isnan(ms))
    lbsim_buf_printf(out, "%*s", width, "-");
  else
    lbsim_buf_printf(out, "%*.2f", width, ms);
}

static size_t name_width(const lbsim_fleet_t *b) {
  size_t w = 7;
  for (uint32_t i = 0; i < b->n; i++)
    if (strlen(b->names[i]) > w)
      w = strlen(b->names[i]);
  return w;
}

#define COL 24 /* one compared policy's column */

static void compare_header(lbsim_buf_t *out, int width, const char *first, const lbsim_report_t *r) {
  lbsim_buf_printf(out, "%-*s %9s", width, first, "true ms");
  for (uint32_t w = 0; w < r->nfleets; w++)
    lbsim_buf_printf(out, " | %-*s", COL - 3, r->fleets[w].policy_name);
  lbsim_buf_append_str(out, "\n");
}

/* Compare mode: one row per backend (requests and EMA per policy), then the
 * round's figures per policy. */
static void compare_round(lbsim_report_t *r, uint64_t round, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  const lbsim_fleet_t *first = &r->fleets[0];
  int width = (int)name_width(first);
  lbsim_buf_printf(out, "\n=== %s %llu ===\n", r->cfg->shape == LBSIM_SHAPE_BURST ? "Round" : "Interval",
                   (unsigned long long)round);
  compare_header(out, width, "backend", r);
  for (uint32_t i = 0; i < first->n; i++) {
    lbsim_buf_printf(out, "%-*s %9.2f", width, first->names[i], lbsim_report_true_ms(r, i, now_ns));
    for (uint32_t w = 0; w < r->nfleets; w++)
      lbsim_buf_printf(out, " | %5llu req ema %8.2f ", (unsigned long long)r->fleets[w].stats.round_picks[i],
                       lbsim_fleet_ema_ms(&r->fleets[w], i));
    lbsim_buf_append_str(out, "\n");
  }
  char cell[64];
  lbsim_buf_printf(out, "%-*s %9s", width, "ok / failed", "");
  for (uint32_t w = 0; w < r->nfleets; w++) {
    const lbsim_counts_t *c = &r->fleets[w].stats.round;
    snprintf(cell, sizeof(cell), "%llu / %llu", (unsigned long long)c->ok, (unsigned long long)c->failed);
    lbsim_buf_printf(out, " | %-*s", COL - 3, cell);
  }
  lbsim_buf_printf(out, "\n%-*s %9s", width, "p50 / p99 ms", "");
  for (uint32_t w = 0; w < r->nfleets; w++) {
    const lbsim_counts_t *c = &r->fleets[w].stats.round;
    if (c->ok)
      snprintf(cell, sizeof(cell), "%.2f / %.2f", lbsim_counts_quantile_ms(c, 0.5), lbsim_counts_quantile_ms(c, 0.99));
    else
      snprintf(cell, sizeof(cell), "- / -");
    lbsim_buf_printf(out, " | %-*s", COL - 3, cell);
  }
  if (r->oracle) {
    lbsim_buf_printf(out, "\n%-*s %9s", width, "to fastest / regret", "");
    for (uint32_t w = 0; w < r->nfleets; w++) {
      const lbsim_counts_t *c = &r->fleets[w].stats.round;
      if (c->judged)
        snprintf(cell, sizeof(cell), "%.1f %% / %+.2f ms", 100.0 * lbsim_report_share_to_fastest(c),
                 lbsim_report_mean_regret_ms(c));
      else
        snprintf(cell, sizeof(cell), "-");
      lbsim_buf_printf(out, " | %-*s", COL - 3, cell);
    }
  }
  lbsim_buf_append_str(out, "\n");
}

/* The seed's block, byte for byte: formatted without printf, since under
 * the virtual clock it is written a hundred thousand times a second. */
static void seed_block(lbsim_report_t *r, uint64_t round) {
  lbsim_buf_t *out = &r->out;
  const lbsim_fleet_t *b = &r->fleets[0];
  lbsim_buf_append_str(out, r->cfg->shape == LBSIM_SHAPE_BURST ? "\n=== Traffic Round " : "\n=== Traffic Interval ");
  lbsim_buf_u64(out, round);
  lbsim_buf_append_str(out, " Summary ===\n");
  for (uint32_t i = 0; i < b->n; i++) {
    lbsim_buf_append_str(out, b->names[i]);
    lbsim_buf_append_str(out, ": avg=");
    lbsim_buf_fixed(out, lbsim_fleet_ema_ms(b, i), 2);
    lbsim_buf_append_str(out, " ms, requests=");
    lbsim_buf_u64(out, b->stats.round_picks[i]);
    lbsim_buf_append_str(out, "\n");
  }
}

/* The seed's block has the EMA and the picks; the compare table, quantiles. */
static bool text_round_latency(const lbsim_report_t *r) {
  return r->nfleets > 1 || (r->nfleets > 0 && r->fleets[0].measuring);
}

/* " p50=12.34 ms", or " p50=-" when no request was answered. */
static void latency_field(lbsim_buf_t *out, const char *name, double ms) {
  lbsim_buf_append_str(out, name);
  latency(out, 0, ms);
  if (!isnan(ms))
    lbsim_buf_append_str(out, " ms");
}

/* With a tool around the pick on: " users=... attempts=... ...", the tally's
 * every field. */
static void tally_fields(lbsim_buf_t *out, const lbsim_tally_t *t) {
  for (size_t k = 0; k < lbsim_tally_nfields; k++)
    lbsim_buf_printf(out, " %s=%llu", lbsim_tally_fields[k].name,
                     (unsigned long long)lbsim_tally_get(t, &lbsim_tally_fields[k]));
}

/* " NAME min/median/max=1.00/2.00/3.00UNIT", or "-" for a figure with none. */
static void spread_field(lbsim_buf_t *out, const char *name, const lbsim_spread_t *sp, bool mean, int decimals,
                         const char *unit) {
  lbsim_buf_printf(out, " %s min/%s/max=", name, mean ? "mean" : "median");
  double v[3] = {sp->min, mean ? sp->mean : sp->median, sp->max};
  for (int k = 0; k < 3; k++) {
    if (k)
      lbsim_buf_append_str(out, "/");
    if (isnan(v[k]))
      lbsim_buf_append_str(out, "-");
    else
      lbsim_buf_printf(out, "%.*f", decimals, v[k]);
  }
  if (!isnan(sp->min))
    lbsim_buf_append_str(out, unit);
}

/* A fleet of more than one client, per interval: its requests and latency,
 * the spread of its clients' own figures, how its load is spread over the
 * backends, and each backend's requests. */
static void fleet_block(lbsim_report_t *r, const lbsim_fleet_t *f, uint64_t round, double t_s) {
  lbsim_buf_t *out = &r->out;
  const lbsim_counts_t *c = &f->stats.round;
  const lbsim_fleet_measures_t *m = &f->measures;
  uint64_t picks = 0;
  for (uint32_t i = 0; i < f->n; i++)
    picks += f->stats.round_picks[i];
  lbsim_buf_printf(out, "\n=== Fleet Interval %llu Summary (%s, %u clients, t=%.2f s) ===\n", (unsigned long long)round,
                   f->policy_name, f->nclients, t_s);
  lbsim_buf_printf(out, "requests=%llu ok=%llu failed=%llu", (unsigned long long)picks, (unsigned long long)c->ok,
                   (unsigned long long)c->failed);
  latency_field(out, " mean=", lbsim_report_mean_ms(c));
  latency_field(out, " p50=", lbsim_report_quantile_ms(c, 0.5));
  latency_field(out, " p99=", lbsim_report_quantile_ms(c, 0.99));
  lbsim_buf_printf(out, "\nclients: heard=%u", m->clients_heard);
  spread_field(out, "success", &m->success, false, 1, "%");
  spread_field(out, "p99", &m->p99_ms, false, 2, " ms");
  lbsim_buf_printf(out, "\nbackends: imbalance=%.2f herd=%.1f%%", m->imbalance, 100.0 * m->herd);
  spread_field(out, "connections", &m->conns, true, 1, "");
  spread_field(out, "clients", &m->clients, true, 1, "");
  lbsim_buf_append_str(out, "\n");
  if (lbsim_config_tools(r->cfg)) {
    /* ok and failed above are user requests; requests, the attempts sent. */
    lbsim_buf_append_str(out, "tally:");
    tally_fields(out, &f->stats.round_tally);
    lbsim_buf_append_str(out, "\n");
  }
  for (uint32_t i = 0; i < f->n; i++) {
    lbsim_buf_append_str(out, f->names[i]);
    lbsim_buf_append_str(out, ": requests=");
    lbsim_buf_u64(out, f->stats.round_picks[i]);
    lbsim_buf_append_str(out, "\n");
  }
}

static void text_round(lbsim_report_t *r, uint64_t round, double t_s, uint64_t now_ns) {
  if (r->nfleets > 0 && r->fleets[0].measuring) {
    for (uint32_t w = 0; w < r->nfleets; w++)
      fleet_block(r, &r->fleets[w], round, t_s);
    return;
  }
  if (r->nfleets > 1)
    compare_round(r, round, now_ns);
  else
    seed_block(r, round);
}

/* A fleet's line of the run summary: its clients, their subsets and how
 * evenly their load was spread over the run. */
static void fleet_line(lbsim_report_t *r, lbsim_fleet_t *f, uint64_t now_ns) {
  lbsim_buf_printf(&r->out, "fleet: policy=%s clients=%u subset=", f->policy_name, f->nclients);
  if (f->subsets != NULL)
    lbsim_buf_printf(&r->out, "%u (%s)", f->subset_size, lbsim_subset_mode_name(r->cfg->subset_mode));
  else
    lbsim_buf_append_str(&r->out, "all");
  lbsim_buf_printf(&r->out, " imbalance=%.2f\n", lbsim_fleet_run_imbalance(f, now_ns));
}


/* What the clients knew of the backends' load, when they knew any: the
 * source, and how old the view of each pick's backend was. */
static void loads_line(lbsim_buf_t *out, const lbsim_fleet_t *b, bool named) {
  const lbsim_config_t *cfg = b->cfg;
  if (!lbsim_report_loads_on(cfg))
    return;
  lbsim_buf_append_str(out, "loads");
  if (named)
    lbsim_buf_printf(out, " (%s)", b->policy_name);
  if (cfg->load_board_s > 0)
    lbsim_buf_printf(out, ": board every %g ms", cfg->load_board_s * 1000.0);
  else
    lbsim_buf_append_str(out, ": reports");
  latency_field(out, ", view age mean=", lbsim_report_view_age_ms(&b->stats));
  double share = lbsim_report_view_share(&b->stats);
  if (isnan(share))
    lbsim_buf_append_str(out, " (picks with a view: -)\n");
  else
    lbsim_buf_printf(out, " (picks with a view: %.1f%%)\n", 100.0 * share);
}

static void summary(lbsim_report_t *r, double elapsed_s, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  const lbsim_fleet_t *b = &r->fleets[0];
  const lbsim_stats_t *s = &b->stats;
  const lbsim_counts_t *c = &s->total;
  lbsim_buf_printf(out, "\n=== Run Summary ===\n");
  lbsim_buf_printf(out, "requests=%llu ok=%llu failed=%llu elapsed=%.2f s rate=%.2f req/s\n",
                   (unsigned long long)c->requests, (unsigned long long)c->ok, (unsigned long long)c->failed,
                   elapsed_s, elapsed_s > 0 ? (double)c->requests / elapsed_s : 0.0);
  if (c->failed > 0) {
    lbsim_buf_printf(out, "failures:");
    for (int k = LBSIM_RESULT_OK + 1; k < LBSIM_RESULT_COUNT; k++)
      lbsim_buf_printf(out, " %s=%llu", lbsim_result_name((lbsim_result_t)k), (unsigned long long)c->by_result[k]);
    lbsim_buf_append_str(out, "\n");
  }
  if (lbsim_config_tools(r->cfg)) {
    /* The lines above count user requests; the backends' below, attempts. */
    lbsim_buf_append_str(out, "tally:");
    tally_fields(out, &s->tally);
    lbsim_buf_append_str(out, "\n");
  }
  for (uint32_t i = 0; i < s->n; i++) {
    const lbsim_counts_t *bc = &s->backend[i];
    lbsim_buf_printf(out, "%s: requests=%llu ok=%llu failed=%llu", b->names[i], (unsigned long long)bc->requests,
                     (unsigned long long)bc->ok, (unsigned long long)bc->failed);
    latency_field(out, " p50=", lbsim_report_quantile_ms(bc, 0.50));
    latency_field(out, " p99=", lbsim_report_quantile_ms(bc, 0.99));
    latency_field(out, " ema=", lbsim_fleet_ema_ms(b, i)); /* a fleet's: its clients' mean */
    lbsim_buf_append_str(out, "\n");
  }
  lbsim_buf_append_str(out, "latency:");
  latency_field(out, " mean=", lbsim_report_mean_ms(c));
  latency_field(out, " p50=", lbsim_report_quantile_ms(c, 0.5));
  latency_field(out, " p90=", lbsim_report_quantile_ms(c, 0.9));
  latency_field(out, " p99=", lbsim_report_quantile_ms(c, 0.99));
  latency_field(out, " p99.9=", lbsim_report_quantile_ms(c, 0.999));
  lbsim_buf_append_str(out, "\n");
  if (s->rounds > 0)
    lbsim_buf_printf(out, "balance: rounds=%llu top_share=%.1f%% majority_switches=%llu\n",
                     (unsigned long long)s->rounds, 100.0 * lbsim_report_top_share(s),
                     (unsigned long long)s->majority_switches);
  if (r->oracle) {
    if (c->judged)
      lbsim_buf_printf(out, "oracle: to_fastest=%.1f%% regret=%+.2f ms", 100.0 * lbsim_report_share_to_fastest(c),
                       lbsim_report_mean_regret_ms(c));
    else /* every backend failed for sure all along: no pick was right or wrong */
      lbsim_buf_append_str(out, "oracle: to_fastest=- regret=-");
    lbsim_buf_printf(out, " fastest_changes=%llu diverted=%llu", (unsigned long long)s->changes,
                     (unsigned long long)s->diverts);
    if (s->diverts)
      lbsim_buf_printf(out, " divert_mean=%.2f s divert_max=%.2f s", lbsim_report_divert_mean_s(s), s->divert_max_s);
    lbsim_buf_append_str(out, "\n");
  }
  if (b->measuring)
    fleet_line(r, &r->fleets[0], now_ns);
  loads_line(out, b, false);
}

/* The latency columns of the comparison and the sweep: p50, p99, p99.9. */
static const double table_quantiles[] = {0.5, 0.99, 0.999};

/* One policy's figures as the comparison prints them. */
static void policy_figures(lbsim_buf_t *out, const lbsim_fleet_t *b, bool oracle) {
  const lbsim_stats_t *s = &b->stats;
  const lbsim_counts_t *c = &s->total;
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(table_quantiles); k++) {
    lbsim_buf_append_str(out, " ");
    latency(out, 9, lbsim_report_quantile_ms(c, table_quantiles[k]));
  }
  if (oracle && c->judged)
    lbsim_buf_printf(out, " %7.1f%% %+10.2f", 100.0 * lbsim_report_share_to_fastest(c),
                     lbsim_report_mean_regret_ms(c));
  else
    lbsim_buf_printf(out, " %8s %10s", "-", "-");
}

static void comparison(lbsim_report_t *r, double elapsed_s, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  lbsim_buf_printf(out, "\n=== Comparison Summary (%.2f s) ===\n", elapsed_s);
  lbsim_buf_printf(out, "%-18s %9s %9s %7s %9s %9s %9s %8s %10s %9s %9s %9s\n", "policy", "requests", "ok", "failed",
                   "p50 ms", "p99 ms", "p99.9 ms", "fastest", "regret ms", "divert s", "switches", "top share");
  for (uint32_t w = 0; w < r->nfleets; w++) {
    const lbsim_fleet_t *b = &r->fleets[w];
    const lbsim_stats_t *s = &b->stats;
    const lbsim_counts_t *c = &s->total;
    lbsim_buf_printf(out, "%-18s %9llu %9llu %7llu", b->policy_name, (unsigned long long)c->requests,
                     (unsigned long long)c->ok, (unsigned long long)c->failed);
    policy_figures(out, b, r->oracle != NULL);
    if (s->diverts)
      lbsim_buf_printf(out, " %9.2f", lbsim_report_divert_mean_s(s));
    else
      lbsim_buf_printf(out, " %9s", "-");
    lbsim_buf_printf(out, " %9llu", (unsigned long long)s->majority_switches);
    if (s->rounds)
      lbsim_buf_printf(out, " %8.1f%%\n", 100.0 * lbsim_report_top_share(s));
    else
      lbsim_buf_printf(out, " %9s\n", "-");
  }
  if (r->oracle)
    lbsim_buf_printf(out,
                     "the fastest backend changed %llu times; divert s: mean time until it got most of the traffic\n",
                     (unsigned long long)r->fleets[0].stats.changes);
  for (uint32_t w = 0; w < r->nfleets; w++)
    if (r->fleets[w].measuring)
      fleet_line(r, &r->fleets[w], now_ns);
  for (uint32_t w = 0; w < r->nfleets; w++)
    loads_line(out, &r->fleets[w], true);
  if (lbsim_config_tools(r->cfg)) {
    lbsim_buf_append_str(out, "requests, ok and failed count user requests; each policy's tally:\n");
    for (uint32_t w = 0; w < r->nfleets; w++) {
      lbsim_buf_printf(out, "%-18s", r->fleets[w].policy_name);
      tally_fields(out, &r->fleets[w].stats.tally);
      lbsim_buf_append_str(out, "\n");
    }
  }
}

static void text_run(lbsim_report_t *r, double elapsed_s, uint64_t now_ns) {
  if (r->nfleets > 1)
    comparison(r, elapsed_s, now_ns);
  else
    summary(r, elapsed_s, now_ns);
}

static void text_change(lbsim_report_t *r, double t_s, const lbsim_model_t *model, const lbsim_event_t *ev,
                        double from, double to) {
  /* Text carries changes on stderr only (lbsim_report_change logs them). */
  (void)r, (void)t_s, (void)model, (void)ev, (void)from, (void)to;
}

/* A sweep table's figures, one column each (and with --seeds, each
 * followed by the half-width of its 95 % interval). */
static const struct {
  lbsim_figure_t figure;
  const char *head;
  int width, decimals;
  bool percent, sign;
} sweep_columns[] = {
    {LBSIM_FIG_P50, "p50 ms", 9, 2, false, false},       {LBSIM_FIG_P99, "p99 ms", 9, 2, false, false},
    {LBSIM_FIG_P999, "p99.9 ms", 9, 2, false, false},    {LBSIM_FIG_SUCCESS, "success", 8, 2, true, false},
    {LBSIM_FIG_TO_FASTEST, "fastest", 8, 1, true, false}, {LBSIM_FIG_REGRET, "regret ms", 10, 2, false, true},
    {LBSIM_FIG_SWITCHES, "switches", 9, 0, false, false}, {LBSIM_FIG_TOP_SHARE, "top share", 9, 1, true, false},
};
#define NCOLUMNS (sizeof(sweep_columns) / sizeof(sweep_columns[0]))
#define HALF_WIDTH 9

static void text_sweep_head(lbsim_report_t *r, uint32_t nparams, const char *const *names) {
  lbsim_buf_t *out = &r->out;
  const lbsim_config_t *cfg = r->cfg;
  uint32_t npolicies = cfg->compare ? cfg->npolicies : 1;
  uint32_t seeds = cfg->sweep.seeds;
  lbsim_buf_printf(out, "\n=== Sweep: %u combination%s x %u polic%s", cfg->sweep.combinations,
                   cfg->sweep.combinations == 1 ? "" : "s", npolicies, npolicies == 1 ? "y" : "ies");
  if (seeds)
    lbsim_buf_printf(out, " x %u seed%s", seeds, seeds == 1 ? "" : "s");
  lbsim_buf_append_str(out, " ===\n");
  for (uint32_t k = 0; k < nparams; k++)
    lbsim_buf_printf(out, "%12s ", names[k]);
  lbsim_buf_printf(out, "%-18s", "policy");
  for (size_t c = 0; c < NCOLUMNS; c++) {
    lbsim_buf_printf(out, " %*s", sweep_columns[c].width, sweep_columns[c].head);
    if (seeds)
      lbsim_buf_printf(out, " %*s", HALF_WIDTH, "+-95%");
  }
  lbsim_buf_append_str(out, "\n");
}

/* One figure: "-" when unknown. A count is a mean, with a decimal, over seeds. */
static void sweep_cell(lbsim_buf_t *out, size_t c, const lbsim_estimate_t *e) {
  lbsim_figure_t f = sweep_columns[c].figure;
  double scale = sweep_columns[c].percent ? 100.0 : 1.0;
  int width = sweep_columns[c].width - (sweep_columns[c].percent ? 1 : 0);
  int decimals = sweep_columns[c].decimals == 0 && e->seeds ? 1 : sweep_columns[c].decimals;
  double v = e->mean[f];
  if (isnan(v))
    lbsim_buf_printf(out, " %*s", sweep_columns[c].width, "-");
  else
    lbsim_buf_printf(out, sweep_columns[c].sign ? " %+*.*f%s" : " %*.*f%s", width, decimals, v * scale,
                     sweep_columns[c].percent ? "%" : "");
  if (!e->seeds)
    return;
  char half[32] = "-";
  if (!isnan(e->half[f]))
    snprintf(half, sizeof(half), "+-%.*f%s", decimals, e->half[f] * scale, sweep_columns[c].percent ? "%" : "");
  lbsim_buf_printf(out, " %*s", HALF_WIDTH, half);
}

static void text_sweep_row(lbsim_report_t *r, const lbsim_sweep_row_t *row) {
  lbsim_buf_t *out = &r->out;
  const lbsim_estimate_t *e = row->figures;
  for (uint32_t k = 0; k < row->nparams; k++) {
    if (row->unused & (1u << k))
      lbsim_buf_printf(out, "%12s ", "-");
    else
      lbsim_buf_printf(out, "%12.15g ", row->values[k]);
  }
  lbsim_buf_printf(out, "%-18s", row->policy);
  for (size_t c = 0; c < NCOLUMNS; c++)
    sweep_cell(out, c, e);
  if (row->unused) {
    lbsim_buf_append_str(out, "  (does not use");
    for (uint32_t k = 0, first = 1; k < row->nparams; k++)
      if (row->unused & (1u << k)) {
        lbsim_buf_printf(out, "%s %s", first ? "" : ",", row->names[k]);
        first = 0;
      }
    lbsim_buf_append_str(out, ": run once)");
  }
  lbsim_buf_append_str(out, "\n");
}

const lbsim_format_t lbsim_format_text = {
    .name = "text",
    .start = text_start,
    .round = text_round,
    .round_latency = text_round_latency,
    .run = text_run,
    .change = text_change,
    .sweep_head = text_sweep_head,
    .sweep_row = text_sweep_row,
};
