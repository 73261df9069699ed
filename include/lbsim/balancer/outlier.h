/* Outlier ejection, as Envoy does it (its outlier detection's consecutive
 * 5xx, consecutive local-origin failures and success rate), for one client:
 * which of its backends it leaves out of its picks for a while. Pure code:
 * time comes in as arguments, randomness from the detector's own stream.
 *
 *   Consecutive failures eject at once. By default every failure counts as
 *   a 5xx (an answer other than 200, and what Envoy calls local-origin
 *   errors: connect failures, resets, timeouts); with `split` (Envoy's
 *   split_external_local_origin_errors) answers and local-origin errors are
 *   counted apart, each against its own threshold. A success ends both runs.
 *   Each kind of ejection is enforced with a probability (enforcing_*, %).
 *
 *   Every interval, ejected backends whose time is up return (their counts
 *   start afresh), a backend found in service has its ejection multiplier
 *   lowered by one, and success-rate ejection looks at
 *   the backends that had at least `sr_volume` requests in the interval:
 *   with at least `sr_min_hosts` of them, one whose success rate is below
 *   mean - sr_stdev_factor x stdev is ejected.
 *
 *   An ejection lasts base x its multiplier, at most max; the multiplier goes
 *   up by one at each ejection (while base x it is below max). At most
 *   max_percent of the backends are out at once, but one always may be. When
 *   every backend is out the balancer picks among them all (Envoy's panic
 *   mode, which lbsim enters only then). */
#ifndef LBSIM_OUTLIER_H
#define LBSIM_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/policy.h"
#include "lbsim/balancer/result.h"
#include "lbsim/base/rng.h"

/* The command line's --outlier-* options (cli/config.h), Envoy's defaults. */
typedef struct lbsim_outlier_config_s {
  bool on;                        /* --outlier-ejection */
  uint32_t consecutive_5xx;       /* 5 */
  uint32_t consecutive_local;     /* 5: local-origin failures, with split */
  bool split;                     /* split_external_local_origin_errors */
  double interval_s;              /* 10 */
  double base_s;                  /* base_ejection_time: 30 */
  double max_s;                   /* max_ejection_time: 300 */
  double max_percent;             /* 10 */
  double enforcing_5xx;           /* %, 100 */
  double enforcing_local;         /* %, 100 */
  double enforcing_sr;            /* %, 100; 0: no success-rate ejection */
  uint32_t sr_min_hosts;          /* 5 */
  uint32_t sr_volume;             /* 100 */
  double sr_stdev_factor;         /* 1.9 (Envoy's 1900 thousandths) */
} lbsim_outlier_config_t;

typedef enum lbsim_eject_reason_e {
  LBSIM_EJECT_CONSECUTIVE_5XX = 0,
  LBSIM_EJECT_CONSECUTIVE_LOCAL,
  LBSIM_EJECT_SUCCESS_RATE,
  LBSIM_EJECT_LOCAL_SUCCESS_RATE,
  LBSIM_EJECT_REASONS
} lbsim_eject_reason_t;

/* "consecutive_5xx", "consecutive_local_origin", "success_rate", "local_origin_success_rate". */
const char *lbsim_eject_reason_name(lbsim_eject_reason_t reason);

typedef struct lbsim_outlier_host_s {
  uint32_t consecutive_5xx, consecutive_local;
  uint32_t multiplier;            /* the next ejection lasts base x this (Envoy's eject time backoff) */
  uint32_t ejections;             /* times ejected in the run */
  bool ejected;
  uint64_t ejected_ns;
  uint64_t duration_ns;           /* of the ejection under way */
  /* This interval: answers and their successes; attempts and those that
   * met no local-origin failure (split mode keeps the two apart). */
  uint64_t answers, answers_ok, attempts, attempts_ok;
} lbsim_outlier_host_t;

typedef struct lbsim_outlier_s lbsim_outlier_t;

/* Backend `backend` was ejected (for duration_ns, the `times`-th time) or
 * returned (reason unused). */
typedef void (*lbsim_outlier_cb)(lbsim_outlier_t *o, uint32_t backend, bool ejected, lbsim_eject_reason_t reason,
                                 uint64_t duration_ns, uint32_t times, uint64_t now_ns);

struct lbsim_outlier_s {
  const lbsim_outlier_config_t *cfg;
  uint32_t n;
  lbsim_outlier_host_t *hosts;
  uint32_t nejected;
  lbsim_eligible_t eligible;      /* the backends in service, while some are out and some in */
  uint32_t *list;
  uint8_t *member;
  double *rates;                  /* scratch for the success rates */
  lbsim_rng_t rng;                /* enforcement draws */
  lbsim_outlier_cb on_change;
  void *data;
};

/* A detector over n backends; `stream` its random stream. 0, or LBSIM_ENOMEM. */
int lbsim_outlier_init(lbsim_outlier_t *o, const lbsim_outlier_config_t *cfg, uint32_t n, uint64_t seed,
                       uint64_t stream);
void lbsim_outlier_free(lbsim_outlier_t *o);
/* `count` attempts to `backend` ended with `result`. */
void lbsim_outlier_observe(lbsim_outlier_t *o, uint32_t backend, lbsim_result_t result, uint32_t count,
                           uint64_t now_ns);
/* The interval's sweep: returns, multipliers, success-rate ejection. */
void lbsim_outlier_interval(lbsim_outlier_t *o, uint64_t now_ns);
/* The backends a pick may go to: NULL when every backend may (none out, or
 * all of them out). */
static inline const lbsim_eligible_t *lbsim_outlier_eligible(const lbsim_outlier_t *o) {
  return o->nejected > 0 && o->nejected < o->n ? &o->eligible : NULL;
}

#endif
