/* The heap of pending timers. See lbsim/base/timers.h. */
#include "lbsim/base/timers.h"

#include <stdlib.h>

#include "lbsim/base/error.h"
#include "lbsim/base/heap.h"

#define SEQ_BITS 56

static inline bool slot_less(void *ctx, lbsim_timer_slot_t a, lbsim_timer_slot_t b) {
  (void)ctx;
  return a.due_ns < b.due_ns || (a.due_ns == b.due_ns && a.tie < b.tie);
}

#define SLOT_MOVED(ctx, s, i) ((s).timer->slot = (i) + 1)
LBSIM_HEAP_DEFINE(static inline, timer_heap, lbsim_timer_slot_t, LBSIM_TIMERS_ARITY, slot_less, SLOT_MOVED)

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
    timers->heap[i].timer->slot = 0;
  timers->len = 0;
}

int lbsim_timers_set_seq(lbsim_timers_t *timers, lbsim_timer_t *t, uint64_t due_ns, uint64_t seq, lbsim_timer_cb cb) {
  if (due_ns == LBSIM_NEVER) {
    lbsim_timers_cancel(timers, t);
    return 0;
  }
  t->cb = cb;
  t->seq = seq;
  lbsim_timer_slot_t key = {due_ns, ((uint64_t)t->order << SEQ_BITS) | (seq & ((UINT64_C(1) << SEQ_BITS) - 1)), t};
  if (t->slot) {
    uint32_t i = t->slot - 1;
    bool earlier = slot_less(NULL, key, timers->heap[i]);
    t->due_ns = due_ns;
    timers->heap[i] = key;
    if (earlier)
      timer_heap_up(NULL, timers->heap, i);
    else
      timer_heap_down(NULL, timers->heap, timers->len, i);
    return 0;
  }
  if (timers->len == timers->cap) {
    uint32_t cap = timers->cap ? timers->cap * 2 : 64;
    lbsim_timer_slot_t *heap = realloc(timers->heap, cap * sizeof(*heap));
    if (heap == NULL)
      return LBSIM_ENOMEM;
    timers->heap = heap;
    timers->cap = cap;
  }
  t->due_ns = due_ns;
  timer_heap_push(NULL, timers->heap, &timers->len, key);
  return 0;
}

int lbsim_timers_set(lbsim_timers_t *timers, lbsim_timer_t *t, uint64_t due_ns, lbsim_timer_cb cb) {
  return lbsim_timers_set_seq(timers, t, due_ns, timers->seq++, cb);
}

void lbsim_timers_cancel(lbsim_timers_t *timers, lbsim_timer_t *t) {
  if (t->slot == 0)
    return;
  uint32_t i = t->slot - 1;
  t->slot = 0;
  timer_heap_remove(NULL, timers->heap, &timers->len, i);
}

lbsim_timer_t *lbsim_timers_pop(lbsim_timers_t *timers) {
  lbsim_timer_t *t = timer_heap_pop(NULL, timers->heap, &timers->len).timer;
  t->slot = 0;
  return t;
}
