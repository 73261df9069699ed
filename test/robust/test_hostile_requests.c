/* A corpus of hostile requests thrown at a backend over TCP, each delivered
 * whole and then one byte at a time, each with the answer it must get: a
 * specific status and a closed connection, or a correct answer. After every
 * case a normal GET /ping on a fresh connection must still succeed. */
#include <stdlib.h>

#include "backend_fixture.h"
#include "harness.h"

typedef struct hostile_s {
  const char *name;
  const char *request;
  size_t len;           /* 0: strlen(request); for requests with NUL bytes */
  const char *status;   /* the first answer's status line; "" for none */
  int answers;          /* answers in all */
  bool closes;          /* the server closes the connection after them */
} hostile_t;

#define GET "GET /ping HTTP/1.1\r\nHost: a\r\n"

/* Sends one case both ways; 0 when every expectation holds. */
static int throw_case(backend_fixture_t *f, const hostile_t *c, size_t len) {
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    raw_opts_t o = {.chunk = bytewise ? 1 : 0, .gap_ms = 0, .wait_ms = 3000,
                    .want_responses = c->closes ? 0 : c->answers};
    raw_result_t r;
    raw_exchange(&f->loop, f->port, c->request, len, &o, &r);
    const char *text = raw_text(&r);
    bool ok = c->status[0] == '\0' ? r.responses == 0 && r.in.len == 0
                                   : strncmp(text, c->status, strlen(c->status)) == 0 && r.responses == c->answers;
    ok = ok && r.peer_closed == c->closes;
    if (!ok)
      lbsim_test_fail(__FILE__, __LINE__, "%s (%s): expected '%s' x%d %s, got %d answers '%.40s' %s", c->name,
                      bytewise ? "byte by byte" : "whole", c->status, c->answers, c->closes ? "and a close" : "open",
                      r.responses, text, r.peer_closed ? "closed" : "open");
    raw_result_free(&r);
    if (!ok)
      return -1;
    /* The backend is still fine. */
    bfx_exchange(f, GET "\r\n", 1, &r);
    ok = bfx_starts(&r, "HTTP/1.1 200 OK\r\n");
    raw_result_free(&r);
    if (!ok) {
      lbsim_test_fail(__FILE__, __LINE__, "%s: a normal request failed afterwards", c->name);
      return -1;
    }
  }
  return 0;
}

static int throw_all(const hostile_t *cases, size_t n) {
  backend_fixture_t f;
  bfx_defaults(&f);
  f.cfg.max_body_bytes = 1000;
  REQUIRE(bfx_start(&f, 0) == 0);
  int failed = 0;
  for (size_t i = 0; i < n; i++)
    failed |= throw_case(&f, &cases[i], cases[i].len ? cases[i].len : strlen(cases[i].request));
  REQUIRE(bfx_stop(&f) == 0);
  return failed;
}

#define BAD(name, req, status) {name, req, 0, status, 1, true}
#define OK_OPEN(name, req, status) {name, req, 0, status, 1, false}
#define BAD_BYTES(name, req, status) {name, req, sizeof(req) - 1, status, 1, true}

TEST(request_smuggling_is_refused) {
  static const hostile_t cases[] = {
      BAD("content-length with transfer-encoding",
          "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("transfer-encoding then content-length",
          "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("two differing content-lengths",
          "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "HTTP/1.1 400 "),
      BAD("two equal content-lengths",
          "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 400 "),
      BAD("content-length list", "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", "HTTP/1.1 400 "),
      BAD("xchunked", "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("chunked not last", "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("transfer-encoding twice",
          "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("chunk size overflow",
          "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", "HTTP/1.1 400 "),
      BAD("chunk size not hex",
          "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("content-length in hex", "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
          "HTTP/1.1 400 "),
      BAD("negative content-length", "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 "),
      BAD("signed content-length", "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd", "HTTP/1.1 400 "),
      BAD("huge content-length", "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
          "HTTP/1.1 400 "),
      BAD("transfer-encoding identity", "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
          "HTTP/1.1 400 "),
      OK_OPEN("gzip then chunked is a body",
              "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 405 "),
      OK_OPEN("chunk extension", "POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "5;x=y\r\nhello\r\n0\r\n\r\n",
              "HTTP/1.1 405 "),
      {"a body that hides a request",
       "POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 31\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\n\r\n", 0,
       "HTTP/1.1 405 ", 1, false},
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(line_endings_and_control_bytes) {
  static const hostile_t cases[] = {
      BAD("bare LF in headers", "GET /ping HTTP/1.1\nHost: a\n\n", "HTTP/1.1 400 "),
      BAD("bare CR", "GET /ping HTTP/1.1\rHost: a\r\r", "HTTP/1.1 400 "),
      /* RFC 9112 2.2 lets a recipient take a lone LF for a line end */
      OK_OPEN("LF after the request line", "GET /ping HTTP/1.1\nHost: a\r\n\r\n", "HTTP/1.1 200 "),
      BAD_BYTES("NUL in a value", GET "X: a\0b\r\n\r\n", "HTTP/1.1 400 "),
      BAD_BYTES("NUL in a name", GET "X\0Y: b\r\n\r\n", "HTTP/1.1 400 "),
      BAD_BYTES("NUL in the target", "GET /pi\0ng HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("control byte in a value", GET "X: a\x01" "b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("DEL in a value", GET "X: a\x7f" "b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("control byte in a name", GET "X\x01: b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("escape in the target", "GET /pi\x1bng HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      OK_OPEN("UTF-8 in a value", GET "X: caf\xc3\xa9\r\n\r\n", "HTTP/1.1 200 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(malformed_header_lines) {
  static const hostile_t cases[] = {
      BAD("space before the colon", "GET /ping HTTP/1.1\r\nHost : a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("tab before the colon", "GET /ping HTTP/1.1\r\nHost\t: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("empty header name", GET ": x\r\n\r\n", "HTTP/1.1 400 "),
      BAD("obs-fold with a space", GET "X: a\r\n b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("obs-fold with a tab", GET "X: a\r\n\tb\r\n\r\n", "HTTP/1.1 400 "),
      BAD("no colon", GET "NoColon\r\n\r\n", "HTTP/1.1 400 "),
      BAD("space inside a name", GET "X Y: z\r\n\r\n", "HTTP/1.1 400 "),
      BAD("header line starting the section folded", "GET /ping HTTP/1.1\r\n Host: a\r\n\r\n", "HTTP/1.1 400 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(host_rules) {
  static const hostile_t cases[] = {
      BAD("missing Host on 1.1", "GET /ping HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
      BAD("two Host headers", "GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("Host with a space", "GET /ping HTTP/1.1\r\nHost: a b\r\n\r\n", "HTTP/1.1 400 "),
      BAD("Host with a slash", "GET /ping HTTP/1.1\r\nHost: a/b\r\n\r\n", "HTTP/1.1 400 "),
      OK_OPEN("empty Host", "GET /ping HTTP/1.1\r\nHost:\r\n\r\n", "HTTP/1.1 200 "),
      OK_OPEN("Host with a port and blanks", "GET /ping HTTP/1.1\r\nHost: a:80  \r\n\r\n", "HTTP/1.1 200 "),
      OK_OPEN("IPv6 Host", "GET /ping HTTP/1.1\r\nHost: [::1]:5001\r\n\r\n", "HTTP/1.1 200 "),
      BAD("HTTP/1.0 without Host is fine, and closes", "GET /ping HTTP/1.0\r\n\r\n", "HTTP/1.1 200 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(versions) {
  static const hostile_t cases[] = {
      BAD("HTTP/0.9", "GET /ping HTTP/0.9\r\nHost: a\r\n\r\n", "HTTP/1.1 505 "),
      BAD("HTTP/0.9 simple request", "GET /ping\r\n\r\n", "HTTP/1.1 505 "),
      BAD("HTTP/1.2", "GET /ping HTTP/1.2\r\nHost: a\r\n\r\n", "HTTP/1.1 505 "),
      BAD("HTTP/2.0", "GET /ping HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505 "),
      BAD("HTTP/3.0", "GET /ping HTTP/3.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505 "),
      BAD("HTTP/1.10", "GET /ping HTTP/1.10\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("HTTP/1", "GET /ping HTTP/1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("lower-case http", "GET /ping http/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 400 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(methods_and_targets) {
  static const hostile_t cases[] = {
      BAD("unknown method", "FOO /ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("lower-case method", "get /ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("space before the method", " GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "HTTP/1.1 405 "),
      OK_OPEN("DELETE", "DELETE /ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 405 "),
      OK_OPEN("TRACE", "TRACE /ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 405 "),
      OK_OPEN("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 "),
      OK_OPEN("absolute form", "GET http://a:5001/ping HTTP/1.1\r\nHost: a:5001\r\n\r\n", "HTTP/1.1 200 "),
      OK_OPEN("absolute https form", "GET https://a/ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 "),
      OK_OPEN("query", "GET /ping?x=1&y HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 "),
      BAD("fragment", "GET /ping#x HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("no leading slash", "GET ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      BAD("space in the target", "GET /pi ng HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "),
      OK_OPEN("unknown path", "GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

/* "HEAD ... name: vvvv...\r\n\r\n" with `n` filler bytes. */
static char *filled(const char *head, char fill, size_t n, const char *tail) {
  size_t h = strlen(head), t = strlen(tail);
  char *s = malloc(h + n + t + 1);
  memcpy(s, head, h);
  memset(s + h, fill, n);
  memcpy(s + h + n, tail, t + 1);
  return s;
}

TEST(sizes_over_the_limits) {
  char *url = filled("GET /", 'u', 64 * 1024, " HTTP/1.1\r\nHost: a\r\n\r\n");
  char *header = filled(GET "X: ", 'h', 64 * 1024, "\r\n\r\n");
  char *name = filled(GET, 'N', 9000, ": v\r\n\r\n");
  char many[1000 * 6 + 64];
  strcpy(many, GET);
  for (int i = 0; i < 1000; i++)
    strcat(many, "X: y\r\n");
  strcat(many, "\r\n");
  char *body = filled("POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 'b', 5000, "");
  char *chunked = filled("POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n", 'c', 5000,
                         "\r\n0\r\n\r\n");
  char *under = filled("POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 900\r\n\r\n", 'b', 900, "");
  hostile_t cases[] = {
      BAD("64 KiB target", url, "HTTP/1.1 414 "),
      BAD("64 KiB header", header, "HTTP/1.1 431 "),
      BAD("9000-byte header name", name, "HTTP/1.1 431 "),
      BAD("1,000 headers", many, "HTTP/1.1 431 "),
      BAD("body over the cap", body, "HTTP/1.1 413 "),
      BAD("chunked body over the cap", chunked, "HTTP/1.1 413 "),
      OK_OPEN("body under the cap", under, "HTTP/1.1 405 "),
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
  free(url);
  free(header);
  free(name);
  free(body);
  free(chunked);
  free(under);
}

TEST(expectations_and_connections) {
  static const hostile_t cases[] = {
      {"100-continue with a body",
       "POST /ping HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", 0,
       "HTTP/1.1 100 ", 1, false}, /* the interim answer, then the final one */
      OK_OPEN("100-continue without a body", GET "Expect: 100-continue\r\n\r\n", "HTTP/1.1 200 "),
      BAD("unknown expectation", GET "Expect: magic\r\n\r\n", "HTTP/1.1 417 "),
      /* RFC 9110 10.1.1: no interim answer to HTTP/1.0, and Expect ignored there */
      BAD("HTTP/1.0 100-continue with a body",
          "POST /ping HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 405 "),
      BAD("HTTP/1.0 unknown expectation", "GET /ping HTTP/1.0\r\nExpect: magic\r\n\r\n", "HTTP/1.1 200 "),
      BAD("Connection: close", GET "Connection: close\r\n\r\n", "HTTP/1.1 200 "),
      BAD("Connection: close, then more", GET "Connection: close\r\n\r\n" GET "\r\n", "HTTP/1.1 200 "),
      OK_OPEN("HTTP/1.0 keep-alive", "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 "),
      BAD("websocket upgrade", GET "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00", "HTTP/1.1 200 "),
      BAD("h2c upgrade", GET "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQ\r\n\r\n",
          "HTTP/1.1 200 "),
      {"a request cut short", "GET /ping HTTP/1.1\r\nHost: a\r\n", 0, "", 0, false},
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
}

TEST(pipelining) {
  char *flood = malloc(1000 * 32 + 1);
  flood[0] = '\0';
  for (int i = 0; i < 1000; i++)
    strcat(flood, GET "\r\n");
  hostile_t cases[] = {
      {"three valid, answered in order", GET "\r\n" "GET /x HTTP/1.1\r\nHost: a\r\n\r\n" GET "\r\n", 0,
       "HTTP/1.1 200 ", 3, false},
      {"a flood of 1,000", flood, 0, "HTTP/1.1 200 ", 1000, false},
      {"a bad one in the middle", GET "\r\n" "GET /ping HTTP/1.1\r\n\r\n" GET "\r\n", 0, "HTTP/1.1 200 ", 2, true},
  };
  CHECK(throw_all(cases, LBSIM_ARRAY_SIZE(cases)) == 0);
  free(flood);
}
