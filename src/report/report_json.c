/* The JSON Lines format: one object per line. See lbsim/report/report.h and the
 * docs/reference.md for the schema. */
#include <math.h>

#include "lbsim/base/buf.h"
#include "lbsim/report/report.h"
#include "lbsim_version.h"

void lbsim_json_string(lbsim_buf_t *out, const char *s) {
  lbsim_buf_append_str(out, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      lbsim_buf_printf(out, "\\%c", c);
    else if (c < 0x20)
      lbsim_buf_printf(out, "\\u%04x", c);
    else
      lbsim_buf_append(out, s, 1);
  }
  lbsim_buf_append_str(out, "\"");
}

/* Numbers that may be unknown (no oracle, no sample) print as null. */
static void json_number(lbsim_buf_t *out, double v) {
  if (isfinite(v))
    lbsim_buf_fixed(out, v, 3);
  else
    lbsim_buf_append_str(out, "null");
}

static void json_u64(lbsim_buf_t *out, const char *key, uint64_t v) {
  lbsim_buf_append_str(out, key);
  lbsim_buf_u64(out, v);
}

/* The latency of the ok requests: mean (wrk's Avg) and quantiles. */
static void json_quantiles(lbsim_buf_t *out, const lbsim_counts_t *c) {
  lbsim_buf_append_str(out, ",\"mean_ms\":");
  json_number(out, lbsim_report_mean_ms(c));
  static const struct {
    const char *key;
    double q;
  } qs[] = {{",\"p50_ms\":", 0.5}, {",\"p90_ms\":", 0.9}, {",\"p99_ms\":", 0.99}, {",\"p999_ms\":", 0.999}};
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    lbsim_buf_append_str(out, qs[i].key);
    json_number(out, lbsim_report_quantile_ms(c, qs[i].q));
  }
}

static void json_oracle_figures(lbsim_buf_t *out, const lbsim_counts_t *c) {
  lbsim_buf_append_str(out, ",\"to_fastest\":");
  json_number(out, lbsim_report_share_to_fastest(c));
  lbsim_buf_append_str(out, ",\"regret_ms\":");
  json_number(out, lbsim_report_mean_regret_ms(c));
}

/* With --backends-only there are no policies and no traffic shape. */
static void json_start(lbsim_report_t *r, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  lbsim_buf_printf(out, "{\"type\":\"start\",\"version\":\"%s\",\"seed\":%llu,\"clock\":\"%s\",\"shape\":",
                   LBSIM_VERSION, (unsigned long long)r->seed,
                   r->cfg->clock == LBSIM_CLOCK_VIRTUAL ? "virtual" : "real");
  if (r->nfleets > 0)
    lbsim_json_string(out, lbsim_shape_names[r->cfg->shape]);
  else
    lbsim_buf_append_str(out, "null");
  lbsim_buf_append_str(out, ",\"policies\":[");
  for (uint32_t w = 0; w < r->nfleets; w++) {
    if (w)
      lbsim_buf_append_str(out, ",");
    lbsim_json_string(out, r->fleets[w].policy_name);
  }
  lbsim_buf_append_str(out, "]");
  if (r->nfleets > 0 && r->fleets[0].measuring) {
    json_u64(out, ",\"clients\":", r->fleets[0].nclients);
    if (r->fleets[0].subsets != NULL) {
      json_u64(out, ",\"subset\":", r->fleets[0].subset_size);
      lbsim_buf_printf(out, ",\"subset_mode\":\"%s\"", lbsim_subset_mode_name(r->cfg->subset_mode));
    }
  }
  lbsim_buf_append_str(out, ",\"backends\":[");
  for (uint32_t i = 0; i < r->n; i++) {
    lbsim_buf_printf(out, "%s{\"backend\":%u,\"url\":", i ? "," : "", i + 1);
    lbsim_json_string(out, r->names[i]);
    lbsim_buf_append_str(out, ",\"true_ms\":");
    json_number(out, lbsim_report_true_ms(r, i, now_ns));
    lbsim_buf_append_str(out, "}");
  }
  lbsim_buf_append_str(out, "]}\n");
}

/* With a tool around the pick on: what the tally counted, as an object. */
static void json_tally(lbsim_buf_t *out, const lbsim_config_t *cfg, const lbsim_tally_t *t) {
  if (!lbsim_config_tools(cfg))
    return;
  lbsim_buf_append_str(out, ",\"tally\":{");
  for (size_t k = 0; k < lbsim_tally_nfields; k++) {
    lbsim_buf_printf(out, "%s\"%s\":", k ? "," : "", lbsim_tally_fields[k].name);
    lbsim_buf_u64(out, lbsim_tally_get(t, &lbsim_tally_fields[k]));
  }
  lbsim_buf_append_str(out, "}");
}

static void json_spread(lbsim_buf_t *out, const char *key, const lbsim_spread_t *sp, bool mean) {
  lbsim_buf_append_str(out, key);
  lbsim_buf_append_str(out, "{\"min\":");
  json_number(out, sp->min);
  lbsim_buf_append_str(out, mean ? ",\"mean\":" : ",\"median\":");
  json_number(out, mean ? sp->mean : sp->median);
  lbsim_buf_append_str(out, ",\"max\":");
  json_number(out, sp->max);
  lbsim_buf_append_str(out, "}");
}

/* A fleet's measures of the interval (fleet.h). */
static void json_fleet_measures(lbsim_buf_t *out, const lbsim_fleet_t *f) {
  const lbsim_fleet_measures_t *m = &f->measures;
  json_u64(out, ",\"fleet\":{\"clients\":", f->nclients);
  json_u64(out, ",\"clients_heard\":", m->clients_heard);
  json_spread(out, ",\"success_pct\":", &m->success, false);
  json_spread(out, ",\"p99_ms\":", &m->p99_ms, false);
  lbsim_buf_append_str(out, ",\"imbalance\":");
  json_number(out, m->imbalance);
  lbsim_buf_append_str(out, ",\"herd\":");
  json_number(out, m->herd);
  json_spread(out, ",\"conns_per_backend\":", &m->conns, true);
  json_spread(out, ",\"clients_per_backend\":", &m->clients, true);
  lbsim_buf_append_str(out, "}");
}

static void json_round(lbsim_report_t *r, uint64_t round, double t_s, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  for (uint32_t w = 0; w < r->nfleets; w++) {
    const lbsim_fleet_t *b = &r->fleets[w];
    const lbsim_counts_t *c = &b->stats.round;
    uint64_t picks = 0;
    for (uint32_t i = 0; i < b->n; i++)
      picks += b->stats.round_picks[i];
    lbsim_buf_append_str(out, r->cfg->shape == LBSIM_SHAPE_BURST ? "{\"type\":\"round\"" : "{\"type\":\"interval\"");
    json_u64(out, ",\"n\":", round);
    lbsim_buf_append_str(out, ",\"t\":");
    lbsim_buf_fixed(out, t_s, 3);
    lbsim_buf_append_str(out, ",\"policy\":");
    lbsim_json_string(out, b->policy_name);
    json_u64(out, ",\"requests\":", picks);
    json_u64(out, ",\"ok\":", c->ok);
    json_u64(out, ",\"failed\":", c->failed);
    json_quantiles(out, c);
    json_oracle_figures(out, c);
    json_tally(out, r->cfg, &b->stats.round_tally);
    lbsim_buf_append_str(out, ",\"fastest\":");
    if (r->oracle && isfinite(lbsim_oracle_fastest_ms(r->oracle, now_ns)))
      lbsim_buf_u64(out, lbsim_oracle_fastest(r->oracle, now_ns) + 1);
    else
      lbsim_buf_append_str(out, "null");
    lbsim_buf_append_str(out, ",\"backends\":[");
    for (uint32_t i = 0; i < b->n; i++) {
      json_u64(out, i ? ",{\"backend\":" : "{\"backend\":", i + 1);
      lbsim_buf_append_str(out, ",\"url\":");
      lbsim_json_string(out, b->names[i]);
      json_u64(out, ",\"requests\":", b->stats.round_picks[i]);
      if (b->nclients == 1) { /* a fleet's clients each have their own */
        lbsim_buf_append_str(out, ",\"ema_ms\":");
        json_number(out, lbsim_fleet_ema_ms(b, i)); /* null: outside the client's subset */
      }
      lbsim_buf_append_str(out, ",\"true_ms\":");
      json_number(out, lbsim_report_true_ms(r, i, now_ns));
      lbsim_buf_append_str(out, "}");
    }
    lbsim_buf_append_str(out, "]");
    if (b->measuring)
      json_fleet_measures(out, b);
    lbsim_buf_append_str(out, "}\n");
  }
}

/* What the clients knew of the backends' load, when they knew any. */
static void json_loads(lbsim_buf_t *out, const lbsim_fleet_t *b) {
  if (!lbsim_report_loads_on(b->cfg))
    return;
  lbsim_buf_append_str(out, ",\"view_age_ms\":");
  json_number(out, lbsim_report_view_age_ms(&b->stats));
  lbsim_buf_append_str(out, ",\"view_share\":");
  json_number(out, lbsim_report_view_share(&b->stats));
  lbsim_buf_append_str(out, ",\"load_board_s\":");
  json_number(out, b->cfg->load_board_s > 0 ? b->cfg->load_board_s : NAN);
}

static void json_totals(lbsim_buf_t *out, const lbsim_fleet_t *b) {
  const lbsim_stats_t *s = &b->stats;
  const lbsim_counts_t *c = &s->total;
  json_u64(out, ",\"requests\":", c->requests);
  json_u64(out, ",\"ok\":", c->ok);
  json_u64(out, ",\"failed\":", c->failed);
  json_quantiles(out, c);
  json_oracle_figures(out, c);
  json_tally(out, b->cfg, &s->tally);
  json_u64(out, ",\"rounds\":", s->rounds);
  json_u64(out, ",\"majority_switches\":", s->majority_switches);
  lbsim_buf_append_str(out, ",\"top_share\":");
  json_number(out, lbsim_report_top_share(s));
  json_loads(out, b);
}

static void json_summary(lbsim_report_t *r, lbsim_fleet_t *b, double elapsed_s, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  const lbsim_stats_t *s = &b->stats;
  const lbsim_counts_t *c = &s->total;
  lbsim_buf_append_str(out, "{\"type\":\"summary\",\"policy\":");
  lbsim_json_string(out, b->policy_name);
  lbsim_buf_printf(out, ",\"shape\":\"%s\"", lbsim_shape_names[r->cfg->shape]);
  json_totals(out, b);
  lbsim_buf_append_str(out, ",\"failures\":{");
  for (int k = LBSIM_RESULT_OK + 1; k < LBSIM_RESULT_COUNT; k++)
    lbsim_buf_printf(out, "%s\"%s\":%llu", k > 1 ? "," : "", lbsim_result_name((lbsim_result_t)k),
                     (unsigned long long)c->by_result[k]);
  lbsim_buf_printf(out, "},\"elapsed_s\":%.3f,\"rate\":%.3f", elapsed_s,
                   elapsed_s > 0 ? (double)c->requests / elapsed_s : 0.0);
  json_u64(out, ",\"fastest_changes\":", s->changes);
  json_u64(out, ",\"diverted\":", s->diverts);
  lbsim_buf_append_str(out, ",\"divert_mean_s\":");
  json_number(out, lbsim_report_divert_mean_s(s));
  lbsim_buf_append_str(out, ",\"divert_max_s\":");
  json_number(out, s->diverts ? s->divert_max_s : NAN);
  lbsim_buf_append_str(out, ",\"backends\":[");
  for (uint32_t i = 0; i < b->n; i++) {
    const lbsim_counts_t *bc = &s->backend[i];
    json_u64(out, i ? ",{\"backend\":" : "{\"backend\":", i + 1);
    lbsim_buf_append_str(out, ",\"url\":");
    lbsim_json_string(out, b->names[i]);
    json_u64(out, ",\"requests\":", bc->requests);
    json_u64(out, ",\"ok\":", bc->ok);
    json_u64(out, ",\"failed\":", bc->failed);
    json_quantiles(out, bc);
    lbsim_buf_append_str(out, ",\"ema_ms\":");
    json_number(out, lbsim_fleet_ema_ms(b, i)); /* a fleet's: its clients' mean, or null */
    lbsim_buf_append_str(out, "}");
  }
  lbsim_buf_append_str(out, "]");
  if (b->measuring) {
    json_u64(out, ",\"fleet\":{\"clients\":", b->nclients);
    json_u64(out, ",\"subset\":", b->subset_size);
    lbsim_buf_append_str(out, ",\"subset_mode\":");
    if (b->subsets != NULL)
      lbsim_json_string(out, lbsim_subset_mode_name(r->cfg->subset_mode));
    else
      lbsim_buf_append_str(out, "null");
    lbsim_buf_append_str(out, ",\"imbalance\":");
    json_number(out, lbsim_fleet_run_imbalance(b, now_ns));
    lbsim_buf_append_str(out, "}");
  }
  lbsim_buf_append_str(out, "}\n");
}

static void json_run(lbsim_report_t *r, double elapsed_s, uint64_t now_ns) {
  for (uint32_t w = 0; w < r->nfleets; w++)
    json_summary(r, &r->fleets[w], elapsed_s, now_ns);
}

/* A backend's state as a change object gives it: down wins over stalled. */
static const char *state_name(bool down, bool stalled) {
  return down ? "down" : stalled ? "stalled" : "up";
}

static void json_change(lbsim_report_t *r, double t_s, const lbsim_model_t *model, const lbsim_event_t *ev,
                        double from, double to) {
  lbsim_buf_t *out = &r->out;
  if (ev->origin == LBSIM_ORIGIN_DRIFT) {
    lbsim_buf_append_str(out, "{\"type\":\"drift\",\"t\":");
    lbsim_buf_fixed(out, t_s, 3);
    json_u64(out, ",\"backend\":", model->index + 1);
    lbsim_buf_append_str(out, ",\"from_ms\":");
    lbsim_buf_fixed(out, from, 3);
    lbsim_buf_append_str(out, ",\"to_ms\":");
    lbsim_buf_fixed(out, to, 3);
    lbsim_buf_append_str(out, "}\n");
    return;
  }
  lbsim_buf_printf(out, "{\"type\":\"change\",\"t\":%.3f,\"backend\":%u,\"source\":\"%s\",\"action\":\"%s\"", t_s,
                   model->index + 1, lbsim_origin_names[ev->origin], lbsim_action_name(ev->action));
  /* from: what the action replaced (`from` is the flag it set, for down,
   * up, stall and resume); to: what the model holds now. */
  switch (ev->action) {
  case LBSIM_ACTION_JITTER: {
    char jitter[48];
    lbsim_jitter_format(&model->jitter_before, jitter, sizeof(jitter));
    lbsim_buf_append_str(out, ",\"from\":");
    lbsim_json_string(out, jitter);
    lbsim_jitter_format(&model->jitter, jitter, sizeof(jitter));
    lbsim_buf_append_str(out, ",\"to\":");
    lbsim_json_string(out, jitter);
    break;
  }
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_UP:
    lbsim_buf_printf(out, ",\"from\":\"%s\",\"to\":\"%s\"", state_name(from != 0, model->stalled),
                     state_name(model->down, model->stalled));
    if (ev->action == LBSIM_ACTION_UP)
      lbsim_buf_printf(out, ",\"slow_start_s\":%.3f,\"slow_start_factor\":%.3f", ev->slow_start_s,
                       ev->slow_start_factor);
    break;
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    lbsim_buf_printf(out, ",\"from\":\"%s\",\"to\":\"%s\"", state_name(model->down, from != 0),
                     state_name(model->down, model->stalled));
    break;
  case LBSIM_ACTION_LATENCY:
  case LBSIM_ACTION_ERROR_RATE:
  case LBSIM_ACTION_CAPACITY:
    lbsim_buf_printf(out, ",\"from\":%.3f,\"to\":%.3f", from, to);
    break;
  }
  lbsim_buf_append_str(out, "}\n");
}

static void json_ejection(lbsim_report_t *r, double t_s, const lbsim_fleet_t *fleet, const lbsim_ejection_t *e) {
  lbsim_buf_t *out = &r->out;
  lbsim_buf_append_str(out, e->ejected ? "{\"type\":\"ejection\",\"t\":" : "{\"type\":\"return\",\"t\":");
  lbsim_buf_fixed(out, t_s, 3);
  lbsim_buf_append_str(out, ",\"policy\":");
  lbsim_json_string(out, fleet->policy_name);
  json_u64(out, ",\"client\":", e->client + 1);
  json_u64(out, ",\"backend\":", e->backend + 1);
  if (e->ejected) {
    lbsim_buf_printf(out, ",\"reason\":\"%s\",\"duration_s\":", lbsim_eject_reason_name(e->reason));
    lbsim_buf_fixed(out, e->duration_s, 3);
    json_u64(out, ",\"times\":", e->times);
  }
  lbsim_buf_append_str(out, "}\n");
}

/* A sweep's first object: a start object without backends (their number
 * may be swept), with what is swept. */
static void json_sweep_head(lbsim_report_t *r, uint32_t nparams, const char *const *names) {
  lbsim_buf_t *out = &r->out;
  const lbsim_config_t *cfg = r->cfg;
  lbsim_buf_printf(out, "{\"type\":\"start\",\"version\":\"%s\",\"seed\":%llu,\"clock\":\"virtual\",\"policies\":[",
                   LBSIM_VERSION, (unsigned long long)r->seed);
  for (uint32_t w = 0; w < (cfg->compare ? cfg->npolicies : 1); w++) {
    if (w)
      lbsim_buf_append_str(out, ",");
    lbsim_json_string(out, cfg->policies[w]);
  }
  lbsim_buf_append_str(out, "],\"sweep\":{\"params\":[");
  for (uint32_t k = 0; k < nparams; k++) {
    if (k)
      lbsim_buf_append_str(out, ",");
    lbsim_json_string(out, names[k]);
  }
  lbsim_buf_printf(out, "],\"combinations\":%u", cfg->sweep.combinations);
  if (cfg->sweep.seeds)
    lbsim_buf_printf(out, ",\"seeds\":%u", cfg->sweep.seeds);
  lbsim_buf_append_str(out, "}}\n");
}

/* A row's figures, in lbsim_figure_t order: one run's counts as integers;
 * with --seeds the means, then each figure's 95 % interval [low, high]
 * (null when fewer than two seeds know it). */
static void json_sweep_row(lbsim_report_t *r, const lbsim_sweep_row_t *row) {
  lbsim_buf_t *out = &r->out;
  const lbsim_estimate_t *e = row->figures;
  lbsim_buf_printf(out, "{\"type\":\"sweep\",\"combination\":%u,\"params\":{", row->combination + 1);
  for (uint32_t k = 0; k < row->nparams; k++) {
    if (k)
      lbsim_buf_append_str(out, ",");
    lbsim_json_string(out, row->names[k]);
    if (row->unused & (1u << k))
      lbsim_buf_append_str(out, ":null");
    else
      lbsim_buf_printf(out, ":%.15g", row->values[k]);
  }
  lbsim_buf_append_str(out, "},\"unused\":[");
  for (uint32_t k = 0, first = 1; k < row->nparams; k++)
    if (row->unused & (1u << k)) {
      if (!first)
        lbsim_buf_append_str(out, ",");
      lbsim_json_string(out, row->names[k]);
      first = 0;
    }
  lbsim_buf_append_str(out, "],\"policy\":");
  lbsim_json_string(out, row->policy);
  for (int f = 0; f < LBSIM_FIGURES; f++) {
    lbsim_buf_printf(out, ",\"%s\":", lbsim_figure_name((lbsim_figure_t)f));
    if (lbsim_figure_is_count((lbsim_figure_t)f) && !e->seeds)
      lbsim_buf_u64(out, (uint64_t)e->mean[f]);
    else
      json_number(out, e->mean[f]);
  }
  if (e->seeds) {
    lbsim_buf_printf(out, ",\"seeds\":%u,\"ci95\":{", e->seeds);
    for (int f = 0; f < LBSIM_FIGURES; f++) {
      lbsim_buf_printf(out, "%s\"%s\":", f ? "," : "", lbsim_figure_name((lbsim_figure_t)f));
      if (isnan(e->half[f])) {
        lbsim_buf_append_str(out, "null");
        continue;
      }
      lbsim_buf_append_str(out, "[");
      json_number(out, e->mean[f] - e->half[f]);
      lbsim_buf_append_str(out, ",");
      json_number(out, e->mean[f] + e->half[f]);
      lbsim_buf_append_str(out, "]");
    }
    lbsim_buf_append_str(out, "}");
  }
  lbsim_buf_append_str(out, "}\n");
}

/* Between rounds (the dashboard): the truth now, and each policy's
 * estimates, requests in flight (in all and per backend), requests done per
 * backend and totals so far. Arrays in backend order, to stay small with
 * 1,000 backends. */
static void json_tick(lbsim_report_t *r, double t_s, uint64_t now_ns) {
  lbsim_buf_t *out = &r->out;
  lbsim_buf_append_str(out, "{\"type\":\"tick\",\"t\":");
  lbsim_buf_fixed(out, t_s, 3);
  lbsim_buf_append_str(out, ",\"true_ms\":");
  if (r->oracle) {
    for (uint32_t i = 0; i < r->n; i++) {
      lbsim_buf_append_str(out, i ? "," : "[");
      json_number(out, lbsim_report_true_ms(r, i, now_ns));
    }
    lbsim_buf_append_str(out, r->n ? "]" : "[]");
  } else {
    lbsim_buf_append_str(out, "null");
  }
  lbsim_buf_append_str(out, ",\"policies\":[");
  for (uint32_t w = 0; w < r->nfleets; w++) {
    const lbsim_fleet_t *b = &r->fleets[w];
    lbsim_buf_append_str(out, w ? ",{\"policy\":" : "{\"policy\":");
    lbsim_json_string(out, b->policy_name);
    json_u64(out, ",\"launched\":", b->stats.launched);
    json_u64(out, ",\"ok\":", b->stats.total.ok);
    json_u64(out, ",\"failed\":", b->stats.total.failed);
    json_u64(out, ",\"in_flight\":", lbsim_fleet_in_flight(b));
    lbsim_buf_append_str(out, ",\"ema_ms\":[");
    for (uint32_t i = 0; i < b->n; i++) {
      if (i)
        lbsim_buf_append_str(out, ",");
      json_number(out, lbsim_fleet_ema_ms(b, i));
    }
    lbsim_buf_append_str(out, "],\"backend_in_flight\":[");
    for (uint32_t i = 0; i < b->n; i++) {
      if (i)
        lbsim_buf_append_str(out, ",");
      lbsim_buf_u64(out, b->in_flight_to[i]);
    }
    lbsim_buf_append_str(out, "],\"backend_done\":[");
    for (uint32_t i = 0; i < b->n; i++) {
      if (i)
        lbsim_buf_append_str(out, ",");
      lbsim_buf_u64(out, b->stats.backend[i].requests);
    }
    lbsim_buf_append_str(out, "]}");
  }
  lbsim_buf_append_str(out, "]}\n");
}

const lbsim_format_t lbsim_format_json = {
    .name = "json",
    .start = json_start,
    .round = json_round,
    .run = json_run,
    .change = json_change,
    .ejection = json_ejection,
    .sweep_head = json_sweep_head,
    .sweep_row = json_sweep_row,
    .tick = json_tick,
};
