/* The virtual clock: a discrete-event engine on simulated nanoseconds. The
 * network that carries the balancers' requests on it is vnet.h.
 *
 * The order of events. The engine keeps every pending timer in the clock's
 * heap (timers.h) and always runs the one of least key
 *
 *     (due time in ns, order class, sequence number)
 *
 * Time jumps from one due time to the next. At one instant the order
 * classes run in this order (lbsim_order_t):
 *
 *     1. CHANGE      scripted changes (scenario, replay)
 *     2. DRIFT       drift steps, every backend in index order
 *     3. COMPLETION  requests ending: answers, timeouts at their deadline,
 *                    refused connects
 *     4. TRAFFIC     a round starting after its pause, a Poisson arrival
 *     5. REPORT      an interval ending, a sample for --report
 *
 * so a request launched at the instant of a change already sees it, and an
 * interval ending at the instant of an answer counts it. Within a class, the
 * sequence number is the order in which the timers were set (a timer set
 * again takes a new one). A timer set from a callback for the current
 * instant, or for the past, runs at the current instant at its place in
 * that order: after the callback that set it, before any pending timer of a
 * greater key. Requests of one batch (below) end in one callback, at the
 * place of the batch's first request.
 *
 * Nothing reads the wall clock and every random draw comes from a seeded
 * stream, so a run is a function of its options and its seed: the same
 * options print the same bytes.
 *
 * A callback runs while its timer is still at the top of the heap (setting
 * it again from there costs one move down). A callback that frees or reuses
 * the memory of its own timer must cancel that timer first.
 *
 */
#ifndef LBSIM_ENGINE_H
#define LBSIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/base/clock.h"
#include "lbsim/base/timers.h"

/* Events at one instant beyond which time is taken to stand still: a
 * closed loop of requests that take no time (--net-delay 0 with a latency
 * of 0, or a backend that refuses) would otherwise never end. Far above
 * what one instant holds in a real run (a batch per backend and policy). */
#define LBSIM_ENGINE_MAX_AT_ONE_INSTANT (UINT64_C(1) << 24)
/* Requests sent at one instant beyond which time is taken to stand still,
 * as a count of traffic units (a round's burst, a closed loop's
 * concurrency, one arrival, times the balancers: lbsim_engine_limit):
 * rounds that take no time would otherwise repeat at one instant for ever,
 * each of them a few events only. At most about a second's work, and never
 * less than two rounds. */
#define LBSIM_ENGINE_UNITS_AT_ONE_INSTANT 1000
#define LBSIM_ENGINE_REQUESTS_AT_ONE_INSTANT (UINT64_C(1) << 22)

typedef struct lbsim_engine_s {
  lbsim_clock_t clock;          /* the virtual clock, as the models use it */
  lbsim_timers_t timers;
  uint64_t now_ns;
  uint64_t events;              /* timers run */
  uint64_t at_instant;          /* of them, run at now_ns */
  uint64_t max_at_instant;      /* LBSIM_ENGINE_MAX_AT_ONE_INSTANT */
  uint64_t requests_at_instant; /* requests sent at now_ns (lbsim_engine_request_sent) */
  uint64_t max_requests_at_instant; /* lbsim_engine_limit; UINT64_MAX: none */
  /* The memory budget of the simulated state (the requests in flight), as
   * the network reserves it (lbsim_engine_reserve), never the process's
   * size, so that a run stops at the same point on every machine. */
  uint64_t state_bytes, max_state_bytes; /* max: UINT64_MAX, none */
  bool over_budget;             /* a reservation was refused */
  bool stuck;                   /* time stood still: the run was stopped */
  bool out_of_memory;           /* the budget (or the system) had no room: the run was stopped */
  bool stopped;
  volatile int *interrupt;      /* when set and non-zero: on_interrupt runs once */
  void (*on_interrupt)(struct lbsim_engine_s *engine);
} lbsim_engine_t;

void lbsim_engine_init(lbsim_engine_t *engine, uint64_t start_ns);
void lbsim_engine_free(lbsim_engine_t *engine);
/* The run's limits: `unit` requests make a unit of traffic (a round's
 * requests over every balancer, ...), `budget_bytes` the memory budget. */
void lbsim_engine_limit(lbsim_engine_t *engine, uint64_t unit, uint64_t budget_bytes);
/* Runs timers in key order until none is left or lbsim_engine_stop, or
 * time stands still (`stuck`, with a message on stderr). */
void lbsim_engine_run(lbsim_engine_t *engine);
void lbsim_engine_stop(lbsim_engine_t *engine);

/* ---- for the network -------------------------------------------------------- */

/* Time stands still (`count` of `what` at one instant): the run stops, said once. */
void lbsim_engine_stuck(lbsim_engine_t *engine, uint64_t count, const char *what);
/* A request was sent now: beyond the limit at one instant, time stands still. */
static inline void lbsim_engine_request_sent(lbsim_engine_t *e) {
  if (__builtin_expect(++e->requests_at_instant > e->max_requests_at_instant, 0))
    lbsim_engine_stuck(e, e->max_requests_at_instant, "requests");
}
/* Room for `bytes` more of simulated state: true, counted; false beyond
 * the budget (over_budget). */
bool lbsim_engine_reserve(lbsim_engine_t *engine, uint64_t bytes);
/* A request found no room (the budget, or the system): the run stops, said
 * once. */
void lbsim_engine_out_of_memory(lbsim_engine_t *engine, uint64_t in_flight);

#endif
