/* The balancer's HTTP client: a keep-alive connection pool per backend on the
 * loop, one request per connection at a time, a deadline per request
 * covering connect, send and the whole response.
 *
 * Only when `max_total` connections (the descriptor budget) are open and
 * none is idle are requests pipelined, up to `max_pipeline` per connection,
 * rather than left waiting for a whole round trip; one whose connection
 * closes before its answer goes again once.
 *
 * Each backend has a pool: idle connections are reused (most recently used
 * first) and closed after `idle_ms`; at most `pool_size` connections exist
 * per backend (0: no cap), and requests beyond it wait in a FIFO queue.
 * A request that finds the reused connection closed by the server before any
 * response byte is retried once on a fresh connection (the keep-alive race),
 * and is not a failure. Every submitted request ends in exactly one on_done.
 *
 * A backend may have several addresses (a name that resolves to ::1 and
 * 127.0.0.1): a new connection goes to the one that last connected (the
 * first, to begin with); when its connect fails (refused, unreachable, no
 * IPv6), the same request goes on to the next address, round the list, each
 * at most once and within the request's deadline, and fails as CONNECT only
 * when every address has failed. */
#ifndef LBSIM_CLIENT_H
#define LBSIM_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/balancer/balancer.h"
#include "lbsim/base/queue.h"
#include "lbsim/balancer/result.h"
#include "lbsim/net/sched.h"
#include "lbsim/base/url.h"

typedef struct lbsim_client_s lbsim_client_t;
typedef struct lbsim_creq_s lbsim_creq_t;

struct lbsim_creq_s {
  lbsim_request_t base;       /* the balancer's request: backend, start_ns, ... */
  uint64_t deadline_ns;
  lbsim_queue_t node;         /* in the pool's queue, behind a request on a connection, or free */
  struct lbsim_cconn_s *conn;
  bool retried;
  bool fresh_only;            /* the retry: never on a reused connection */
  uint32_t addr_tries;        /* addresses tried for its connection */
};

typedef void (*lbsim_client_closed_cb)(lbsim_client_t *client);

typedef struct lbsim_client_config_s {
  uint32_t pool_size;         /* connections per backend; 0 = no cap */
  uint32_t max_total;         /* connections over all backends; 0 = no cap */
  uint32_t max_connecting;    /* connects under way per backend (keeps listen backlogs from overflowing) */
  uint32_t max_pipeline;      /* requests per connection once max_total is reached (< 2: no pipelining) */
  uint64_t timeout_ns;        /* per request */
  uint64_t idle_ns;           /* idle connections are closed after this */
} lbsim_client_config_t;

typedef struct lbsim_pool_s lbsim_pool_t;

struct lbsim_client_s {
  lbsim_transport_t transport;  /* how a balancer uses it; completions go to transport.on_done */
  uv_loop_t *loop;
  lbsim_sched_t *sched;
  lbsim_client_config_t config;
  lbsim_pool_t *pools;
  uint32_t npools;

  uint32_t nconns;            /* open connections, every backend */
  lbsim_queue_t lru;          /* idle connections of every backend, newest first */
  lbsim_queue_t starved;      /* pools waiting for room under max_total, in order */
  bool unstarving;
  lbsim_queue_t free_reqs;    /* recycled requests */
  void *slabs;                /* their memory */
  uint64_t in_flight;         /* submitted, not yet done */
  uint32_t open_handles;
  bool closing;
  lbsim_client_closed_cb on_closed;

  uint64_t connects;          /* connections opened */
  uint64_t retries;           /* keep-alive races retried, pipelined requests sent again */
  uint64_t pipelined;         /* requests sent behind another on a busy connection */
  uint64_t fallbacks;         /* connects that failed at one address and went on to the next */
};

/* A pool for each of the `n` backends: urls[subset[i]] for pool i (subset
 * NULL: urls[i]); a request goes to the pool of its pick (base.pick).
 * Their addresses must be resolved with lbsim_client_set_addresses before
 * the first request. */
int lbsim_client_init(lbsim_client_t *client, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_client_config_t *config,
                      const lbsim_url_t *urls, const uint32_t *subset, uint32_t n);
/* The backend's addresses in the order to try them (IPv4 and IPv6 kept,
 * duplicates dropped); UV_EAFNOSUPPORT when none is usable. */
int lbsim_client_set_addresses(lbsim_client_t *client, uint32_t backend, const struct sockaddr *const *addrs,
                               uint32_t n);
int lbsim_client_set_address(lbsim_client_t *client, uint32_t backend, const struct sockaddr *addr);
/* A request object to fill (base.backend, base.start_ns) and submit. */
lbsim_creq_t *lbsim_client_request(lbsim_client_t *client);
void lbsim_client_submit(lbsim_client_t *client, lbsim_creq_t *req);
/* Fails every request still waiting for a connection with CANCELLED. */
void lbsim_client_cancel_queued(lbsim_client_t *client);
/* Cancels everything and closes every handle; on_closed runs when done. */
void lbsim_client_close(lbsim_client_t *client, lbsim_client_closed_cb on_closed);
/* Frees memory once closed (after on_closed). */
void lbsim_client_free(lbsim_client_t *client);
/* Connections to `backend` now: open (connecting, busy or idle), idle. */
void lbsim_client_pool_counts(const lbsim_client_t *client, uint32_t backend, uint32_t *open, uint32_t *idle);

#endif
