/* An intrusive doubly linked circular list, in the manner of libuv's
 * uv__queue: a queue is a head node, an element embeds a node, and
 * LBSIM_CONTAINER_OF (base/common.h) gets back from the node to the element.
 *
 *   lbsim_queue_t q;  lbsim_queue_init(&q);
 *   lbsim_queue_insert_tail(&q, &item->node);
 *   lbsim_queue_foreach(n, &q) { item_t *it = LBSIM_CONTAINER_OF(n, item_t, node); ... }
 *
 * Removing the element being visited inside lbsim_queue_foreach is not
 * safe: pop with lbsim_queue_head() and lbsim_queue_remove() instead. */
#ifndef LBSIM_QUEUE_H
#define LBSIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lbsim_queue_s {
  struct lbsim_queue_s *next;
  struct lbsim_queue_s *prev;
} lbsim_queue_t;

#define lbsim_queue_foreach(node, head) for ((node) = (head)->next; (node) != (head); (node) = (node)->next)

static inline void lbsim_queue_init(lbsim_queue_t *q) {
  q->next = q;
  q->prev = q;
}

static inline bool lbsim_queue_empty(const lbsim_queue_t *q) {
  return q->next == q;
}

/* The first element, or NULL when empty. */
static inline lbsim_queue_t *lbsim_queue_head(const lbsim_queue_t *q) {
  return q->next == q ? NULL : q->next;
}

/* The last element, or NULL when empty. */
static inline lbsim_queue_t *lbsim_queue_tail(const lbsim_queue_t *q) {
  return q->prev == q ? NULL : q->prev;
}

static inline void lbsim_queue_insert_tail(lbsim_queue_t *h, lbsim_queue_t *q) {
  q->next = h;
  q->prev = h->prev;
  q->prev->next = q;
  h->prev = q;
}

static inline void lbsim_queue_insert_head(lbsim_queue_t *h, lbsim_queue_t *q) {
  q->next = h->next;
  q->prev = h;
  q->next->prev = q;
  h->next = q;
}

/* Unlinks q; q is then its own empty list, so removing it twice is harmless. */
static inline void lbsim_queue_remove(lbsim_queue_t *q) {
  q->prev->next = q->next;
  q->next->prev = q->prev;
  q->next = q;
  q->prev = q;
}

/* Whether q is linked into some list (an initialised, removed node is not). */
static inline bool lbsim_queue_linked(const lbsim_queue_t *q) {
  return q->next != q;
}

/* Moves every element of `from` to the tail of `to`; `from` ends empty. */
static inline void lbsim_queue_move(lbsim_queue_t *from, lbsim_queue_t *to) {
  if (lbsim_queue_empty(from))
    return;
  lbsim_queue_t *first = from->next, *last = from->prev;
  first->prev = to->prev;
  to->prev->next = first;
  last->next = to;
  to->prev = last;
  lbsim_queue_init(from);
}

#endif
