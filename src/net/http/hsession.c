/* The server side of one HTTP/1.1 connection, sans I/O. See lbsim/net/http/hsession.h. */
#include "lbsim/net/http/hsession.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lbsim/base/error.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/net/http/hreply.h"

/* A request line and a header line each cost a few bytes the callbacks do
 * not see (method, version, ": ", CRLF); count them so that the cap holds. */
#define REQUEST_LINE_OVERHEAD 16
#define HEADER_LINE_OVERHEAD 4

static lbsim_hsession_t *session_of(llhttp_t *p) {
  return (lbsim_hsession_t *)p->data;
}

/* ---- answer queue ------------------------------------------------------ */

static lbsim_hentry_t *queue_at(lbsim_hsession_t *s, uint32_t i) {
  return &s->queue[(s->queue_head + i) % s->queue_cap];
}

static int queue_push(lbsim_hsession_t *s, const lbsim_hentry_t *e) {
  if (s->queue_len == s->queue_cap) {
    /* Grow geometrically; the parser pauses at max_pipeline, so the ring
     * never needs more than that (+1 for an error answer). */
    uint32_t cap = s->queue_cap * 2;
    lbsim_hentry_t *q = malloc(cap * sizeof(*q));
    if (q == NULL)
      return LBSIM_ENOMEM;
    for (uint32_t i = 0; i < s->queue_len; i++)
      q[i] = *queue_at(s, i);
    if (s->queue != &s->queue_one)
      free(s->queue);
    s->queue = q;
    s->queue_cap = cap;
    s->queue_head = 0;
  }
  *queue_at(s, s->queue_len) = *e;
  s->queue_len++;
  return 0;
}

static void queue_pop(lbsim_hsession_t *s) {
  s->queue_head = (s->queue_head + 1) % s->queue_cap;
  s->queue_len--;
  if (s->queue_len == 0 && s->queue != &s->queue_one) {
    /* Idle connections go back to their inline slot: memory stays small. */
    free(s->queue);
    s->queue = &s->queue_one;
    s->queue_cap = 1;
    s->queue_head = 0;
  }
}

static void render_error(lbsim_buf_t *out, const lbsim_hentry_t *e) {
  char body[96];
  int n = snprintf(body, sizeof(body), "{\"status\":\"error\",\"code\":%d,\"reason\":\"%s\"}\n", e->status,
                   lbsim_hreply_reason(e->status));
  lbsim_hreply_simple(out, e, e->status, "application/json", NULL, body, (size_t)n);
}

/* ---- state changes ------------------------------------------------------ */

/* Queues an error answer: it goes out after the answers before it, then the
 * connection closes. Nothing more is parsed. */
static void fail_request(lbsim_hsession_t *s, int status) {
  if (s->state != LBSIM_HSTATE_OPEN)
    return;
  lbsim_hentry_t e = {.due_ns = 0, .status = (uint16_t)status, .kind = 0, .flags = 0};
  if (s->in_message && s->method_known && s->parser.method == HTTP_HEAD)
    e.flags |= LBSIM_HENTRY_HEAD;
  s->state = LBSIM_HSTATE_DRAINING;
  s->in_message = false;
  if (queue_push(s, &e) != 0)
    s->state = LBSIM_HSTATE_CLOSE;
}

static void send_due(lbsim_hsession_t *s, uint64_t now_ns) {
  bool sent = false;
  while (s->queue_len > 0 && s->state != LBSIM_HSTATE_CLOSE) {
    lbsim_hentry_t e = *queue_at(s, 0);
    if (e.due_ns > now_ns)
      break;
    if (e.kind == 0) {
      render_error(s->out, &e);
      if (s->app->error_sent)
        s->app->error_sent(s->app_data, &e);
    } else
      s->app->render(s->app_data, &e, s->out);
    queue_pop(s);
    sent = true;
    if (!(e.flags & LBSIM_HENTRY_KEEP_ALIVE)) {
      /* Anything queued after a closing answer can never be sent. */
      s->state = LBSIM_HSTATE_DRAINING;
      while (s->queue_len > 0) {
        if (queue_at(s, 0)->kind != 0 && s->app->dropped)
          s->app->dropped(s->app_data, queue_at(s, 0));
        queue_pop(s);
      }
    }
    if (e.kind != 0 && (e.flags & LBSIM_HENTRY_STREAM) && !(e.flags & LBSIM_HENTRY_HEAD)) {
      /* The head is out; the application writes the body from now on. */
      s->state = LBSIM_HSTATE_STREAM;
      s->stream_arg = e.arg;
      return;
    }
  }
  if (s->queue_len == 0 && s->state == LBSIM_HSTATE_DRAINING) {
    s->state = LBSIM_HSTATE_LINGER;
    /* The transport may still be writing the last answers; a reader that
     * slow gets the idle timeout to take them (lbsim_hsession_linger()
     * restarts the clock once they are written). */
    s->linger_deadline_ns = now_ns + s->limits->idle_timeout_ns;
  }
  /* Idle time runs from the last answer; a call that sends nothing (an
   * early timer) must not push the deadline back. */
  if (sent && s->queue_len == 0 && s->state == LBSIM_HSTATE_OPEN && !s->in_message)
    s->idle_deadline_ns = now_ns + s->limits->idle_timeout_ns;
}

/* ---- llhttp callbacks --------------------------------------------------- */

static int on_message_begin(llhttp_t *p) {
  lbsim_hsession_t *s = session_of(p);
  s->in_message = true;
  s->in_headers = true;
  s->expect_continue = false;
  s->method_known = false;
  s->url_too_long_to_route = false;
  s->host_count = s->header_count = 0;
  s->url_len_stored = 0;
  s->url_bytes = 0;
  s->header_bytes = REQUEST_LINE_OVERHEAD;
  s->body_bytes = 0;
  s->hdr_name_len = s->hdr_value_len = 0;
  s->version_len = 0;
  s->upgrade = false;
  if (s->body)
    lbsim_buf_clear(s->body);
  for (uint8_t k = 0; k < s->nfields; k++) {
    s->fields[k].count = 0;
    s->fields[k].len = 0;
    s->fields[k].too_long = false;
    s->fields[k].value[0] = '\0';
  }
  s->field_at = -2;
  s->message_deadline_ns = s->now_ns + s->limits->request_timeout_ns;
  return 0;
}

static int too_large(lbsim_hsession_t *s, llhttp_t *p, int status) {
  fail_request(s, status);
  llhttp_set_error_reason(p, "limit exceeded");
  return HPE_USER;
}

static int count_header_bytes(lbsim_hsession_t *s, llhttp_t *p, size_t len) {
  s->header_bytes += (uint32_t)len;
  if (s->header_bytes > s->limits->max_header_bytes)
    return too_large(s, p, 431);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  lbsim_hsession_t *s = session_of(p);
  if (memchr(at, '#', len) != NULL) {
    /* RFC 9112 3.2: a fragment is never part of a request target. */
    fail_request(s, 400);
    llhttp_set_error_reason(p, "fragment in the request target");
    return HPE_USER;
  }
  s->url_bytes += (uint32_t)len;
  if (s->url_bytes > s->limits->max_url_bytes)
    return too_large(s, p, 414);
  size_t room = sizeof(s->url) - s->url_len_stored;
  size_t keep = len;
  if (keep > room) {
    s->url_too_long_to_route = true;
    keep = room;
  }
  memcpy(s->url + s->url_len_stored, at, keep);
  s->url_len_stored = (uint16_t)(s->url_len_stored + keep);
  return count_header_bytes(s, p, len); /* the whole target, not what was kept */
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  lbsim_hsession_t *s = session_of(p);
  for (size_t i = 0; i < len && s->hdr_name_len < sizeof(s->hdr_name); i++)
    s->hdr_name[s->hdr_name_len++] = (char)tolower((unsigned char)at[i]);
  return count_header_bytes(s, p, len);
}

/* Known as soon as it is parsed, wherever the bytes were split (the
 * target's first piece may come in a later call, or never for a bad one). */
static int on_method_complete(llhttp_t *p) {
  session_of(p)->method_known = true;
  return 0;
}

static int on_version(llhttp_t *p, const char *at, size_t len) {
  lbsim_hsession_t *s = session_of(p);
  for (size_t i = 0; i < len && s->version_len < sizeof(s->version); i++)
    s->version[s->version_len++] = at[i];
  return 0;
}

static bool name_is(const lbsim_hsession_t *s, const char *name) {
  size_t n = strlen(name);
  return s->hdr_name_len == n && memcmp(s->hdr_name, name, n) == 0;
}

/* A Host value is a URI authority: no spaces, slashes or user info. */
static bool host_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("-._~:[]!$&'()*+,;=%", c) != NULL;
}

/* The captured header the current one is, if any: its value is kept
 * whole (up to LBSIM_HFIELD_MAX) for the application. */
static lbsim_hfield_t *field_of_header(lbsim_hsession_t *s) {
  if (s->field_at == -2) {
    s->field_at = -1;
    for (uint8_t k = 0; k < s->nfields; k++)
      if (name_is(s, s->limits->capture[k])) {
        lbsim_hfield_t *f = &s->fields[k];
        s->field_at = (int8_t)k;
        if (f->count < UINT8_MAX)
          f->count++;
        f->len = 0; /* the last occurrence is kept; count tells duplicates */
        f->too_long = false;
        break;
      }
  }
  return s->field_at >= 0 ? &s->fields[s->field_at] : NULL;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  lbsim_hsession_t *s = session_of(p);
  lbsim_hfield_t *f = s->nfields ? field_of_header(s) : NULL;
  if (f != NULL) {
    size_t room = sizeof(f->value) - 1 - f->len;
    size_t keep = len < room ? len : room;
    memcpy(f->value + f->len, at, keep);
    f->len = (uint16_t)(f->len + keep);
    f->too_long = f->too_long || keep < len;
  }
  if (name_is(s, "host"))
    for (size_t i = 0; i < len; i++) {
      bool ws = at[i] == ' ' || at[i] == '\t';
      if (!ws && (s->host_ws || !host_char((unsigned char)at[i]))) {
        fail_request(s, 400);
        llhttp_set_error_reason(p, "invalid Host");
        return HPE_USER;
      }
      s->host_ws = s->host_ws || ws; /* only trailing blanks may follow */
    }
  /* A value part that starts a line is an obsolete line folding, which
   * RFC 9112 5.2 lets a server reject: folded headers read differently by
   * two hops are a smuggling vector. */
  char before = at > s->chunk ? at[-1] : s->prev_byte;
  if (len > 0 && (at[0] == ' ' || at[0] == '\t') && before == '\n') {
    fail_request(s, 400);
    llhttp_set_error_reason(p, "obsolete line folding");
    return HPE_USER;
  }
  for (size_t i = 0; i < len && s->hdr_value_len < sizeof(s->hdr_value); i++)
    s->hdr_value[s->hdr_value_len++] = (char)tolower((unsigned char)at[i]);
  return count_header_bytes(s, p, len);
}

static int on_header_value_complete(llhttp_t *p) {
  lbsim_hsession_t *s = session_of(p);
  if (s->hdr_name_len == 0) {
    fail_request(s, 400);
    llhttp_set_error_reason(p, "empty header name");
    return HPE_USER;
  }
  s->header_count++;
  if (s->header_count > s->limits->max_headers)
    return too_large(s, p, 431);
  lbsim_hfield_t *f = s->nfields ? field_of_header(s) : NULL; /* an empty value has no value callback */
  if (f != NULL) {
    while (f->len > 0 && (f->value[f->len - 1] == ' ' || f->value[f->len - 1] == '\t'))
      f->len--;
    f->value[f->len] = '\0';
  }
  s->field_at = -2;
  if (name_is(s, "host")) {
    s->host_count++;
    s->host_ws = false;
  } else if (name_is(s, "expect") && (p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1))) {
    /* Expect is an HTTP/1.1 mechanism. RFC 9110 10.1.1: a 100-continue
     * from an HTTP/1.0 client must be ignored (it cannot take an interim
     * answer); any other expectation from it is ignored too, as nginx
     * does, rather than refused. The version is parsed by now: the
     * request line comes before the headers. */
    static const char cont[] = "100-continue";
    if (s->hdr_value_len == sizeof(cont) - 1 && memcmp(s->hdr_value, cont, sizeof(cont) - 1) == 0) {
      s->expect_continue = true;
    } else {
      fail_request(s, 417);
      llhttp_set_error_reason(p, "unsupported expectation");
      return HPE_USER;
    }
  }
  s->header_bytes += HEADER_LINE_OVERHEAD;
  s->hdr_name_len = s->hdr_value_len = 0;
  return s->header_bytes > s->limits->max_header_bytes ? too_large(s, p, 431) : 0;
}

static int on_headers_complete(llhttp_t *p) {
  lbsim_hsession_t *s = session_of(p);
  s->in_headers = false;
  if (p->http_major != 1) {
    fail_request(s, 505);
    llhttp_set_error_reason(p, "unsupported HTTP version");
    return HPE_USER;
  }
  if (p->http_minor >= 1 && s->host_count != 1) {
    /* RFC 9112 3.2: exactly one Host on HTTP/1.1. */
    fail_request(s, 400);
    llhttp_set_error_reason(p, s->host_count ? "duplicate Host" : "missing Host");
    return HPE_USER;
  }
  if (p->method == HTTP_CONNECT) {
    fail_request(s, 405);
    llhttp_set_error_reason(p, "CONNECT is not supported");
    return HPE_USER;
  }
  /* An Upgrade (websocket, h2c) is declined by answering the request as
   * HTTP/1.1; nothing after it is parsed, and the connection closes. */
  s->upgrade = p->upgrade != 0;
  bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > s->limits->max_body_bytes)
    return too_large(s, p, 413);
  if (s->expect_continue && has_body && s->queue_len == 0) {
    /* Only when nothing is queued before it: interim answers may not
     * overtake earlier final ones. */
    lbsim_buf_append_str(s->out, "HTTP/1.1 100 Continue\r\n\r\n");
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  lbsim_hsession_t *s = session_of(p);
  s->body_bytes += len;
  if (s->body_bytes > s->limits->max_body_bytes)
    return too_large(s, p, 413);
  if (s->body && lbsim_buf_append(s->body, at, len) != 0) {
    fail_request(s, 500); /* out of memory: the request cannot be kept whole */
    llhttp_set_error_reason(p, "out of memory");
    return HPE_USER;
  }
  return 0;
}

/* Splits the stored target into path and query; absolute-form targets
 * ("http://host/path") are reduced to their path. */
static void split_target(lbsim_hsession_t *s, lbsim_hrequest_t *req) {
  const char *u = s->url;
  size_t n = s->url_len_stored;
  req->path = NULL;
  req->path_len = 0;
  req->query = NULL;
  req->query_len = 0;
  if (n >= 7 && (strncasecmp(u, "http://", 7) == 0 || (n >= 8 && strncasecmp(u, "https://", 8) == 0))) {
    size_t skip = u[4] == ':' ? 7 : 8;
    const char *slash = memchr(u + skip, '/', n - skip);
    if (slash == NULL) {
      if (s->url_too_long_to_route)
        return;
      req->path = "/";
      req->path_len = 1;
      return;
    }
    n -= (size_t)(slash - u);
    u = slash;
  }
  const char *q = memchr(u, '?', n);
  if (q == NULL) {
    if (s->url_too_long_to_route)
      return; /* the path itself did not fit: no route is that long */
    req->path = u;
    req->path_len = n;
    return;
  }
  req->path = u;
  req->path_len = (size_t)(q - u);
  req->query = q + 1;
  req->query_len = n - req->path_len - 1;
}

static int on_message_complete(llhttp_t *p) {
  lbsim_hsession_t *s = session_of(p);
  if (s->state != LBSIM_HSTATE_OPEN)
    return HPE_PAUSED;
  s->in_message = false;
  s->requests++;

  lbsim_hrequest_t req = {.method = (llhttp_method_t)p->method};
  split_target(s, &req);
  if (s->body) {
    req.body = s->body->data;
    req.body_len = s->body->len;
  }
  req.fields = s->fields;
  lbsim_hentry_t e = {0};
  s->app->route(s->app_data, &req, s->now_ns, &e);
  /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request means its
   * framing cannot be trusted (a 1.0 intermediary may have framed it
   * differently); answer it, then close. */
  bool faulty_framing = p->http_minor == 0 && (p->flags & F_TRANSFER_ENCODING);
  /* A stream ends with the connection: nothing after it is parsed. */
  bool stream = (e.flags & LBSIM_HENTRY_STREAM) && p->method != HTTP_HEAD;
  if (llhttp_should_keep_alive(p) && !s->upgrade && !faulty_framing && !stream && !(e.flags & LBSIM_HENTRY_CLOSE))
    e.flags |= LBSIM_HENTRY_KEEP_ALIVE;
  if (p->http_minor == 0)
    e.flags |= LBSIM_HENTRY_HTTP10;
  if (p->method == HTTP_HEAD)
    e.flags |= LBSIM_HENTRY_HEAD;
  if (queue_push(s, &e) != 0) {
    s->state = LBSIM_HSTATE_CLOSE;
    return HPE_PAUSED;
  }
  if (!(e.flags & LBSIM_HENTRY_KEEP_ALIVE)) {
    s->state = LBSIM_HSTATE_DRAINING; /* answer, then close: ignore what follows */
    return HPE_PAUSED;
  }
  if (s->queue_len >= s->limits->max_pipeline) {
    s->paused = true;
    return HPE_PAUSED;
  }
  return 0;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_method_complete = on_method_complete,
    .on_version = on_version,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- public API --------------------------------------------------------- */

void lbsim_hsession_init(lbsim_hsession_t *s, const lbsim_hlimits_t *limits, const lbsim_happ_t *app,
                         void *app_data, uint64_t now_ns) {
  memset(s, 0, sizeof(*s));
  llhttp_init(&s->parser, HTTP_REQUEST, &settings);
  s->parser.data = s;
  s->limits = limits;
  s->app = app;
  s->app_data = app_data;
  s->queue = &s->queue_one;
  s->queue_cap = 1;
  s->state = LBSIM_HSTATE_OPEN;
  s->idle_deadline_ns = now_ns + limits->idle_timeout_ns;
  if (limits->capture_body) {
    s->body = calloc(1, sizeof(*s->body));
    if (s->body == NULL)
      s->state = LBSIM_HSTATE_CLOSE; /* a body it cannot keep must not be answered as none */
  }
  s->field_at = -2;
  if (limits->capture) {
    uint8_t n = 0;
    while (limits->capture[n] && n < INT8_MAX)
      n++;
    s->fields = calloc(n, sizeof(*s->fields));
    s->nfields = s->fields ? n : 0;
    if (s->fields == NULL)
      s->state = LBSIM_HSTATE_CLOSE; /* the application could not check its requests */
  }
}

void lbsim_hsession_free(lbsim_hsession_t *s) {
  while (s->queue_len > 0) {
    if (queue_at(s, 0)->kind != 0 && s->app->dropped)
      s->app->dropped(s->app_data, queue_at(s, 0));
    queue_pop(s);
  }
  if (s->body) {
    lbsim_buf_free(s->body);
    free(s->body);
    s->body = NULL;
  }
  free(s->fields);
  s->fields = NULL;
  s->nfields = 0;
}

/* 505 for a well-formed version lbsim does not speak (HTTP/1.2, 3.0);
 * anything malformed is 400. */
static int status_for_parse_error(const lbsim_hsession_t *s, llhttp_errno_t err) {
  const char *v = s->version;
  bool well_formed = s->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' && v[2] <= '9';
  /* llhttp says "Invalid HTTP version" for a version it does not accept,
   * and reports a bad line end after a good version the same way. */
  const char *why = llhttp_get_error_reason(&s->parser);
  bool unsupported = why != NULL && strcmp(why, "Invalid HTTP version") == 0;
  return err == HPE_INVALID_VERSION && well_formed && unsupported ? 505 : 400;
}

size_t lbsim_hsession_feed(lbsim_hsession_t *s, const char *data, size_t len, uint64_t now_ns, lbsim_buf_t *out) {
  s->out = out;
  s->now_ns = now_ns;
  if (s->state == LBSIM_HSTATE_LINGER) {
    s->linger_discarded += (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    if (s->linger_discarded > s->limits->linger_bytes)
      s->state = LBSIM_HSTATE_CLOSE;
    return len;
  }
  if (s->state != LBSIM_HSTATE_OPEN)
    return len; /* answering what came before; the rest is ignored */
  if (s->paused) {
    if (s->queue_len >= s->limits->max_pipeline)
      return 0;
    s->paused = false;
    llhttp_resume(&s->parser);
  }
  size_t consumed = len;
  s->chunk = data;
  llhttp_errno_t err = llhttp_execute(&s->parser, data, len);
  if (err == HPE_PAUSED) {
    consumed = (size_t)(llhttp_get_error_pos(&s->parser) - data);
  } else if (err == HPE_PAUSED_UPGRADE) {
    if (s->state == LBSIM_HSTATE_OPEN)
      s->state = LBSIM_HSTATE_DRAINING; /* answered; the rest is another protocol */
  } else if (err == HPE_USER) {
    /* A callback has queued the error answer already. */
  } else if (err != HPE_OK) {
    if (err == HPE_INVALID_METHOD)
      s->method_known = false; /* "HEADX": llhttp matched HEAD before the X */
    fail_request(s, status_for_parse_error(s, err));
  }
  if (s->state != LBSIM_HSTATE_OPEN)
    consumed = len; /* no more requests on this connection: drop the rest */
  if (consumed > 0)
    s->prev_byte = data[consumed - 1];
  send_due(s, now_ns);
  return consumed;
}

void lbsim_hsession_eof(lbsim_hsession_t *s, uint64_t now_ns, lbsim_buf_t *out) {
  s->out = out;
  s->now_ns = now_ns;
  if (s->state == LBSIM_HSTATE_STREAM) {
    s->state = LBSIM_HSTATE_CLOSE; /* nobody left to read the stream */
    return;
  }
  if (s->state == LBSIM_HSTATE_OPEN) {
    /* Requests are never close-delimited: a request cut short by EOF has
     * nothing to answer. What was queued is still sent (half-close). */
    s->in_message = false;
    s->state = LBSIM_HSTATE_DRAINING;
  }
  /* Once all is answered the session lingers, not closes: answers may be
   * waiting in the transport, which closes when they are written. */
  send_due(s, now_ns);
}

void lbsim_hsession_tick(lbsim_hsession_t *s, uint64_t now_ns, lbsim_buf_t *out) {
  s->out = out;
  s->now_ns = now_ns;
  switch (s->state) {
  case LBSIM_HSTATE_LINGER:
    /* The deadline starts when the transport has flushed and shut down. */
    if (s->linger_deadline_ns != 0 && now_ns >= s->linger_deadline_ns)
      s->state = LBSIM_HSTATE_CLOSE;
    return;
  case LBSIM_HSTATE_CLOSE:
  case LBSIM_HSTATE_STREAM:
    return;
  case LBSIM_HSTATE_OPEN:
    if (s->in_message && now_ns >= s->message_deadline_ns) {
      fail_request(s, 408);
    } else if (!s->in_message && s->queue_len == 0 && now_ns >= s->idle_deadline_ns) {
      s->state = LBSIM_HSTATE_CLOSE;
      return;
    }
    break;
  case LBSIM_HSTATE_DRAINING:
    break;
  }
  send_due(s, now_ns);
}

void lbsim_hsession_linger(lbsim_hsession_t *s, uint64_t now_ns) {
  s->linger_deadline_ns = now_ns + s->limits->linger_timeout_ns;
}

uint64_t lbsim_hsession_next_wakeup(const lbsim_hsession_t *s) {
  switch (s->state) {
  case LBSIM_HSTATE_CLOSE:
  case LBSIM_HSTATE_STREAM:
    return LBSIM_NEVER;
  case LBSIM_HSTATE_LINGER:
    return s->linger_deadline_ns ? s->linger_deadline_ns : LBSIM_NEVER;
  case LBSIM_HSTATE_OPEN:
  case LBSIM_HSTATE_DRAINING:
    break;
  }
  uint64_t next = LBSIM_NEVER;
  if (s->queue_len > 0)
    next = s->queue[s->queue_head].due_ns;
  if (s->state == LBSIM_HSTATE_OPEN) {
    if (s->in_message && s->message_deadline_ns < next)
      next = s->message_deadline_ns;
    if (!s->in_message && s->queue_len == 0 && s->idle_deadline_ns < next)
      next = s->idle_deadline_ns;
  }
  return next;
}

bool lbsim_hsession_wants_input(const lbsim_hsession_t *s) {
  if (s->state == LBSIM_HSTATE_LINGER || s->state == LBSIM_HSTATE_STREAM)
    return true; /* read and discarded: how a closed peer shows */
  return s->state == LBSIM_HSTATE_OPEN && !(s->paused && s->queue_len >= s->limits->max_pipeline);
}

void lbsim_hsession_end_stream(lbsim_hsession_t *s, uint64_t deadline_ns) {
  if (s->state != LBSIM_HSTATE_STREAM)
    return;
  /* As after a last answer: the transport shuts down its side once the
   * stream is written; a reader too slow to take it by the deadline is cut. */
  s->state = LBSIM_HSTATE_LINGER;
  s->linger_deadline_ns = deadline_ns;
}
