/* The balancer's HTTP client: pools, connections, deadlines. See lbsim/net/client.h. */
#include "lbsim/net/client.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hresp.h"
#include "lbsim/net/http/orca.h"
#include "lbsim_version.h"

#define READ_BUFFER_SIZE 65536
#define REQUEST_SLAB 256

typedef struct lbsim_cconn_s lbsim_cconn_t;

struct lbsim_cconn_s {
  uv_tcp_t tcp;
  lbsim_sched_entry_t wake;   /* the request's deadline, or the idle expiry */
  uv_connect_t connect_req;
  lbsim_hresp_t resp;
  lbsim_pool_t *pool;
  lbsim_creq_t *req;          /* in progress; NULL when idle */
  lbsim_queue_t behind;       /* requests pipelined after req, sent */
  uint32_t depth;             /* requests on the connection: req and those behind */
  lbsim_queue_t in_pool;      /* the pool's list of every connection */
  lbsim_queue_t in_idle;      /* the pool's idle connections */
  lbsim_queue_t in_lru;       /* the client's idle connections */
  uint64_t idle_deadline_ns;
  uint32_t served;            /* complete responses on this connection */
  uint32_t addr;              /* the pool's address it connects to */
  bool connected;
  bool connecting;
  bool idle;
  bool closing;
};

struct lbsim_pool_s {
  lbsim_client_t *client;
  uint32_t index;
  struct sockaddr_storage *addrs; /* in order; `one` when there is only one */
  struct sockaddr_storage one;
  uint32_t naddrs;
  uint32_t current;           /* the address that last connected: new connections start there */
  char *request;              /* the GET, formatted once */
  size_t request_len;
  char *probe;                /* the same host's GET /probe */
  size_t probe_len;
  lbsim_queue_t conns;
  lbsim_queue_t idle;         /* most recently used first */
  uint32_t nconns, nidle, nconnecting;
  lbsim_queue_t queue;        /* requests waiting for a connection */
  lbsim_sched_entry_t queue_wake; /* the oldest queued request's deadline */
  lbsim_queue_t in_starved;   /* in the client's list of pools waiting for max_total */
  lbsim_cconn_t *pipe_cursor; /* where the search for a connection to pipeline on goes on */
};

/* How many connections one search for a connection to pipeline on looks
 * at: it stays O(1) per request, and walks round the pool. */
#define PIPELINE_SCAN 16

static char read_buffer[READ_BUFFER_SIZE];

#define REQ_OF(node) LBSIM_CONTAINER_OF(node, lbsim_creq_t, node)
#define CONN_OF(node, field) LBSIM_CONTAINER_OF(node, lbsim_cconn_t, field)

/* The first request of a list of them, or NULL. */
static lbsim_creq_t *first_req(const lbsim_queue_t *q) {
  lbsim_queue_t *node = lbsim_queue_head(q);
  return node ? REQ_OF(node) : NULL;
}

/* The pool's FIFO of requests waiting for a connection. */
static lbsim_creq_t *queue_pop(lbsim_pool_t *pool) {
  lbsim_creq_t *req = first_req(&pool->queue);
  lbsim_queue_remove(&req->node);
  return req;
}

/* Puts a list of requests back at the front of the pool's queue, in order. */
static void requeue_front(lbsim_pool_t *pool, lbsim_queue_t *again) {
  lbsim_queue_t *node;
  while ((node = lbsim_queue_tail(again)) != NULL) {
    lbsim_queue_remove(node);
    lbsim_queue_insert_head(&pool->queue, node);
  }
}

/* Ends every request still waiting in the pool's queue. */
static void queue_fail_all(lbsim_pool_t *pool, lbsim_result_t result);

static void pool_pump(lbsim_pool_t *pool);
static void conn_start(lbsim_cconn_t *c, lbsim_creq_t *req);
static void conn_open_to(lbsim_pool_t *pool, lbsim_creq_t *req, uint32_t addr);

/* ---- requests ----------------------------------------------------------- */

/* Requests come from slabs that live as long as the client: the first
 * burst allocates, later ones reuse. */
typedef struct req_slab_s {
  struct req_slab_s *next;
  lbsim_creq_t reqs[REQUEST_SLAB];
} req_slab_t;

lbsim_creq_t *lbsim_client_request(lbsim_client_t *client) {
  if (lbsim_queue_empty(&client->free_reqs)) {
    req_slab_t *slab = malloc(sizeof(*slab));
    if (slab == NULL)
      return NULL;
    slab->next = client->slabs;
    client->slabs = slab;
    for (int i = 0; i < REQUEST_SLAB; i++)
      lbsim_queue_insert_tail(&client->free_reqs, &slab->reqs[i].node);
  }
  lbsim_creq_t *req = first_req(&client->free_reqs);
  lbsim_queue_remove(&req->node);
  memset(req, 0, sizeof(*req));
  lbsim_queue_init(&req->node);
  return req;
}

static void finish(lbsim_client_t *client, lbsim_creq_t *req, lbsim_result_t result) {
  uint64_t now = uv_hrtime();
  req->conn = NULL;
  client->in_flight--;
  client->transport.on_done(client->transport.done_data, &req->base, result, now, 1);
  lbsim_queue_insert_head(&client->free_reqs, &req->node);
}

/* ---- connections -------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *handle) {
  lbsim_cconn_t *c = handle->data;
  lbsim_client_t *client = c->pool->client;
  free(c);
  if (--client->open_handles == 0 && client->closing && client->on_closed)
    client->on_closed(client);
}

static void idle_add(lbsim_cconn_t *c) {
  lbsim_pool_t *pool = c->pool;
  lbsim_client_t *client = pool->client;
  c->idle = true;
  lbsim_queue_insert_head(&pool->idle, &c->in_idle);
  pool->nidle++;
  lbsim_queue_insert_head(&client->lru, &c->in_lru);
}

static void idle_remove(lbsim_cconn_t *c) {
  if (!c->idle)
    return;
  lbsim_queue_remove(&c->in_lru);
  lbsim_queue_remove(&c->in_idle);
  c->idle = false;
  c->pool->nidle--;
}

/* Requests pipelined behind the one in progress were sent but will get no
 * answer on this connection: they go again, first in line, on a fresh
 * connection (GET is idempotent), once; a second time they fail. */
static void conn_drop_behind(lbsim_cconn_t *c) {
  lbsim_pool_t *pool = c->pool;
  lbsim_client_t *client = pool->client;
  lbsim_queue_t again;
  lbsim_queue_init(&again);
  c->depth = c->req ? 1 : 0;
  lbsim_creq_t *req;
  while ((req = first_req(&c->behind)) != NULL) {
    lbsim_queue_remove(&req->node);
    req->conn = NULL;
    if (client->closing || req->retried) {
      finish(client, req, client->closing ? LBSIM_RESULT_CANCELLED : LBSIM_RESULT_RESET);
    } else {
      req->retried = true;
      req->fresh_only = true;
      client->retries++;
      client->transport.resent++;
      lbsim_queue_insert_tail(&again, &req->node);
    }
  }
  requeue_front(pool, &again);
}

/* Closes a connection that carries no request in progress any more;
 * requests pipelined behind go back to the pool's queue. */
static void conn_close(lbsim_cconn_t *c) {
  if (c->closing)
    return;
  assert(c->req == NULL);
  c->closing = true;
  lbsim_pool_t *pool = c->pool;
  idle_remove(c);
  if (pool->pipe_cursor == c) {
    lbsim_queue_t *next = c->in_pool.next;
    pool->pipe_cursor = next == &pool->conns || next == &c->in_pool ? NULL : CONN_OF(next, in_pool);
  }
  lbsim_queue_remove(&c->in_pool);
  pool->nconns--;
  pool->client->nconns--;
  if (c->connecting) {
    c->connecting = false;
    pool->nconnecting--;
  }
  lbsim_sched_cancel(pool->client->sched, &c->wake);
  uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
  if (!lbsim_queue_empty(&c->behind))
    conn_drop_behind(c);
}

/* Ends the connection's request with `result` and closes the connection. */
static void conn_fail(lbsim_cconn_t *c, lbsim_result_t result) {
  lbsim_creq_t *req = c->req;
  lbsim_pool_t *pool = c->pool;
  c->req = NULL;
  conn_close(c);
  if (req)
    finish(pool->client, req, result);
  pool_pump(pool);
}

static void on_conn_wake(lbsim_sched_entry_t *entry, uint64_t now);

static void conn_arm(lbsim_cconn_t *c) {
  uint64_t due = c->req ? c->req->deadline_ns : c->idle_deadline_ns;
  if (lbsim_sched_no_later(c->pool->client->sched, &c->wake, due, on_conn_wake) != 0 && c->req)
    conn_fail(c, LBSIM_RESULT_CANCELLED);
}

static void on_conn_wake(lbsim_sched_entry_t *entry, uint64_t now) {
  lbsim_cconn_t *c = LBSIM_CONTAINER_OF(entry, lbsim_cconn_t, wake);
  if (c->req && now >= c->req->deadline_ns) {
    conn_fail(c, LBSIM_RESULT_TIMEOUT);
    return;
  }
  if (!c->req && now >= c->idle_deadline_ns) {
    conn_close(c);
    pool_pump(c->pool); /* a slot under max_total may be awaited */
    return;
  }
  conn_arm(c);
}

/* The connection finished a response it may carry another request after. */
static void conn_release(lbsim_cconn_t *c) {
  lbsim_pool_t *pool = c->pool;
  c->served++;
  c->req = NULL;
  lbsim_creq_t *next = first_req(&c->behind);
  if (next != NULL) {
    /* The next pipelined request's answer comes next. */
    lbsim_queue_remove(&next->node);
    c->depth--;
    c->req = next;
    lbsim_hresp_next(&c->resp);
    conn_arm(c);
    return;
  }
  c->depth = 0;
  lbsim_creq_t *head = first_req(&pool->queue);
  if (head != NULL && !head->fresh_only && !pool->client->closing) {
    conn_start(c, queue_pop(pool));
    return;
  }
  if (!lbsim_queue_empty(&pool->client->starved)) {
    /* Another backend waits for a connection under max_total: this one
     * goes, so that one can be opened there (pool_pump follows). */
    conn_close(c);
    return;
  }
  idle_add(c);
  c->idle_deadline_ns = uv_hrtime() + pool->client->config.idle_ns;
  conn_arm(c);
}

/* The server closed a reused connection before sending a byte of the
 * answer: the request goes again, first in line, on a fresh connection. */
static void conn_retry(lbsim_cconn_t *c) {
  lbsim_creq_t *req = c->req;
  lbsim_pool_t *pool = c->pool;
  c->req = NULL;
  conn_close(c);
  req->retried = true;
  req->fresh_only = true;
  req->conn = NULL;
  pool->client->retries++;
  pool->client->transport.resent++;
  lbsim_queue_insert_head(&pool->queue, &req->node);
  pool_pump(pool);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof(read_buffer));
}

static bool may_retry(const lbsim_cconn_t *c) {
  return c->req && !c->req->retried && c->served > 0 && c->resp.bytes == 0;
}

static void conn_complete(lbsim_cconn_t *c) {
  lbsim_creq_t *req = c->req;
  lbsim_pool_t *pool = c->pool;
  int status = c->resp.status;
  if (c->resp.capture_load) {
    if (lbsim_orca_from_response(&c->resp, &req->load, &req->base.no_report) == 0)
      req->base.report = &req->load;
  }
  bool reusable = c->resp.keep_alive && !c->resp.trailing;
  if (reusable) {
    conn_release(c);
  } else {
    c->req = NULL;
    conn_close(c);
  }
  finish(pool->client, req, status == 200 ? LBSIM_RESULT_OK : LBSIM_RESULT_STATUS);
  pool_pump(pool);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  lbsim_cconn_t *c = stream->data;
  if (nread == 0)
    return;
  if (c->req == NULL) {
    /* Bytes or a close on an idle connection: either way it cannot carry
     * another request. */
    conn_close(c);
    pool_pump(c->pool);
    return;
  }
  if (nread > 0) {
    /* One read may hold the ends of several pipelined answers. */
    const char *p = buf->base;
    size_t left = (size_t)nread;
    while (left > 0) {
      switch (lbsim_hresp_feed(&c->resp, p, left)) {
      case LBSIM_HRESP_DONE:
        p += c->resp.consumed;
        left -= c->resp.consumed;
        /* What follows is the next answer if a request was pipelined;
         * otherwise nobody asked for it. */
        if (!lbsim_queue_empty(&c->behind))
          c->resp.trailing = false;
        conn_complete(c);
        if (c->closing || c->req == NULL || left == 0)
          return;
        break;
      case LBSIM_HRESP_ERROR:
        conn_fail(c, LBSIM_RESULT_BAD_RESPONSE);
        return;
      case LBSIM_HRESP_MORE:
        return;
      }
    }
    return;
  }
  if (may_retry(c)) {
    conn_retry(c);
    return;
  }
  if (nread == UV_EOF && lbsim_hresp_eof(&c->resp) == LBSIM_HRESP_DONE) {
    c->resp.keep_alive = false; /* close-delimited */
    conn_complete(c);
    return;
  }
  conn_fail(c, LBSIM_RESULT_RESET);
}

typedef struct cwrite_s {
  uv_write_t req;
  lbsim_cconn_t *conn;
} cwrite_t;

static void on_write(uv_write_t *w, int status) {
  cwrite_t *cw = LBSIM_CONTAINER_OF(w, cwrite_t, req);
  lbsim_cconn_t *c = cw->conn;
  free(cw);
  if (status == 0 || c->closing || c->req == NULL)
    return;
  if (may_retry(c))
    conn_retry(c);
  else
    conn_fail(c, LBSIM_RESULT_RESET);
}

/* Sends `req` (a request to the URL's path, or a probe): one try_write;
 * the kernel takes it whole unless its buffer is full, and then the rest
 * goes through uv_write. */
static void conn_send(lbsim_cconn_t *c, const lbsim_creq_t *req) {
  lbsim_pool_t *pool = c->pool;
  char *text = req->base.probe ? pool->probe : pool->request;
  size_t len = req->base.probe ? pool->probe_len : pool->request_len;
  uv_buf_t buf = uv_buf_init(text, (unsigned int)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  if (n == UV_EAGAIN)
    n = 0;
  if (n < 0) {
    if (may_retry(c))
      conn_retry(c);
    else
      conn_fail(c, LBSIM_RESULT_RESET);
    return;
  }
  if ((size_t)n < len) {
    cwrite_t *cw = malloc(sizeof(*cw));
    buf = uv_buf_init(text + n, (unsigned int)(len - (size_t)n));
    if (cw == NULL) {
      conn_fail(c, LBSIM_RESULT_RESET);
      return;
    }
    cw->conn = c;
    if (uv_write(&cw->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
      free(cw);
      conn_fail(c, LBSIM_RESULT_RESET);
      return;
    }
  }
}

/* The address after `*addr` for a request whose connect failed there, as
 * long as it has not tried every address of the pool. */
static bool next_address(lbsim_pool_t *pool, lbsim_creq_t *req, uint32_t *addr) {
  if (req->addr_tries >= pool->naddrs)
    return false;
  *addr = *addr + 1 == pool->naddrs ? 0 : *addr + 1;
  pool->client->fallbacks++;
  return true;
}

static void on_connect(uv_connect_t *creq, int status) {
  lbsim_cconn_t *c = creq->data;
  if (c->closing)
    return; /* closed while connecting: the request has been dealt with */
  c->connecting = false;
  c->pool->nconnecting--;
  if (status != 0) {
    /* A reset here means the handshake was done and the server dropped the
     * connection at once: it was reached, so this is not a connect failure. */
    lbsim_pool_t *pool = c->pool;
    lbsim_creq_t *req = c->req;
    uint32_t addr = c->addr;
    if (status == UV_ECONNRESET || req == NULL || !next_address(pool, req, &addr)) {
      conn_fail(c, status == UV_ECONNRESET ? LBSIM_RESULT_RESET : LBSIM_RESULT_CONNECT);
      return;
    }
    /* Refused or unreachable there: the same request, the next address. */
    c->req = NULL;
    conn_close(c);
    conn_open_to(pool, req, addr);
    pool_pump(pool);
    return;
  }
  c->pool->current = c->addr;
  c->connected = true;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_fail(c, LBSIM_RESULT_CONNECT);
    return;
  }
  if (c->req)
    conn_send(c, c->req);
  pool_pump(c->pool); /* a connect slot is free */
}

static void conn_start(lbsim_cconn_t *c, lbsim_creq_t *req) {
  c->req = req;
  c->depth = 1;
  req->conn = c;
  lbsim_hresp_next(&c->resp);
  conn_arm(c);
  if (c->connected)
    conn_send(c, req);
}

/* Sends `req` on a busy connection, behind the requests already on it;
 * its deadline is watched once it is the one in progress. */
static void conn_pipeline(lbsim_cconn_t *c, lbsim_creq_t *req) {
  req->conn = c;
  lbsim_queue_insert_tail(&c->behind, &req->node);
  c->depth++;
  c->pool->client->pipelined++;
  conn_send(c, req);
}

/* A connection of the pool that can take one more pipelined request, or
 * NULL: connected, not closing, a request in progress, fewer than
 * max_pipeline on it. The search resumes where it stopped, so depth grows evenly. */
static lbsim_cconn_t *pool_find_pipeline(lbsim_pool_t *pool) {
  uint32_t max = pool->client->config.max_pipeline;
  lbsim_queue_t *first = lbsim_queue_head(&pool->conns);
  if (max < 2 || first == NULL)
    return NULL;
  lbsim_cconn_t *c = pool->pipe_cursor ? pool->pipe_cursor : CONN_OF(first, in_pool);
  for (int i = 0; i < PIPELINE_SCAN && i < (int)pool->nconns; i++) {
    lbsim_queue_t *after = c->in_pool.next;
    lbsim_cconn_t *next = CONN_OF(after == &pool->conns ? first : after, in_pool);
    if (c->connected && !c->closing && c->req && c->depth < max) {
      pool->pipe_cursor = next;
      return c;
    }
    c = next;
  }
  pool->pipe_cursor = c;
  return NULL;
}

/* Opens a connection for `req` to the pool's address `addr`. A connect that
 * fails goes on to the next address (here when it fails at once, in
 * on_connect when it fails later); when every address has failed, the
 * request ends (CONNECT). */
static void conn_open_to(lbsim_pool_t *pool, lbsim_creq_t *req, uint32_t addr) {
  lbsim_client_t *client = pool->client;
  assert(pool->naddrs > 0); /* lbsim_client_set_addresses first */
  for (;;) {
    lbsim_cconn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
      finish(client, req, LBSIM_RESULT_CONNECT);
      return;
    }
    c->pool = pool;
    c->addr = addr;
    lbsim_queue_init(&c->behind);
    lbsim_queue_init(&c->in_idle);
    lbsim_queue_init(&c->in_lru);
    uv_tcp_init(client->loop, &c->tcp);
    c->tcp.data = c->connect_req.data = c;
    client->open_handles++;
    lbsim_queue_insert_head(&pool->conns, &c->in_pool);
    pool->nconns++;
    client->nconns++;
    lbsim_hresp_init(&c->resp);
    c->resp.capture_load = client->config.load_reports;
    uv_tcp_nodelay(&c->tcp, 1);
    client->connects++;
    req->addr_tries++;
    int err = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&pool->addrs[addr], on_connect);
    if (err == 0) {
      c->connecting = true;
      pool->nconnecting++;
      conn_start(c, req);
      return;
    }
    /* No route, no IPv6, EMFILE and friends: no callback will come. */
    conn_close(c);
    if (!next_address(pool, req, &addr)) {
      finish(client, req, LBSIM_RESULT_CONNECT);
      return;
    }
  }
}

/* New connections go to the address that last connected, and from there
 * round the list. */
static void conn_open(lbsim_pool_t *pool, lbsim_creq_t *req) {
  req->addr_tries = 0;
  conn_open_to(pool, req, pool->current);
}

/* ---- pools -------------------------------------------------------------- */

static void on_queue_wake(lbsim_sched_entry_t *entry, uint64_t now);

static void queue_arm(lbsim_pool_t *pool) {
  lbsim_creq_t *head = first_req(&pool->queue);
  uint64_t due = head ? head->deadline_ns : LBSIM_NEVER;
  if (lbsim_sched_set(pool->client->sched, &pool->queue_wake, due, on_queue_wake) != 0) {
    /* Without a deadline the queue could wait for ever: give up on it. */
    queue_fail_all(pool, LBSIM_RESULT_CANCELLED);
  }
}

/* Queued requests expire in order: deadlines grow along the queue (a
 * retried request at the front is older than the rest). */
static void on_queue_wake(lbsim_sched_entry_t *entry, uint64_t now) {
  lbsim_pool_t *pool = LBSIM_CONTAINER_OF(entry, lbsim_pool_t, queue_wake);
  lbsim_creq_t *head;
  while ((head = first_req(&pool->queue)) != NULL && head->deadline_ns <= now)
    finish(pool->client, queue_pop(pool), LBSIM_RESULT_TIMEOUT);
  queue_arm(pool);
}

static bool pool_may_open(const lbsim_pool_t *pool) {
  const lbsim_client_config_t *cfg = &pool->client->config;
  return (cfg->pool_size == 0 || pool->nconns < cfg->pool_size) && pool->nconnecting < cfg->max_connecting;
}

static bool total_full(const lbsim_client_t *client) {
  return client->config.max_total > 0 && client->nconns >= client->config.max_total;
}

static void starve(lbsim_pool_t *pool) {
  lbsim_client_t *client = pool->client;
  if (!lbsim_queue_linked(&pool->in_starved))
    lbsim_queue_insert_tail(&client->starved, &pool->in_starved);
}

/* Pools that waited for max_total get the room that has freed up, in the
 * order they started waiting. */
static void unstarve(lbsim_client_t *client) {
  if (client->unstarving)
    return;
  client->unstarving = true;
  lbsim_queue_t *node;
  while ((node = lbsim_queue_head(&client->starved)) != NULL && !total_full(client)) {
    lbsim_queue_remove(node);
    pool_pump(LBSIM_CONTAINER_OF(node, lbsim_pool_t, in_starved));
  }
  client->unstarving = false;
}

/* Hands queued requests to idle connections or new ones while it can. */
static void pool_pump(lbsim_pool_t *pool) {
  lbsim_client_t *client = pool->client;
  lbsim_creq_t *req;
  while ((req = first_req(&pool->queue)) != NULL && !client->closing) {
    lbsim_cconn_t *c = NULL;
    lbsim_queue_t *newest_idle = lbsim_queue_head(&pool->idle);
    if (!req->fresh_only && newest_idle) {
      c = CONN_OF(newest_idle, in_idle);
    } else if (pool_may_open(pool) && total_full(client)) {
      /* Every connection the descriptors allow is open: an idle one of
       * another backend makes room; failing that the request is pipelined
       * on a busy connection of this backend, or this pool waits its turn. */
      lbsim_queue_t *oldest = lbsim_queue_tail(&client->lru);
      if (oldest == NULL) {
        /* A request sent again is not pipelined: it waits for a
         * connection of its own. */
        lbsim_cconn_t *busy = req->retried ? NULL : pool_find_pipeline(pool);
        if (busy == NULL) {
          starve(pool);
          break;
        }
        queue_pop(pool);
        conn_pipeline(busy, req);
        continue;
      }
      conn_close(CONN_OF(oldest, in_lru));
    } else if (!pool_may_open(pool)) {
      /* A retry must not wait behind the cap while idle connections hold
       * it: give up the least recently used one. */
      if (!(req->fresh_only && newest_idle && pool->nconnecting < pool->client->config.max_connecting))
        break;
      conn_close(CONN_OF(lbsim_queue_tail(&pool->idle), in_idle));
    }
    queue_pop(pool);
    if (c) {
      idle_remove(c);
      conn_start(c, req);
    } else {
      conn_open(pool, req);
    }
  }
  queue_arm(pool);
  unstarve(client);
}

static void queue_fail_all(lbsim_pool_t *pool, lbsim_result_t result) {
  while (!lbsim_queue_empty(&pool->queue))
    finish(pool->client, queue_pop(pool), result);
}

/* ---- the balancer's transport -------------------------------------------- */

static lbsim_request_t *transport_request(lbsim_transport_t *t) {
  lbsim_creq_t *req = lbsim_client_request(LBSIM_CONTAINER_OF(t, lbsim_client_t, transport));
  return req ? &req->base : NULL;
}

static void transport_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  lbsim_client_submit(LBSIM_CONTAINER_OF(t, lbsim_client_t, transport), LBSIM_CONTAINER_OF(req, lbsim_creq_t, base));
}

static void transport_cancel_queued(lbsim_transport_t *t) {
  lbsim_client_cancel_queued(LBSIM_CONTAINER_OF(t, lbsim_client_t, transport));
}

static uint64_t transport_now(lbsim_transport_t *t) {
  (void)t;
  return uv_hrtime();
}

static const lbsim_transport_ops_t client_transport = {
    .request = transport_request,
    .submit = transport_submit,
    .cancel_queued = transport_cancel_queued,
    .now = transport_now,
};

int lbsim_client_init(lbsim_client_t *client, uv_loop_t *loop, lbsim_sched_t *sched,
                      const lbsim_client_config_t *config, const lbsim_url_t *urls, const uint32_t *subset,
                      uint32_t n) {
  memset(client, 0, sizeof(*client));
  client->transport.ops = &client_transport;
  client->loop = loop;
  client->sched = sched;
  client->config = *config;
  if (client->config.max_connecting == 0)
    client->config.max_connecting = 256;
  lbsim_queue_init(&client->lru);
  lbsim_queue_init(&client->starved);
  lbsim_queue_init(&client->free_reqs);
  client->pools = calloc(n, sizeof(*client->pools));
  if (client->pools == NULL)
    return UV_ENOMEM;
  client->npools = n;
  /* Every pool is a valid empty one before anything can fail: closing and
   * freeing walk them all. */
  for (uint32_t i = 0; i < n; i++) {
    lbsim_pool_t *pool = &client->pools[i];
    pool->client = client;
    pool->index = i;
    lbsim_queue_init(&pool->conns);
    lbsim_queue_init(&pool->idle);
    lbsim_queue_init(&pool->queue);
    lbsim_queue_init(&pool->in_starved);
  }
  for (uint32_t i = 0; i < n; i++) {
    lbsim_pool_t *pool = &client->pools[i];
    const lbsim_url_t *url = &urls[subset ? subset[i] : i];
    lbsim_buf_t req = {0};
    if (lbsim_buf_printf(&req,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lbsim/%s\r\nAccept: */*\r\n\r\n",
                         url->path, url->authority, LBSIM_VERSION) != 0)
      return UV_ENOMEM;
    pool->request = req.data;
    pool->request_len = req.len;
    lbsim_buf_t probe = {0};
    if (lbsim_buf_printf(&probe,
                         "GET /probe HTTP/1.1\r\nHost: %s\r\nUser-Agent: lbsim/%s\r\nAccept: */*\r\n\r\n",
                         url->authority, LBSIM_VERSION) != 0)
      return UV_ENOMEM;
    pool->probe = probe.data;
    pool->probe_len = probe.len;
  }
  return 0;
}

static size_t sockaddr_len(const struct sockaddr *addr) {
  switch (addr->sa_family) {
  case AF_INET:
    return sizeof(struct sockaddr_in);
  case AF_INET6:
    return sizeof(struct sockaddr_in6);
  default:
    return 0;
  }
}

static void pool_free_addresses(lbsim_pool_t *pool) {
  if (pool->addrs != &pool->one)
    free(pool->addrs);
  pool->addrs = NULL;
  pool->naddrs = 0;
}

int lbsim_client_set_addresses(lbsim_client_t *client, uint32_t backend, const struct sockaddr *const *addrs,
                               uint32_t n) {
  lbsim_pool_t *pool = &client->pools[backend];
  uint32_t usable = 0;
  for (uint32_t i = 0; i < n; i++)
    usable += sockaddr_len(addrs[i]) > 0;
  if (usable == 0)
    return UV_EAFNOSUPPORT;
  pool_free_addresses(pool);
  /* A single address, by far the usual case, needs no allocation. */
  struct sockaddr_storage *list = usable == 1 ? &pool->one : calloc(usable, sizeof(*list));
  if (list == NULL)
    return UV_ENOMEM;
  memset(list, 0, usable * sizeof(*list));
  uint32_t kept = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t len = sockaddr_len(addrs[i]);
    bool seen = false;
    for (uint32_t j = 0; j < kept && !seen; j++)
      seen = memcmp(&list[j], addrs[i], len) == 0; /* resolvers may list an address twice */
    if (len > 0 && !seen)
      memcpy(&list[kept++], addrs[i], len);
  }
  pool->addrs = list;
  pool->naddrs = kept;
  pool->current = 0;
  return 0;
}

int lbsim_client_set_address(lbsim_client_t *client, uint32_t backend, const struct sockaddr *addr) {
  return lbsim_client_set_addresses(client, backend, &addr, 1);
}

void lbsim_client_submit(lbsim_client_t *client, lbsim_creq_t *req) {
  lbsim_pool_t *pool = &client->pools[req->base.pick];
  req->deadline_ns = req->base.deadline_ns ? req->base.deadline_ns : req->base.start_ns + client->config.timeout_ns;
  client->in_flight++;
  if (client->closing) {
    finish(client, req, LBSIM_RESULT_CANCELLED);
    return;
  }
  lbsim_queue_t *newest_idle = lbsim_queue_head(&pool->idle);
  if (lbsim_queue_empty(&pool->queue) && newest_idle) {
    lbsim_cconn_t *c = CONN_OF(newest_idle, in_idle);
    idle_remove(c);
    conn_start(c, req);
    return;
  }
  lbsim_queue_insert_tail(&pool->queue, &req->node);
  pool_pump(pool);
}

void lbsim_client_cancel_queued(lbsim_client_t *client) {
  for (uint32_t i = 0; i < client->npools; i++) {
    lbsim_pool_t *pool = &client->pools[i];
    queue_fail_all(pool, LBSIM_RESULT_CANCELLED);
  }
}

void lbsim_client_close(lbsim_client_t *client, lbsim_client_closed_cb on_closed) {
  if (client->closing)
    return;
  client->closing = true;
  client->on_closed = on_closed;
  client->open_handles++; /* held while closing below */
  lbsim_client_cancel_queued(client);
  for (uint32_t i = 0; i < client->npools; i++) {
    lbsim_pool_t *pool = &client->pools[i];
    lbsim_queue_t *node;
    while ((node = lbsim_queue_head(&pool->conns)) != NULL) {
      lbsim_cconn_t *c = CONN_OF(node, in_pool);
      lbsim_creq_t *req = c->req;
      c->req = NULL;
      conn_close(c);
      if (req)
        finish(client, req, LBSIM_RESULT_CANCELLED);
    }
    lbsim_sched_cancel(client->sched, &pool->queue_wake);
  }
  if (--client->open_handles == 0 && on_closed)
    on_closed(client);
}

void lbsim_client_free(lbsim_client_t *client) {
  while (client->slabs) {
    req_slab_t *slab = client->slabs;
    client->slabs = slab->next;
    free(slab);
  }
  lbsim_queue_init(&client->free_reqs);
  for (uint32_t i = 0; i < client->npools; i++) {
    free(client->pools[i].request);
    free(client->pools[i].probe);
    pool_free_addresses(&client->pools[i]);
  }
  free(client->pools);
  client->pools = NULL;
}

void lbsim_client_pool_counts(const lbsim_client_t *client, uint32_t backend, uint32_t *open, uint32_t *idle) {
  *open = client->pools[backend].nconns;
  *idle = client->pools[backend].nidle;
}
