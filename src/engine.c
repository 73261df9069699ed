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
    e->now_ns = top.due_ns;
    e->events++;
    t->cb(t, e->now_ns);
    if (t->slot != 0) {
      const lbsim_timer_slot_t *at = &e->timers.heap[t->slot - 1];
      if (at->due_ns == top.due_ns && at->tie == top.tie)
        lbsim_timers_cancel(&e->timers, t);
    }
  }
}

/* ---- the network -------------------------------------------------------------- */

struct lbsim_vbatch_s {
  lbsim_timer_t timer;          /* its end, when out of FIFO order */
  uint64_t end_ns;
  uint64_t seq;                 /* the engine's sequence number when it was sent */
  lbsim_request_t req;
  lbsim_result_t result;
  uint32_t count;
  lbsim_queue_t link;           /* in its copy's fifo or others */
  lbsim_vnet_t *net;
  lbsim_vbatch_t *next_free;
};

#define BATCH_SLAB 1024

typedef struct batch_slab_s {
  struct batch_slab_s *next;
  lbsim_vbatch_t batches[BATCH_SLAB];
} batch_slab_t;

static lbsim_vbatch_t *batch_new(lbsim_vnet_t *net) {
  if (net->free_batches == NULL) {
    batch_slab_t *slab = malloc(sizeof(*slab));
    if (slab == NULL)
      return NULL;
    slab->next = net->slabs;
    net->slabs = slab;
    for (int i = BATCH_SLAB - 1; i >= 0; i--) {
      slab->batches[i].next_free = net->free_batches;
      net->free_batches = &slab->batches[i];
    }
  }
  lbsim_vbatch_t *b = net->free_batches;
  net->free_batches = b->next_free;
  lbsim_timer_init(&b->timer, LBSIM_ORDER_COMPLETION);
  lbsim_queue_init(&b->link);
  b->net = net;
  b->count = 0;
  return b;
}

static void on_head_due(lbsim_timer_t *timer, uint64_t now_ns);

/* The copy's timer follows the head of its FIFO. */
static void arm_head(lbsim_vnet_t *net, lbsim_vcopy_t *vc) {
  lbsim_queue_t *first = lbsim_queue_head(&vc->fifo);
  if (first == NULL) {
    lbsim_timers_cancel(&net->engine->timers, &vc->head);
    return;
  }
  lbsim_vbatch_t *b = lbsim_queue_data(first, lbsim_vbatch_t, link);
  lbsim_timers_set_seq(&net->engine->timers, &vc->head, b->end_ns, b->seq, on_head_due);
}

/* Hands a batch's requests back to the balancer. */
static void batch_end(lbsim_vbatch_t *b, lbsim_result_t result, uint64_t now_ns) {
  lbsim_vnet_t *net = b->net;
  lbsim_vcopy_t *vc = &net->copies[b->req.backend];
  lbsim_queue_remove(&b->link);
  if (vc->last == b)
    vc->last = NULL;
  net->in_flight -= b->count;
  lbsim_request_t req = b->req;
  uint32_t count = b->count;
  b->next_free = net->free_batches;
  net->free_batches = b;
  net->transport.on_done(net->transport.done_data, &req, result, now_ns, count);
}

static void on_batch_due(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_vbatch_t *b = LBSIM_CONTAINER_OF(timer, lbsim_vbatch_t, timer);
  batch_end(b, b->result, now_ns);
}

static void on_head_due(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_vcopy_t *vc = LBSIM_CONTAINER_OF(timer, lbsim_vcopy_t, head);
  lbsim_vbatch_t *b = lbsim_queue_data(lbsim_queue_head(&vc->fifo), lbsim_vbatch_t, link);
  lbsim_vnet_t *net = b->net;
  lbsim_queue_remove(&b->link);
  arm_head(net, vc);
  batch_end(b, b->result, now_ns);
}

static lbsim_request_t *vnet_request(lbsim_transport_t *t) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  return &net->scratch;
}

static bool same_batch(const lbsim_vbatch_t *b, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns) {
  return b->end_ns == end_ns && b->result == result && b->req.start_ns == req->start_ns &&
         b->req.to_fastest == req->to_fastest && b->req.oracle_ms == req->oracle_ms;
}

static void vnet_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  uint64_t now = net->engine->now_ns;
  lbsim_vcopy_t *vc = &net->copies[req->backend];
  uint64_t deadline = now + net->timeout_ns;
  lbsim_result_t result;
  uint64_t end;
  if (vc->copy.down) {
    result = LBSIM_RESULT_CONNECT; /* refused at once */
    end = now;
  } else {
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
    return;
  }
  b = batch_new(net);
  int err = b ? 0 : LBSIM_ENOMEM;
  if (b != NULL) {
    b->end_ns = end;
    b->seq = lbsim_timers_next_seq(&net->engine->timers);
    b->req = *req;
    b->result = result;
    b->count = 1;
    lbsim_queue_t *tail = lbsim_queue_tail(&vc->fifo);
    if (tail == NULL || end >= lbsim_queue_data(tail, lbsim_vbatch_t, link)->end_ns) {
      lbsim_queue_insert_tail(&vc->fifo, &b->link);
      if (tail == NULL)
        err = lbsim_timers_set_seq(&net->engine->timers, &vc->head, end, b->seq, on_head_due);
    } else {
      lbsim_queue_insert_tail(&vc->others, &b->link);
      err = lbsim_timers_set_seq(&net->engine->timers, &b->timer, end, b->seq, on_batch_due);
    }
    if (err != 0)
      lbsim_queue_remove(&b->link);
  }
  if (err != 0) {
    /* Out of memory: the request cannot be simulated; it fails at once. */
    net->in_flight--;
    if (b != NULL) {
      b->next_free = net->free_batches;
      net->free_batches = b;
    }
    lbsim_log_error("out of memory: a request was cancelled");
    net->transport.on_done(net->transport.done_data, req, LBSIM_RESULT_CANCELLED, now, 1);
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
                    uint64_t seed, double net_delay_ms, double timeout_s) {
  memset(net, 0, sizeof(*net));
  net->transport.ops = &vnet_ops;
  net->engine = engine;
  uint64_t delay = lbsim_ms_to_ns(net_delay_ms);
  net->there_ns = delay / 2;
  net->back_ns = delay - net->there_ns;
  net->timeout_ns = lbsim_ms_to_ns(timeout_s * 1000.0);
  net->copies = calloc(n, sizeof(*net->copies));
  if (net->copies == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    lbsim_vcopy_t *vc = &net->copies[i];
    lbsim_queue_init(&vc->fifo);
    lbsim_queue_init(&vc->others);
    lbsim_timer_init(&vc->head, LBSIM_ORDER_COMPLETION);
    net->n = i + 1;
    if (lbsim_copy_init(&net->copies[i].copy, &models[i], seed) != 0)
      return LBSIM_ENOMEM;
  }
  return 0;
}

/* Ends everything in flight to a copy, now, as `result`, in the order it
 * was sent. */
static void end_pending(lbsim_vnet_t *net, lbsim_vcopy_t *vc, lbsim_result_t result, uint64_t now_ns) {
  lbsim_timers_cancel(&net->engine->timers, &vc->head);
  for (;;) {
    lbsim_queue_t *a = lbsim_queue_head(&vc->fifo), *o = lbsim_queue_head(&vc->others);
    if (a == NULL && o == NULL)
      break;
    lbsim_vbatch_t *fa = a ? lbsim_queue_data(a, lbsim_vbatch_t, link) : NULL;
    lbsim_vbatch_t *fo = o ? lbsim_queue_data(o, lbsim_vbatch_t, link) : NULL;
    lbsim_vbatch_t *b = fo == NULL || (fa != NULL && fa->seq < fo->seq) ? fa : fo;
    lbsim_timers_cancel(&net->engine->timers, &b->timer);
    batch_end(b, result, now_ns);
  }
}

void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns) {
  lbsim_vcopy_t *vc = &net->copies[i];
  int err;
  int went = lbsim_copy_sync(&vc->copy, now_ns, &err);
  if (err != 0)
    lbsim_log_error("backend %u: out of memory for capacity %u", i + 1, vc->copy.model->capacity);
  if (went < 0)
    end_pending(net, vc, LBSIM_RESULT_RESET, now_ns); /* a crash resets every connection */
}

void lbsim_vnet_cancel_all(lbsim_vnet_t *net) {
  for (uint32_t i = 0; i < net->n; i++)
    end_pending(net, &net->copies[i], LBSIM_RESULT_CANCELLED, net->engine->now_ns);
}

void lbsim_vnet_free(lbsim_vnet_t *net) {
  for (uint32_t i = 0; i < net->n; i++)
    lbsim_copy_free(&net->copies[i].copy);
  free(net->copies);
  net->copies = NULL;
  while (net->slabs) {
    batch_slab_t *slab = net->slabs;
    net->slabs = slab->next;
    free(slab);
  }
  net->free_batches = NULL;
}
