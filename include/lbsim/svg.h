/* The visual report (--report FILE.svg): a timeline recorded at every round
 * or interval, drawn at the end as one panel per policy on shared axes:
 * each backend's true latency (solid) and the balancer's estimate (dashed),
 * the share of each round's requests per backend as stacked bars, and the
 * rounds with failures marked. Pure code apart from writing the file. */
#ifndef LBSIM_SVG_H
#define LBSIM_SVG_H

#include <stdint.h>
#include <stdio.h>

#define LBSIM_TIMELINE_MAX 2000 /* snapshots kept; older ones are thinned out */

typedef struct lbsim_timeline_s {
  uint32_t nworlds;
  uint32_t n;                  /* backends */
  uint32_t len, cap;
  uint32_t stride;             /* one block in `stride` is recorded */
  uint64_t seen;               /* blocks offered */
  double *t;                   /* [len] seconds since the start */
  float *true_ms;              /* [len][n]; NAN when unknown or down */
  float *ema_ms;               /* [len][nworlds][n] */
  uint32_t *picks;             /* [len][nworlds][n] */
  uint32_t *failed;            /* [len][nworlds] */
} lbsim_timeline_t;

int lbsim_timeline_init(lbsim_timeline_t *tl, uint32_t nworlds, uint32_t n);
/* Reserves the next snapshot and returns its index; -1 when this block is
 * skipped (thinning) or memory ran out. Fill it with the accessors below. */
int lbsim_timeline_push(lbsim_timeline_t *tl, double t_s);
static inline float *lbsim_timeline_true(lbsim_timeline_t *tl, uint32_t at) {
  return &tl->true_ms[(size_t)at * tl->n];
}
static inline float *lbsim_timeline_ema(lbsim_timeline_t *tl, uint32_t at, uint32_t world) {
  return &tl->ema_ms[((size_t)at * tl->nworlds + world) * tl->n];
}
static inline uint32_t *lbsim_timeline_picks(lbsim_timeline_t *tl, uint32_t at, uint32_t world) {
  return &tl->picks[((size_t)at * tl->nworlds + world) * tl->n];
}
void lbsim_timeline_free(lbsim_timeline_t *tl);

/* Draws the timeline. names: backend URLs; policies: one per world. */
int lbsim_svg_write(FILE *out, const lbsim_timeline_t *tl, const char *const *names, const char *const *policies,
                    const char *title);

#endif
