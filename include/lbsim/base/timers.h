/* The heap in which both clocks keep their pending timers, least key first:
 * (due time, order class, sequence), as lbsim/base/clock.h describes. */
#ifndef LBSIM_TIMERS_H
#define LBSIM_TIMERS_H

#include <stdint.h>

#include "lbsim/base/clock.h"

/* A heap slot keeps the timer's key beside it, so that ordering the heap
 * never has to follow a pointer. */
typedef struct lbsim_timer_slot_s {
  uint64_t due_ns;
  uint64_t tie;             /* order class in the top byte, then the sequence */
  lbsim_timer_t *timer;
} lbsim_timer_slot_t;

/* The pending timers, least key first, in a binary heap (two children a
 * level, more levels but fewer comparisons, measured faster than four when
 * the virtual clock kept a thousand timers in it). */
#define LBSIM_TIMERS_ARITY 2

typedef struct lbsim_timers_s {
  lbsim_timer_slot_t *heap;
  uint32_t len, cap;
  uint64_t seq;
} lbsim_timers_t;

void lbsim_timers_init(lbsim_timers_t *timers);
void lbsim_timers_free(lbsim_timers_t *timers);
/* Sets (or moves) a timer; LBSIM_NEVER cancels. 0, or LBSIM_ENOMEM. */
int lbsim_timers_set(lbsim_timers_t *timers, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb);
/* The same with a sequence number taken earlier with lbsim_timers_next_seq:
 * the timer sorts as if it had been set then. */
int lbsim_timers_set_seq(lbsim_timers_t *timers, lbsim_timer_t *timer, uint64_t due_ns, uint64_t seq,
                         lbsim_timer_cb cb);
static inline uint64_t lbsim_timers_next_seq(lbsim_timers_t *timers) {
  return timers->seq++;
}
void lbsim_timers_cancel(lbsim_timers_t *timers, lbsim_timer_t *timer);
/* The next timer to run (NULL when none): stays pending. */
static inline lbsim_timer_t *lbsim_timers_peek(const lbsim_timers_t *timers) {
  return timers->len ? timers->heap[0].timer : 0;
}
/* Takes the next timer off the heap (there must be one). */
lbsim_timer_t *lbsim_timers_pop(lbsim_timers_t *timers);
/* Forgets every pending timer. */
void lbsim_timers_clear(lbsim_timers_t *timers);

#endif
