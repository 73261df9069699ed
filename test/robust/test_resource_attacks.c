/* Attacks on resources rather than on the parser: slow clients, clients
 * that never read, connection storms, descriptor exhaustion. */
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_fixture.h"
#include "client_fixture.h"
#include "harness.h"
#include "internal.h"

/* ---- connections that send a request a byte at a time -------------------- */

typedef struct trickler_s {
  uv_tcp_t tcp;
  uv_connect_t req;
  uv_timer_t timer;
  const char *text;
  size_t len, sent;
  bool answered_408;
  bool closed;
  int handles;
} trickler_t;

static void trickle_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char space[4096];
  (void)h;
  (void)size;
  *buf = uv_buf_init(space, sizeof(space));
}

static void trickle_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  trickler_t *t = s->data;
  if (n > 0 && (size_t)n >= 12 && memcmp(buf->base, "HTTP/1.1 408", 12) == 0)
    t->answered_408 = true;
  if (n < 0) {
    t->closed = true;
    uv_timer_stop(&t->timer);
    uv_read_stop(s);
  }
}

static void trickle_tick(uv_timer_t *timer) {
  trickler_t *t = timer->data;
  if (t->closed || t->sent == t->len)
    return;
  uv_buf_t b = uv_buf_init((char *)t->text + t->sent, 1);
  if (uv_try_write((uv_stream_t *)&t->tcp, &b, 1) == 1)
    t->sent++;
}

static void trickle_connected(uv_connect_t *req, int status) {
  trickler_t *t = req->data;
  if (status != 0) {
    t->closed = true;
    return;
  }
  uv_read_start((uv_stream_t *)&t->tcp, trickle_alloc, trickle_read);
  uv_timer_start(&t->timer, trickle_tick, 0, 40);
}

static void trickle_start(trickler_t *t, uv_loop_t *loop, uint16_t port, const char *text) {
  memset(t, 0, sizeof(*t));
  t->text = text;
  t->len = strlen(text);
  uv_tcp_init(loop, &t->tcp);
  uv_timer_init(loop, &t->timer);
  t->tcp.data = t->timer.data = t->req.data = t;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_connect(&t->req, &t->tcp, (struct sockaddr *)&a, trickle_connected);
}

static void trickle_close(trickler_t *t) {
  uv_close((uv_handle_t *)&t->tcp, NULL);
  uv_close((uv_handle_t *)&t->timer, NULL);
}

TEST(slowloris_is_cut_by_the_header_deadline_while_others_are_served) {
  enum { N = 100 };
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.header_timeout_s = 0.3;
  CHECK(bfx_start(&f, 0) == 0);
  static trickler_t slow[N];
  for (int i = 0; i < N; i++)
    trickle_start(&slow[i], &f.loop, f.port, "GET /ping HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
  run_for(&f.loop, 100);
  CHECK_EQ(f.backend.httpd.nconns, N);
  /* A normal client is served at once in the middle of it. */
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  CHECK_TIME(r.first_byte_ns < 50 * 1000000ull, "answered after %.1f ms", r.first_byte_ns / 1e6);
  raw_result_free(&r);
  run_for(&f.loop, 500);
  int cut = 0;
  for (int i = 0; i < N; i++)
    cut += slow[i].closed && slow[i].answered_408;
  CHECK_MSG(cut == N, "%d of %d slow connections cut with 408", cut, N);
  /* The server lingers on each (reading, discarding) until its peer closes. */
  for (int i = 0; i < N; i++)
    trickle_close(&slow[i]);
  run_for(&f.loop, 50);
  CHECK_EQ(f.backend.httpd.nconns, 0);
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
  uint64_t most = 0;
  for (int i = 0; i < 20; i++) {
    run_for(&f.loop, 25);
    uint64_t held = lbsim_httpd_buffered_bytes(&f.backend.httpd);
    most = held > most ? held : most;
  }
  /* Thousands of requests were sent... */
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

TEST(connect_and_reset_storms_leave_no_descriptor_behind) {
  enum { N = 500 };
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  run_for(&f.loop, 10);
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
    for (int k = 0; k < 200 && done < N; k++)
      run_for(&f.loop, 5);
    CHECK_EQ(done, N);
  }
  run_for(&f.loop, 50);
  CHECK_EQ(f.backend.httpd.nconns, 0);
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
  enum { N = 20 };
  int fds[N];
  int opened = 0;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", f.port, &a);
  for (int i = 0; i < N; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0)
      break;
    opened++;
    if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0)
      continue; /* the listen backlog takes the handshake; this is loopback */
  }
  CHECK(opened >= 2);
  double cpu0 = cpu_seconds();
  run_for(&f.loop, 300);
  double spent = cpu_seconds() - cpu0;
  CHECK_TIME(spent < 0.1, "%.3f s of CPU in 0.3 s out of descriptors", spent);
  CHECK(f.backend.httpd.accept_errors > 0 || f.backend.httpd.nconns < (uint32_t)opened);
  for (int i = 0; i < opened; i++)
    close(fds[i]);
  setrlimit(RLIMIT_NOFILE, &saved);
  run_for(&f.loop, 50);
  /* Descriptors are back: so is the service. */
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}
