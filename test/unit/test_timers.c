/* The heap both clocks keep their timers in (lbsim/base/timers.h), on its
 * own: the ordering key (due time, order class, sequence) that makes a
 * virtual run reproducible, and what setting again, cancelling and
 * clearing do to it. The engine's use of it is in test_engine.c. */

#include "harness.h"
#include "lbsim/base/common.h"
#include "lbsim/base/rng.h"
#include "lbsim/base/timers.h"

static void noop(lbsim_timer_t *timer, uint64_t now_ns) {
  (void)timer;
  (void)now_ns;
}

/* Pops every timer; `order` gets their indexes in `timers`. */
static int drain(lbsim_timers_t *heap, lbsim_timer_t *timers, int *order, int max) {
  int n = 0;
  while (lbsim_timers_peek(heap) != NULL && n < max) {
    lbsim_timer_t *t = lbsim_timers_pop(heap);
    if (lbsim_timer_pending(t))
      return -1;
    order[n++] = (int)(t - timers);
  }
  return n;
}

TEST(the_earliest_due_runs_first_whatever_the_setting_order) {
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  lbsim_timer_t t[4];
  static const uint64_t due[] = {300, 100, 400, 200};
  for (int i = 0; i < 4; i++) {
    lbsim_timer_init(&t[i], LBSIM_ORDER_TRAFFIC);
    CHECK_EQ(lbsim_timers_set(&heap, &t[i], due[i], noop), 0);
  }
  int order[4];
  CHECK_EQ(drain(&heap, t, order, 4), 4);
  CHECK_EQ(order[0], 1);
  CHECK_EQ(order[1], 3);
  CHECK_EQ(order[2], 0);
  CHECK_EQ(order[3], 2);
  lbsim_timers_free(&heap);
}

TEST(at_one_instant_the_class_decides_then_the_setting_order) {
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  /* Set in the opposite order of the classes, two of each. */
  static const lbsim_order_t classes[] = {LBSIM_ORDER_REPORT, LBSIM_ORDER_TRAFFIC, LBSIM_ORDER_COMPLETION,
                                          LBSIM_ORDER_DRIFT, LBSIM_ORDER_CHANGE};
  lbsim_timer_t t[10];
  for (int i = 0; i < 10; i++) {
    lbsim_timer_init(&t[i], classes[i % 5]);
    CHECK_EQ(lbsim_timers_set(&heap, &t[i], 1000, noop), 0);
  }
  int order[10];
  CHECK_EQ(drain(&heap, t, order, 10), 10);
  /* change (4, 9), drift (3, 8), completion, traffic, report (0, 5) */
  static const int want[] = {4, 9, 3, 8, 2, 7, 1, 6, 0, 5};
  for (int i = 0; i < 10; i++)
    CHECK_MSG(order[i] == want[i], "position %d: timer %d, expected %d", i, order[i], want[i]);
  lbsim_timers_free(&heap);
}

TEST(a_timer_set_again_goes_after_those_set_meanwhile) {
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  lbsim_timer_t a, b;
  lbsim_timer_init(&a, LBSIM_ORDER_COMPLETION);
  lbsim_timer_init(&b, LBSIM_ORDER_COMPLETION);
  CHECK_EQ(lbsim_timers_set(&heap, &a, 50, noop), 0);
  CHECK_EQ(lbsim_timers_set(&heap, &b, 50, noop), 0);
  CHECK(lbsim_timers_peek(&heap) == &a);
  CHECK_EQ(lbsim_timers_set(&heap, &a, 50, noop), 0); /* moved: a new sequence number */
  CHECK(lbsim_timers_peek(&heap) == &b);
  CHECK_EQ(heap.len, 2);                               /* moved, not added twice */
  /* Moved earlier, it runs first again. */
  CHECK_EQ(lbsim_timers_set(&heap, &a, 40, noop), 0);
  CHECK(lbsim_timers_pop(&heap) == &a);
  CHECK(lbsim_timers_pop(&heap) == &b);
  lbsim_timers_free(&heap);
}

TEST(a_sequence_taken_earlier_sorts_as_if_set_then) {
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  lbsim_timer_t early, late;
  lbsim_timer_init(&early, LBSIM_ORDER_TRAFFIC);
  lbsim_timer_init(&late, LBSIM_ORDER_TRAFFIC);
  uint64_t seq = lbsim_timers_next_seq(&heap);
  CHECK_EQ(lbsim_timers_set(&heap, &late, 70, noop), 0);
  CHECK_EQ(lbsim_timers_set_seq(&heap, &early, 70, seq, noop), 0);
  CHECK(lbsim_timers_pop(&heap) == &early);
  CHECK(lbsim_timers_pop(&heap) == &late);
  lbsim_timers_free(&heap);
}

TEST(cancelled_cleared_and_never_timers_are_not_pending) {
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  lbsim_timer_t t[3];
  for (int i = 0; i < 3; i++) {
    lbsim_timer_init(&t[i], LBSIM_ORDER_DRIFT);
    CHECK(!lbsim_timer_pending(&t[i]));
    CHECK_EQ(lbsim_timers_set(&heap, &t[i], (uint64_t)(10 + i), noop), 0);
    CHECK(lbsim_timer_pending(&t[i]));
  }
  lbsim_timers_cancel(&heap, &t[0]);
  lbsim_timers_cancel(&heap, &t[0]); /* twice is harmless */
  CHECK(!lbsim_timer_pending(&t[0]));
  CHECK(lbsim_timers_peek(&heap) == &t[1]);
  CHECK_EQ(lbsim_timers_set(&heap, &t[1], LBSIM_NEVER, noop), 0); /* "never" cancels */
  CHECK(!lbsim_timer_pending(&t[1]));
  CHECK_EQ(heap.len, 1);
  lbsim_timers_clear(&heap);
  CHECK(!lbsim_timer_pending(&t[2]));
  CHECK(lbsim_timers_peek(&heap) == NULL);
  /* A cleared timer can be set again. */
  CHECK_EQ(lbsim_timers_set(&heap, &t[2], 5, noop), 0);
  CHECK(lbsim_timers_pop(&heap) == &t[2]);
  lbsim_timers_free(&heap);
}

/* Whether timer a must run before timer b. */
static bool key_less(const lbsim_timer_t *a, const lbsim_timer_t *b) {
  if (a->due_ns != b->due_ns)
    return a->due_ns < b->due_ns;
  if (a->order != b->order)
    return a->order < b->order;
  return a->seq < b->seq;
}

TEST(thousands_of_timers_set_moved_and_cancelled_come_out_in_key_order) {
  enum { N = 5000 };
  static lbsim_timer_t t[N];
  lbsim_timers_t heap;
  lbsim_timers_init(&heap);
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 19, 0);
  /* Few distinct instants, so that ties are the rule. */
  for (int i = 0; i < N; i++) {
    lbsim_timer_init(&t[i], (lbsim_order_t)lbsim_rng_below(&rng, 5));
    CHECK_EQ(lbsim_timers_set(&heap, &t[i], lbsim_rng_below(&rng, 50), noop), 0);
  }
  int pending = N;
  for (int k = 0; k < N; k++) {
    lbsim_timer_t *x = &t[lbsim_rng_below(&rng, N)];
    if (lbsim_rng_below(&rng, 3) == 0) {
      pending -= lbsim_timer_pending(x);
      lbsim_timers_cancel(&heap, x);
    } else {
      pending += !lbsim_timer_pending(x);
      CHECK_EQ(lbsim_timers_set(&heap, x, lbsim_rng_below(&rng, 50), noop), 0);
    }
  }
  CHECK_EQ(heap.len, pending);
  const lbsim_timer_t *prev = NULL;
  int popped = 0;
  while (lbsim_timers_peek(&heap) != NULL) {
    const lbsim_timer_t *x = lbsim_timers_pop(&heap);
    CHECK(prev == NULL || key_less(prev, x));
    prev = x;
    popped++;
  }
  CHECK_EQ(popped, pending);
  lbsim_timers_free(&heap);
}
