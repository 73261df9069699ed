/* The virtual clock's event loop. See lbsim/virtual/engine.h. */
#include "lbsim/virtual/engine.h"

#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

static int engine_set(lbsim_clock_t *clock, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb) {
  lbsim_engine_t *e = LBSIM_CONTAINER_OF(clock, lbsim_engine_t, clock);
  /* Nothing runs in the past: a timer due earlier runs now, after the one
   * that is running. */
  return lbsim_timers_set(&e->timers, timer, due_ns < e->now_ns ? e->now_ns : due_ns, cb);
}

static void engine_cancel(lbsim_clock_t *clock, lbsim_timer_t *timer) {
  lbsim_timers_cancel(&LBSIM_CONTAINER_OF(clock, lbsim_engine_t, clock)->timers, timer);
}

void lbsim_engine_init(lbsim_engine_t *e, uint64_t start_ns) {
  memset(e, 0, sizeof(*e));
  e->clock.set = engine_set;
  e->clock.cancel = engine_cancel;
  lbsim_timers_init(&e->timers);
  e->now_ns = start_ns;
  e->max_at_instant = LBSIM_ENGINE_MAX_AT_ONE_INSTANT;
  e->max_requests_at_instant = UINT64_MAX;
  e->max_state_bytes = UINT64_MAX;
}

void lbsim_engine_limit(lbsim_engine_t *e, uint64_t unit, uint64_t budget_bytes) {
  uint64_t most = unit * LBSIM_ENGINE_UNITS_AT_ONE_INSTANT;
  if (most > LBSIM_ENGINE_REQUESTS_AT_ONE_INSTANT)
    most = LBSIM_ENGINE_REQUESTS_AT_ONE_INSTANT;
  e->max_requests_at_instant = most > 2 * unit ? most : 2 * unit;
  e->max_state_bytes = budget_bytes;
}

void lbsim_engine_stuck(lbsim_engine_t *e, uint64_t count, const char *what) {
  if (e->stuck)
    return;
  e->stuck = true;
  e->stopped = true;
  lbsim_log_error("simulated time stands still at %.6f s (over %llu %s at one instant): requests that take no "
                  "time? Give --net-delay above 0",
                  (double)e->now_ns / LBSIM_NS_PER_S, (unsigned long long)count, what);
}

bool lbsim_engine_reserve(lbsim_engine_t *e, uint64_t bytes) {
  if (e->state_bytes + bytes > e->max_state_bytes) {
    e->over_budget = true;
    return false;
  }
  e->state_bytes += bytes;
  return true;
}

void lbsim_engine_out_of_memory(lbsim_engine_t *e, uint64_t in_flight) {
  if (e->out_of_memory)
    return;
  e->out_of_memory = true;
  e->stopped = true;
  if (e->over_budget)
    lbsim_log_error("the requests in flight at %.6f s (%llu) need more than the memory budget, --memory %llu MiB: "
                    "the run stops",
                    (double)e->now_ns / LBSIM_NS_PER_S, (unsigned long long)in_flight,
                    (unsigned long long)(e->max_state_bytes >> 20));
  else
    lbsim_log_error("out of memory at %.6f s with %llu requests in flight: the run stops",
                    (double)e->now_ns / LBSIM_NS_PER_S, (unsigned long long)in_flight);
}

void lbsim_engine_free(lbsim_engine_t *e) {
  lbsim_timers_free(&e->timers);
}

void lbsim_engine_stop(lbsim_engine_t *e) {
  e->stopped = true;
}

void lbsim_engine_run(lbsim_engine_t *e) {
  e->stopped = false;
  while (!e->stopped && e->timers.len > 0) {
    if (e->interrupt && *e->interrupt && e->on_interrupt) {
      void (*on_interrupt)(lbsim_engine_t *) = e->on_interrupt;
      e->on_interrupt = NULL; /* once */
      on_interrupt(e);
      continue;
    }
    /* The timer stays in the heap while it runs: most callbacks set their
     * own timer again (the next drift step, the next arrival, the next
     * answer of a FIFO), which then costs one move down from the top
     * instead of a removal and an insertion. Left as it was, it goes. */
    lbsim_timer_slot_t top = e->timers.heap[0];
    lbsim_timer_t *t = top.timer;
    if (top.due_ns != e->now_ns) {
      e->now_ns = top.due_ns;
      e->at_instant = 0;
      e->requests_at_instant = 0;
    } else if (++e->at_instant > e->max_at_instant) {
      lbsim_engine_stuck(e, e->max_at_instant, "events");
      break;
    }
    e->events++;
    t->cb(t, e->now_ns);
    if (t->slot != 0) {
      const lbsim_timer_slot_t *at = &e->timers.heap[t->slot - 1];
      if (at->due_ns == top.due_ns && at->tie == top.tie)
        lbsim_timers_cancel(&e->timers, t);
    }
  }
}
