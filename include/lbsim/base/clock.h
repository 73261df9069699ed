/* Time as the models see it: timers on a clock they do not read.
 *
 * Everything that happens later in a simulation (a drift step, a scripted
 * change, the end of a round's pause, an arrival, an interval, the end of a
 * request) is an lbsim_timer_t embedded in its owner and set on an
 * lbsim_clock_t. The models never ask what time it is: a timer's callback
 * is told. Two drivers implement the clock: the real one (sched.h) wakes the
 * loop with a timerfd, the virtual one (engine.h) jumps from one due time to
 * the next.
 *
 * Both keep pending timers in the same heap (lbsim_timers_t, timers.h),
 * ordered by the key (due time, order class, sequence): timers due at the same instant
 * run by class (lbsim_order_t), and within a class in the order they were
 * set. Under the virtual clock that key is what makes a run reproducible. */
#ifndef LBSIM_CLOCK_H
#define LBSIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/base/common.h"

/* What runs first among timers due at the same instant. */
typedef enum lbsim_order_e {
  LBSIM_ORDER_CHANGE = 0,   /* scripted changes of the backends */
  LBSIM_ORDER_DRIFT,        /* drift steps */
  LBSIM_ORDER_COMPLETION,   /* requests ending (and deadlines) */
  LBSIM_ORDER_TRAFFIC,      /* rounds starting, arrivals */
  LBSIM_ORDER_REPORT        /* intervals ending */
} lbsim_order_t;

typedef struct lbsim_timer_s lbsim_timer_t;
typedef void (*lbsim_timer_cb)(lbsim_timer_t *timer, uint64_t now_ns);

struct lbsim_timer_s {
  uint64_t due_ns;
  uint64_t seq;             /* when it was set, among timers of its instant and class */
  lbsim_timer_cb cb;
  uint32_t slot;            /* heap index + 1; 0: not pending */
  uint8_t order;            /* lbsim_order_t */
};

static inline void lbsim_timer_init(lbsim_timer_t *timer, lbsim_order_t order) {
  timer->due_ns = LBSIM_NEVER;
  timer->seq = 0;
  timer->cb = 0;
  timer->slot = 0;
  timer->order = (uint8_t)order;
}

static inline bool lbsim_timer_pending(const lbsim_timer_t *timer) {
  return timer->slot != 0;
}

/* A clock, as the shared code uses one. */
typedef struct lbsim_clock_s lbsim_clock_t;
struct lbsim_clock_s {
  int (*set)(lbsim_clock_t *clock, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb);
  void (*cancel)(lbsim_clock_t *clock, lbsim_timer_t *timer);
};

static inline int lbsim_clock_set(lbsim_clock_t *clock, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb) {
  return clock->set(clock, timer, due_ns, cb);
}

static inline void lbsim_clock_cancel(lbsim_clock_t *clock, lbsim_timer_t *timer) {
  clock->cancel(clock, timer);
}

#endif
