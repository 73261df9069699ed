/* Unit tests of the generic d-ary heap (lbsim/base/heap.h). */
#include <stdlib.h>

#include "harness.h"
#include "lbsim/base/heap.h"
#include "lbsim/base/rng.h"

#define U64_LESS(ctx, a, b) ((a) < (b))
LBSIM_HEAP_DEFINE(static inline, h2, uint64_t, 2, U64_LESS, LBSIM_HEAP_NOT_INDEXED)
LBSIM_HEAP_DEFINE(static inline, h3, uint64_t, 3, U64_LESS, LBSIM_HEAP_NOT_INDEXED)
LBSIM_HEAP_DEFINE(static inline, h4, uint64_t, 4, U64_LESS, LBSIM_HEAP_NOT_INDEXED)

/* An indexed heap of item ids keyed by an external array, ties by id. */
typedef struct keyed_s {
  uint64_t key[64];
  uint32_t pos[64];
} keyed_t;

static inline bool keyed_less(void *ctx, uint32_t a, uint32_t b) {
  const keyed_t *k = ctx;
  return k->key[a] < k->key[b] || (k->key[a] == k->key[b] && a < b);
}

static inline void keyed_moved(void *ctx, uint32_t id, uint32_t slot) {
  ((keyed_t *)ctx)->pos[id] = slot;
}

LBSIM_HEAP_DEFINE(static inline, kh, uint32_t, 3, keyed_less, keyed_moved)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Pushes and pops interleaved at random: every pop is the least present,
 * checked against a sorted copy. */
#define RANDOM_ORDER_TEST(NAME)                                                 \
  TEST(NAME##_pops_in_order) {                                                  \
    enum { N = 2000 };                                                          \
    uint64_t heap[N], ref[N];                                                   \
    uint32_t n = 0, nref = 0;                                                   \
    lbsim_rng_t rng;                                                            \
    lbsim_rng_init(&rng, 42, 7);                                                \
    for (int step = 0; step < 20000; step++) {                                  \
      bool push = n == 0 || (n < N && lbsim_rng_below(&rng, 3) != 0);           \
      if (push) {                                                               \
        uint64_t v = lbsim_rng_below(&rng, 500); /* many equal keys */          \
        NAME##_push(NULL, heap, &n, v);                                         \
        ref[nref++] = v;                                                        \
      } else {                                                                  \
        qsort(ref, nref, sizeof(ref[0]), cmp_u64);                              \
        uint64_t top = NAME##_pop(NULL, heap, &n);                              \
        CHECK_EQ(top, ref[0]);                                                  \
        memmove(ref, ref + 1, (--nref) * sizeof(ref[0]));                       \
      }                                                                         \
      CHECK_EQ(n, nref);                                                        \
    }                                                                           \
  }

RANDOM_ORDER_TEST(h2)
RANDOM_ORDER_TEST(h3)
RANDOM_ORDER_TEST(h4)

TEST(build_makes_a_heap_of_any_array) {
  for (uint32_t n = 0; n < 100; n++) {
    uint64_t h[100];
    lbsim_rng_t rng;
    lbsim_rng_init(&rng, n, 1);
    for (uint32_t i = 0; i < n; i++)
      h[i] = lbsim_rng_below(&rng, 1000);
    h4_build(NULL, h, n);
    for (uint32_t i = 1; i < n; i++)
      CHECK(h[(i - 1) / 4] <= h[i]);
    uint64_t last = 0;
    uint32_t m = n;
    while (m > 0) {
      uint64_t v = h4_pop(NULL, h, &m);
      CHECK(v >= last);
      last = v;
    }
  }
}

TEST(indexed_heap_tracks_positions_through_changes_and_removals) {
  keyed_t k;
  uint32_t heap[64], n = 0;
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 3, 3);
  for (uint32_t id = 0; id < 64; id++) {
    k.key[id] = lbsim_rng_below(&rng, 10);
    kh_push(&k, heap, &n, id);
  }
  for (int step = 0; step < 5000; step++) {
    for (uint32_t s = 0; s < n; s++)
      CHECK_EQ(k.pos[heap[s]], s);
    /* the top is the least key, ties to the lowest id */
    uint32_t best = heap[0];
    for (uint32_t s = 0; s < n; s++)
      CHECK(!keyed_less(&k, heap[s], best));
    uint32_t id = heap[lbsim_rng_below(&rng, n)];
    if (lbsim_rng_below(&rng, 4) == 0 && n > 1) {
      kh_remove(&k, heap, &n, k.pos[id]);
      k.key[id] = lbsim_rng_below(&rng, 10);
      kh_push(&k, heap, &n, id);
    } else {
      k.key[id] = lbsim_rng_below(&rng, 10);
      kh_fix(&k, heap, n, k.pos[id]);
    }
  }
}

TEST(equal_keys_pop_in_tie_break_order) {
  keyed_t k = {0};
  uint32_t heap[64], n = 0;
  for (uint32_t id = 64; id-- > 0;)
    kh_push(&k, heap, &n, id);
  for (uint32_t id = 0; id < 64; id++)
    CHECK_EQ(kh_pop(&k, heap, &n), id);
}
