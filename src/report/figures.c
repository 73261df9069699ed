/* A run's figures and their estimate over seeds. See lbsim/report/figures.h. */
#include "lbsim/report/figures.h"

#include <math.h>
#include <string.h>

#include "lbsim/report/report.h"

static const struct {
  const char *name;
  bool count;
} figures[LBSIM_FIGURES] = {
    [LBSIM_FIG_REQUESTS] = {"requests", true},
    [LBSIM_FIG_OK] = {"ok", true},
    [LBSIM_FIG_FAILED] = {"failed", true},
    [LBSIM_FIG_MEAN] = {"mean_ms", false},
    [LBSIM_FIG_P50] = {"p50_ms", false},
    [LBSIM_FIG_P90] = {"p90_ms", false},
    [LBSIM_FIG_P99] = {"p99_ms", false},
    [LBSIM_FIG_P999] = {"p999_ms", false},
    [LBSIM_FIG_TO_FASTEST] = {"to_fastest", false},
    [LBSIM_FIG_REGRET] = {"regret_ms", false},
    [LBSIM_FIG_ROUNDS] = {"rounds", true},
    [LBSIM_FIG_SWITCHES] = {"majority_switches", true},
    [LBSIM_FIG_TOP_SHARE] = {"top_share", false},
    [LBSIM_FIG_SUCCESS] = {"success", false},
    [LBSIM_FIG_ELAPSED] = {"elapsed_s", false},
};

const char *lbsim_figure_name(lbsim_figure_t f) {
  return figures[f].name;
}

bool lbsim_figure_is_count(lbsim_figure_t f) {
  return figures[f].count;
}

int lbsim_figure_find(const char *name) {
  for (int f = 0; f < LBSIM_FIGURES; f++)
    if (strcmp(figures[f].name, name) == 0)
      return f;
  return -1;
}

void lbsim_figures_of(lbsim_figures_t *f, const lbsim_stats_t *s, double elapsed_s) {
  const lbsim_counts_t *c = &s->total;
  static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
  f->v[LBSIM_FIG_REQUESTS] = (double)c->requests;
  f->v[LBSIM_FIG_OK] = (double)c->ok;
  f->v[LBSIM_FIG_FAILED] = (double)c->failed;
  f->v[LBSIM_FIG_MEAN] = lbsim_report_mean_ms(c);
  for (int q = 0; q < 4; q++)
    f->v[LBSIM_FIG_P50 + q] = lbsim_report_quantile_ms(c, quantiles[q]);
  f->v[LBSIM_FIG_TO_FASTEST] = lbsim_report_share_to_fastest(c);
  f->v[LBSIM_FIG_REGRET] = lbsim_report_mean_regret_ms(c);
  f->v[LBSIM_FIG_ROUNDS] = (double)s->rounds;
  f->v[LBSIM_FIG_SWITCHES] = (double)s->majority_switches;
  f->v[LBSIM_FIG_TOP_SHARE] = lbsim_report_top_share(s);
  f->v[LBSIM_FIG_SUCCESS] = c->requests ? (double)c->ok / (double)c->requests : NAN;
  f->v[LBSIM_FIG_ELAPSED] = elapsed_s;
}

/* Two-sided 95 %: t such that P(|T| < t) = 0.95, for df = 1 .. 30. */
static const double t95[] = {
    12.706204736174704, 4.3026527297494637, 3.1824463052837095, 2.7764451051977943, 2.5705818356363155,
    2.4469118511449699, 2.3646242515927853, 2.3060041352041666, 2.2621571627982055, 2.2281388519862747,
    2.2009851600916398, 2.1788128296672288, 2.1603686564627925, 2.1447866879178038, 2.1314495455597757,
    2.1199052992212546, 2.1098155778333171, 2.1009220402410385, 2.0930240544083097, 2.0859634472658648,
    2.0796138447276804, 2.0738730679040261, 2.0686576104190486, 2.0638985616280258, 2.0595385527532977,
    2.0555294386428732, 2.0518305164802855, 2.0484071417952451, 2.0452296421327043, 2.0422724563012383,
};

double lbsim_student_t95(uint32_t df) {
  if (df == 0)
    return NAN;
  if (df <= sizeof(t95) / sizeof(t95[0]))
    return t95[df - 1];
  /* The Cornish-Fisher series of t around the normal quantile z, to 1/df^4
   * (Abramowitz and Stegun 26.7.5). Products and sums only: the same bits
   * on every machine. */
  const double z = 1.9599639845400539, z2 = z * z;
  double n = (double)df;
  double g1 = (z2 + 1) * z / 4;
  double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
  return z + (g1 + (g2 + (g3 + g4 / n) / n) / n) / n;
}

void lbsim_estimate(lbsim_estimate_t *e, const lbsim_figures_t *runs, uint32_t n, uint32_t seeds) {
  e->seeds = seeds;
  for (int f = 0; f < LBSIM_FIGURES; f++) {
    /* Over the runs that know the figure, in seed order. */
    double sum = 0;
    uint32_t known = 0;
    for (uint32_t k = 0; k < n; k++)
      if (!isnan(runs[k].v[f])) {
        sum += runs[k].v[f];
        known++;
      }
    double mean = known ? sum / known : NAN;
    double half = NAN;
    if (known >= 2) {
      double squares = 0;
      for (uint32_t k = 0; k < n; k++)
        if (!isnan(runs[k].v[f])) {
          double d = runs[k].v[f] - mean;
          squares += d * d;
        }
      half = lbsim_student_t95(known - 1) * sqrt(squares / (known - 1)) / sqrt((double)known);
    }
    /* One run is its own row, to the bit (0 + -0.0 would be +0.0). */
    e->mean[f] = n == 1 ? runs[0].v[f] : mean;
    e->half[f] = half;
  }
}
