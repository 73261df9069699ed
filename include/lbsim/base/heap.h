/* One d-ary min-heap, instantiated per element type.
 *
 *   LBSIM_HEAP_DEFINE(static inline, sched_heap, lbsim_timer_t *, 4, timer_less, timer_moved)
 *
 * defines, over a caller-owned array `type *h` of `n` elements:
 *
 *   void     NAME_up(void *ctx, type *h, uint32_t i)          element i got smaller
 *   void     NAME_down(void *ctx, type *h, uint32_t n, uint32_t i)  element i got larger
 *   void     NAME_fix(void *ctx, type *h, uint32_t n, uint32_t i)   element i changed either way
 *   void     NAME_push(void *ctx, type *h, uint32_t *n, type e)   the array has room for *n + 1
 *   type     NAME_pop(void *ctx, type *h, uint32_t *n)           n > 0: removes the least
 *   void     NAME_remove(void *ctx, type *h, uint32_t *n, uint32_t i)
 *   void     NAME_build(void *ctx, type *h, uint32_t n)          any array into a heap, O(n)
 *
 * LESS(ctx, a, b) orders elements (a strict weak order; ties are broken by
 * whatever the caller puts in it, so that equal keys still pop in a defined
 * order). MOVED(ctx, e, i) is told every time element e lands in slot i,
 * which is how indexed heaps keep a position per element; use
 * LBSIM_HEAP_NOT_INDEXED when nothing needs to know.
 *
 * The array and its growth belong to the caller, so that a heap can be a
 * fixed array embedded in its owner (no allocation per push). Arity 2 is the
 * classic binary heap; 4 halves the depth at the cost of more comparisons
 * per level, which pays when a pop is dominated by cache misses. */
#ifndef LBSIM_HEAP_H
#define LBSIM_HEAP_H

#include <stdint.h>

#define LBSIM_HEAP_NOT_INDEXED(ctx, e, i) ((void)(ctx), (void)(e), (void)(i))
/* A heap need not use every function it defines (clang warns of unused
 * static inline functions outside headers). */
#define LBSIM_HEAP_UNUSED __attribute__((unused))

#define LBSIM_HEAP_DEFINE(scope, NAME, type, ARITY, LESS, MOVED)                                  \
  scope LBSIM_HEAP_UNUSED void NAME##_up(void *ctx, type *h, uint32_t i) {                         \
    type e = h[i];                                                                                \
    while (i > 0) {                                                                               \
      uint32_t parent = (i - 1) / (ARITY);                                                        \
      if (!LESS(ctx, e, h[parent]))                                                               \
        break;                                                                                    \
      h[i] = h[parent];                                                                           \
      MOVED(ctx, h[i], i);                                                                        \
      i = parent;                                                                                 \
    }                                                                                             \
    h[i] = e;                                                                                     \
    MOVED(ctx, e, i);                                                                             \
  }                                                                                               \
                                                                                                  \
  scope LBSIM_HEAP_UNUSED void NAME##_down(void *ctx, type *h, uint32_t n, uint32_t i) {           \
    type e = h[i];                                                                                \
    for (;;) {                                                                                    \
      uint32_t first = (ARITY) * i + 1;                                                           \
      if (first >= n)                                                                             \
        break;                                                                                    \
      uint32_t last = first + (ARITY) < n ? first + (ARITY) : n;                                  \
      uint32_t best = first;                                                                      \
      for (uint32_t c = first + 1; c < last; c++)                                                 \
        if (LESS(ctx, h[c], h[best]))                                                             \
          best = c;                                                                               \
      if (!LESS(ctx, h[best], e))                                                                 \
        break;                                                                                    \
      h[i] = h[best];                                                                             \
      MOVED(ctx, h[i], i);                                                                        \
      i = best;                                                                                   \
    }                                                                                             \
    h[i] = e;                                                                                     \
    MOVED(ctx, e, i);                                                                             \
  }                                                                                               \
                                                                                                  \
  scope LBSIM_HEAP_UNUSED void NAME##_fix(void *ctx, type *h, uint32_t n, uint32_t i) {            \
    if (i > 0 && LESS(ctx, h[i], h[(i - 1) / (ARITY)]))                                           \
      NAME##_up(ctx, h, i);                                                                       \
    else                                                                                          \
      NAME##_down(ctx, h, n, i);                                                                  \
  }                                                                                               \
                                                                                                  \
  scope LBSIM_HEAP_UNUSED void NAME##_push(void *ctx, type *h, uint32_t *n, type e) {              \
    h[*n] = e;                                                                                    \
    NAME##_up(ctx, h, (*n)++);                                                                    \
  }                                                                                               \
                                                                                                  \
  scope LBSIM_HEAP_UNUSED void NAME##_remove(void *ctx, type *h, uint32_t *n, uint32_t i) {        \
    uint32_t last = --*n;                                                                         \
    if (i == last)                                                                                \
      return;                                                                                     \
    h[i] = h[last];                                                                               \
    NAME##_fix(ctx, h, last, i);                                                                  \
  }                                                                                               \
                                                                                                  \
  scope LBSIM_HEAP_UNUSED type NAME##_pop(void *ctx, type *h, uint32_t *n) {                       \
    type top = h[0];                                                                              \
    NAME##_remove(ctx, h, n, 0);                                                                  \
    return top;                                                                                   \
  }                                                                                               \
                                                                                                  \
  /* Bottom-up: only downward moves, so that no key moves up into a slot */                      \
  /* whose subtree is already ordered. */                                                         \
  scope LBSIM_HEAP_UNUSED void NAME##_build(void *ctx, type *h, uint32_t n) {                      \
    for (uint32_t i = 0; i < n; i++)                                                              \
      MOVED(ctx, h[i], i);                                                                        \
    if (n < 2)                                                                                    \
      return;                                                                                     \
    for (uint32_t i = (n - 2) / (ARITY) + 1; i-- > 0;)                                            \
      NAME##_down(ctx, h, n, i);                                                                  \
  }

#endif
