/* The virtual clock and network. See lbsim/engine.h. */
#include "lbsim/engine.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the engine ---------------------------------------------------------------- */

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
    /* The timer after next is among the top's children: what it will read
     * is fetched while the next one runs. */
    uint32_t n = e->timers.len < LBSIM_TIMERS_ARITY + 1 ? e->timers.len : LBSIM_TIMERS_ARITY + 1;
    if (n > 1) {
      const lbsim_timer_slot_t *h = e->timers.heap;
      uint32_t j = 1;
      for (uint32_t c = 2; c < n; c++)
        j = h[c].due_ns < h[j].due_ns ? c : j;
      __builtin_prefetch(h[j].timer);
      __builtin_prefetch(h[j].hint);
    }
  }
}

/* ---- the network -------------------------------------------------------------- */

/* Sized and aligned to two cache lines; what the end of a batch at the
 * head of its FIFO reads is in the first. The FIFO is singly linked and a
 * batch keeps its successor's key, so that taking the head off and arming
 * the copy's timer for the next one never visits the next one (written
 * long ago, it is far from the cache). A batch's own end and sequence
 * number are kept in its timer's fields, whether or not the timer is in
 * the heap (it is only when the batch is out of FIFO order). */
struct lbsim_vbatch_s {
  _Alignas(64) lbsim_vbatch_t *next; /* in its copy's FIFO, or in the free list */
  uint64_t next_end_ns, next_seq;    /* the key of the FIFO's next */
  lbsim_request_t req;
  lbsim_result_t result;
  uint32_t count;
  lbsim_vnet_t *net;
  lbsim_timer_t timer;          /* due_ns: its end; seq: when it was sent */
  lbsim_queue_t link;           /* in its copy's others (self-linked in the FIFO) */
  uint32_t fresh;               /* of its requests, those that opened a connection */
};

_Static_assert(sizeof(lbsim_vbatch_t) == 128, "a batch is two cache lines");

#define END_NS(b) ((b)->timer.due_ns)
#define SEQ(b) ((b)->timer.seq)

#define BATCH_SLAB 1024

typedef struct batch_slab_s {
  lbsim_vbatch_t batches[BATCH_SLAB];
  struct batch_slab_s *next;
  void *block;                  /* what malloc gave, to free */
} batch_slab_t;

static lbsim_vbatch_t *batch_new(lbsim_vnet_t *net) {
  if (net->free_batches == NULL) {
    /* malloc, aligned by hand: every allocation goes through the one allocator. */
    void *block = malloc(sizeof(batch_slab_t) + _Alignof(batch_slab_t) - 1);
    if (block == NULL)
      return NULL;
    batch_slab_t *slab = (batch_slab_t *)(((uintptr_t)block + _Alignof(batch_slab_t) - 1) &
                                          ~(uintptr_t)(_Alignof(batch_slab_t) - 1));
    slab->block = block;
    slab->next = net->slabs;
    net->slabs = slab;
    for (int i = BATCH_SLAB - 1; i >= 0; i--) {
      slab->batches[i].next = net->free_batches;
      net->free_batches = &slab->batches[i];
    }
  }
  lbsim_vbatch_t *b = net->free_batches;
  net->free_batches = b->next;
  lbsim_timer_init(&b->timer, LBSIM_ORDER_COMPLETION);
  lbsim_queue_init(&b->link);
  b->next = NULL;
  b->net = net;
  b->count = 0;
  b->fresh = 0;
  return b;
}

static void batch_free(lbsim_vnet_t *net, lbsim_vbatch_t *b) {
  b->next = net->free_batches;
  net->free_batches = b;
}

/* ---- the client's keep-alive connections ---- */

static lbsim_vidle_t *idle_at(const lbsim_vcopy_t *vc, uint32_t k) {
  return &vc->idle[(vc->idle_first + k) & (vc->idle_cap - 1)]; /* the capacity is a power of two */
}

/* A connection for a request sent now: an idle one if there is one (the
 * most recently used, as the client takes them), after closing those idle
 * for the client's idle time. Returns whether it is one already open. */
static bool conn_take(const lbsim_vnet_t *net, lbsim_vcopy_t *vc, uint64_t now_ns) {
  while (vc->idle_runs > 0 && vc->idle[vc->idle_first].since_ns + net->idle_ns <= now_ns) {
    vc->idle_first = (vc->idle_first + 1) & (vc->idle_cap - 1);
    vc->idle_runs--;
  }
  if (vc->idle_runs == 0)
    return false;
  lbsim_vidle_t *newest = idle_at(vc, vc->idle_runs - 1);
  if (--newest->count == 0)
    vc->idle_runs--;
  return true;
}

/* `count` connections whose answer just came are idle from now. Out of
 * memory they are closed instead, which only costs a reset its retry. */
static void conn_give_back(lbsim_vcopy_t *vc, uint32_t count, uint64_t now_ns) {
  if (vc->idle_runs > 0) {
    lbsim_vidle_t *newest = idle_at(vc, vc->idle_runs - 1);
    if (newest->since_ns == now_ns) {
      newest->count += count;
      return;
    }
  }
  if (vc->idle_runs == vc->idle_cap) {
    uint32_t cap = vc->idle_cap ? vc->idle_cap * 2 : 8;
    lbsim_vidle_t *ring = malloc(cap * sizeof(*ring));
    if (ring == NULL)
      return;
    for (uint32_t k = 0; k < vc->idle_runs; k++)
      ring[k] = *idle_at(vc, k);
    free(vc->idle);
    vc->idle = ring;
    vc->idle_cap = cap;
    vc->idle_first = 0;
  }
  vc->idle_runs++;
  *idle_at(vc, vc->idle_runs - 1) = (lbsim_vidle_t){now_ns, count};
}

/* ---- requests on their way ---- */

static void on_head_due(lbsim_timer_t *timer, uint64_t now_ns);
static void on_batch_due(lbsim_timer_t *timer, uint64_t now_ns);

/* Takes the FIFO's head off; the copy's timer follows the new head. */
static void fifo_pop(lbsim_vnet_t *net, lbsim_vcopy_t *vc) {
  lbsim_vbatch_t *b = vc->fifo_head;
  vc->fifo_head = b->next;
  if (b->next == NULL) {
    vc->fifo_tail = NULL;
    lbsim_timers_cancel(&net->engine->timers, &vc->head);
    return;
  }
  lbsim_timers_set_hinted(&net->engine->timers, &vc->head, b->next_end_ns, b->next_seq, on_head_due, b->next);
}

/* Puts a batch (its end set) on its way, with the next sequence number: at
 * the tail of the FIFO when it ends no sooner than the FIFO's last, else
 * under a timer of its own. 0, or LBSIM_ENOMEM. */
static int batch_schedule(lbsim_vnet_t *net, lbsim_vcopy_t *vc, lbsim_vbatch_t *b) {
  uint64_t end = END_NS(b), seq = lbsim_timers_next_seq(&net->engine->timers);
  SEQ(b) = seq;
  b->next = NULL;
  lbsim_vbatch_t *tail = vc->fifo_tail;
  if (tail == NULL) {
    int err = lbsim_timers_set_hinted(&net->engine->timers, &vc->head, end, seq, on_head_due, b);
    if (err == 0)
      vc->fifo_head = vc->fifo_tail = b;
    return err;
  }
  if (end >= END_NS(tail)) {
    tail->next = b;
    tail->next_end_ns = end;
    tail->next_seq = seq;
    vc->fifo_tail = b;
    return 0;
  }
  lbsim_queue_insert_tail(&vc->others, &b->link);
  int err = lbsim_timers_set_seq(&net->engine->timers, &b->timer, end, seq, on_batch_due);
  if (err != 0)
    lbsim_queue_remove(&b->link);
  return err;
}

/* Hands `count` of a batch's requests back to the balancer as `result`. */
static void report_done(lbsim_vnet_t *net, const lbsim_request_t *req, lbsim_result_t result, uint64_t now_ns,
                        uint32_t count) {
  net->in_flight -= count;
  net->transport.on_done(net->transport.done_data, req, result, now_ns, count);
}

/* Hands a batch (off its FIFO or its timer) back to the balancer; an answer
 * leaves its connection idle for the next request. */
static void batch_end(lbsim_vbatch_t *b, lbsim_result_t result, uint64_t now_ns) {
  lbsim_vnet_t *net = b->net;
  lbsim_vcopy_t *vc = &net->copies[b->req.backend];
  lbsim_queue_remove(&b->link);
  if (vc->last == b)
    vc->last = NULL;
  if (result == LBSIM_RESULT_OK || result == LBSIM_RESULT_STATUS)
    conn_give_back(vc, b->count, now_ns);
  lbsim_request_t req = b->req;
  uint32_t count = b->count;
  batch_free(net, b);
  report_done(net, &req, result, now_ns, count);
}

static void on_batch_due(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_vbatch_t *b = LBSIM_CONTAINER_OF(timer, lbsim_vbatch_t, timer);
  /* The batch is freed below, and may be taken again at once by a request
   * its answers launch: its timer must leave the heap first (the engine
   * leaves a running timer at the top; see lbsim_engine_run). */
  lbsim_timers_cancel(&b->net->engine->timers, timer);
  batch_end(b, b->result, now_ns);
}

static void on_head_due(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_vcopy_t *vc = LBSIM_CONTAINER_OF(timer, lbsim_vcopy_t, head);
  lbsim_vbatch_t *b = vc->fifo_head;
  fifo_pop(b->net, vc);
  batch_end(b, b->result, now_ns);
}

static lbsim_request_t *vnet_request(lbsim_transport_t *t) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  return &net->scratch;
}

static bool same_batch(const lbsim_vbatch_t *b, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns) {
  return END_NS(b) == end_ns && b->result == result && b->req.start_ns == req->start_ns &&
         b->req.to_fastest == req->to_fastest && b->req.oracle_ms == req->oracle_ms;
}

static void vnet_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  uint64_t now = net->engine->now_ns;
  lbsim_vcopy_t *vc = &net->copies[req->backend];
  uint64_t deadline = now + net->timeout_ns;
  lbsim_result_t result;
  uint64_t end;
  bool fresh = true;
  __builtin_prefetch(vc->last); /* while the copy serves: its line is needed next */
  if (vc->copy.down) {
    /* Refused: the connect's round trip, no more (and never no time at
     * all: a closed loop would otherwise spin at one instant). */
    result = LBSIM_RESULT_CONNECT;
    end = now + net->there_ns + net->back_ns;
  } else {
    fresh = !conn_take(net, vc, now);
    uint64_t due;
    int status = lbsim_copy_serve(&vc->copy, now + net->there_ns, &due);
    if (due == LBSIM_NEVER || due + net->back_ns > deadline) {
      result = LBSIM_RESULT_TIMEOUT;
      end = deadline;
    } else {
      result = status == 200 ? LBSIM_RESULT_OK : LBSIM_RESULT_STATUS;
      end = due + net->back_ns;
    }
  }
  net->in_flight++;
  lbsim_vbatch_t *b = vc->last;
  if (b != NULL && same_batch(b, req, result, end)) {
    b->count++;
    b->fresh += fresh;
    return;
  }
  b = batch_new(net);
  int err = b ? 0 : LBSIM_ENOMEM;
  if (b != NULL) {
    END_NS(b) = end;
    b->req = *req;
    b->result = result;
    b->count = 1;
    b->fresh = fresh;
    err = batch_schedule(net, vc, b);
  }
  if (err != 0) {
    /* Out of memory: the request cannot be simulated; it fails at once. */
    if (b != NULL)
      batch_free(net, b);
    lbsim_log_error("out of memory: a request was cancelled");
    report_done(net, req, LBSIM_RESULT_CANCELLED, now, 1);
    return;
  }
  vc->last = b;
}

static void vnet_cancel_queued(lbsim_transport_t *t) {
  (void)t; /* nothing waits for a connection: every request is under way */
}

static const lbsim_transport_ops_t vnet_ops = {
    .request = vnet_request,
    .submit = vnet_submit,
    .cancel_queued = vnet_cancel_queued,
};

int lbsim_vnet_init(lbsim_vnet_t *net, lbsim_engine_t *engine, const lbsim_model_t *models, uint32_t n,
                    uint64_t seed, double net_delay_ms, double timeout_s, double client_idle_s) {
  memset(net, 0, sizeof(*net));
  net->transport.ops = &vnet_ops;
  net->engine = engine;
  uint64_t delay = lbsim_ms_to_ns(net_delay_ms);
  net->there_ns = delay / 2;
  net->back_ns = delay - net->there_ns;
  net->timeout_ns = lbsim_ms_to_ns(timeout_s * 1000.0);
  net->idle_ns = lbsim_ms_to_ns(client_idle_s * 1000.0);
  net->copies = calloc(n, sizeof(*net->copies));
  if (net->copies == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    lbsim_vcopy_t *vc = &net->copies[i];
    lbsim_queue_init(&vc->others);
    lbsim_timer_init(&vc->head, LBSIM_ORDER_COMPLETION);
    net->n = i + 1;
    if (lbsim_copy_init(&net->copies[i].copy, &models[i], seed) != 0)
      return LBSIM_ENOMEM;
  }
  return 0;
}

/* Ends everything in flight to a copy, now, in the order it was sent: as
 * cancelled (shutdown), or because the backend went down. A crash resets
 * every connection, idle ones included; a request on a connection that had
 * already carried one is sent again once on a new connection, as the
 * client does after a keep-alive race, and that connect is refused (a
 * request on a new connection is reset). The batches are taken off the
 * copy first: what their completions launch (to this copy too) is new
 * traffic, with its own end. */
static void end_pending(lbsim_vnet_t *net, lbsim_vcopy_t *vc, bool crash, uint64_t now_ns) {
  lbsim_vbatch_t *fifo = vc->fifo_head;
  lbsim_queue_t others;
  lbsim_queue_init(&others);
  lbsim_queue_move(&vc->others, &others);
  vc->fifo_head = vc->fifo_tail = NULL;
  lbsim_timers_cancel(&net->engine->timers, &vc->head);
  vc->last = NULL;
  if (crash)
    vc->idle_runs = 0;
  for (;;) {
    lbsim_queue_t *o = lbsim_queue_head(&others);
    if (fifo == NULL && o == NULL)
      break;
    lbsim_vbatch_t *fo = o ? lbsim_queue_data(o, lbsim_vbatch_t, link) : NULL;
    lbsim_vbatch_t *b = fo == NULL || (fifo != NULL && SEQ(fifo) < SEQ(fo)) ? fifo : fo;
    if (b == fifo)
      fifo = fifo->next;
    lbsim_timers_cancel(&net->engine->timers, &b->timer);
    if (!crash) {
      batch_end(b, LBSIM_RESULT_CANCELLED, now_ns);
      continue;
    }
    if (b->result == LBSIM_RESULT_CONNECT) {
      batch_end(b, LBSIM_RESULT_CONNECT, now_ns); /* refused before; refused still */
      continue;
    }
    uint32_t again = b->count - b->fresh;
    if (again == 0) {
      batch_end(b, LBSIM_RESULT_RESET, now_ns);
      continue;
    }
    lbsim_queue_remove(&b->link);
    lbsim_request_t req = b->req;
    uint32_t reset = b->fresh;
    b->count = b->fresh = again;
    b->result = LBSIM_RESULT_CONNECT;
    END_NS(b) = now_ns + net->there_ns + net->back_ns;
    if (batch_schedule(net, vc, b) != 0) {
      b->count += reset;
      batch_end(b, LBSIM_RESULT_RESET, now_ns);
      continue;
    }
    if (reset > 0)
      report_done(net, &req, LBSIM_RESULT_RESET, now_ns, reset);
  }
}

void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns) {
  lbsim_vcopy_t *vc = &net->copies[i];
  int err;
  int went = lbsim_copy_sync(&vc->copy, now_ns, &err);
  if (err != 0)
    lbsim_log_error("backend %u: out of memory for capacity %u", i + 1, vc->copy.model->capacity);
  if (went < 0)
    end_pending(net, vc, true, now_ns);
}

void lbsim_vnet_cancel_all(lbsim_vnet_t *net) {
  for (uint32_t i = 0; i < net->n; i++)
    end_pending(net, &net->copies[i], false, net->engine->now_ns);
}

void lbsim_vnet_free(lbsim_vnet_t *net) {
  for (uint32_t i = 0; i < net->n; i++) {
    /* A run stopped early leaves answers due: their timers go first. */
    lbsim_vcopy_t *vc = &net->copies[i];
    lbsim_queue_t *q;
    lbsim_timers_cancel(&net->engine->timers, &vc->head);
    lbsim_queue_foreach(q, &vc->others) {
      lbsim_timers_cancel(&net->engine->timers, &lbsim_queue_data(q, lbsim_vbatch_t, link)->timer);
    }
    lbsim_copy_free(&vc->copy);
    free(vc->idle);
  }
  free(net->copies);
  net->copies = NULL;
  while (net->slabs) {
    batch_slab_t *slab = net->slabs;
    net->slabs = slab->next;
    free(slab->block);
  }
  net->free_batches = NULL;
}
