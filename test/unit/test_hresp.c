/* Unit tests of the client's sans-I/O response parser (lbsim/net/http/hresp.h). */
#include <stdlib.h>

#include "harness.h"
#include "lbsim/net/http/hresp.h"

static const char ok_response[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: 47\r\n"
                                  "\r\n"
                                  "{\"status\":\"ok\",\"backend\":1,\"latency_ms\":812.40}";

static lbsim_hresp_status_t feed_str(lbsim_hresp_t *r, const char *s) {
  return lbsim_hresp_feed(r, s, strlen(s));
}

/* Feeds s one byte at a time: MORE until the last byte, then `last`. */
static int feed_bytewise(lbsim_hresp_t *r, const char *s, lbsim_hresp_status_t last) {
  size_t len = strlen(s);
  for (size_t i = 0; i < len; i++) {
    lbsim_hresp_status_t st = lbsim_hresp_feed(r, s + i, 1);
    if (i + 1 < len && st != LBSIM_HRESP_MORE) {
      lbsim_test_fail(__FILE__, __LINE__, "byte %zu of %zu: status %d (%s)", i, len, (int)st,
                      r->error ? r->error : "");
      return -1;
    }
    if (i + 1 == len && st != last) {
      lbsim_test_fail(__FILE__, __LINE__, "last byte: status %d, expected %d (%s)", (int)st, (int)last,
                      r->error ? r->error : "");
      return -1;
    }
  }
  return 0;
}

TEST(content_length_in_one_piece) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK(r.done);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 47);
  CHECK_EQ(r.bytes, strlen(ok_response));
  CHECK(r.keep_alive);
  CHECK(!r.trailing);
  CHECK(r.error == NULL);
  /* eof after a complete response changes nothing */
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
}

TEST(content_length_byte_by_byte) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_bytewise(&r, ok_response, LBSIM_HRESP_DONE), 0);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 47);
  CHECK_EQ(r.bytes, strlen(ok_response));
  CHECK(r.keep_alive);
  CHECK(!r.trailing);
}

TEST(every_split_point) {
  size_t len = strlen(ok_response);
  for (size_t cut = 0; cut <= len; cut++) {
    lbsim_hresp_t r;
    lbsim_hresp_init(&r);
    lbsim_hresp_status_t a = lbsim_hresp_feed(&r, ok_response, cut);
    CHECK_MSG(a == (cut == len ? LBSIM_HRESP_DONE : LBSIM_HRESP_MORE), "cut %zu: first part status %d", cut,
              (int)a);
    lbsim_hresp_status_t b = lbsim_hresp_feed(&r, ok_response + cut, len - cut);
    CHECK_MSG(b == LBSIM_HRESP_DONE, "cut %zu: status %d", cut, (int)b);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_bytes, 47);
    CHECK_MSG(!r.trailing, "cut %zu: trailing", cut);
  }
}

static const char chunked_response[] = "HTTP/1.1 200 OK\r\n"
                                       "Transfer-Encoding: chunked\r\n"
                                       "\r\n"
                                       "5\r\nhello\r\n"
                                       "6;ext=1\r\n world\r\n"
                                       "10\r\n0123456789abcdef\r\n"
                                       "0\r\n"
                                       "\r\n";

TEST(chunked) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, chunked_response), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 27);
  CHECK(r.keep_alive);
  CHECK(!r.trailing);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_bytewise(&r, chunked_response, LBSIM_HRESP_DONE), 0);
  CHECK_EQ(r.body_bytes, 27);
}

TEST(chunked_with_trailer_fields) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n"),
           LBSIM_HRESP_DONE);
  CHECK_EQ(r.body_bytes, 3);
  CHECK(!r.trailing);
}

TEST(close_delimited_body_completed_by_eof) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"), LBSIM_HRESP_MORE);
  CHECK_EQ(feed_str(&r, "defg"), LBSIM_HRESP_MORE);
  CHECK(!r.done);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_DONE);
  CHECK(r.done);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 7);
  CHECK(!r.keep_alive);
  /* HTTP/1.0 without a length: the same */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.0 200 OK\r\n\r\n{}"), LBSIM_HRESP_MORE);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_DONE);
  CHECK_EQ(r.body_bytes, 2);
  CHECK(!r.keep_alive);
  /* an empty close-delimited body */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 200 OK\r\n\r\n"), LBSIM_HRESP_MORE);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_DONE);
  CHECK_EQ(r.body_bytes, 0);
}

TEST(continue_then_final_response) {
  static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
  static const char final[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, interim), LBSIM_HRESP_MORE);
  CHECK(!r.done);
  CHECK_EQ(feed_str(&r, final), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 2);
  CHECK_EQ(r.bytes, strlen(interim) + strlen(final));
  CHECK(!r.trailing);
  /* both in one piece, and several interim responses */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
           LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK(!r.trailing);
  /* byte by byte */
  char both[256];
  snprintf(both, sizeof(both), "%s%s", interim, final);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_bytewise(&r, both, LBSIM_HRESP_DONE), 0);
  CHECK_EQ(r.status, 200);
}

TEST(error_status_is_done) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy!"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 503);
  CHECK(r.error == NULL);
  CHECK(r.keep_alive);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 404);
}

TEST(no_body_statuses) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 204 No Content\r\n\r\n"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 204);
  CHECK(r.keep_alive);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 304);
  CHECK_EQ(r.body_bytes, 0);
  CHECK(!r.trailing);
  /* a Content-Length on a 204 is ignored too; the next response follows */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 204);
  CHECK(r.keep_alive);
  lbsim_hresp_next(&r);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.body_bytes, 47);
}

TEST(garbage_is_an_error) {
  static const char *const bad[] = {
      "garbage\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    lbsim_hresp_t r;
    lbsim_hresp_init(&r);
    lbsim_hresp_status_t st = feed_str(&r, bad[i]);
    CHECK_MSG(st == LBSIM_HRESP_ERROR, "case %zu: status %d", i, (int)st);
    CHECK(r.error != NULL && r.error[0] != '\0');
    CHECK(!r.done);
    /* the parser stays in error */
    CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_ERROR);
    CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_ERROR);
  }
}

TEST(protocol_switch_is_an_error) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
           LBSIM_HRESP_ERROR);
  CHECK(r.error != NULL);
}

/* A response whose header section is about `size` bytes. */
static char *big_headers(size_t size, size_t field_len) {
  char *s = malloc(size + 256);
  if (s == NULL)
    return NULL;
  size_t len = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; len < size; i++) {
    len += (size_t)sprintf(s + len, "X-%d: ", i);
    size_t v = field_len < size - len ? field_len : size - len;
    memset(s + len, 'v', v);
    len += v;
    len += (size_t)sprintf(s + len, "\r\n");
  }
  sprintf(s + len, "Content-Length: 2\r\n\r\nok");
  return s;
}

TEST(header_section_over_64k_is_an_error) {
  /* one huge field */
  char *s = big_headers(70 * 1024, 70 * 1024);
  CHECK(s != NULL);
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  lbsim_hresp_status_t st = feed_str(&r, s);
  free(s);
  CHECK_EQ(st, LBSIM_HRESP_ERROR);
  CHECK(r.error != NULL && strstr(r.error, "too large") != NULL);
  /* many small fields */
  s = big_headers(LBSIM_HRESP_MAX_HEADER_BYTES + 100, 40);
  CHECK(s != NULL);
  lbsim_hresp_init(&r);
  st = feed_str(&r, s);
  free(s);
  CHECK_EQ(st, LBSIM_HRESP_ERROR);
}

TEST(header_section_under_64k_is_fine) {
  char *s = big_headers(60 * 1024, 1000);
  CHECK(s != NULL);
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  lbsim_hresp_status_t st = feed_str(&r, s);
  free(s);
  CHECK_MSG(st == LBSIM_HRESP_DONE, "status %d (%s)", (int)st, r.error ? r.error : "");
  CHECK_EQ(r.status, 200);
}

/* The cap is on the bytes of the header section, however they arrive. */
TEST(header_cap_does_not_depend_on_read_sizes) {
  char *s = big_headers(20 * 1024, 200);
  CHECK(s != NULL);
  lbsim_hresp_t r, whole;
  lbsim_hresp_init(&whole);
  CHECK_EQ(feed_str(&whole, s), LBSIM_HRESP_DONE);
  lbsim_hresp_init(&r);
  int rc = feed_bytewise(&r, s, LBSIM_HRESP_DONE);
  free(s);
  CHECK_EQ(rc, 0);
  CHECK_EQ(r.status, 200);
  CHECK_EQ(r.header_bytes, whole.header_bytes);
  CHECK(r.header_bytes >= 20 * 1024);
  /* and over the cap in small pieces is still over */
  s = big_headers(LBSIM_HRESP_MAX_HEADER_BYTES + 1024, 300);
  CHECK(s != NULL);
  lbsim_hresp_init(&r);
  lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
  size_t len = strlen(s);
  for (size_t i = 0; i < len && st == LBSIM_HRESP_MORE; i += 7)
    st = lbsim_hresp_feed(&r, s + i, len - i < 7 ? len - i : 7);
  free(s);
  CHECK_EQ(st, LBSIM_HRESP_ERROR);
}

TEST(body_over_the_cap_is_an_error) {
  char head[128];
  snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", 2 * LBSIM_HRESP_MAX_BODY_BYTES);
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, head), LBSIM_HRESP_MORE);
  static char block[1 << 20];
  memset(block, 'b', sizeof(block));
  lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
  int blocks = 0;
  while (st == LBSIM_HRESP_MORE && blocks < 40) {
    st = lbsim_hresp_feed(&r, block, sizeof(block));
    blocks++;
  }
  CHECK_EQ(st, LBSIM_HRESP_ERROR);
  CHECK_EQ(blocks, LBSIM_HRESP_MAX_BODY_BYTES / sizeof(block) + 1);
}

TEST(truncated_response_and_eof_is_an_error) {
  static const char *const cut[] = {
      "",
      "HTTP/1.1 200",
      "HTTP/1.1 200 OK\r\nContent-Le",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
    lbsim_hresp_t r;
    lbsim_hresp_init(&r);
    CHECK_MSG(feed_str(&r, cut[i]) == LBSIM_HRESP_MORE, "case %zu", i);
    lbsim_hresp_status_t st = lbsim_hresp_eof(&r);
    CHECK_MSG(st == LBSIM_HRESP_ERROR, "case %zu: eof gave %d", i, (int)st);
    CHECK(r.error != NULL);
    CHECK(!r.done);
  }
}

TEST(bytes_after_the_response_are_trailing) {
  char buf[512];
  snprintf(buf, sizeof(buf), "%sX", ok_response);
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, buf), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK(r.trailing);
  /* a whole second response in the same read: nobody asked for it */
  snprintf(buf, sizeof(buf), "%s%s", ok_response, ok_response);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, buf), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
  CHECK_EQ(r.body_bytes, 47);
  /* extra bytes in a later read */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK(!r.trailing);
  CHECK_EQ(lbsim_hresp_feed(&r, "\r\n", 2), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
  /* an empty read is not trailing data */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_hresp_feed(&r, "", 0), LBSIM_HRESP_DONE);
  CHECK(!r.trailing);
  /* a chunked body followed by bytes */
  snprintf(buf, sizeof(buf), "%sHTTP", chunked_response);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, buf), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
}

TEST(connection_close_is_not_keep_alive) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK(!r.keep_alive);
  /* HTTP/1.0: closes unless it says keep-alive */
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), LBSIM_HRESP_DONE);
  CHECK(!r.keep_alive);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
           LBSIM_HRESP_DONE);
  CHECK(r.keep_alive);
}

TEST(next_response_on_the_same_parser) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  lbsim_hresp_next(&r);
  CHECK(!r.done);
  CHECK_EQ(r.status, 0);
  CHECK_EQ(r.bytes, 0);
  CHECK_EQ(r.body_bytes, 0);
  CHECK(!r.trailing);
  static const char second[] = "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "4\r\nbusy\r\n0\r\n\r\n";
  CHECK_EQ(feed_str(&r, "HTTP/1.1 503 "), LBSIM_HRESP_MORE);
  CHECK_EQ(feed_str(&r, second + 13), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 503);
  CHECK_EQ(r.body_bytes, 4);
  CHECK_EQ(r.bytes, strlen(second));
  CHECK(!r.trailing);
  /* and many more, byte by byte */
  for (int i = 0; i < 20; i++) {
    lbsim_hresp_next(&r);
    CHECK_EQ(feed_bytewise(&r, ok_response, LBSIM_HRESP_DONE), 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_bytes, 47);
  }
}

TEST(next_after_trailing_bytes_starts_clean) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(lbsim_hresp_feed(&r, ok_response, strlen(ok_response)), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_hresp_feed(&r, "junk", 4), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
  lbsim_hresp_next(&r);
  CHECK(!r.trailing);
  CHECK_EQ(feed_str(&r, ok_response), LBSIM_HRESP_DONE);
  CHECK(!r.trailing);
}

TEST(consumed_splits_pipelined_responses) {
  /* Three answers to pipelined requests, in reads cut anywhere: each feed
   * says how much of it was the current response, the rest is the next. */
  char all[1024];
  int n = snprintf(all, sizeof(all), "%s%s%s", ok_response, chunked_response, ok_response);
  const int expect_body[3] = {47, 27, 47};
  for (size_t cut = 1; cut < (size_t)n; cut += 7) {
    lbsim_hresp_t r;
    lbsim_hresp_init(&r);
    const char *pieces[2] = {all, all + cut};
    size_t lens[2] = {cut, (size_t)n - cut};
    int seen = 0;
    for (int k = 0; k < 2; k++) {
      const char *p = pieces[k];
      size_t left = lens[k];
      while (left > 0) {
        lbsim_hresp_status_t st = lbsim_hresp_feed(&r, p, left);
        CHECK(st != LBSIM_HRESP_ERROR);
        CHECK(r.consumed <= left);
        p += r.consumed;
        left -= r.consumed;
        if (st == LBSIM_HRESP_DONE) {
          CHECK(seen < 3);
          CHECK_EQ(r.body_bytes, (uint64_t)expect_body[seen]);
          CHECK_EQ(r.trailing, left > 0);
          seen++;
          lbsim_hresp_next(&r);
        } else {
          CHECK_EQ(left, 0);
        }
      }
    }
    CHECK_MSG(seen == 3, "cut %zu: %d responses", cut, seen);
  }
}
