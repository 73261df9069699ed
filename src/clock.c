/* The heap of pending timers. See lbsim/clock.h. */
#include "lbsim/clock.h"

#include <stdlib.h>

#include "lbsim/error.h"
#include "lbsim/heap.h"

static inline bool timer_less(void *ctx, const lbsim_timer_t *a, const lbsim_timer_t *b) {
  (void)ctx;
  if (a->due_ns != b->due_ns)
    return a->due_ns < b->due_ns;
  if (a->order != b->order)
    return a->order < b->order;
  return a->seq < b->seq;
}

#define TIMER_MOVED(ctx, t, i) ((t)->slot = (i) + 1)
LBSIM_HEAP_DEFINE(static inline, timer_heap, lbsim_timer_t *, 4, timer_less, TIMER_MOVED)

void lbsim_timers_init(lbsim_timers_t *timers) {
  timers->heap = NULL;
  timers->len = timers->cap = 0;
  timers->seq = 0;
}

void lbsim_timers_free(lbsim_timers_t *timers) {
  lbsim_timers_clear(timers);
  free(timers->heap);
  timers->heap = NULL;
  timers->cap = 0;
}

void lbsim_timers_clear(lbsim_timers_t *timers) {
  for (uint32_t i = 0; i < timers->len; i++)
    timers->heap[i]->slot = 0;
  timers->len = 0;
}

int lbsim_timers_set(lbsim_timers_t *timers, lbsim_timer_t *t, uint64_t due_ns, lbsim_timer_cb cb) {
  if (due_ns == LBSIM_NEVER) {
    lbsim_timers_cancel(timers, t);
    return 0;
  }
  t->cb = cb;
  t->seq = timers->seq++;
  if (t->slot) {
    uint64_t old = t->due_ns;
    t->due_ns = due_ns;
    /* A new sequence number orders it after its equals, as if set anew. */
    if (due_ns < old)
      timer_heap_up(NULL, timers->heap, t->slot - 1);
    else
      timer_heap_down(NULL, timers->heap, timers->len, t->slot - 1);
    return 0;
  }
  if (timers->len == timers->cap) {
    uint32_t cap = timers->cap ? timers->cap * 2 : 64;
    lbsim_timer_t **heap = realloc(timers->heap, cap * sizeof(*heap));
    if (heap == NULL)
      return LBSIM_ENOMEM;
    timers->heap = heap;
    timers->cap = cap;
  }
  t->due_ns = due_ns;
  timer_heap_push(NULL, timers->heap, &timers->len, t);
  return 0;
}

void lbsim_timers_cancel(lbsim_timers_t *timers, lbsim_timer_t *t) {
  if (t->slot == 0)
    return;
  uint32_t i = t->slot - 1;
  t->slot = 0;
  timer_heap_remove(NULL, timers->heap, &timers->len, i);
}

lbsim_timer_t *lbsim_timers_pop(lbsim_timers_t *timers) {
  lbsim_timer_t *t = timer_heap_pop(NULL, timers->heap, &timers->len);
  t->slot = 0;
  return t;
}
