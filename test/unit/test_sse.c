/* The dashboard's event stream without sockets: framing, ids, the bounded
 * history and where a viewer resumes. */
#include "harness.h"

#include <string.h>
#include <stdio.h>
#include "lbsim/base/error.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/report/sse.h"

#define TOKEN 0x5f3a09c1u

static int publish(lbsim_sse_t *s, const char *type, const char *json) {
  return lbsim_sse_publish(s, type, json, strlen(json));
}

static const char *text_of(const lbsim_sse_item_t *item, char *buf, size_t len) {
  snprintf(buf, len, "%.*s", (int)item->len, item->data);
  return buf;
}

TEST(events_are_framed_with_the_run_token_and_increasing_ids) {
  lbsim_sse_t s;
  lbsim_sse_init(&s, TOKEN, 1 << 20, 100);
  CHECK(publish(&s, "start", "{\"type\":\"start\"}") == 0);
  CHECK(publish(&s, "round", "{\"type\":\"round\",\"n\":1}") == 0);
  char buf[256];
  CHECK_MSG(strcmp(text_of(lbsim_sse_get(&s, 1), buf, sizeof(buf)),
                   "id: 5f3a09c1.1\nevent: start\ndata: {\"type\":\"start\"}\n\n") == 0,
            "%s", buf);
  CHECK_MSG(strcmp(text_of(lbsim_sse_get(&s, 2), buf, sizeof(buf)),
                   "id: 5f3a09c1.2\nevent: round\ndata: {\"type\":\"round\",\"n\":1}\n\n") == 0,
            "%s", buf);
  CHECK(lbsim_sse_get(&s, 3) == NULL);
  CHECK(lbsim_sse_get(&s, 0) == NULL);
  CHECK_EQ(s.next_id, 3);
  lbsim_sse_free(&s);
}

TEST(the_history_keeps_the_start_and_the_newest_within_its_bounds) {
  lbsim_sse_t s;
  lbsim_sse_init(&s, TOKEN, 4096, 10);
  CHECK(publish(&s, "start", "{\"type\":\"start\"}") == 0);
  for (int i = 0; i < 25; i++)
    CHECK(publish(&s, "tick", "{\"type\":\"tick\"}") == 0);
  /* Ten by count: ids 17..26; the start stays. */
  CHECK_EQ(s.oldest, 17);
  CHECK_EQ(s.count, 10);
  CHECK(lbsim_sse_get(&s, 1) != NULL && lbsim_sse_get(&s, 16) == NULL && lbsim_sse_get(&s, 17) != NULL);
  CHECK(lbsim_sse_get(&s, 26) != NULL && lbsim_sse_get(&s, 27) == NULL);
  CHECK(lbsim_sse_behind(&s, 16) && !lbsim_sse_behind(&s, 17) && !lbsim_sse_behind(&s, 27));
  /* By bytes: one event larger than the whole history is still kept, alone. */
  char big[8192];
  memset(big, 'x', sizeof(big));
  memcpy(big, "{\"type\":\"round\",\"x\":\"", 21);
  memcpy(big + sizeof(big) - 2, "\"}", 2);
  CHECK(lbsim_sse_publish(&s, "round", big, sizeof(big)) == 0);
  CHECK_EQ(s.count, 1);
  CHECK_EQ(s.oldest, 27);
  CHECK(s.largest > sizeof(big));
  CHECK(publish(&s, "tick", "{\"type\":\"tick\"}") == 0);
  CHECK_EQ(s.count, 1); /* the large one made room for the next */
  CHECK_EQ(s.oldest, 28);
  lbsim_sse_free(&s);
}

TEST(a_viewer_resumes_after_its_last_event_or_starts_afresh) {
  lbsim_sse_t s;
  lbsim_sse_init(&s, TOKEN, 1 << 20, 5);
  CHECK(publish(&s, "start", "{\"type\":\"start\"}") == 0);
  for (int i = 0; i < 3; i++)
    CHECK(publish(&s, "round", "{\"type\":\"round\"}") == 0);
  /* A new viewer: the start, then the history. */
  lbsim_sse_start_t st = lbsim_sse_resume(&s, NULL);
  CHECK(!st.reset && st.send_start && st.next_id == 2);
  /* Back after id 3: from 4, no start. */
  st = lbsim_sse_resume(&s, "5f3a09c1.3");
  CHECK(!st.reset && !st.send_start && st.next_id == 4);
  /* After the newest: nothing yet. After the start itself: everything. */
  st = lbsim_sse_resume(&s, "5f3a09c1.4");
  CHECK(!st.reset && st.next_id == 5);
  st = lbsim_sse_resume(&s, "5f3a09c1.1");
  CHECK(!st.reset && !st.send_start && st.next_id == 2);
  /* Ids not of this run, from the future, or malformed: reset. */
  static const char *const others[] = {"12345678.3", "5f3a09c1.9", "5f3a09c1.", "5f3a09c1.3x", "3", "", "5f3a09c1.0"};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(others); k++) {
    st = lbsim_sse_resume(&s, others[k]);
    CHECK_MSG(st.reset && st.send_start && st.next_id == 2, "%s", others[k]);
  }
  /* An id that has left the history: reset, then the start and what is left. */
  for (int i = 0; i < 10; i++)
    CHECK(publish(&s, "tick", "{\"type\":\"tick\"}") == 0);
  CHECK_EQ(s.oldest, 10);
  st = lbsim_sse_resume(&s, "5f3a09c1.3");
  CHECK(st.reset && st.send_start && st.next_id == 10);
  st = lbsim_sse_resume(&s, "5f3a09c1.9");
  CHECK(!st.reset && st.next_id == 10);
  lbsim_buf_t out = LBSIM_BUF_INIT;
  lbsim_sse_reset_event(&s, "5f3a09c1.3", &out);
  lbsim_buf_append(&out, "", 1);
  CHECK_MSG(strcmp(out.data, "event: reset\ndata: {\"type\":\"reset\",\"reason\":\"expired\",\"last_event_id\":"
                             "\"5f3a09c1.3\",\"oldest_id\":\"5f3a09c1.10\"}\n\n") == 0,
            "%s", out.data);
  lbsim_buf_clear(&out);
  lbsim_sse_reset_event(&s, "x\"\n", &out);
  lbsim_buf_append(&out, "", 1);
  CHECK_MSG(strstr(out.data, "\"reason\":\"other-run\",\"last_event_id\":\"x\\\"\\u000a\"") != NULL, "%s", out.data);
  lbsim_buf_free(&out);
  lbsim_sse_free(&s);
}

TEST(the_type_is_read_from_a_json_line) {
  char type[16];
  CHECK(lbsim_sse_type_of("{\"type\":\"round\",\"n\":1}", 22, type, sizeof(type)) == 0 && strcmp(type, "round") == 0);
  CHECK(lbsim_sse_type_of("{\"type\":\"tick\"}", 15, type, sizeof(type)) == 0 && strcmp(type, "tick") == 0);
  CHECK(lbsim_sse_type_of("{\"n\":1,\"type\":\"x\"}", 18, type, sizeof(type)) == LBSIM_EINVAL);
  CHECK(lbsim_sse_type_of("{\"type\":\"a\nb\"}", 14, type, sizeof(type)) == LBSIM_EINVAL);
  CHECK(lbsim_sse_type_of("{\"type\":\"\"}", 11, type, sizeof(type)) == LBSIM_EINVAL);
  CHECK(lbsim_sse_type_of("{\"type\":\"averyveryverylongtype\"}", 31, type, sizeof(type)) == LBSIM_EINVAL);
  CHECK(lbsim_sse_type_of("{\"type\":\"round", 14, type, sizeof(type)) == LBSIM_EINVAL);
}
