/* The traffic shapes and the run: rounds of bursts (the seed), Poisson
 * arrivals (--rate) or a fixed number in flight (--concurrency), for one
 * balancer or several side by side (--compare). The runner decides when
 * requests start, when a round or interval ends and is reported, and when
 * the run is over. Every balancer of a comparison gets its rounds and its
 * arrivals at the same instants. */
#ifndef LBSIM_RUNNER_H
#define LBSIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "lbsim/config.h"
#include "lbsim/oracle.h"
#include "lbsim/rng.h"
#include "lbsim/sched.h"
#include "lbsim/svg.h"
#include "lbsim/traffic.h"

typedef struct lbsim_runner_s lbsim_runner_t;
typedef void (*lbsim_runner_cb)(lbsim_runner_t *runner);

struct lbsim_runner_s {
  uv_loop_t *loop;
  lbsim_sched_t *sched;
  const lbsim_config_t *cfg;
  uint64_t seed;
  lbsim_traffic_t *worlds;      /* one balancer per policy */
  uint32_t nworlds;
  lbsim_oracle_t *oracle;       /* NULL with --client-only */
  FILE *out;

  uv_timer_t timer;             /* pause between rounds, or the interval */
  lbsim_sched_entry_t arrival;  /* next Poisson arrival (--rate) */
  uint64_t next_arrival_ns;
  lbsim_rng_t arrivals;

  uint64_t round;               /* rounds (or intervals) reported */
  uint32_t worlds_busy;         /* balancers still in the current round */
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t interval_start_ns;
  bool started;
  bool launching_stopped;       /* duration, rounds, or a signal */
  bool stopping;                /* a signal */
  bool finished;
  lbsim_runner_cb on_finished;
  lbsim_runner_cb on_closed;
  uint32_t open_handles;

  lbsim_timeline_t timeline;    /* for --report */
  bool report_failed;
};

/* The worlds must be initialised (lbsim_traffic_init) already. Returns 0,
 * or UV_ENOMEM when the report's timeline cannot be allocated; the runner
 * is to be closed with lbsim_runner_close either way. */
int lbsim_runner_init(lbsim_runner_t *runner, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg,
                      uint64_t seed, lbsim_traffic_t *worlds, uint32_t nworlds, lbsim_oracle_t *oracle, FILE *out);
void lbsim_runner_start(lbsim_runner_t *runner, lbsim_runner_cb on_finished);
/* SIGINT/SIGTERM: launch nothing more; what is queued is cancelled, what is
 * in flight ends by its deadline; then the summary and on_finished. */
void lbsim_runner_stop(lbsim_runner_t *runner);
uint64_t lbsim_runner_in_flight(const lbsim_runner_t *runner);
void lbsim_runner_close(lbsim_runner_t *runner, lbsim_runner_cb on_closed);

#endif
