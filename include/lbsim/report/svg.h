/* The visual report (--report FILE.svg), drawn at the end of the run from
 * its timeline (timeline.h): its samples of the truth and the estimates,
 * and its blocks of requests and failures.
 *
 * One panel per policy on shared axes, its title saying where its backends
 * are: true latency (solid, stepped) and estimate (thin, faded, dashed) of
 * the backends that mattered, the share of each block's requests per
 * backend as stacked bands, and the share of failed answers per block (one
 * line when none failed). The legend names the backends by number. A sweep
 * (sweep.h) gets a plot of its own (lbsim_svg_sweep_write, in svg_sweep.c)
 * on the same axes code. Pure code apart from writing the file. */
#ifndef LBSIM_SVG_H
#define LBSIM_SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/cli/sweep.h"
#include "lbsim/report/timeline.h"

#define LBSIM_SVG_COLORS 9          /* backends drawn one by one; the rest are "others" */

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

/* Draws the timeline. Per balancer: its policy, and the URLs of its
 * backends (each policy has its own copies in compare mode). */
int lbsim_svg_write(FILE *out, const lbsim_timeline_t *tl, const char *const *const *names,
                    const char *const *policies, const char *title);

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
