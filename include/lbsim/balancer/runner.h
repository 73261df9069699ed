/* The traffic shapes and the run: rounds of bursts (the seed), Poisson
 * arrivals (--rate) or a fixed number in flight (--concurrency), for one
 * balancer or several side by side (--compare). The runner decides when
 * requests start, when a round or interval ends and is reported, and when
 * the run is over. Every balancer of a comparison gets its rounds and its
 * arrivals at the same instants.
 *
 * Pure code on an lbsim_clock_t: the same runner drives the sockets and the
 * virtual clock. */
#ifndef LBSIM_RUNNER_H
#define LBSIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/base/clock.h"
#include "lbsim/cli/config.h"
#include "lbsim/model/oracle.h"
#include "lbsim/report/report.h"
#include "lbsim/base/rng.h"
#include "lbsim/report/timeline.h"

typedef struct lbsim_runner_s lbsim_runner_t;
typedef void (*lbsim_runner_cb)(lbsim_runner_t *runner, uint64_t now_ns);

struct lbsim_runner_s {
  lbsim_clock_t *clock;
  const lbsim_config_t *cfg;
  uint64_t seed;
  lbsim_fleet_t *fleets;        /* one per policy */
  uint32_t nfleets;
  uint32_t nclients;            /* per fleet */
  bool lockstep;                /* bursts of fleets of one client: rounds in step, reported by round */
  lbsim_oracle_t *oracle;       /* NULL with --client-only */
  lbsim_report_t *report;

  lbsim_timer_t pause;          /* between rounds in step */
  lbsim_timer_t interval;       /* the end of an interval (--rate, --concurrency, a fleet's bursts) */
  lbsim_timer_t arrival;        /* the next Poisson arrival (--rate) */
  lbsim_timer_t warmup;         /* the end of --warmup */
  lbsim_rng_t arrivals;

  uint64_t round;               /* rounds (or intervals) reported */
  uint32_t busy;                /* fleets still in the current round (in step) */
  uint64_t bursting;            /* clients still running rounds of their own */
  uint64_t start_ns;
  uint64_t count_from_ns;       /* the end of --warmup (start_ns without) */
  uint64_t duration_ns;         /* --duration, from start_ns */
  uint64_t end_ns;
  bool started;
  bool counting;                /* past --warmup */
  bool launching_stopped;       /* duration, rounds, or a signal */
  bool stopping;                /* a signal */
  bool finished;
  lbsim_runner_cb on_finished;

  lbsim_timeline_t timeline;    /* for --report */
  bool report_failed;           /* the SVG could not be written */
  bool out_of_time;             /* the run reached LBSIM_RUN_MAX_S before its end */
};

/* The fleets' clients must be attached to their transports. With
 * --report, the report's file is opened now, before the run
 * (lbsim_timeline_open). Returns 0, or
 * a negative error code (the report's timeline cannot be allocated, its
 * file cannot be created); lbsim_runner_close and lbsim_runner_free apply
 * either way. A run without --duration ends at LBSIM_RUN_MAX_S
 * (out_of_time, with a message).
 *
 * How traffic is shared by a fleet's clients: --burst, --concurrency and
 * --requests are fleet totals shared evenly (lbsim_fleet_share); each
 * client runs rounds of its share with its own --sleep, the first ones
 * spread evenly over the first --sleep. --rate is one Poisson process for
 * the fleet whose arrivals each go to a client drawn uniformly, so that each
 * client's arrivals are a Poisson process at rate/N. A comparison's fleets
 * get the same instants, client by client. */
int lbsim_runner_init(lbsim_runner_t *runner, lbsim_clock_t *clock, const lbsim_config_t *cfg, uint64_t seed,
                      lbsim_fleet_t *fleets, uint32_t nfleets, lbsim_oracle_t *oracle, lbsim_report_t *report);
/* Starts the traffic at now_ns; on_finished runs once the run is over and
 * summed up. */
void lbsim_runner_start(lbsim_runner_t *runner, uint64_t now_ns, lbsim_runner_cb on_finished);
/* SIGINT/SIGTERM: launch nothing more; what is queued is cancelled, what is
 * in flight ends by its deadline; then the summary and on_finished. */
void lbsim_runner_stop(lbsim_runner_t *runner, uint64_t now_ns);
uint64_t lbsim_runner_in_flight(const lbsim_runner_t *runner);
/* Cancels its timers and stops listening to the clients. */
void lbsim_runner_close(lbsim_runner_t *runner);
void lbsim_runner_free(lbsim_runner_t *runner);

#endif
