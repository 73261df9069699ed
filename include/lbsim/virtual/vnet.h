/* The virtual network: the transport that carries a balancer's requests to
 * the model copies on the virtual clock (engine.h), without a socket.
 *
 * It stands for the HTTP client and the sockets: a
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
 * without jitter) travel as one event; a retry (a request with a ticket,
 * balancer/tools.h) travels alone, its ticket beside it. A request's own
 * deadline (req.deadline_ns, a user request's deadline) replaces pick +
 * --timeout when it is set.
 *
 * When asked (lbsim_vnet_track_loads), the network also keeps each copy's
 * load (model/load.h): a request arrives at its copy net_delay/2 after the
 * pick, and its answer is ready when the copy says; one that never is
 * (a stalled backend) leaves when its client's close arrives, net_delay/2
 * after the deadline. An answer's report is the copy's state at the
 * instant its answer was ready, which the batch keeps until it is back. */
#ifndef LBSIM_VNET_H
#define LBSIM_VNET_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/base/clock.h"
#include "lbsim/base/queue.h"
#include "lbsim/model/model.h"
#include "lbsim/virtual/engine.h"

/* What a batch of requests in flight takes (lbsim_vbatch_t): the unit of
 * the memory budget (engine.h, --memory). */
#define LBSIM_VNET_BATCH_BYTES 128

typedef struct lbsim_vbatch_s lbsim_vbatch_t;

/* Connections of a client that became idle at one instant. */
typedef struct lbsim_vidle_s {
  uint64_t since_ns;
  uint32_t count;
  uint32_t outages;             /* the backend's outages then: a later one closed them */
} lbsim_vidle_t;

/* A client's idle keep-alive connections to one backend, by when they
 * became idle, oldest first (a ring of runs, its capacity a power of two);
 * closed after --client-idle. Most hold one run at most: it lives inline
 * (`one`), and only a longer ring is allocated. */
typedef struct lbsim_vidles_s {
  lbsim_vidle_t one;
  lbsim_vidle_t *runs;          /* &one while cap is 1; NULL while 0 */
  uint32_t first, nruns, cap;
  uint32_t listed;              /* in the vnet's `open` list */
} lbsim_vidles_t;

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
  uint32_t outages;             /* how often the backend went down: each reset every connection */
  /* The common case of lbsim_copy_serve, kept here: while the model is at
   * generation fast_generation (0: none), the copy is up and every request
   * is served at once in service_ns, with success. */
  const lbsim_model_t *model;
  uint64_t fast_generation;
  uint64_t service_ns;
  /* The rest */
  _Alignas(64) lbsim_copy_t copy;
  lbsim_queue_t others;         /* batches with a timer of their own */
} lbsim_vcopy_t;

typedef struct lbsim_vnet_s {
  lbsim_transport_t transport;  /* how the clients of its fleet use it */
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
  lbsim_vidles_t *idles;        /* per client and backend of the client: nclients x per_client */
  uint32_t *open;               /* the rings that may hold idle connections, by index: counting */
  uint32_t nopen;               /* ... them costs what is open, not how many clients there are */
  uint32_t nclients, per_client;
  const uint32_t *subsets;      /* nclients x per_client backends, or NULL: all, in order */
  lbsim_request_t scratch;      /* the request being filled */
  lbsim_vbatch_t *free_batches;
  void *slabs;
  uint32_t nslabs;
  uint64_t in_flight;
  /* The backends' load (model/load.h), kept only when something reads it:
   * the answers' reports (--load-reports), or a board (--load-board). */
  bool track_loads;
  bool report_loads;
  lbsim_load_report_t *reports; /* per batch (its id): what its backend wrote with its answers */
  uint32_t *tickets;            /* per batch (its id), once a retry is sent: a retry's ticket */
  size_t ntickets;
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

/* Copies of `n` models for one fleet of `nclients` clients, each sending
 * to `per_client` backends of its own (the request's pick; `subsets` says
 * which, as the fleet does, or NULL: all of them) and keeping its
 * own connections to them: the network delay of a request (both ways) and
 * how much an answer's trip back varies (0: not at all, 1: uniformly
 * between none and twice its mean; requests alike, a burst of one client to
 * one backend, vary alike), the client's deadline, how long a client keeps
 * an idle connection open. 0, or LBSIM_ENOMEM. */
int lbsim_vnet_init(lbsim_vnet_t *net, lbsim_engine_t *engine, const lbsim_model_t *models, uint32_t n,
                    uint32_t nclients, uint32_t per_client, const uint32_t *subsets, uint64_t seed, double net_delay_ms,
                    double spread, double timeout_s, double client_idle_s);
/* Connections open to each backend (n values): requests in flight on one,
 * and idle ones not yet closed. */
void lbsim_vnet_conns(lbsim_vnet_t *net, uint32_t *out);
/* Takes in a change of backend `i`'s model: a new capacity, an outage
 * (what is in flight to it ends as reset now), a recovery. */
void lbsim_vnet_sync(lbsim_vnet_t *net, uint32_t i, uint64_t now_ns);
/* Ends everything in flight as cancelled. */
void lbsim_vnet_cancel_all(lbsim_vnet_t *net);
/* The copies keep their load from now on (before the first request): each
 * answer carries its backend's report (`reports`), and/or each copy keeps a
 * board refreshed every board_period_ns (0: none). */
void lbsim_vnet_track_loads(lbsim_vnet_t *net, bool reports, uint64_t board_period_ns);
/* Copy i's load. */
lbsim_load_t *lbsim_vnet_load(lbsim_vnet_t *net, uint32_t i);
/* Before the engine: what is still in flight leaves its heap. */
void lbsim_vnet_free(lbsim_vnet_t *net);

#endif
