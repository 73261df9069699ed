/* The report: the format registry, the buffer and its file, the stderr log
 * of changes. See lbsim/report/report.h. */
#include "lbsim/report/report.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

extern const lbsim_format_t lbsim_format_text;
extern const lbsim_format_t lbsim_format_json;

static const lbsim_format_t *const formats[] = {&lbsim_format_text, &lbsim_format_json, NULL};

const char *const lbsim_shape_names[] = {"burst", "rate", "concurrency"};

#define TALLY(field) {#field, offsetof(lbsim_tally_t, field)}
const lbsim_tally_field_t lbsim_tally_fields[] = {
    TALLY(users),          TALLY(attempts),         TALLY(retries),          TALLY(backoff_cancelled),
    TALLY(not_retryable),  TALLY(exhausted),        TALLY(refused_budget),   TALLY(refused_throttle),
    TALLY(refused_deadline), TALLY(resent),         TALLY(ejections),        TALLY(returns),
};
const size_t lbsim_tally_nfields = LBSIM_ARRAY_SIZE(lbsim_tally_fields);
const char *const lbsim_origin_names[] = {"scenario", "drift", "admin"};

const lbsim_format_t *lbsim_format_find(const char *name) {
  for (size_t i = 0; formats[i]; i++)
    if (strcmp(formats[i]->name, name) == 0)
      return formats[i];
  return NULL;
}

const lbsim_format_t *const *lbsim_format_all(void) {
  return formats;
}

void lbsim_report_init(lbsim_report_t *r, const lbsim_config_t *cfg, uint64_t seed, FILE *file, size_t flush_at) {
  memset(r, 0, sizeof(*r));
  r->format = cfg->format ? cfg->format : &lbsim_format_text;
  r->cfg = cfg;
  r->seed = seed;
  r->file = file;
  r->flush_at = flush_at;
  r->quiet = cfg->quiet;
}

void lbsim_report_init_emit(lbsim_report_t *r, const lbsim_config_t *cfg, uint64_t seed, const lbsim_format_t *format,
                            lbsim_report_emit_cb emit, void *data) {
  lbsim_report_init(r, cfg, seed, NULL, 0);
  r->format = format;
  r->emit = emit;
  r->emit_data = data;
}

void lbsim_report_bind(lbsim_report_t *r, lbsim_fleet_t *fleets, uint32_t nfleets, const char *const *names,
                       uint32_t n, lbsim_oracle_t *oracle, uint64_t start_ns) {
  /* The round's latency histogram costs a record per request: kept only
   * when some report of the chain prints it. */
  bool round_latency = false;
  for (; r; r = r->next) {
    r->fleets = fleets;
    r->nfleets = nfleets;
    r->names = names;
    r->n = n;
    r->oracle = oracle;
    r->start_ns = start_ns;
    round_latency = round_latency || r->format->round_latency == NULL || r->format->round_latency(r);
  }
  for (uint32_t w = 0; w < nfleets; w++)
    fleets[w].stats.round_latency = round_latency;
}

static void (*output_closed)(void);

void lbsim_report_on_output_closed(void (*hook)(void)) {
  output_closed = hook;
}

/* The first failure is told once; the run goes on, and exits 1. A reader
 * that went away (lbsim | head) is no failure: the hook ends the process
 * quietly, as it ends yes(1). */
static void output_failed(lbsim_report_t *r, int err) {
  if (err == EPIPE && output_closed != NULL)
    output_closed();
  if (!r->failed)
    lbsim_log_error("cannot write the output: %s", strerror(err));
  r->failed = true;
}

int lbsim_report_flush(lbsim_report_t *r) {
  if (!lbsim_buf_ok(&r->out))
    output_failed(r, -r->out.err); /* a block cut short is not written */
  else if (r->out.len > 0 && r->emit)
    r->emit(r->emit_data, r->out.data, r->out.len);
  else if (r->out.len > 0 && r->file && fwrite(r->out.data, 1, r->out.len, r->file) != r->out.len)
    output_failed(r, errno);
  lbsim_buf_clear(&r->out);
  if (r->file && fflush(r->file) != 0)
    output_failed(r, errno);
  return r->failed ? LBSIM_EIO : 0;
}

/* After a block: at once for a person watching, in large writes otherwise. */
static void block_done(lbsim_report_t *r) {
  if (r->out.len >= r->flush_at)
    lbsim_report_flush(r);
}

/* A report without a file or an emitter (each run of a sweep) is
 * discarded: nothing is formatted, nothing logged. */
static bool discarded(const lbsim_report_t *r) {
  return r->file == NULL && r->emit == NULL;
}

static double since_start_s(const lbsim_report_t *r, uint64_t now_ns) {
  return now_ns > r->start_ns ? (double)(now_ns - r->start_ns) / LBSIM_NS_PER_S : 0.0;
}

void lbsim_report_start(lbsim_report_t *r, uint64_t now_ns) {
  for (; r; r = r->next) {
    if (discarded(r))
      continue;
    r->format->start(r, now_ns);
    block_done(r);
  }
}

void lbsim_report_round(lbsim_report_t *r, uint64_t round, uint64_t now_ns) {
  for (; r; r = r->next) {
    if (discarded(r))
      continue;
    r->format->round(r, round, since_start_s(r, now_ns), now_ns);
    block_done(r);
  }
}

void lbsim_report_run(lbsim_report_t *r, double elapsed_s, uint64_t now_ns) {
  for (; r; r = r->next) {
    if (discarded(r))
      continue;
    r->format->run(r, elapsed_s, now_ns);
    lbsim_report_flush(r);
  }
}

void lbsim_report_sweep_head(lbsim_report_t *r, uint32_t nparams, const char *const *names) {
  for (; r; r = r->next) {
    r->format->sweep_head(r, nparams, names);
    block_done(r);
  }
}

void lbsim_report_sweep_row(lbsim_report_t *r, const lbsim_sweep_row_t *row) {
  for (; r; r = r->next) {
    r->format->sweep_row(r, row);
    block_done(r);
  }
}

void lbsim_report_tick(lbsim_report_t *r, uint64_t now_ns) {
  if (discarded(r) || r->format->tick == NULL)
    return;
  r->format->tick(r, since_start_s(r, now_ns), now_ns);
  block_done(r);
}

void lbsim_report_ejection(lbsim_report_t *r, const lbsim_fleet_t *fleet, const lbsim_ejection_t *e,
                           uint64_t now_ns) {
  if (discarded(r))
    return;
  if (!r->quiet) {
    /* Whose: the policy's, in a comparison; the client's, in a fleet. */
    char who[96] = "";
    int at = 0;
    if (r->nfleets > 1)
      at = snprintf(who, sizeof(who), "%s: ", fleet->policy_name);
    if (fleet->nclients > 1)
      snprintf(who + at, sizeof(who) - (size_t)at, "client %u: ", e->client + 1);
    if (e->ejected)
      lbsim_log("%sbackend %u ejected for %.2f s (%s, %u time%s)", who, e->backend + 1, e->duration_s,
                lbsim_eject_reason_name(e->reason), e->times, e->times == 1 ? "" : "s");
    else
      lbsim_log("%sbackend %u back in service", who, e->backend + 1);
  }
  for (; r; r = r->next) {
    if (discarded(r) || r->format->ejection == NULL)
      continue;
    r->format->ejection(r, since_start_s(r, now_ns), fleet, e);
    block_done(r);
  }
}

void lbsim_report_change(lbsim_report_t *r, const lbsim_model_t *model, const lbsim_event_t *ev, double old,
                         uint64_t now_ns) {
  if (discarded(r))
    return;
  unsigned i = model->index + 1;
  const char *origin = lbsim_origin_names[ev->origin];
  double now_value = ev->value;
  char jitter[48] = "";
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    now_value = model->latency.latency_ms;
    if (ev->origin == LBSIM_ORIGIN_DRIFT) {
      if (!r->quiet)
        lbsim_log("backend %u latency %.2f -> %.2f ms", i, old, now_value);
    } else {
      lbsim_log("backend %u latency %.2f -> %.2f ms (%s)", i, old, now_value, origin);
    }
    break;
  case LBSIM_ACTION_UP:
    if (ev->slow_start_s > 0)
      lbsim_log("backend %u up, slow start over %g s from x%g (%s)", i, ev->slow_start_s, ev->slow_start_factor,
                origin);
    else
      lbsim_log("backend %u up (%s)", i, origin);
    break;
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    lbsim_log("backend %u %s (%s)", i, lbsim_action_name(ev->action), origin);
    break;
  case LBSIM_ACTION_JITTER:
    lbsim_jitter_format(&ev->jitter, jitter, sizeof(jitter));
    lbsim_log("backend %u jitter %s (%s)", i, jitter, origin);
    break;
  case LBSIM_ACTION_ERROR_RATE:
  case LBSIM_ACTION_CAPACITY:
    lbsim_log("backend %u %s %g -> %g (%s)", i, lbsim_action_name(ev->action), old, ev->value, origin);
    break;
  }
  for (; r; r = r->next) {
    if (discarded(r))
      continue;
    r->format->change(r, since_start_s(r, now_ns), model, ev, old, now_value);
    block_done(r);
  }
}

void lbsim_report_free(lbsim_report_t *r) {
  lbsim_buf_free(&r->out);
}

/* ---- shared figures ---------------------------------------------------------- */

double lbsim_report_share_to_fastest(const lbsim_counts_t *c) {
  return c->judged ? (double)c->to_fastest / (double)c->judged : NAN;
}

double lbsim_report_mean_ms(const lbsim_counts_t *c) {
  return c->ok ? lbsim_hist_mean(&c->latency) / 1000.0 : NAN;
}

double lbsim_report_quantile_ms(const lbsim_counts_t *c, double q) {
  return c->ok ? lbsim_counts_quantile_ms(c, q) : NAN;
}

double lbsim_report_mean_regret_ms(const lbsim_counts_t *c) {
  return c->judged ? c->regret_sum_ms / (double)c->judged : NAN;
}

double lbsim_report_top_share(const lbsim_stats_t *s) {
  return s->rounds ? s->top_share_sum / (double)s->rounds : NAN;
}

bool lbsim_report_loads_on(const lbsim_config_t *cfg) {
  return cfg->load_reports || cfg->load_board_s > 0;
}

double lbsim_report_view_age_ms(const lbsim_stats_t *s) {
  return s->view_age_picks ? s->view_age_sum_ms / (double)s->view_age_picks : NAN;
}

double lbsim_report_view_share(const lbsim_stats_t *s) {
  return s->launched ? (double)s->view_age_picks / (double)s->launched : NAN;
}

double lbsim_report_divert_mean_s(const lbsim_stats_t *s) {
  return s->diverts ? s->divert_sum_s / (double)s->diverts : NAN;
}

double lbsim_report_true_ms(const lbsim_report_t *r, uint32_t backend, uint64_t now_ns) {
  return r->oracle ? lbsim_oracle_true_ms(r->oracle, backend, now_ns) : NAN;
}
