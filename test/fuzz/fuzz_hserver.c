/* Fuzzes the backends' request handling (lbsim_hsession_t) without sockets:
 * arbitrary bytes, in arbitrary pieces, with time passing in between.
 *
 * Input layout: a series of records, each a control byte then data. The
 * control byte's low 6 bits + 1 give how many of the following bytes to
 * feed; bit 6 advances the clock by a step that reaches every deadline
 * sooner or later; bit 7 reports the peer's end of input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lbsim/hserver.h"

#define MS 1000000ull

static void app_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  (void)app;
  if (req->path && req->path_len == 5 && memcmp(req->path, "/ping", 5) == 0) {
    e->kind = 1;
    e->status = 200;
    e->due_ns = now_ns + 3 * MS;
  } else {
    e->kind = 2;
    e->status = 404;
  }
}

static void app_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  (void)app;
  lbsim_hresponse_simple(out, e, e->kind == 1 ? 200 : 404, "text/plain", NULL, "pong", 4);
}

static const lbsim_happ_t app = {app_route, app_render, NULL};

static void check_output(const lbsim_buf_t *out, size_t before) {
  /* Every answer starts with a status line. */
  if (out->len > before && (out->len - before < 9 || memcmp(out->data + before, "HTTP/1.1 ", 9) != 0))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const lbsim_hlimits_t limits = {
      .max_header_bytes = 1024,
      .max_url_bytes = 256,
      .max_body_bytes = 512,
      .max_headers = 16,
      .max_pipeline = 4,
      .request_timeout_ns = 50 * MS,
      .idle_timeout_ns = 80 * MS,
      .linger_timeout_ns = 20 * MS,
      .linger_bytes = 256,
      .capture_body = true,
  };
  lbsim_hsession_t s;
  lbsim_buf_t out = {0};
  uint64_t now = 1000 * MS;
  lbsim_hsession_init(&s, &limits, &app, NULL, now);
  char *pending = NULL; /* what the session did not take yet */
  size_t npending = 0;
  size_t i = 0;
  while (i < size && s.state != LBSIM_HSTATE_CLOSE) {
    uint8_t ctl = data[i++];
    size_t n = (size_t)(ctl & 0x3f) + 1;
    if (n > size - i)
      n = size - i;
    char *chunk = realloc(pending, npending + n + 1);
    if (chunk == NULL)
      abort();
    memcpy(chunk + npending, data + i, n);
    pending = chunk;
    npending += n;
    i += n;
    if (lbsim_hsession_wants_input(&s)) {
      size_t before = out.len;
      size_t used = lbsim_hsession_feed(&s, pending, npending, now, &out);
      if (used > npending)
        abort();
      check_output(&out, before);
      memmove(pending, pending + used, npending - used);
      npending -= used;
    }
    if (s.queue_len > limits.max_pipeline + 1)
      abort();
    if (ctl & 0x40) {
      uint64_t wake = lbsim_hsession_next_wakeup(&s);
      now = wake != LBSIM_NEVER && wake > now ? wake : now + 7 * MS;
      size_t before = out.len;
      lbsim_hsession_tick(&s, now, &out);
      check_output(&out, before);
      if (s.state == LBSIM_HSTATE_LINGER)
        lbsim_hsession_linger(&s, now);
    }
    if ((ctl & 0x80) && npending == 0) {
      lbsim_hsession_eof(&s, now, &out);
      break;
    }
    if (out.len > (1u << 20))
      out.len = 0; /* what a transport would have written */
  }
  lbsim_hsession_free(&s);
  lbsim_buf_free(&out);
  free(pending);
  return 0;
}
