#include "harness.h"
#include "lbsim/hclient.h"

/* Feeds `text` whole, or one byte at a time. */
static lbsim_hresp_status_t feed(lbsim_hresp_t *r, const char *text, bool bytewise) {
  size_t len = strlen(text);
  lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
  if (!bytewise)
    return lbsim_hresp_feed(r, text, len);
  for (size_t i = 0; i < len && st == LBSIM_HRESP_MORE; i++)
    st = lbsim_hresp_feed(r, text + i, 1);
  return st;
}

static const char ok_response[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
                                  "{\"status\":\"ok\"}";

TEST(content_length_whole_and_bytewise) {
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    lbsim_hresp_t r;
    lbsim_hresp_init(&r);
    CHECK_EQ(feed(&r, ok_response, bytewise), LBSIM_HRESP_DONE);
    CHECK_EQ(r.status, 200);
    CHECK(r.keep_alive);
    CHECK(!r.trailing);
    CHECK_EQ(r.body_bytes, 15);
  }
}

TEST(chunked_body) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", true),
           LBSIM_HRESP_DONE);
  CHECK_EQ(r.body_bytes, 11);
  CHECK(r.keep_alive);
}

TEST(malformed_chunk_is_an_error) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", false), LBSIM_HRESP_ERROR);
  CHECK(r.error != NULL);
}

TEST(close_delimited_body_ends_at_eof) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome body", false), LBSIM_HRESP_MORE);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
  CHECK(!r.keep_alive);
  CHECK_EQ(r.body_bytes, 9);
}

TEST(interim_responses_are_skipped) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  char text[512];
  snprintf(text, sizeof(text), "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n%s",
           ok_response);
  CHECK_EQ(feed(&r, text, true), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 200);
}

TEST(other_statuses_complete_with_their_code) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", false), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 503);
}

TEST(garbage_is_an_error) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "SSH-2.0-OpenSSH_9.2\r\n", false), LBSIM_HRESP_ERROR);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 2x0 OK\r\n\r\n", false), LBSIM_HRESP_ERROR);
}

TEST(huge_header_section_is_an_error) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\n", false), LBSIM_HRESP_MORE);
  char line[1024];
  memset(line, 'a', sizeof(line));
  memcpy(line, "X-Pad: ", 7);
  memcpy(line + sizeof(line) - 2, "\r\n", 2);
  lbsim_hresp_status_t st = LBSIM_HRESP_MORE;
  for (int i = 0; i < 100 && st == LBSIM_HRESP_MORE; i++)
    st = lbsim_hresp_feed(&r, line, sizeof(line));
  CHECK_EQ(st, LBSIM_HRESP_ERROR);
}

TEST(truncated_body_at_eof_is_an_error) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", false), LBSIM_HRESP_MORE);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_ERROR);
  lbsim_hresp_init(&r);
  CHECK_EQ(lbsim_hresp_eof(&r), LBSIM_HRESP_ERROR); /* nothing at all */
  CHECK_EQ(r.bytes, 0);
}

TEST(bytes_after_the_response_are_trailing) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  char text[512];
  snprintf(text, sizeof(text), "%sHTTP/1.1 200 OK\r\n", ok_response);
  CHECK_EQ(feed(&r, text, false), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, ok_response, false), LBSIM_HRESP_DONE);
  CHECK_EQ(lbsim_hresp_feed(&r, "x", 1), LBSIM_HRESP_DONE);
  CHECK(r.trailing);
}

TEST(connection_close_and_http10) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false), LBSIM_HRESP_DONE);
  CHECK(!r.keep_alive);
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false), LBSIM_HRESP_DONE);
  CHECK(!r.keep_alive);
}

TEST(two_responses_on_one_connection) {
  lbsim_hresp_t r;
  lbsim_hresp_init(&r);
  CHECK_EQ(feed(&r, ok_response, false), LBSIM_HRESP_DONE);
  lbsim_hresp_next(&r);
  CHECK_EQ(r.status, 0);
  CHECK_EQ(feed(&r, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true), LBSIM_HRESP_DONE);
  CHECK_EQ(r.status, 404);
}
