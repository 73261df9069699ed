/* The virtual clock: a discrete-event engine on simulated nanoseconds, and
 * the transport that carries a balancer's requests to the model copies
 * without a socket.
 *
 * The engine keeps every pending timer in the clock's heap (clock.h) and
 * runs them in the order of their key: the due time, then the order class
 * (scripted changes, drift, request ends, traffic, intervals), then the
 * order in which they were set. Time jumps from one due time to the next; a
 * timer set for "now" runs after the one that set it. Nothing reads the
 * wall clock, so a run is a function of its options and its seed.
 *
 * The network (lbsim_vnet_t) stands for the HTTP client and the sockets: a
 * request reaches its backend's copy net_delay/2 after the pick, is served
 * as the copy's model says (the same lbsim_copy_serve as on sockets), and
 * its answer is back net_delay/2 after the copy is done. A backend that is
 * down refuses at once (connect); a stalled one never answers (timeout at
 * the deadline); an outage resets what is in flight to it (reset).
 * Requests that would end at the same instant with the same outcome (a
 * burst to one backend, without jitter) travel as one event. */
#ifndef LBSIM_ENGINE_H
#define LBSIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer.h"
#include "lbsim/clock.h"
#include "lbsim/model.h"
#include "lbsim/queue.h"

typedef struct lbsim_engine_s {
  lbsim_clock_t clock;          /* the virtual clock, as the models use it */
  lbsim_timers_t timers;
  uint64_t now_ns;
  uint64_t events;              /* timers run */
  bool stopped;
  volatile int *interrupt;      /* when set and non-zero: on_interrupt runs once */
  void (*on_interrupt)(struct lbsim_engine_s *engine);
} lbsim_engine_t;

void lbsim_engine_init(lbsim_engine_t *engine, uint64_t start_ns);
void lbsim_engine_free(lbsim_engine_t *engine);
/* Runs timers in key order until none is left or lbsim_engine_stop. */
void lbsim_engine_run(lbsim_engine_t *engine);
void lbsim_engine_stop(lbsim_engine_t *engine);

/* ---- the network -------------------------------------------------------------- */

typedef struct lbsim_vbatch_s lbsim_vbatch_t;

/* A copy of a backend under the virtual clock, and what is in flight to it.
 * Answers mostly come back in the order the requests went out (a FIFO
 * queue, a latency that changes seldom): those wait in `fifo`, and only its
 * head is in the engine's heap, under the copy's own timer. A batch that
 * would end before the last one of the FIFO (the latency just dropped, or
 * jitter) gets a timer of its own. Either way it keeps the sequence number
 * it was sent with, so the order of events is the same as if every batch
 * were in the heap. */
typedef struct lbsim_vcopy_s {
  lbsim_copy_t copy;
  lbsim_queue_t fifo;           /* batches in the order they end */
  lbsim_queue_t others;         /* batches with a timer of their own */
  lbsim_timer_t head;           /* the end of the FIFO's first batch */
  lbsim_vbatch_t *last;         /* the newest, which a request alike may join */
} lbsim_vcopy_t;

typedef struct lbsim_vnet_s {
  lbsim_transport_t transport;  /* how its balancer uses it */
  lbsim_engine_t *engine;
  lbsim_vcopy_t *copies;
  uint32_t n;
  uint64_t there_ns, back_ns;   /* the network delay, split either way */
  uint64_t timeout_ns;
  lbsim_request_t scratch;      /* the request being filled */
  lbsim_vbatch_t *free_batches;
  void *slabs;
  uint64_t in_flight;
} lbsim_vnet_t;

/* Copies of `n` models for one balancer. 0, or LBSIM_ENOMEM. */
int lbsim_vnet_init(lbsim_vnet_t *net, lbsim_engine_t *engine, const lbsim_model_t *models, uint32_t n,
                    uint64_t seed, double net_delay_ms, double timeout_s);
/* Takes in a change of backend `i`'s model: a new capacity, an outage
 * (what is in flight to it ends as reset now), a recovery. */
void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns);
/* Ends everything in flight as cancelled. */
void lbsim_vnet_cancel_all(lbsim_vnet_t *net);
void lbsim_vnet_free(lbsim_vnet_t *net);

#endif
