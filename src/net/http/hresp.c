/* Response parsing for the client, sans I/O. See lbsim/net/http/hresp.h. */
#include "lbsim/net/http/hresp.h"

#include <string.h>

static const char load_name[] = "endpoint-load-metrics";

static lbsim_hresp_t *resp_of(llhttp_t *p) {
  return (lbsim_hresp_t *)p->data;
}

static int fail(llhttp_t *p, const char *why) {
  llhttp_set_error_reason(p, why);
  return HPE_USER;
}

static int count_header(llhttp_t *p, size_t len) {
  lbsim_hresp_t *r = resp_of(p);
  r->header_bytes += (uint32_t)len;
  return r->header_bytes > LBSIM_HRESP_MAX_HEADER_BYTES ? fail(p, "response headers too large") : 0;
}

static int on_message_begin(llhttp_t *p) {
  lbsim_hresp_t *r = resp_of(p);
  r->header_bytes = 0;
  /* An interim response's headers say nothing of the final one. */
  r->load_count = 0;
  r->load_len = 0;
  r->load_too_long = false;
  r->field_matched = 0;
  r->field_other = false;
  r->in_load = false;
  return 0;
}

/* A piece of a field name: does it go on matching endpoint-load-metrics
 * (in any case)? */
static int on_field(llhttp_t *p, const char *at, size_t len) {
  lbsim_hresp_t *r = resp_of(p);
  if (r->capture_load && !r->field_other) {
    size_t left = sizeof(load_name) - 1 - r->field_matched;
    if (len > left) {
      r->field_other = true;
    } else {
      for (size_t k = 0; k < len; k++) {
        char c = at[k];
        if ((c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c) != load_name[r->field_matched + k]) {
          r->field_other = true;
          break;
        }
      }
      r->field_matched = (uint8_t)(r->field_matched + len);
    }
  }
  return count_header(p, len);
}

static int on_field_complete(llhttp_t *p) {
  lbsim_hresp_t *r = resp_of(p);
  if (r->capture_load && !r->field_other && r->field_matched == sizeof(load_name) - 1) {
    r->in_load = true;
    r->load_len = 0;
    r->load_too_long = false;
    if (r->load_count < UINT8_MAX)
      r->load_count++;
  }
  r->field_matched = 0;
  r->field_other = false;
  return count_header(p, 4);
}

static int on_value(llhttp_t *p, const char *at, size_t len) {
  lbsim_hresp_t *r = resp_of(p);
  if (r->in_load) {
    size_t room = sizeof(r->load) - r->load_len;
    if (len > room) {
      r->load_too_long = true;
      len = room;
    }
    memcpy(r->load + r->load_len, at, len);
    r->load_len = (uint16_t)(r->load_len + len);
  }
  return count_header(p, len);
}

static int on_value_complete(llhttp_t *p) {
  resp_of(p)->in_load = false;
  return count_header(p, 4);
}

/* The status, a field name or a value: its bytes may come in several
 * pieces (one call per read), so only their length is counted here ... */
static int on_data(llhttp_t *p, const char *at, size_t len) {
  (void)at;
  return count_header(p, len);
}

/* ... and the separators around it (": ", CRLF, the status line's other
 * parts) once, when it is complete. */
static int on_element_complete(llhttp_t *p) {
  return count_header(p, 4);
}

static int on_headers_complete(llhttp_t *p) {
  /* llhttp takes any digits: "HTTP/1.1 007 OK" is not a status. */
  if (p->status_code < 100 || p->status_code > 999)
    return fail(p, "invalid status code");
  if (p->status_code == 101 || p->upgrade)
    return fail(p, "unexpected protocol switch");
  /* 1xx, 204 and 304 responses end with their header section, whatever
   * Content-Length says (RFC 9112, 6.3): 1 tells llhttp to skip the body. */
  if (p->status_code < 200 || p->status_code == 204 || p->status_code == 304)
    return 1;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  lbsim_hresp_t *r = resp_of(p);
  (void)at;
  r->body_bytes += len;
  return r->body_bytes > LBSIM_HRESP_MAX_BODY_BYTES ? fail(p, "response body too large") : 0;
}

static int on_message_complete(llhttp_t *p) {
  lbsim_hresp_t *r = resp_of(p);
  if (p->status_code >= 100 && p->status_code < 200)
    return 0; /* interim (100 Continue, 103 Early Hints): the final one follows */
  r->done = true;
  r->status = p->status_code;
  r->keep_alive = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED; /* one response per request: stop here */
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_data,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_status_complete = on_element_complete,
    .on_header_field_complete = on_field_complete,
    .on_header_value_complete = on_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void lbsim_hresp_init(lbsim_hresp_t *r) {
  memset(r, 0, sizeof(*r));
  llhttp_init(&r->parser, HTTP_RESPONSE, &settings);
  r->parser.data = r;
}

void lbsim_hresp_next(lbsim_hresp_t *r) {
  if (llhttp_get_errno(&r->parser) == HPE_PAUSED)
    llhttp_resume(&r->parser);
  r->bytes = r->body_bytes = 0;
  r->header_bytes = 0;
  r->status = 0;
  r->done = r->keep_alive = r->trailing = false;
  r->error = NULL;
}

static lbsim_hresp_status_t result_of(lbsim_hresp_t *r, llhttp_errno_t err) {
  if (r->done)
    return LBSIM_HRESP_DONE;
  if (err == HPE_OK)
    return LBSIM_HRESP_MORE;
  r->error = llhttp_get_error_reason(&r->parser);
  if (r->error == NULL)
    r->error = llhttp_errno_name(err);
  return LBSIM_HRESP_ERROR;
}

lbsim_hresp_status_t lbsim_hresp_feed(lbsim_hresp_t *r, const char *data, size_t len) {
  r->consumed = 0;
  if (r->done) {
    r->trailing = r->trailing || len > 0;
    return LBSIM_HRESP_DONE;
  }
  if (r->error)
    return LBSIM_HRESP_ERROR;
  llhttp_errno_t err = llhttp_execute(&r->parser, data, len);
  r->consumed = len;
  if (err == HPE_PAUSED && r->done) {
    const char *stop = llhttp_get_error_pos(&r->parser);
    if (stop != NULL && stop >= data && stop < data + len) {
      r->consumed = (size_t)(stop - data);
      r->trailing = true;
    }
  }
  r->bytes += r->consumed;
  return result_of(r, err == HPE_PAUSED ? HPE_OK : err);
}

lbsim_hresp_status_t lbsim_hresp_eof(lbsim_hresp_t *r) {
  if (r->done)
    return LBSIM_HRESP_DONE;
  if (r->error)
    return LBSIM_HRESP_ERROR;
  llhttp_errno_t err = llhttp_finish(&r->parser);
  if (err == HPE_OK && !r->done) {
    r->error = "connection closed before the response was complete";
    return LBSIM_HRESP_ERROR;
  }
  return result_of(r, err == HPE_PAUSED ? HPE_OK : err);
}
