/* The visual report (--report FILE.svg), drawn at the end of the run from a
 * timeline of two series:
 *
 *   samples  taken every LBSIM_SAMPLE_MS: each backend's true latency and
 *            expected cost (oracle.h), and every balancer's estimates;
 *   blocks   one per round or interval, as summarised: the requests sent to
 *            each backend, and how many answers came back and failed. A
 *            block runs from the end of the previous one (0 for the first)
 *            to its own, so that the blocks cover the whole run.
 *
 * One panel per policy on shared axes: true latency (solid, stepped) and
 * estimate (dashed) of the backends that mattered, the share of each block's
 * requests per backend as stacked bands, and the share of failed answers per
 * block. A sweep (sweep.h) gets a plot of its own (lbsim_svg_sweep_write,
 * in svg_sweep.c) on the same axes code. Pure code apart from writing the
 * file. */
#ifndef LBSIM_SVG_H
#define LBSIM_SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/cli/sweep.h"

#define LBSIM_SAMPLE_MS 50          /* how often the truth and the estimates are sampled */
#define LBSIM_TIMELINE_MAX 2000     /* samples, and blocks, kept; beyond, older ones are thinned */
#define LBSIM_TIMELINE_BYTES (8u << 20) /* ... and the most memory each series takes */
#define LBSIM_SVG_COLORS 9          /* backends drawn one by one; the rest are "others" */

typedef struct lbsim_timeline_s {
  uint32_t nbalancers;
  uint32_t n;                  /* backends */

  uint32_t nsamples, sample_cap;
  uint32_t sample_stride;      /* one sample in `stride` is kept */
  uint64_t samples_seen;
  double *sample_t;            /* [nsamples] seconds since the start */
  float *true_ms;              /* [nsamples][n]: INFINITY down or stalled, NAN unknown */
  float *cost_ms;              /* [nsamples][n]: expected cost; NAN unknown */
  float *ema_ms;               /* [nsamples][nbalancers][n]: NAN before the first answer */

  uint32_t nblocks, block_cap;
  uint32_t block_stride;       /* summary blocks merged into one */
  uint32_t block_members;      /* ... in the last one so far */
  double *block_end;           /* [nblocks] seconds since the start */
  uint32_t *picks;             /* [nblocks][nbalancers][n] requests sent */
  uint32_t *answered;          /* [nblocks][nbalancers] requests that ended (ok or failed) */
  uint32_t *failed;            /* [nblocks][nbalancers] */
} lbsim_timeline_t;

int lbsim_timeline_init(lbsim_timeline_t *tl, uint32_t nbalancers, uint32_t n);
void lbsim_timeline_free(lbsim_timeline_t *tl);

/* Reserves the next sample at t_s and returns its index; -1 when it is
 * skipped (thinning; `keep` forces it, for the last one) or there is no
 * memory. Fill it with the accessors below. */
int lbsim_timeline_sample(lbsim_timeline_t *tl, double t_s, bool keep);
static inline float *lbsim_timeline_true(lbsim_timeline_t *tl, uint32_t at) {
  return &tl->true_ms[(size_t)at * tl->n];
}
static inline float *lbsim_timeline_cost(lbsim_timeline_t *tl, uint32_t at) {
  return &tl->cost_ms[(size_t)at * tl->n];
}
static inline float *lbsim_timeline_ema(lbsim_timeline_t *tl, uint32_t at, uint32_t balancer) {
  return &tl->ema_ms[((size_t)at * tl->nbalancers + balancer) * tl->n];
}

/* A round or interval ended at t_s: returns the index of the block to add
 * its counts to (they are added, not set: a block may hold several once the
 * run is long), or -1 when there is no memory. */
int lbsim_timeline_block(lbsim_timeline_t *tl, double t_s);
static inline uint32_t *lbsim_timeline_picks(lbsim_timeline_t *tl, uint32_t at, uint32_t balancer) {
  return &tl->picks[((size_t)at * tl->nbalancers + balancer) * tl->n];
}

/* A value axis: linear from 0, or logarithmic (whole decades) when the
 * values span more than 20x. */
typedef struct lbsim_axis_s {
  bool log;
  double lo, hi;
  double step;                 /* linear: between ticks */
} lbsim_axis_t;

void lbsim_axis_fit(lbsim_axis_t *axis, double min, double max);
/* The same, fitted to [min, max] rather than from 0 (values of either sign). */
void lbsim_axis_fit_range(lbsim_axis_t *axis, double min, double max);
/* Where the ticks go, at most `max` of them (LBSIM_AXIS_MAX_TICKS is enough
 * for any fitted axis), and which ones are labelled. */
#define LBSIM_AXIS_MAX_TICKS 64
uint32_t lbsim_axis_ticks(const lbsim_axis_t *axis, double *ticks, bool *labelled, uint32_t max);
/* Where v falls: 0 at lo, 1 at hi (clamped). */
double lbsim_axis_pos(const lbsim_axis_t *axis, double v);

/* The backends that mattered, most first, into order[0..n): those whose
 * expected cost rose or fell at least tenfold during the run (stuck, down,
 * failing, back), by the time that happened; then the rest by their share
 * of the requests or of the time (requests x expected cost), the larger,
 * over every policy. */
void lbsim_svg_rank(const lbsim_timeline_t *tl, uint32_t *order);

/* Draws the timeline. names: backend URLs; policies: one per balancer. */
int lbsim_svg_write(FILE *out, const lbsim_timeline_t *tl, const char *const *names, const char *const *policies,
                    const char *title);

/* Text as SVG character data or an attribute value. */
void lbsim_svg_escape(FILE *out, const char *text);
/* The colours of the lines and bands, in order. */
extern const char *const lbsim_svg_palette[LBSIM_SVG_COLORS];

/* ---- a sweep's plot (svg_sweep.c) ------------------------------------------------- */

/* One metric against the first swept parameter: one line per policy and
 * value of the other swept parameters (the values a policy does not use
 * count once); a policy that does not use the first parameter is a
 * horizontal line. With intervals (--seeds), a band of the line's colour
 * around each line, cut at 0 when no value is below it. */
typedef struct lbsim_sweep_plot_s {
  const lbsim_sweep_t *sweep;
  const char *const *policies;
  uint32_t npolicies;
  const uint32_t *unused;       /* [npolicies]: the axes each does not use (lbsim_sweep_unused) */
  const double *values;         /* [combination * npolicies + policy]: the metric; NAN where not run or unknown */
  const double *half;           /* the same: half-width of its 95 % interval, drawn as a band; NULL: none */
  const char *title;
} lbsim_sweep_plot_t;

int lbsim_svg_sweep_write(FILE *out, const lbsim_sweep_plot_t *plot);

#endif
