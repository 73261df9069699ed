/* The virtual clock: a discrete-event engine on simulated nanoseconds, and
 * the transport that carries a balancer's requests to the model copies
 * without a socket.
 *
 * The order of events. The engine keeps every pending timer in the clock's
 * heap (clock.h) and always runs the one of least key
 *
 *     (due time in ns, order class, sequence number)
 *
 * Time jumps from one due time to the next. At one instant the order
 * classes run in this order (lbsim_order_t):
 *
 *     1. CHANGE      scripted changes (scenario, replay)
 *     2. DRIFT       drift steps, every backend in index order
 *     3. COMPLETION  requests ending: answers, timeouts at their deadline,
 *                    refused connects
 *     4. TRAFFIC     a round starting after its pause, a Poisson arrival
 *     5. REPORT      an interval ending, a sample for --report
 *
 * so a request launched at the instant of a change already sees it, and an
 * interval ending at the instant of an answer counts it. Within a class, the
 * sequence number is the order in which the timers were set (a timer set
 * again takes a new one). A timer set from a callback for the current
 * instant, or for the past, runs at the current instant at its place in
 * that order: after the callback that set it, before any pending timer of a
 * greater key. Requests of one batch (below) end in one callback, at the
 * place of the batch's first request.
 *
 * Nothing reads the wall clock and every random draw comes from a seeded
 * stream, so a run is a function of its options and its seed: the same
 * options print the same bytes.
 *
 * A callback runs while its timer is still at the top of the heap (setting
 * it again from there costs one move down). A callback that frees or reuses
 * the memory of its own timer must cancel that timer first.
 *
 * The network (lbsim_vnet_t) stands for the HTTP client and the sockets: a
 * request reaches its backend's copy net_delay/2 after the pick, is served
 * as the copy's model says (the same lbsim_copy_serve as on sockets), and
 * its answer is back net_delay/2 after the copy is done. A backend that is
 * down refuses the connect after the round trip, net_delay (connect); a
 * stalled one never answers (timeout at the deadline, pick + --timeout); an
 * answer that would be back after the deadline is a timeout at the
 * deadline. The network keeps the client's account of keep-alive
 * connections (idle ones close after --client-idle): an outage ends what is
 * in flight to the backend at that instant, in the order sent, a request
 * on a new connection as reset, one on a connection that had carried
 * another is sent again on a new one, as the client does after a
 * keep-alive race, and refused a round trip later. Requests that would end
 * at the same instant with the same outcome (a burst to one backend,
 * without jitter) travel as one event. */
#ifndef LBSIM_ENGINE_H
#define LBSIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/base/clock.h"
#include "lbsim/model/model.h"
#include "lbsim/base/queue.h"

/* Events at one instant beyond which time is taken to stand still: a
 * closed loop of requests that take no time (--net-delay 0 with a latency
 * of 0, or a backend that refuses) would otherwise never end. Far above
 * what one instant holds in a real run (a batch per backend and policy). */
#define LBSIM_ENGINE_MAX_AT_ONE_INSTANT (UINT64_C(1) << 24)
/* Requests sent at one instant beyond which time is taken to stand still,
 * as a count of traffic units (a round's burst, a closed loop's
 * concurrency, one arrival, times the balancers: lbsim_engine_limit):
 * rounds that take no time would otherwise repeat at one instant for ever,
 * each of them a few events only. At most about a second's work, and never
 * less than two rounds. */
#define LBSIM_ENGINE_UNITS_AT_ONE_INSTANT 1000
#define LBSIM_ENGINE_REQUESTS_AT_ONE_INSTANT (UINT64_C(1) << 22)
/* What a batch of requests in flight takes (lbsim_vbatch_t), as the memory
 * budget counts it. */
#define LBSIM_ENGINE_BATCH_BYTES 128

typedef struct lbsim_engine_s {
  lbsim_clock_t clock;          /* the virtual clock, as the models use it */
  lbsim_timers_t timers;
  uint64_t now_ns;
  uint64_t events;              /* timers run */
  uint64_t at_instant;          /* of them, run at now_ns */
  uint64_t max_at_instant;      /* LBSIM_ENGINE_MAX_AT_ONE_INSTANT */
  uint64_t requests_at_instant; /* requests sent at now_ns */
  uint64_t max_requests_at_instant; /* lbsim_engine_limit; UINT64_MAX: none */
  /* The memory budget of the simulated state: the batches of requests in
   * flight, counted as the network allocates them, never the process's
   * size, so that a run stops at the same point on every machine. */
  uint64_t state_bytes, max_state_bytes; /* max: UINT64_MAX, none */
  bool over_budget;             /* a batch was refused for the budget */
  bool stuck;                   /* time stood still: the run was stopped */
  bool out_of_memory;           /* the budget (or the system) had no room: the run was stopped */
  bool stopped;
  volatile int *interrupt;      /* when set and non-zero: on_interrupt runs once */
  void (*on_interrupt)(struct lbsim_engine_s *engine);
} lbsim_engine_t;

void lbsim_engine_init(lbsim_engine_t *engine, uint64_t start_ns);
void lbsim_engine_free(lbsim_engine_t *engine);
/* The run's limits: `unit` requests make a unit of traffic (a round's
 * requests over every balancer, ...), `budget_bytes` the memory budget. */
void lbsim_engine_limit(lbsim_engine_t *engine, uint64_t unit, uint64_t budget_bytes);
/* Runs timers in key order until none is left or lbsim_engine_stop, or
 * time stands still (`stuck`), or the requests in flight outgrow the
 * memory budget (`out_of_memory`); either with one message on stderr. */
void lbsim_engine_run(lbsim_engine_t *engine);
void lbsim_engine_stop(lbsim_engine_t *engine);

/* ---- the network -------------------------------------------------------------- */

typedef struct lbsim_vbatch_s lbsim_vbatch_t;

/* Connections of the client that became idle at one instant. */
typedef struct lbsim_vidle_s {
  uint64_t since_ns;
  uint32_t count;
} lbsim_vidle_t;

/* A copy of a backend under the virtual clock, and what is in flight to it.
 * Answers mostly come back in the order the requests went out (a FIFO
 * queue, a latency that changes seldom): those wait in a FIFO (its head is
 * in the network's `heads`). A batch that would end before the last one of
 * the FIFO (the latency just dropped, or jitter) gets a timer of its own.
 * Either way it keeps the sequence number it was sent with, so the order of
 * events is the same as if every batch were in the heap. */
typedef struct lbsim_vcopy_s {
  /* What sending a request and ending one read, in one cache line. */
  _Alignas(64) lbsim_vbatch_t *last; /* the newest batch, which a request alike may join */
  lbsim_vbatch_t *fifo_tail;    /* the FIFO's last batch (NULL: empty) */
  /* The client's idle keep-alive connections to the copy, by when they
   * became idle, oldest first (a ring of runs); closed after --client-idle. */
  lbsim_vidle_t *idle;
  uint32_t idle_first, idle_runs, idle_cap;
  /* The common case of lbsim_copy_serve, kept here: while the model is at
   * generation fast_generation (0: none), the copy is up and every request
   * is served at once in service_ns, with success. */
  const lbsim_model_t *model;
  uint64_t fast_generation;
  uint64_t service_ns;
  /* The rest */
  lbsim_copy_t copy;
  lbsim_queue_t others;         /* batches with a timer of their own */
} lbsim_vcopy_t;

typedef struct lbsim_vnet_s {
  lbsim_transport_t transport;  /* how its balancer uses it */
  lbsim_engine_t *engine;
  lbsim_vcopy_t *copies;        /* aligned to cache lines */
  void *copies_block;           /* what malloc gave, to free */
  uint32_t n;
  /* The copies' FIFOs, merged: a tournament tree over the copies' heads
   * (`leaves`, n rounded up to a power of two; an empty FIFO's key is
   * LBSIM_NEVER). Node k (1 the root) has children 2k and 2k + 1, copy i is
   * node leaves + i, and each node holds the copy whose head ends first
   * below it (on equal ends, the one sent first). Only the first of all is in the engine's heap, under `merge`:
   * a heap of a thousand FIFO heads would move a thousand timers about. */
  uint64_t *head_end, *head_seq; /* per copy: the key of the FIFO's first batch */
  lbsim_vbatch_t **heads;       /* per copy: the FIFO's first batch */
  uint32_t *winner;             /* per node */
  uint32_t leaves;
  lbsim_timer_t merge;
  uint64_t there_ns, back_ns;   /* the network delay, split either way */
  uint64_t spread_ns;           /* an answer's trip back varies by up to this, either way */
  uint64_t spread_key;          /* ... as a hash keyed by the seed says */
  uint64_t timeout_ns;
  uint64_t idle_ns;             /* the client's keep-alive idle time */
  lbsim_request_t scratch;      /* the request being filled */
  lbsim_vbatch_t *free_batches;
  void *slabs;
  uint64_t in_flight;
} lbsim_vnet_t;

/* How much an answer's trip back varies, as a share of its mean
 * (net_delay/2), for requests sent one by one (--rate, --concurrency): on
 * loopback, a lone request's cost varies by tens of microseconds around its
 * 0.1 ms, enough that backends of equal latency are never measured exactly
 * alike, and a policy that takes the lowest estimate spreads its traffic
 * among them. In rounds the virtual clock sends a burst at one instant and
 * its trips do not vary: on sockets the answers of a burst differ by their
 * place in it (the first picked wait for the rest to be sent), the herd's
 * last answers measure lowest and a herd on tied backends stays where it
 * is; a random draw per batch would move it every round. */
#define LBSIM_NET_SPREAD 1.0

/* Copies of `n` models for one balancer: the network delay of a request
 * (both ways) and how much an answer's trip back varies (0: not at all,
 * 1: uniformly between none and twice its mean; requests alike, a burst to
 * one backend, vary alike), the client's deadline, how long the client
 * keeps an idle connection open. 0, or LBSIM_ENOMEM. */
int lbsim_vnet_init(lbsim_vnet_t *net, lbsim_engine_t *engine, const lbsim_model_t *models, uint32_t n,
                    uint64_t seed, double net_delay_ms, double spread, double timeout_s, double client_idle_s);
/* Takes in a change of backend `i`'s model: a new capacity, an outage
 * (what is in flight to it ends as reset now), a recovery. */
void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns);
/* Ends everything in flight as cancelled. */
void lbsim_vnet_cancel_all(lbsim_vnet_t *net);
/* Before the engine: what is still in flight leaves its heap. */
void lbsim_vnet_free(lbsim_vnet_t *net);

#endif
