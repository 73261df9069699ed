/* The run's output: one table of functions per format.
 *
 *   text   the seed's round block (byte for byte), the run summary, the
 *          compare tables (report_text.c)
 *   json   JSON Lines, one object per line (report_json.c; the schema is in
 *          docs/reference.md)
 *
 * A format formats into the report's buffer; the report writes the buffer
 * to its file after every block (the real clock: a person is watching) or
 * when it is full (the virtual clock: throughput), or hands it to an `emit`
 * function instead (the dashboard's stream). Reports can be chained: the
 * runner calls the first, and each call goes down the chain, so one run
 * feeds stdout in the user's format and the dashboard in JSON. Changes of
 * the backends are also logged on stderr here, once, the same for every
 * format. Adding a format: one file defining an lbsim_format_t, one line in
 * the registry in report.c. Pure code apart from writing the file. */
#ifndef LBSIM_REPORT_H
#define LBSIM_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/tools.h"
#include "lbsim/base/buf.h"
#include "lbsim/cli/config.h"
#include "lbsim/model/oracle.h"
#include "lbsim/model/scenario.h"
#include "lbsim/report/figures.h"

typedef struct lbsim_report_s lbsim_report_t;

/* One row of a sweep (sweep.h): the values of the swept parameters and a
 * policy's figures with them, from one run or the mean over seeds. */
typedef struct lbsim_sweep_row_s {
  uint32_t combination;       /* 0-based */
  uint32_t nparams;
  const char *const *names;   /* the swept parameters */
  const double *values;       /* their values in this combination */
  uint32_t unused;            /* bit k: the policy does not use names[k] (run once for all its values) */
  const char *policy;
  const lbsim_estimate_t *figures; /* seeds 0: one run, the table as without --seeds */
} lbsim_sweep_row_t;

typedef struct lbsim_format_s {
  const char *name;
  /* Before anything else: seed, traffic shape, policies, backends. */
  void (*start)(lbsim_report_t *r, uint64_t now_ns);
  /* A round (bursts) or an interval (--rate, --concurrency, or a fleet of
   * more than one client) of every fleet. */
  void (*round)(lbsim_report_t *r, uint64_t round, double t_s, uint64_t now_ns);
  /* Optional: whether round() shows the round's latency quantiles (when it
   * says no, the statistics spare themselves a histogram per request). */
  bool (*round_latency)(const lbsim_report_t *r);
  /* The run summary, or the comparison table. */
  void (*run)(lbsim_report_t *r, double elapsed_s, uint64_t now_ns);
  /* A drift step, or a scripted or admin change of a backend (the model,
   * as the change left it): `from` is what lbsim_model_apply returned,
   * `to` the new value of a latency, error rate or capacity. */
  void (*change)(lbsim_report_t *r, double t_s, const lbsim_model_t *model, const lbsim_event_t *event, double from,
                 double to);
  /* Optional: a client of `fleet` ejected a backend, or took it back
   * (outlier ejection, tools.h). */
  void (*ejection)(lbsim_report_t *r, double t_s, const lbsim_fleet_t *fleet, const lbsim_ejection_t *e);
  /* Sweeps: the table's head (r->cfg holds the sweep), then one row per
   * combination and policy. */
  void (*sweep_head)(lbsim_report_t *r, uint32_t nparams, const char *const *names);
  void (*sweep_row)(lbsim_report_t *r, const lbsim_sweep_row_t *row);
  /* Between rounds, a few times a second (the dashboard, on the real
   * clock): what is in flight, the truth and the estimates now. NULL: the
   * format has nothing to say. */
  void (*tick)(lbsim_report_t *r, double t_s, uint64_t now_ns);
} lbsim_format_t;

/* Where an emitting report's blocks go: whole lines, one object each in JSON. */
typedef void (*lbsim_report_emit_cb)(void *data, const char *bytes, size_t len);

struct lbsim_report_s {
  const lbsim_format_t *format;
  const lbsim_config_t *cfg;
  uint64_t seed;
  lbsim_fleet_t *fleets;        /* one per policy; none with --backends-only */
  uint32_t nfleets;
  const char *const *names;     /* the backends' URLs, as printed */
  uint32_t n;
  lbsim_oracle_t *oracle;       /* NULL when the backends are elsewhere */
  uint64_t start_ns;            /* times are printed from here */
  lbsim_buf_t out;              /* formatted, not yet written */
  FILE *file;
  lbsim_report_emit_cb emit;    /* instead of the file, when set */
  void *emit_data;
  lbsim_report_t *next;         /* the next report of the chain, or NULL */
  size_t flush_at;              /* write when this much is pending; 0: after every block */
  bool quiet;                   /* no drift log on stderr */
  bool failed;                  /* writing failed (or memory ran out) */
};

/* The formats by name ("text", "json"); NULL when unknown. */
const lbsim_format_t *lbsim_format_find(const char *name);
/* Every format, NULL-terminated. */
const lbsim_format_t *const *lbsim_format_all(void);

/* file NULL: the report is discarded (a sweep's runs): nothing is formatted
 * or logged. */
void lbsim_report_init(lbsim_report_t *r, const lbsim_config_t *cfg, uint64_t seed, FILE *file, size_t flush_at);
/* A report in `format` whose every block goes to emit(data, ...) (flushed
 * after each block), for chaining behind another. */
void lbsim_report_init_emit(lbsim_report_t *r, const lbsim_config_t *cfg, uint64_t seed, const lbsim_format_t *format,
                            lbsim_report_emit_cb emit, void *data);
/* What the report (and the rest of its chain) describes: the fleets
 * (none with --backends-only), the n backends by URL, what is true about
 * them (NULL when they are elsewhere), and when the run starts. The calls
 * below go down the chain too, except flush, free and tick. */
void lbsim_report_bind(lbsim_report_t *r, lbsim_fleet_t *fleets, uint32_t nfleets, const char *const *names,
                       uint32_t n, lbsim_oracle_t *oracle, uint64_t start_ns);
void lbsim_report_start(lbsim_report_t *r, uint64_t now_ns);
void lbsim_report_round(lbsim_report_t *r, uint64_t round, uint64_t now_ns);
void lbsim_report_run(lbsim_report_t *r, double elapsed_s, uint64_t now_ns);
/* Logs a change on stderr (drift steps unless quiet) and reports it. */
void lbsim_report_change(lbsim_report_t *r, const lbsim_model_t *model, const lbsim_event_t *event, double old,
                         uint64_t now_ns);
/* Logs an ejection or a return on stderr (unless quiet) and reports it. */
void lbsim_report_ejection(lbsim_report_t *r, const lbsim_fleet_t *fleet, const lbsim_ejection_t *e,
                           uint64_t now_ns);
void lbsim_report_sweep_head(lbsim_report_t *r, uint32_t nparams, const char *const *names);
void lbsim_report_sweep_row(lbsim_report_t *r, const lbsim_sweep_row_t *row);
/* This report only: the format's tick, if it has one. */
void lbsim_report_tick(lbsim_report_t *r, uint64_t now_ns);
/* Writes out what is pending. 0, or LBSIM_EIO once writing has failed. */
int lbsim_report_flush(lbsim_report_t *r);
/* What to do when the output's reader has gone (EPIPE): the process's
 * business (cli/signals.h), so a hook; without one it is a failure like
 * any other. */
void lbsim_report_on_output_closed(void (*hook)(void));
void lbsim_report_free(lbsim_report_t *r);

/* ---- shared by the formats -------------------------------------------------- */

/* The latency of the ok requests: mean (wrk's Avg) and quantiles; NAN
 * when none was ok. */
double lbsim_report_mean_ms(const lbsim_counts_t *c);
double lbsim_report_quantile_ms(const lbsim_counts_t *c, double q);
double lbsim_report_share_to_fastest(const lbsim_counts_t *c);
double lbsim_report_mean_regret_ms(const lbsim_counts_t *c);
double lbsim_report_top_share(const lbsim_stats_t *s);
/* Whether the clients know the backends' load (--load-reports, --load-board). */
bool lbsim_report_loads_on(const lbsim_config_t *cfg);
/* The mean age of the load view of a pick, ms (NAN: no pick had one), and
 * the share of picks that had one. */
double lbsim_report_view_age_ms(const lbsim_stats_t *s);
double lbsim_report_view_share(const lbsim_stats_t *s);
double lbsim_report_divert_mean_s(const lbsim_stats_t *s);
/* s as a JSON string, quotes included. */
void lbsim_json_string(lbsim_buf_t *out, const char *s);
/* A backend's true latency now, NAN without an oracle. */
double lbsim_report_true_ms(const lbsim_report_t *r, uint32_t backend, uint64_t now_ns);
/* The tally's fields (stats.h) as the formats name them, in order. */
typedef struct lbsim_tally_field_s {
  const char *name;
  size_t offset;                /* of a uint64_t in lbsim_tally_t */
} lbsim_tally_field_t;
extern const lbsim_tally_field_t lbsim_tally_fields[];
extern const size_t lbsim_tally_nfields;
static inline uint64_t lbsim_tally_get(const lbsim_tally_t *t, const lbsim_tally_field_t *f) {
  return *(const uint64_t *)((const char *)t + f->offset);
}
extern const char *const lbsim_shape_names[];
extern const char *const lbsim_origin_names[];

#endif
