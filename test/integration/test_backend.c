/* A backend on a real loop, port 0, driven by a raw TCP client. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/net/backend.h"
#include "lbsim/net/sched.h"
#include "backend_fixture.h"
#include "rawclient.h"
#include "tnet.h"

/* Bound on waiting for something that must happen: generous, so that a
 * loaded machine (or valgrind) only makes the test slower. */
#define EVENTUALLY_MS 10000

TEST(get_head_404_405) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 5) == 0);
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
  CHECK(strstr(raw_text(&r), "Content-Type: application/json\r\n") != NULL);
  CHECK(strstr(raw_text(&r), "{\"status\":\"ok\",\"backend\":1,\"latency_ms\":5.00}") != NULL);
  raw_result_free(&r);

  bfx_exchange(&f, "HEAD /ping HTTP/1.1\r\nHost: t\r\n\r\n", 0, &r); /* no body to count: wait */
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
  CHECK(strstr(raw_text(&r), "Content-Length: 45\r\n") != NULL);
  CHECK(strstr(raw_text(&r), "{") == NULL);
  raw_result_free(&r);

  bfx_exchange(&f, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 404 Not Found\r\n"));
  raw_result_free(&r);

  bfx_exchange(&f, "DELETE /ping HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 405 Method Not Allowed\r\n"));
  CHECK(strstr(raw_text(&r), "Allow: GET, HEAD\r\n") != NULL);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

/* A balancer's probe is answered at once, whatever the latency, with what
 * the backend holds. */
TEST(a_probe_is_answered_at_once_with_the_backends_load) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 2000) == 0);
  uint64_t t0 = uv_hrtime();
  raw_result_t r;
  bfx_exchange(&f, "GET /probe HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
  CHECK(strstr(raw_text(&r), "{\"status\":\"ok\",\"backend\":1,\"in_flight\":0,\"queue\":0}") != NULL);
  CHECK_MSG(uv_hrtime() - t0 < 1000000000u, "a probe of a 2 s backend took %.3f s", (uv_hrtime() - t0) / 1e9);
  raw_result_free(&r);
  bfx_exchange(&f, "POST /probe HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 405 Method Not Allowed\r\n"));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(keep_alive_reuses_the_connection) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 1) == 0);
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\nGET /ping HTTP/1.1\r\nHost: t\r\n\r\n", 2, &r);
  CHECK_EQ(r.responses, 2);
  CHECK(!r.peer_closed);
  CHECK_EQ(f.backend.httpd.accepted, 1);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(http10_keep_alive_only_on_request) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 1) == 0);
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.0\r\n\r\n", 0, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
  CHECK(strstr(raw_text(&r), "Connection: close\r\n") != NULL);
  CHECK(r.peer_closed);
  raw_result_free(&r);

  /* Asked for, the connection stays: a second request on it is answered. */
  bfx_exchange(&f, "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ping HTTP/1.0\r\n\r\n", 0, &r);
  CHECK_EQ(r.responses, 2);
  const char *first_end = strstr(raw_text(&r), "\r\n\r\n");
  CHECK(first_end != NULL);
  const char *keep = strstr(raw_text(&r), "Connection: keep-alive\r\n");
  CHECK(keep != NULL && keep < first_end);
  CHECK(strstr(first_end, "Connection: close\r\n") != NULL);
  CHECK(r.peer_closed);
  CHECK_EQ(f.backend.httpd.accepted, 2);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(pipelined_requests_are_answered_in_order) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 20) == 0);
  raw_result_t r;
  bfx_exchange(&f,
           "GET /ping HTTP/1.1\r\nHost: t\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n"
           "GET /ping HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n",
           4, &r);
  CHECK_EQ(r.responses, 4);
  const char *t = raw_text(&r);
  const char *a = strstr(t, "200 OK"), *b = strstr(t, "404"), *c = strstr(b ? b : t, "200 OK");
  CHECK(a && b && c && a < b && b < c);
  CHECK(strstr(c, "404") != NULL);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(latency_is_honoured) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 100) == 0);
  for (int i = 0; i < 3; i++) {
    raw_result_t r;
    bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
    CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
    double ms = (double)r.first_byte_ns / 1e6;
    CHECK(ms >= 100.0);
    /* Not twice the latency: room for a loaded machine, none for a bug. */
    CHECK_TIME(ms < 200.0, "answered after %.3f ms", ms);
    raw_result_free(&r);
  }
  CHECK(bfx_stop(&f) == 0);
}

static bool drifted_three_times(void *model) {
  return ((lbsim_model_t *)model)->generation > 3;
}

TEST(drift_changes_the_latency) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.drift_period_s = 0.02;
  f.cfg.latency.step_ms = 10;
  f.cfg.latency.floor_ms = 1;
  f.cfg.latency.ceil_ms = 100;
  CHECK(bfx_start(&f, 30) == 0);
  CHECK(tnet_run_until(&f.loop, drifted_three_times, &f.farm.models[0], EVENTUALLY_MS));
  /* Held still now, so that the answer can be compared with it. */
  lbsim_farm_stop(&f.farm);
  double ms = f.farm.models[0].latency.latency_ms;
  CHECK(ms != 30.0);
  CHECK(ms >= 1 && ms <= 100);
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  char body[64];
  snprintf(body, sizeof(body), "\"latency_ms\":%.2f}", ms);
  CHECK_MSG(bfx_starts(&r, "HTTP/1.1 200 OK\r\n") && strstr(raw_text(&r), body) != NULL,
            "expected %s in '%s'", body, raw_text(&r));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

static int rejected(backend_fixture_t *f, const char *req, const char *status) {
  raw_result_t r;
  bfx_exchange(f, req, 0, &r);
  int ok = bfx_starts(&r, status) && r.peer_closed && r.responses == 1;
  if (!ok)
    lbsim_test_fail(__FILE__, __LINE__, "expected %s then close, got '%.50s' (closed %d, %d answers)", status,
                    raw_text(&r), r.peer_closed, r.responses);
  raw_result_free(&r);
  return ok ? 0 : -1;
}

TEST(limits_answer_once_and_close) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  static char big[12000];
  snprintf(big, sizeof(big), "GET /ping HTTP/1.1\r\nHost: t\r\nX: %010000d\r\n\r\n", 0);
  CHECK(rejected(&f, big, "HTTP/1.1 431 ") == 0);
  snprintf(big, sizeof(big), "GET /%05000d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
  CHECK(rejected(&f, big, "HTTP/1.1 414 ") == 0);
  CHECK(rejected(&f, "POST /ping HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n", "HTTP/1.1 413 ") == 0);
  CHECK(rejected(&f, "GET /ping HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ") == 0);
  CHECK(rejected(&f, "GET /ping HTTP/2.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505 ") == 0);
  CHECK(rejected(&f, "GET /ping HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
                 "HTTP/1.1 400 ") == 0);
  CHECK(bfx_stop(&f) == 0);
}

TEST(header_deadline_closes_a_trickling_connection) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.header_timeout_s = 0.2;
  CHECK(bfx_start(&f, 0) == 0);
  const char *req = "GET /ping HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  raw_opts_t o = {.chunk = 1, .gap_ms = 30, .wait_ms = 2000};
  raw_result_t r;
  raw_exchange(&f.loop, f.port, req, strlen(req), &o, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 408 "));
  CHECK(r.peer_closed);
  double ms = (double)r.first_byte_ns / 1e6;
  CHECK(ms >= 195);
  CHECK_TIME(ms < 400, "408 after %.1f ms", ms);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(idle_connections_are_closed) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.idle_timeout_s = 0.15;
  CHECK(bfx_start(&f, 0) == 0);
  raw_result_t r;
  raw_opts_t o = {.wait_ms = EVENTUALLY_MS};
  const char *req = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n";
  raw_exchange(&f.loop, f.port, req, strlen(req), &o, &r);
  CHECK_EQ(r.responses, 1);
  CHECK(r.peer_closed);
  double ms = (double)r.closed_ns / 1e6;
  CHECK(ms >= 140);
  CHECK_TIME(ms < 600, "closed after %.1f ms", ms);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

/* The line of /metrics counting the answers with `code`, as text. */
static bool counts(raw_result_t *r, const char *code, int n) {
  char line[96];
  snprintf(line, sizeof(line), "\nlbsim_backend_requests_total{backend=\"1\",code=\"%s\"} %d\n", code, n);
  return strstr(raw_text(r), line) != NULL;
}

/* Holds a connection open with nothing sent. */
typedef struct idle_conn_s {
  uv_tcp_t tcp;
  uv_connect_t req;
  bool connected;
} idle_conn_t;

static void on_idle_connect(uv_connect_t *req, int status) {
  idle_conn_t *c = req->data;
  c->connected = status == 0;
}

typedef struct held_s {
  backend_fixture_t *f;
  idle_conn_t *conns;
  uint32_t nconns;          /* the backend's count to wait for */
} held_t;

static bool backend_holds(void *arg) {
  held_t *h = arg;
  return h->conns[0].connected && h->conns[1].connected && h->f->backend.httpd.nconns == h->nconns;
}

TEST(connection_cap_turns_new_connections_away) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.max_conns = 2;
  CHECK(bfx_start(&f, 0) == 0);
  idle_conn_t held[2];
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", f.port, &addr);
  for (int i = 0; i < 2; i++) {
    uv_tcp_init(&f.loop, &held[i].tcp);
    held[i].req.data = &held[i];
    held[i].connected = false;
    uv_tcp_connect(&held[i].req, &held[i].tcp, (struct sockaddr *)&addr, on_idle_connect);
  }
  held_t h = {&f, held, 2};
  CHECK(tnet_run_until(&f.loop, backend_holds, &h, EVENTUALLY_MS));
  raw_result_t r;
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", 0, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 503 "));
  CHECK(r.peer_closed);
  CHECK_EQ(f.backend.httpd.rejected, 1);
  raw_result_free(&r);
  /* Once one of the two leaves, a newcomer is served. */
  uv_close((uv_handle_t *)&held[0].tcp, NULL);
  h.nconns = 1;
  CHECK(tnet_run_until(&f.loop, backend_holds, &h, EVENTUALLY_MS));
  bfx_exchange(&f, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\nGET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 2, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK"));
  CHECK(counts(&r, "503", 1)); /* the connection turned away is counted */
  raw_result_free(&r);
  uv_close((uv_handle_t *)&held[1].tcp, NULL);
  CHECK(bfx_stop(&f) == 0);
}

TEST(a_pipelined_flood_is_answered_completely) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 0) == 0);
  enum { N = 500 };
  lbsim_buf_t flood = {0};
  for (int i = 0; i < N; i++)
    lbsim_buf_append_str(&flood, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
  raw_opts_t o = {.want_responses = N, .wait_ms = 5000};
  raw_result_t r;
  raw_exchange(&f.loop, f.port, flood.data, flood.len, &o, &r);
  CHECK_EQ(r.responses, N);
  CHECK(!r.peer_closed);
  raw_result_free(&r);
  lbsim_buf_free(&flood);
  CHECK(bfx_stop(&f) == 0);
}

TEST(half_close_still_gets_the_answer) {
  backend_fixture_t f;
  bfx_defaults(&f);
  CHECK(bfx_start(&f, 30) == 0);
  raw_opts_t o = {.half_close = true, .wait_ms = 2000};
  raw_result_t r;
  const char *req = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n";
  raw_exchange(&f.loop, f.port, req, strlen(req), &o, &r);
  CHECK_EQ(r.responses, 1);
  CHECK(r.peer_closed);
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}

TEST(metrics_count_every_answer_the_backend_sends) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.header_timeout_s = 0.1;
  CHECK(bfx_start(&f, 0) == 0);
  char *long_url = malloc(5000 + 64);
  strcpy(long_url, "GET /");
  memset(long_url + 5, 'u', 5000);
  strcpy(long_url + 5005, " HTTP/1.1\r\nHost: t\r\n\r\n");
  lbsim_buf_t many = {0};
  lbsim_buf_append_str(&many, "GET /ping HTTP/1.1\r\nHost: t\r\n");
  for (int i = 0; i < 120; i++)
    lbsim_buf_append_str(&many, "X: y\r\n");
  lbsim_buf_append(&many, "\r\n", 3); /* with its NUL */
  static const struct {
    const char *request;
    const char *status;
    int want; /* answers to wait for; 0: the close */
  } sent[] = {
      {"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", "200", 1},
      {"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", "404", 1},
      {"DELETE /ping HTTP/1.1\r\nHost: t\r\n\r\n", "405", 1},
      /* the rest are answered by the HTTP session itself */
      {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "405", 0},
      {"GET /ping HTTP/1.1\r\n\r\n", "400", 0},
      {"GET /ping HTTP/1.1\r\nHost: t\r\n", "408", 0},
      {"POST /ping HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n", "413", 0},
      {NULL, "414", 0},
      {"GET /ping HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", "417", 0},
      {NULL, "431", 0},
      {"GET /ping HTTP/2.0\r\nHost: t\r\n\r\n", "505", 0},
  };
  raw_result_t r;
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(sent); i++) {
    const char *req = sent[i].request ? sent[i].request : strcmp(sent[i].status, "414") == 0 ? long_url : many.data;
    bfx_exchange(&f, req, sent[i].want, &r);
    char head[32];
    snprintf(head, sizeof(head), "HTTP/1.1 %s ", sent[i].status);
    CHECK_MSG(bfx_starts(&r, head), "expected %s, got '%.20s'", head, raw_text(&r));
    raw_result_free(&r);
  }
  free(long_url);
  lbsim_buf_free(&many);
  bfx_exchange(&f, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  raw_result_free(&r);
  bfx_exchange(&f, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 1, &r);
  CHECK(bfx_starts(&r, "HTTP/1.1 200 OK\r\n"));
  /* One /ping and both /metrics answers, this one included. */
  CHECK(counts(&r, "200", 3));
  CHECK(counts(&r, "405", 2));
  static const char *const once[] = {"400", "404", "408", "413", "414", "417", "431", "505"};
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(once); i++)
    CHECK_MSG(counts(&r, once[i], 1), "code %s not counted once:\n%s", once[i], raw_text(&r));
  CHECK(counts(&r, "503", 0));
  raw_result_free(&r);
  CHECK(bfx_stop(&f) == 0);
}
