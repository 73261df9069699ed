/* Attacks on resources rather than on the parser: slow clients, clients
 * that never read, connection storms, descriptor exhaustion. */
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>
#include <stdio.h>

#include "backend_fixture.h"
#include "client_fixture.h"
#include "harness.h"
#include "rawclient.h"
#include "tnet.h"

/* Bound on waiting for something that must happen: generous, so that a
 * loaded machine only makes the tests slower. */
#define EVENTUALLY_MS 10000

static bool backend_has_connections(backend_fixture_t *f, uint32_t n) {
  return f->backend.httpd.nconns == n;
}

static bool backend_idle(void *f) {
  return backend_has_connections(f, 0);
}

/* ---- connections that send a request a byte at a time -------------------- */

/* A connection that sends its request one byte every 40 ms. */
static void trickle_start(rawclient_t *c, uv_loop_t *loop, uint16_t port, const char *text) {
  rawclient_connect(c, loop, port, 0);
  rawclient_send_paced(c, text, strlen(text), 1, 40);
}

/* Cut with a 408, then closed. */
static bool cut_with_408(const rawclient_t *c) {
  return rawclient_peer_closed(c) && c->in.len >= 12 && memcmp(c->in.data, "HTTP/1.1 408", 12) == 0;
}

typedef struct cut_slow_s {
  rawclient_t *slow;
  int n;
} cut_slow_t;

static int count_cut(const cut_slow_t *c) {
  int cut = 0;
  for (int i = 0; i < c->n; i++)
    cut += cut_with_408(&c->slow[i]);
  return cut;
}

static bool all_cut(void *c) {
  return count_cut(c) == ((cut_slow_t *)c)->n;
}

enum { SLOWLORIS = 100 };

static bool all_slow_connected(void *f) {
  return backend_has_connections(f, SLOWLORIS);
}

TEST(slowloris_is_cut_by_the_header_deadline_while_others_are_served) {
  enum { N = SLOWLORIS };
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.header_timeout_s = 0.3;
  CHECK(bfx_start(&f, 0) == 0);
  static rawclient_t slow[N];
  for (int i = 0; i < N; i++)
    trickle_start(&slow[i], &f.loop, f.port, "GET /ping HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
  CHECK(tnet_run_until(&f.loop, all_slow_connected, &f, EVENTUALLY_MS));
  /* A normal client is served at once in the middle of it. */
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  /* Well before the slow ones are cut (300 ms): not held up behind them. */
  CHECK_TIME(r.first_byte_ns < 200 * 1000000ull, "answered after %.1f ms", r.first_byte_ns / 1e6);
  raw_result_free(&r);
  cut_slow_t cut = {slow, N};
  tnet_run_until(&f.loop, all_cut, &cut, EVENTUALLY_MS);
  CHECK_MSG(count_cut(&cut) == N, "%d of %d slow connections cut with 408", count_cut(&cut), N);
  /* The server lingers on each (reading, discarding) until its peer closes. */
  for (int i = 0; i < N; i++)
    rawclient_close(&slow[i]);
  CHECK(tnet_run_until(&f.loop, backend_idle, &f, EVENTUALLY_MS));
  CHECK(bfx_stop(&f) == 0);
}

TEST(a_slow_body_is_cut_too) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.header_timeout_s = 0.3;
  CHECK(bfx_start(&f, 0) == 0);
  static char req[256];
  snprintf(req, sizeof(req), "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\n\r\n%0200d", 0);
  raw_opts_t o = {.chunk = 1, .gap_ms = 5, .wait_ms = 3000};
  raw_result_t r;
  /* The headers arrive in time; the body never does. */
  raw_exchange(&f.loop, f.port, req, strlen(req), &o, &r);
  CHECK(strstr(raw_text(&r), "HTTP/1.1 408 ") == raw_text(&r));
  CHECK(r.peer_closed);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

/* ---- a client that pipelines without end and never reads ------------------ */

typedef struct flooder_s {
  uv_tcp_t tcp;
  uv_connect_t req;
  uv_timer_t timer;
  size_t sent;
  bool connected;
} flooder_t;

static void flood_tick(uv_timer_t *timer) {
  flooder_t *fl = timer->data;
  static const char one[] = "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n";
  char burst[100 * (sizeof(one) - 1)];
  for (int i = 0; i < 100; i++)
    memcpy(burst + i * (sizeof(one) - 1), one, sizeof(one) - 1);
  uv_buf_t b = uv_buf_init(burst, sizeof(burst));
  int n = uv_try_write((uv_stream_t *)&fl->tcp, &b, 1);
  if (n > 0)
    fl->sent += (size_t)n;
}

static void flood_connected(uv_connect_t *req, int status) {
  flooder_t *fl = req->data;
  fl->connected = status == 0;
  if (fl->connected)
    uv_timer_start(&fl->timer, flood_tick, 0, 5);
}

TEST(a_reader_that_never_reads_is_held_in_bounded_memory) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  flooder_t fl;
  memset(&fl, 0, sizeof(fl));
  uv_tcp_init(&f.loop, &fl.tcp);
  uv_timer_init(&f.loop, &fl.timer);
  fl.req.data = fl.timer.data = &fl;
  /* A small receive buffer: the answers pile up at the server. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  CHECK_EQ(uv_tcp_open(&fl.tcp, fd), 0);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", f.port, &a);
  uv_tcp_connect(&fl.req, &fl.tcp, (struct sockaddr *)&a, flood_connected);
  /* Looks at what the server holds until thousands of requests were sent
   * (however long a loaded machine takes), and a while after. */
  uint64_t most = 0;
  int after = 0;
  for (int i = 0; i < EVENTUALLY_MS / 25 && after < 20; i++) {
    tnet_sleep(&f.loop, 25);
    uint64_t held = lbsim_httpd_buffered_bytes(&f.backend.httpd);
    most = held > most ? held : most;
    after += fl.sent > 100000;
  }
  CHECK_MSG(fl.sent > 100000, "only %zu bytes sent", fl.sent);
  /* ...but the server holds at most its output cap, a read's worth of
   * unparsed input and a little more. */
  CHECK_MSG(most <= f.cfg.max_output_bytes + 65536 + 16384, "held %llu bytes", (unsigned long long)most);
  /* Others are still served. */
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  raw_result_free(&r);
  uv_close((uv_handle_t *)&fl.tcp, NULL);
  uv_close((uv_handle_t *)&fl.timer, NULL);
  CHECK(bfx_stop(&f) == 0);
}

/* ---- connect, then reset, many times ---------------------------------------- */

typedef struct storm_s {
  uv_tcp_t tcp;
  uv_connect_t req;
  int *done;
} storm_t;

static void storm_closed(uv_handle_t *h) {
  storm_t *s = h->data;
  (*s->done)++;
}

static void storm_connected(uv_connect_t *req, int status) {
  storm_t *s = req->data;
  (void)status;
  if (uv_tcp_close_reset(&s->tcp, storm_closed) != 0)
    uv_close((uv_handle_t *)&s->tcp, storm_closed);
}

typedef struct storm_done_s {
  int *done;
  int n;
} storm_done_t;

static bool storm_over(void *arg) {
  storm_done_t *w = arg;
  return *w->done >= w->n;
}

TEST(connect_and_reset_storms_leave_no_descriptor_behind) {
  enum { N = 500 };
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  tnet_sleep(&f.loop, 10);
  int baseline = cfx_open_fds();
  static storm_t storm[N];
  int done = 0;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", f.port, &a);
  for (int round = 0; round < 2; round++) {
    done = 0;
    for (int i = 0; i < N; i++) {
      uv_tcp_init(&f.loop, &storm[i].tcp);
      storm[i].tcp.data = storm[i].req.data = &storm[i];
      storm[i].done = &done;
      uv_tcp_connect(&storm[i].req, &storm[i].tcp, (struct sockaddr *)&a, storm_connected);
    }
    storm_done_t wait = {&done, N};
    tnet_run_until(&f.loop, storm_over, &wait, EVENTUALLY_MS);
    CHECK_EQ(done, N);
  }
  CHECK(tnet_run_until(&f.loop, backend_idle, &f, EVENTUALLY_MS));
  CHECK_EQ(cfx_open_fds(), baseline);
  CHECK(f.backend.httpd.accepted >= N);
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

/* ---- out of descriptors ------------------------------------------------------ */

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

enum { MAX_CLIENTS = 20 };

typedef struct clients_s {
  int fd[MAX_CLIENTS];
  bool connected[MAX_CLIENTS];
  bool dropped[MAX_CLIENTS];  /* the server ended the connection */
  int n;
} clients_t;

static bool clients_dropped(void *arg) {
  clients_t *c = arg;
  bool all = true;
  for (int i = 0; i < c->n; i++) {
    if (!c->connected[i] || c->dropped[i])
      continue;
    char byte;
    ssize_t n = recv(c->fd[i], &byte, 1, MSG_DONTWAIT);
    c->dropped[i] = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    all = all && c->dropped[i];
  }
  return all;
}

TEST(running_out_of_descriptors_neither_spins_nor_sticks) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  struct rlimit saved;
  getrlimit(RLIMIT_NOFILE, &saved);
  int open_now = cfx_open_fds();
  /* Room for 8 more descriptors in the whole process: the clients below
   * take some, the backend's accepts run out. */
  struct rlimit low = {(rlim_t)(open_now + 8), saved.rlim_max};
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  /* The clients take what is left: the backend cannot accept them. */
  clients_t c = {.n = 0};
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", f.port, &a);
  for (int i = 0; i < MAX_CLIENTS; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      break;
    c.fd[c.n] = fd;
    /* The listen backlog takes the handshake; this is loopback. */
    c.connected[c.n++] = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  }
  CHECK(c.n >= 2 && c.connected[0]);
  /* libuv's reserve descriptor accepts and closes them: each client sees
   * its connection end, and the loop does not spin meanwhile. */
  double cpu0 = cpu_seconds();
  tnet_run_until(&f.loop, clients_dropped, &c, EVENTUALLY_MS);
  for (int i = 0; i < c.n; i++)
    CHECK_MSG(!c.connected[i] || c.dropped[i], "client %d of %d: still connected", i + 1, c.n);
  CHECK_EQ(f.backend.httpd.nconns, 0);
  tnet_sleep(&f.loop, 300);
  double spent = cpu_seconds() - cpu0;
  CHECK_TIME(spent < 0.1, "%.3f s of CPU out of descriptors", spent);
  for (int i = 0; i < c.n; i++)
    close(c.fd[i]);
  setrlimit(RLIMIT_NOFILE, &saved);
  /* Descriptors are back: so is the service. */
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}
