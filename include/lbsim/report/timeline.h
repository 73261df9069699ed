/* The visual report's timeline (--report FILE.svg): what a run's balancers
 * saw, recorded as the run goes and drawn at its end (svg.h). Two series:
 *
 *   samples  taken every LBSIM_SAMPLE_MS: each backend's true latency and
 *            expected cost (oracle.h), and every balancer's estimates;
 *   blocks   one per round or interval, as summarised: the requests sent to
 *            each backend, how many answers came back and failed (with a
 *            tool around the pick on, tools.h: user requests, and the user
 *            requests started, attempts sent and user requests answered
 *            well: offered load, attempts and goodput), and a fleet's herd
 *            and load imbalance (fleet.h). A block runs from the end of the
 *            previous one (0 for the first) to its own, so that the blocks
 *            cover the whole run.
 *
 * and the ejections and returns of outlier ejection, as marks (at most
 * LBSIM_TIMELINE_MARKS; the rest are counted).
 *
 * The memory is bounded: past LBSIM_TIMELINE_MAX entries (or
 * LBSIM_TIMELINE_BYTES) every other sample is dropped and pairs of blocks
 * are added into one, so a series always covers the whole run.
 *
 * A run records into it through lbsim_timeline_record (its balancers, the
 * oracle, the clock that times the samples), then lbsim_timeline_start,
 * lbsim_timeline_round after each round or interval, and
 * lbsim_timeline_finish, which takes the last sample and writes the SVG.
 * Pure code apart from writing the file. */
#ifndef LBSIM_TIMELINE_H
#define LBSIM_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/tools.h"
#include "lbsim/base/clock.h"
#include "lbsim/base/file.h"
#include "lbsim/model/oracle.h"

#define LBSIM_SAMPLE_MS 50          /* how often the truth and the estimates are sampled */
#define LBSIM_TIMELINE_MAX 2000     /* samples, and blocks, kept; beyond, older ones are thinned */
#define LBSIM_TIMELINE_BYTES (8u << 20) /* ... and the most memory each series takes */
#define LBSIM_TIMELINE_MARKS 4096   /* ejections and returns kept */

/* An ejection or a return. */
typedef struct lbsim_timeline_mark_s {
  double t;                    /* seconds since the start */
  uint32_t balancer, backend, client;
  bool ejected;
} lbsim_timeline_mark_t;

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
  float *herd;                 /* [nblocks][nbalancers]: a fleet's herd and imbalance at the */
  float *imbalance;            /* block's end (fleet.h); NAN: not measured */
  bool tools;                  /* a tool around the pick is on: the three below are drawn */
  uint32_t *offered;           /* [nblocks][nbalancers] user requests started */
  uint32_t *sent;              /* [nblocks][nbalancers] attempts sent */
  uint32_t *good;              /* [nblocks][nbalancers] user requests that succeeded */

  lbsim_timeline_mark_t *marks;
  uint32_t nmarks;
  uint64_t marks_dropped;      /* beyond LBSIM_TIMELINE_MARKS */

  /* Recording a run (lbsim_timeline_record); clock is NULL otherwise. */
  lbsim_clock_t *clock;
  const lbsim_fleet_t *fleets;
  const lbsim_oracle_t *oracle; /* NULL when the backends are elsewhere */
  lbsim_timer_t sample;        /* the next sample */
  uint64_t start_ns;
  bool started;
  lbsim_file_t file;           /* the SVG's, opened before the run (lbsim_timeline_open) */
} lbsim_timeline_t;

/* ---- the store ------------------------------------------------------------ */

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

/* ---- recording a run ------------------------------------------------------ */

/* Allocates the store for the fleets (all on the same backends) and
 * keeps what it samples: their (first clients') estimates, the oracle's truth (NULL: none),
 * at LBSIM_SAMPLE_MS of `clock`. 0, or LBSIM_ENOMEM (free it either way). */
int lbsim_timeline_record(lbsim_timeline_t *tl, lbsim_clock_t *clock, const lbsim_fleet_t *fleets, uint32_t nfleets,
                          const lbsim_oracle_t *oracle);
/* The run starts at now_ns: the first sample, and the timer of the next. */
void lbsim_timeline_start(lbsim_timeline_t *tl, uint64_t now_ns);
/* Every balancer's round or interval was just summarised in its stats
 * (round_picks, round): adds it as a block ending at now_ns. */
void lbsim_timeline_round(lbsim_timeline_t *tl, uint64_t now_ns);
/* A client of balancer (fleet) w ejected a backend or took it back. */
void lbsim_timeline_ejection(lbsim_timeline_t *tl, uint32_t w, const lbsim_ejection_t *e, uint64_t now_ns);
/* Stops sampling (a timeline that records nothing ignores it). */
void lbsim_timeline_stop(lbsim_timeline_t *tl);
/* Opens the way to the SVG's file before the run, so that a report that
 * cannot be written is known before any work is done (lbsim/base/file.h).
 * 0, or a negative error code. */
int lbsim_timeline_open(lbsim_timeline_t *tl, const char *path);
/* The run is over: the last sample (once started), then the SVG written
 * whole to cfg->report_path (its title names the run: cfg's replay, the
 * seed) and logged. 0, or the error, logged too. */
int lbsim_timeline_finish(lbsim_timeline_t *tl, uint64_t now_ns, const lbsim_config_t *cfg, uint64_t seed);

#endif
