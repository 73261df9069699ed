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
    } else if (++e->at_instant > e->max_at_instant) {
      e->stuck = true;
      lbsim_log_error("simulated time stands still at %.6f s (over %llu events at one instant): a closed loop of "
                      "requests that take no time? Give --net-delay above 0",
                      (double)e->now_ns / LBSIM_NS_PER_S, (unsigned long long)e->max_at_instant);
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
