/* A finished run's figures, the ones a sweep's row shows, and their mean
 * and 95 % confidence interval over several seeds (--seeds).
 *
 * A row of a sweep is made from its runs' figures only, never from the
 * runs themselves, so that a row computed here and a row merged from shard
 * files (where each figure travelled as "%.17g") are the same to the last
 * bit: the mean and the interval are summed in seed order, whatever order
 * the runs finished in. Pure code. */
#ifndef LBSIM_FIGURES_H
#define LBSIM_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/stats.h"

/* In the order of a sweep row's JSON object. NAN where unknown. */
typedef enum lbsim_figure_e {
  LBSIM_FIG_REQUESTS = 0,
  LBSIM_FIG_OK,
  LBSIM_FIG_FAILED,
  LBSIM_FIG_MEAN,         /* ms; unknown without an answer */
  LBSIM_FIG_P50,          /* ms; likewise */
  LBSIM_FIG_P90,
  LBSIM_FIG_P99,
  LBSIM_FIG_P999,
  LBSIM_FIG_TO_FASTEST,   /* share sent to the truly fastest; unknown when nothing was judged */
  LBSIM_FIG_REGRET,       /* mean regret, ms; likewise */
  LBSIM_FIG_ROUNDS,
  LBSIM_FIG_SWITCHES,     /* majority switches */
  LBSIM_FIG_TOP_SHARE,    /* mean share of a round's busiest backend; unknown without a round */
  LBSIM_FIG_SUCCESS,      /* ok / requests; unknown without a request */
  LBSIM_FIG_ELAPSED,      /* simulated seconds */
  LBSIM_FIGURES
} lbsim_figure_t;

typedef struct lbsim_figures_s {
  double v[LBSIM_FIGURES];
} lbsim_figures_t;

/* A row's figures: one run's (seeds 0: no --seeds), or the mean of `seeds`
 * runs with the half-width of the 95 % Student t interval around it (NAN
 * when fewer than two runs know the figure). */
typedef struct lbsim_estimate_s {
  double mean[LBSIM_FIGURES];
  double half[LBSIM_FIGURES];
  uint32_t seeds;
} lbsim_estimate_t;

/* The key of a figure in JSON ("p50_ms"), and whether it counts something
 * (printed as an integer when it is one run's). */
const char *lbsim_figure_name(lbsim_figure_t f);
bool lbsim_figure_is_count(lbsim_figure_t f);
/* The figure named `name`, or -1. */
int lbsim_figure_find(const char *name);

/* The figures of a finished run. */
void lbsim_figures_of(lbsim_figures_t *f, const lbsim_stats_t *stats, double elapsed_s);

/* The estimate from runs[0..n) in seed order. seeds: 0 for a sweep without
 * --seeds (n is then 1 and the run's figures are the row's), else n. */
void lbsim_estimate(lbsim_estimate_t *e, const lbsim_figures_t *runs, uint32_t n, uint32_t seeds);

/* The two-sided 95 % quantile of Student's t with df degrees of freedom
 * (df >= 1): a table to df 30, a series in 1/df beyond (within 3e-8). */
double lbsim_student_t95(uint32_t df);

#endif
