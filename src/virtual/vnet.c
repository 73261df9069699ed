/* The virtual network. See lbsim/virtual/vnet.h. */
#include "lbsim/virtual/vnet.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

/* Sized and aligned to two cache lines. Sending a batch, joining it and
 * ending it at the head of its FIFO read and write the first only (the
 * batches in flight stream through the cache: with a thousand backends,
 * 16,000 of them). The FIFO is singly linked and a batch keeps its
 * successor's key, so that taking the head off and replaying the tree for
 * the next one never visits the next one (written long ago, it is far from
 * the cache); a batch in a FIFO has its own sequence number in the key of
 * the one before it (the first: in the tree). The second line is for a
 * batch out of FIFO order only, which has a timer of its own. */
struct lbsim_vbatch_s {
  _Alignas(64) lbsim_vbatch_t *next; /* in its copy's FIFO, or in the free list */
  uint64_t next_end_ns, next_seq;    /* the key of the FIFO's next */
  uint64_t end_ns;
  /* Its requests (an lbsim_request_t, unpacked) */
  uint64_t start_ns;
  double oracle_ms;
  uint32_t backend;
  uint32_t client;
  uint32_t count;
  uint32_t tag;                      /* the pick, the result, to_fastest, probe and retry: TAG() */
  /* Out of FIFO order, at an outage, a retry, or with load reports, only: */
  _Alignas(64) uint32_t fresh;       /* of its requests, those that opened a connection */
  uint32_t id;                       /* its place among all batches: its load report's, a retry's ticket */
  lbsim_vnet_t *net;
  lbsim_timer_t timer;               /* due_ns: its end; seq: when it was sent */
  lbsim_queue_t link;                /* in its copy's others */
};

/* What a batch's requests share besides their client, instant and end, in
 * one word that a request joining it compares at once: the pick (a
 * backend's index among the client's, below LBSIM_MAX_BACKENDS), whether it
 * is a retry (balancer/tools.h: then alone, its ticket in net->tickets),
 * the result, whether the pick was the truly fastest, whether they are
 * probes. */
#define TAG(pick, retry, result, to_fastest, probe)                                                             \
  ((uint32_t)(pick) | (uint32_t)(retry) << 26 | (uint32_t)(result) << 27 | (uint32_t)(to_fastest) << 30 |       \
   (uint32_t)(probe) << 31)
#define TAG_PICK(tag) ((tag) & ((UINT32_C(1) << 26) - 1))
#define TAG_RETRY(tag) (((tag) >> 26) & 1)
#define TAG_RESULT(tag) ((lbsim_result_t)(((tag) >> 27) & 7))
#define TAG_TO_FASTEST(tag) (((tag) >> 30) & 1)
#define TAG_PROBE(tag) ((tag) >> 31)
_Static_assert(LBSIM_MAX_BACKENDS < (1 << 26) && LBSIM_RESULT_COUNT <= 8, "a batch's tag holds its pick and result");

_Static_assert(sizeof(lbsim_vbatch_t) == 128, "a batch is two cache lines");
_Static_assert(sizeof(lbsim_vbatch_t) == LBSIM_VNET_BATCH_BYTES, "what the memory budget counts");
_Static_assert(offsetof(lbsim_vbatch_t, fresh) == 64, "what a batch in a FIFO uses is in its first cache line");
_Static_assert(offsetof(lbsim_vcopy_t, copy) == 64, "what sending and ending read of a copy is in one cache line");

#define BATCH_SLAB 1024

typedef struct batch_slab_s {
  lbsim_vbatch_t batches[BATCH_SLAB];
  struct batch_slab_s *next;
  void *block;                  /* what malloc gave, to free */
} batch_slab_t;

/* Room for the load reports of one more slab's batches. */
static int reports_grow(lbsim_vnet_t *net) {
  if (!net->report_loads)
    return 0;
  lbsim_load_report_t *grown = realloc(net->reports, ((size_t)net->nslabs + 1) * BATCH_SLAB * sizeof(*grown));
  if (grown == NULL)
    return LBSIM_ENOMEM;
  net->reports = grown;
  return 0;
}

static lbsim_vbatch_t *batch_new(lbsim_vnet_t *net) {
  if (net->free_batches == NULL) {
    /* The batches are the simulated state the memory budget counts (their
     * reports too). */
    uint64_t bytes = sizeof(lbsim_vbatch_t) * BATCH_SLAB;
    if (net->report_loads)
      bytes += sizeof(lbsim_load_report_t) * BATCH_SLAB;
    if (!lbsim_engine_reserve(net->engine, bytes) || reports_grow(net) != 0)
      return NULL;
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
      slab->batches[i].id = net->nslabs * BATCH_SLAB + (uint32_t)i;
      net->free_batches = &slab->batches[i];
    }
    net->nslabs++;
  }
  lbsim_vbatch_t *b = net->free_batches;
  net->free_batches = b->next;
  b->next = NULL;
  return b;
}

/* A retry's ticket, beside its batch (by its id): a batch's two lines are
 * full, and retries are few. The array grows with the batches, on the
 * first retry. 0, or LBSIM_ENOMEM. */
static int ticket_set(lbsim_vnet_t *net, const lbsim_vbatch_t *b, uint32_t ticket) {
  size_t need = (size_t)net->nslabs * BATCH_SLAB;
  if (net->ntickets < need) {
    if (!lbsim_engine_reserve(net->engine, (need - net->ntickets) * sizeof(*net->tickets)))
      return LBSIM_ENOMEM;
    uint32_t *grown = realloc(net->tickets, need * sizeof(*grown));
    if (grown == NULL)
      return LBSIM_ENOMEM;
    net->tickets = grown;
    net->ntickets = need;
  }
  net->tickets[b->id] = ticket;
  return 0;
}

static lbsim_request_t batch_request(const lbsim_vnet_t *net, const lbsim_vbatch_t *b) {
  return (lbsim_request_t){.start_ns = b->start_ns, .oracle_ms = b->oracle_ms, .backend = b->backend,
                           .pick = TAG_PICK(b->tag), .client = b->client,
                           .ticket = TAG_RETRY(b->tag) ? net->tickets[b->id] : 0, .to_fastest = TAG_TO_FASTEST(b->tag),
                           .probe = TAG_PROBE(b->tag)};
}

static void batch_free(lbsim_vnet_t *net, lbsim_vbatch_t *b) {
  b->next = net->free_batches;
  net->free_batches = b;
}

/* ---- the clients' keep-alive connections ---- */

/* Client c's connections to its k-th backend. */
static lbsim_vidles_t *idles_of(const lbsim_vnet_t *net, uint32_t client, uint32_t pick) {
  return &net->idles[(size_t)client * net->per_client + pick];
}

static lbsim_vidle_t *idle_at(const lbsim_vidles_t *r, uint32_t k) {
  return &r->runs[(r->first + k) & (r->cap - 1)]; /* the capacity is a power of two */
}

/* Whether the oldest run is closed by now: idle for the client's idle
 * time, or reset by an outage of the backend since it became idle. */
static bool idle_closed(const lbsim_vnet_t *net, const lbsim_vcopy_t *vc, const lbsim_vidle_t *run, uint64_t now_ns) {
  return run->since_ns + net->idle_ns <= now_ns || run->outages != vc->outages;
}

/* A connection for a request sent now: an idle one if there is one (the
 * most recently used, as the client takes them), after closing those idle
 * for the client's idle time. Returns whether it is one already open. */
static inline __attribute__((always_inline)) void conn_close_idle(const lbsim_vnet_t *net, const lbsim_vcopy_t *vc,
                                                                   lbsim_vidles_t *r, uint64_t now_ns) {
  while (r->nruns > 0 && idle_closed(net, vc, &r->runs[r->first], now_ns)) {
    r->first = (r->first + 1) & (r->cap - 1);
    r->nruns--;
  }
}

static inline __attribute__((always_inline)) bool conn_take(const lbsim_vnet_t *net, const lbsim_vcopy_t *vc,
                                                            lbsim_vidles_t *r, uint64_t now_ns) {
  conn_close_idle(net, vc, r, now_ns);
  if (r->nruns == 0)
    return false;
  lbsim_vidle_t *newest = idle_at(r, r->nruns - 1);
  if (--newest->count == 0)
    r->nruns--;
  return true;
}

/* `count` connections whose answer just came are idle from now. Out of
 * memory they are closed instead, which only costs a reset its retry. */
static void conn_give_back(lbsim_vnet_t *net, const lbsim_vcopy_t *vc, lbsim_vidles_t *r, uint32_t count,
                           uint64_t now_ns) {
  if (!r->listed) {
    r->listed = 1;
    net->open[net->nopen++] = (uint32_t)(r - net->idles);
  }
  if (r->nruns > 0) {
    lbsim_vidle_t *newest = idle_at(r, r->nruns - 1);
    if (newest->since_ns == now_ns && newest->outages == vc->outages) {
      newest->count += count;
      return;
    }
  }
  if (r->nruns == r->cap) {
    if (r->cap == 0) {
      r->runs = &r->one;
      r->cap = 1;
    } else {
      uint32_t cap = r->cap * 2;
      lbsim_vidle_t *ring = malloc(cap * sizeof(*ring));
      if (ring == NULL)
        return;
      for (uint32_t k = 0; k < r->nruns; k++)
        ring[k] = *idle_at(r, k);
      if (r->runs != &r->one)
        free(r->runs);
      r->runs = ring;
      r->cap = cap;
      r->first = 0;
    }
  }
  r->nruns++;
  *idle_at(r, r->nruns - 1) = (lbsim_vidle_t){now_ns, count, vc->outages};
}

/* ---- requests on their way ---- */

static void on_merge_due(lbsim_timer_t *timer, uint64_t now_ns);
static void on_batch_due(lbsim_timer_t *timer, uint64_t now_ns);

/* The merge's timer follows the first head of all. 0, or LBSIM_ENOMEM. */
static int merge_arm(lbsim_vnet_t *net) {
  uint32_t first = net->winner[1];
  uint64_t end_ns = net->head_end[first], seq = net->head_seq[first];
  if (end_ns == LBSIM_NEVER) {
    lbsim_timers_cancel(&net->engine->timers, &net->merge);
    return 0;
  }
  /* It runs next, or nearly: its batch is fetched while this event ends
   * (its copy too was measured slower: too many misses in flight). */
  __builtin_prefetch(net->heads[first]);
  if (lbsim_timer_pending(&net->merge) && net->merge.due_ns == end_ns && net->merge.seq == seq)
    return 0;
  return lbsim_timers_set_seq(&net->engine->timers, &net->merge, end_ns, seq, on_merge_due);
}

/* Copy i's FIFO has a new head (or none: LBSIM_NEVER): its way up the tree
 * is played again, as far as it changes anything (when copy i was first
 * everywhere on it, `was_first`, that is all the way). 0, or LBSIM_ENOMEM. */
static inline __attribute__((always_inline)) int merge_replay(lbsim_vnet_t *net, uint32_t i, uint64_t end_ns,
                                                              uint64_t seq, bool was_first) {
  const uint64_t *head_end = net->head_end, *head_seq = net->head_seq;
  net->head_end[i] = end_ns;
  net->head_seq[i] = seq;
  uint32_t *winner = net->winner;
  uint32_t node = net->leaves + i, w = i;
  uint64_t w_end = end_ns; /* the end of w, carried along */
  while (node > 1) {
    uint32_t other = winner[node ^ 1];
    uint64_t o_end = head_end[other];
    /* Either way as likely: selected by a mask, with no branch to
     * mispredict. Ends are seldom equal (then the sequence decides). */
    uint64_t take = -(uint64_t)(o_end < w_end);
    if (__builtin_expect(o_end == w_end, 0))
      take = -(uint64_t)(head_seq[other] < head_seq[w]);
    w ^= (w ^ other) & (uint32_t)take;
    w_end ^= (w_end ^ o_end) & take;
    node >>= 1;
    if (!was_first && w != i && winner[node] == w)
      return 0; /* the same first as before, and not copy i: nothing above changes */
    winner[node] = w;
  }
  return merge_arm(net);
}

static int merge_update(lbsim_vnet_t *net, uint32_t i, uint64_t end_ns, uint64_t seq) {
  return merge_replay(net, i, end_ns, seq, false);
}

/* Takes copy i's FIFO head off (copy i is first: its head is due); the
 * tree follows the new head. */
static void fifo_pop(lbsim_vnet_t *net, uint32_t i) {
  lbsim_vbatch_t *b = net->heads[i];
  net->heads[i] = b->next;
  if (b->next == NULL) {
    net->copies[i].fifo_tail = NULL;
    merge_replay(net, i, LBSIM_NEVER, 0, true);
    return;
  }
  /* Written a latency ago, the new head is far from the cache; it has
   * until the answers of the other copies' heads to come nearer. */
  __builtin_prefetch(b->next);
  merge_replay(net, i, b->next_end_ns, b->next_seq, true);
}

/* Puts a batch (its end set) on its way, with the next sequence number: at
 * the tail of the FIFO when it ends no sooner than the FIFO's last, else
 * under a timer of its own. 0, or LBSIM_ENOMEM. */
static int batch_schedule(lbsim_vnet_t *net, lbsim_vcopy_t *vc, lbsim_vbatch_t *b) {
  uint64_t end = b->end_ns, seq = lbsim_timers_next_seq(&net->engine->timers);
  b->next = NULL;
  lbsim_vbatch_t *tail = vc->fifo_tail;
  if (tail == NULL) {
    uint32_t i = (uint32_t)(vc - net->copies);
    net->heads[i] = vc->fifo_tail = b;
    int err = merge_update(net, i, end, seq);
    if (err != 0) {
      /* Back as it was: the merge's timer is where it was, or none. */
      net->heads[i] = vc->fifo_tail = NULL;
      merge_update(net, i, LBSIM_NEVER, 0);
    }
    return err;
  }
  if (end >= tail->end_ns) {
    tail->next = b;
    tail->next_end_ns = end;
    tail->next_seq = seq;
    vc->fifo_tail = b;
    return 0;
  }
  b->net = net;
  lbsim_timer_init(&b->timer, LBSIM_ORDER_COMPLETION);
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

/* ---- the backends' load (--load-reports, --load-board) ---- */

/* A tagged answer of a copy was ready: its batch keeps the state the
 * backend would have written then. */
static void on_load_answered(void *data, uint32_t tag, const lbsim_load_report_t *report) {
  lbsim_vnet_t *net = data;
  net->reports[tag] = *report;
}

/* A request (not a probe, which the backend answers at once without
 * serving it) reaching copy vc net_delay/2 after now, answered at due_ns
 * (LBSIM_NEVER: never, and then it leaves when its client's close arrives,
 * after the deadline), into the copy's load. An answer the client gets is
 * tagged with its batch, which keeps the report written with it. Out of
 * the hot path: only when the loads are kept. */
static __attribute__((noinline)) void load_admit(lbsim_vnet_t *net, lbsim_vcopy_t *vc, lbsim_vbatch_t *b,
                                                 const lbsim_request_t *req, uint64_t now, uint64_t due_ns,
                                                 lbsim_result_t result, bool new_batch) {
  if (new_batch && net->report_loads)
    net->reports[b->id].has = 0; /* none written yet */
  if (req->probe || result == LBSIM_RESULT_CONNECT) /* a copy that is down takes nothing in */
    return;
  lbsim_load_t *load = &vc->copy.load;
  uint64_t at = now + net->there_ns;
  if (due_ns == LBSIM_NEVER) {
    lbsim_load_admit(load, at, now + net->timeout_ns + net->there_ns, 1, LBSIM_LOAD_UNTAGGED);
    return;
  }
  bool told = net->report_loads && (result == LBSIM_RESULT_OK || result == LBSIM_RESULT_STATUS);
  lbsim_load_admit(load, at, due_ns, 1, told ? b->id : LBSIM_LOAD_UNTAGGED);
}

/* The report a batch's answers carry: the copy's state is brought up to
 * now (every answer due by now is taken, and its batch told). */
static __attribute__((noinline)) void load_report_of(lbsim_vnet_t *net, lbsim_vcopy_t *vc, const lbsim_vbatch_t *b,
                                                     uint64_t now_ns, lbsim_request_t *req,
                                                     lbsim_load_report_t *report) {
  lbsim_load_advance(&vc->copy.load, now_ns, on_load_answered, net);
  *report = net->reports[b->id];
  if (report->has != 0)
    req->report = report;
  else
    req->no_report = "lost: out of memory";
}

/* Hands a batch (off its FIFO, or off its timer and out of `others`) back
 * to the balancer; an answer leaves its connection idle for the next
 * request. */
static void batch_end(lbsim_vnet_t *net, lbsim_vbatch_t *b, lbsim_result_t result, uint64_t now_ns) {
  lbsim_vcopy_t *vc = &net->copies[b->backend];
  if (vc->last == b)
    vc->last = NULL;
  bool answered = result == LBSIM_RESULT_OK || result == LBSIM_RESULT_STATUS;
  if (answered)
    conn_give_back(net, vc, idles_of(net, b->client, TAG_PICK(b->tag)), b->count, now_ns);
  lbsim_request_t req = batch_request(net, b);
  lbsim_load_report_t report;
  if (__builtin_expect(net->report_loads, 0) && answered && !TAG_PROBE(b->tag))
    load_report_of(net, vc, b, now_ns, &req, &report);
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
  lbsim_queue_remove(&b->link);
  batch_end(b->net, b, TAG_RESULT(b->tag), now_ns);
}

static void on_merge_due(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(timer, lbsim_vnet_t, merge);
  uint32_t i = net->winner[1];
  lbsim_vbatch_t *b = net->heads[i];
  /* Where the connection goes back, fetched while the tree is replayed. */
  const lbsim_vidles_t *r = idles_of(net, b->client, TAG_PICK(b->tag));
  if (r->cap > 0)
    __builtin_prefetch(idle_at(r, r->nruns > 0 ? r->nruns - 1 : 0), 1);
  fifo_pop(net, i);
  batch_end(net, b, TAG_RESULT(b->tag), now_ns);
}

/* After a request served by the copy: while its common case holds
 * (lbsim_copy_fast), the network serves the next ones itself, until the
 * model changes. */
static void copy_fast_path(lbsim_vcopy_t *vc) {
  if (lbsim_copy_fast(&vc->copy)) {
    vc->fast_generation = vc->model->generation;
    vc->service_ns = vc->copy.service_ns;
  }
}

static lbsim_request_t *vnet_request(lbsim_transport_t *t) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  return &net->scratch;
}

/* An answer's trip back: back_ns, give or take up to spread_ns. Requests
 * alike (one backend, one pick instant, one instant served) draw the same,
 * so that a burst still travels as one event: the draw is a hash of what
 * they share and of the run's seed, not a step of a stream. */
static inline uint64_t back_trip(const lbsim_vnet_t *net, uint64_t served_ns, const lbsim_request_t *req) {
  if (net->spread_ns == 0)
    return net->back_ns;
  uint64_t h = lbsim_mix64(net->spread_key ^ served_ns ^ (req->start_ns * UINT64_C(0x9e3779b97f4a7c15)) ^
                           ((uint64_t)req->backend * UINT64_C(0xd1b54a32d192ed03)) ^
                           ((uint64_t)req->client * UINT64_C(0xa0761d6478bd642f)));
  uint64_t range = 2 * net->spread_ns + 1;
  return net->back_ns - net->spread_ns + (uint64_t)(((__uint128_t)h * range) >> 64);
}

static bool same_batch(const lbsim_vbatch_t *b, const lbsim_request_t *req, uint32_t tag, uint64_t end_ns) {
  return b->end_ns == end_ns && b->tag == tag && b->start_ns == req->start_ns && b->client == req->client &&
         b->oracle_ms == req->oracle_ms;
}

/* When the client gives up on a request: its own deadline (a user
 * request's, balancer/tools.h), or --timeout after it was sent. */
static inline uint64_t deadline_of(const lbsim_vnet_t *net, const lbsim_request_t *req, uint64_t now) {
  return req->deadline_ns ? req->deadline_ns : now + net->timeout_ns;
}

/* How a request that is not the copy's common case ends (a probe; a
 * backend down, queueing, failing, stalled or ramping): its result and end,
 * and whether it opened a connection. Out of line: the common case is the
 * hot path. */
static __attribute__((noinline)) bool outcome_slow(lbsim_vnet_t *net, lbsim_vcopy_t *vc, lbsim_vidles_t *idles,
                                                   const lbsim_request_t *req, uint64_t now, lbsim_result_t *result,
                                                   uint64_t *end, uint64_t *due_out) {
  uint64_t deadline = deadline_of(net, req, now);
  if (vc->copy.down) {
    /* Refused: the connect's round trip, no more (and never no time at
     * all: a closed loop would otherwise spin at one instant). */
    *result = LBSIM_RESULT_CONNECT;
    *end = now + net->there_ns + net->back_ns;
    return true;
  }
  bool fresh = !conn_take(net, vc, idles, now);
  if (req->probe) {
    /* Answered at once, not served (GET /probe), unless the backend is
     * stalled. */
    *result = vc->model->stalled ? LBSIM_RESULT_TIMEOUT : LBSIM_RESULT_OK;
    *end = vc->model->stalled ? deadline : now + net->there_ns + net->back_ns;
    return fresh;
  }
  uint64_t due;
  int status = lbsim_copy_serve(&vc->copy, now + net->there_ns, &due);
  copy_fast_path(vc);
  *due_out = due;
  uint64_t back = due == LBSIM_NEVER ? 0 : back_trip(net, due, req);
  if (due == LBSIM_NEVER || due + back > deadline) {
    *result = LBSIM_RESULT_TIMEOUT;
    *end = deadline;
  } else {
    *result = status == 200 ? LBSIM_RESULT_OK : LBSIM_RESULT_STATUS;
    *end = due + back;
  }
  return fresh;
}

/* A request that found no room (the memory budget, or the system): it
 * cannot be simulated, it is cancelled, and the run stops. */
static __attribute__((noinline)) void submit_failed(lbsim_vnet_t *net, lbsim_vbatch_t *b, const lbsim_request_t *req,
                                                    uint64_t now) {
  if (b != NULL)
    batch_free(net, b);
  lbsim_engine_out_of_memory(net->engine, net->in_flight);
  report_done(net, req, LBSIM_RESULT_CANCELLED, now, 1);
}

static void vnet_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  lbsim_vnet_t *net = LBSIM_CONTAINER_OF(t, lbsim_vnet_t, transport);
  uint64_t now = net->engine->now_ns;
  lbsim_vcopy_t *vc = &net->copies[req->backend];
  lbsim_result_t result;
  uint64_t end;
  bool fresh;
  uint64_t due = LBSIM_NEVER; /* when the answer is ready (the slow path: when it is, and asked) */
  lbsim_vidles_t *idles = idles_of(net, req->client, req->pick);
  __builtin_prefetch(vc->last); /* while the copy serves: its line is needed next */
  /* A request with a deadline of its own (a user request's, tools.h) takes
   * the general way: the common case stays as short as it was. */
  if (__builtin_expect(vc->model->generation == vc->fast_generation && !req->probe && req->deadline_ns == 0, 1)) {
    fresh = !conn_take(net, vc, idles, now);
    due = now + net->there_ns + vc->service_ns;
    uint64_t back = back_trip(net, due, req);
    uint64_t deadline = now + net->timeout_ns;
    if (due + back > deadline) {
      result = LBSIM_RESULT_TIMEOUT;
      end = deadline;
    } else {
      result = LBSIM_RESULT_OK;
      end = due + back;
    }
  } else {
    fresh = outcome_slow(net, vc, idles, req, now, &result, &end, &due);
  }
  net->in_flight++;
  lbsim_engine_request_sent(net->engine);
  uint32_t tag = TAG(req->pick, 0, result, req->to_fastest, req->probe);
  lbsim_vbatch_t *b = vc->last;
  bool retry = req->ticket != 0;
  if (__builtin_expect(!retry, 1)) {
    /* A batch of retries has their bit in its tag: first attempts never join it. */
    if (b != NULL && same_batch(b, req, tag, end)) {
      b->count++;
      if (fresh)
        b->fresh++; /* on the second line: seldom, once connections are kept */
      if (__builtin_expect(net->track_loads, 0))
        load_admit(net, vc, b, req, now, due, result, false);
      return;
    }
  } else {
    tag |= TAG(0, 1, 0, 0, 0); /* a retry travels alone, with its ticket */
  }
  b = batch_new(net);
  if (b == NULL) {
    submit_failed(net, b, req, now);
    return;
  }
  b->end_ns = end;
  b->start_ns = req->start_ns;
  b->oracle_ms = req->oracle_ms;
  b->backend = req->backend;
  b->client = req->client;
  b->tag = tag;
  b->count = 1;
  b->fresh = fresh;
  if ((retry && ticket_set(net, b, req->ticket) != 0) || batch_schedule(net, vc, b) != 0) {
    submit_failed(net, b, req, now);
    return;
  }
  vc->last = b;
  if (__builtin_expect(net->track_loads, 0))
    load_admit(net, vc, b, req, now, due, result, true);
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
                    uint32_t nclients, uint32_t per_client, const uint32_t *subsets, uint64_t seed, double net_delay_ms,
                    double spread, double timeout_s, double client_idle_s) {
  memset(net, 0, sizeof(*net));
  net->transport.ops = &vnet_ops;
  net->engine = engine;
  net->nclients = nclients;
  net->per_client = per_client;
  net->subsets = subsets;
  uint64_t delay = lbsim_ms_to_ns(net_delay_ms);
  net->there_ns = delay / 2;
  net->back_ns = delay - net->there_ns;
  net->spread_ns = (uint64_t)((double)net->back_ns * (spread < 0 ? 0 : spread > 1 ? 1 : spread));
  net->spread_key = lbsim_mix64(seed ^ LBSIM_STREAM_NETWORK);
  net->timeout_ns = lbsim_ms_to_ns(timeout_s * 1000.0);
  net->idle_ns = lbsim_ms_to_ns(client_idle_s * 1000.0);
  lbsim_timer_init(&net->merge, LBSIM_ORDER_COMPLETION);
  net->leaves = 1;
  while (net->leaves < n)
    net->leaves *= 2;
  /* calloc, aligned by hand: every allocation goes through the one allocator. */
  net->copies_block = calloc(1, n * sizeof(*net->copies) + _Alignof(lbsim_vcopy_t) - 1);
  if (net->copies_block != NULL)
    net->copies = (lbsim_vcopy_t *)(((uintptr_t)net->copies_block + _Alignof(lbsim_vcopy_t) - 1) &
                                    ~(uintptr_t)(_Alignof(lbsim_vcopy_t) - 1));
  net->head_end = malloc(net->leaves * sizeof(*net->head_end));
  net->head_seq = calloc(net->leaves, sizeof(*net->head_seq));
  net->heads = calloc(net->leaves, sizeof(*net->heads));
  net->winner = malloc(2 * net->leaves * sizeof(*net->winner));
  net->idles = calloc((size_t)nclients * per_client, sizeof(*net->idles));
  net->open = malloc((size_t)nclients * per_client * sizeof(*net->open));
  if (net->copies == NULL || net->head_end == NULL || net->head_seq == NULL || net->heads == NULL ||
      net->winner == NULL || net->idles == NULL || net->open == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t i = 0; i < net->leaves; i++) {
    net->head_end[i] = LBSIM_NEVER;
    net->winner[net->leaves + i] = i;
  }
  for (uint32_t k = net->leaves; k-- > 1;)
    net->winner[k] = net->winner[2 * k];
  for (uint32_t i = 0; i < n; i++) {
    lbsim_vcopy_t *vc = &net->copies[i];
    lbsim_queue_init(&vc->others);
    vc->model = &models[i];
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
static void end_pending(lbsim_vnet_t *net, uint32_t i, bool crash, uint64_t now_ns) {
  lbsim_vcopy_t *vc = &net->copies[i];
  lbsim_vbatch_t *fifo = net->heads[i];
  uint64_t fifo_seq = net->head_seq[i]; /* the sequence number of `fifo` */
  lbsim_queue_t others;
  lbsim_queue_init(&others);
  lbsim_queue_move(&vc->others, &others);
  net->heads[i] = vc->fifo_tail = NULL;
  merge_update(net, i, LBSIM_NEVER, 0);
  vc->last = NULL;
  if (crash)
    vc->outages++; /* every client's idle connections to it are closed */
  for (;;) {
    lbsim_queue_t *o = lbsim_queue_head(&others);
    if (fifo == NULL && o == NULL)
      break;
    lbsim_vbatch_t *fo = o ? LBSIM_CONTAINER_OF(o, lbsim_vbatch_t, link) : NULL;
    lbsim_vbatch_t *b;
    if (fo == NULL || (fifo != NULL && fifo_seq < fo->timer.seq)) {
      b = fifo;
      fifo_seq = fifo->next_seq;
      fifo = fifo->next;
    } else {
      b = fo;
      lbsim_queue_remove(&b->link);
      lbsim_timers_cancel(&net->engine->timers, &b->timer);
    }
    if (!crash) {
      batch_end(net, b, LBSIM_RESULT_CANCELLED, now_ns);
      continue;
    }
    if (TAG_RESULT(b->tag) == LBSIM_RESULT_CONNECT) {
      batch_end(net, b, LBSIM_RESULT_CONNECT, now_ns); /* refused before; refused still */
      continue;
    }
    uint32_t again = b->count - b->fresh;
    net->transport.resent += again; /* sent again as the client does: not attempts */
    if (again == 0) {
      batch_end(net, b, LBSIM_RESULT_RESET, now_ns);
      continue;
    }
    lbsim_request_t req = batch_request(net, b);
    uint32_t reset = b->fresh;
    b->count = b->fresh = again;
    b->tag = TAG(TAG_PICK(b->tag), TAG_RETRY(b->tag), LBSIM_RESULT_CONNECT, TAG_TO_FASTEST(b->tag), TAG_PROBE(b->tag));
    b->end_ns = now_ns + net->there_ns + net->back_ns;
    if (batch_schedule(net, vc, b) != 0) {
      b->count += reset;
      batch_end(net, b, LBSIM_RESULT_RESET, now_ns);
      continue;
    }
    if (reset > 0)
      report_done(net, &req, LBSIM_RESULT_RESET, now_ns, reset);
  }
}

void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns) {
  if (lbsim_copy_sync(&net->copies[i].copy, now_ns) < 0)
    end_pending(net, i, true, now_ns);
}

void lbsim_vnet_cancel_all(lbsim_vnet_t *net) {
  for (uint32_t i = 0; i < net->n; i++) {
    /* No answer is on its way any more: nobody is waiting for its report. */
    lbsim_load_clear(&net->copies[i].copy.load, net->engine->now_ns);
    end_pending(net, i, false, net->engine->now_ns);
  }
}

void lbsim_vnet_track_loads(lbsim_vnet_t *net, bool reports, uint64_t board_period_ns) {
  net->track_loads = true;
  net->report_loads = reports;
  for (uint32_t i = 0; i < net->n && board_period_ns > 0; i++)
    lbsim_load_board(&net->copies[i].copy.load, board_period_ns);
}

lbsim_load_t *lbsim_vnet_load(lbsim_vnet_t *net, uint32_t i) {
  return &net->copies[i].copy.load;
}

void lbsim_vnet_free(lbsim_vnet_t *net) {
  /* A run stopped early leaves answers due: their timers go first. */
  if (net->engine != NULL)
    lbsim_timers_cancel(&net->engine->timers, &net->merge);
  for (uint32_t i = 0; i < net->n; i++) {
    lbsim_vcopy_t *vc = &net->copies[i];
    lbsim_queue_t *q;
    lbsim_queue_foreach(q, &vc->others) {
      lbsim_timers_cancel(&net->engine->timers, &LBSIM_CONTAINER_OF(q, lbsim_vbatch_t, link)->timer);
    }
    lbsim_copy_free(&vc->copy);
  }
  if (net->idles != NULL)
    for (size_t k = 0; k < (size_t)net->nclients * net->per_client; k++)
      if (net->idles[k].runs != &net->idles[k].one)
        free(net->idles[k].runs);
  free(net->idles);
  net->idles = NULL;
  free(net->open);
  net->open = NULL;
  net->nopen = 0;
  free(net->copies_block);
  net->copies_block = NULL;
  free(net->head_end);
  free(net->head_seq);
  free(net->heads);
  free(net->winner);
  net->copies = NULL;
  net->head_end = net->head_seq = NULL;
  net->heads = NULL;
  net->winner = NULL;
  while (net->slabs) {
    batch_slab_t *slab = net->slabs;
    net->slabs = slab->next;
    free(slab->block);
  }
  net->free_batches = NULL;
  net->nslabs = 0;
  free(net->reports);
  net->reports = NULL;
  free(net->tickets);
  net->tickets = NULL;
  net->ntickets = 0;
}

void lbsim_vnet_conns(lbsim_vnet_t *net, uint32_t *out) {
  uint64_t now = net->engine->now_ns;
  memset(out, 0, net->n * sizeof(*out));
  uint32_t kept = 0;
  for (uint32_t k = 0; k < net->nopen; k++) {
    uint32_t ring = net->open[k];
    uint32_t i = net->subsets ? net->subsets[ring] : ring % net->per_client;
    lbsim_vidles_t *r = &net->idles[ring];
    conn_close_idle(net, &net->copies[i], r, now); /* as the next request would: those left are open */
    if (r->nruns == 0) {
      r->listed = 0;
      continue;
    }
    for (uint32_t j = 0; j < r->nruns; j++)
      out[i] += idle_at(r, j)->count;
    net->open[kept++] = ring;
  }
  net->nopen = kept;
}
