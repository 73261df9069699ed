/* The HTTP/1.1 server side of one connection, without any I/O ("sans-I/O").
 *
 * A session is fed the bytes a peer sent and the current time; it parses
 * them with llhttp (HTTP_REQUEST), enforces every limit, asks the
 * application to route each complete request, keeps the answers in
 * request order, and appends response bytes to an output buffer when they
 * are due (the application renders them, with hreply.h). The transport
 * (httpd.c, or a fuzzer) moves the bytes and arms one timer for
 * lbsim_hsession_next_wakeup(). */
#ifndef LBSIM_HSESSION_H
#define LBSIM_HSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

struct lbsim_buf_s;

#include "lbsim/base/common.h"

/* Flags of a queued answer. */
enum {
  LBSIM_HENTRY_KEEP_ALIVE = 1 << 0, /* the connection stays open after it */
  LBSIM_HENTRY_HTTP10 = 1 << 1,     /* answer an HTTP/1.0 request */
  LBSIM_HENTRY_HEAD = 1 << 2,       /* headers only */
  /* Set by route(): after this answer's head the connection carries a
   * stream the application writes (Server-Sent Events) until it ends it;
   * nothing after the request is parsed, and the connection then closes. */
  LBSIM_HENTRY_STREAM = 1 << 3,
  /* Set by route(): the connection closes after this answer (a client
   * turned away, who would otherwise hold a connection for nothing). */
  LBSIM_HENTRY_CLOSE = 1 << 4
};

/* A request header the application asked to see (lbsim_hlimits_t.capture). */
#define LBSIM_HFIELD_MAX 128
typedef struct lbsim_hfield_s {
  char value[LBSIM_HFIELD_MAX]; /* the last occurrence, trailing blanks trimmed, NUL-terminated */
  uint16_t len;
  uint8_t count;                /* occurrences (0: absent) */
  bool too_long;                /* the value did not fit: it is cut */
} lbsim_hfield_t;

/* One queued answer. kind 0 is an error answer rendered by the session
 * itself from `status`; other kinds belong to the application. */
typedef struct lbsim_hentry_s {
  uint64_t due_ns;      /* when it may be sent; LBSIM_NEVER = never */
  uint16_t status;
  uint8_t kind;
  uint8_t flags;
  uint32_t arg;         /* application data */
} lbsim_hentry_t;

/* What the application sees of a complete request. */
typedef struct lbsim_hrequest_s {
  llhttp_method_t method;
  const char *path;     /* origin-form path, no query; NULL if too long to route */
  size_t path_len;
  const char *query;    /* after '?', or NULL */
  size_t query_len;
  const char *body;     /* only when the server captures bodies */
  size_t body_len;
  const lbsim_hfield_t *fields; /* the headers of limits.capture, in its order; NULL when none */
} lbsim_hrequest_t;

typedef struct lbsim_happ_s {
  /* Decides the answer to a complete request: fills kind/status/due_ns/arg
   * (flags are set by the session). */
  void (*route)(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *entry);
  /* Appends the full response (status line to body) for an application kind. */
  void (*render)(void *app, const lbsim_hentry_t *entry, struct lbsim_buf_s *out);
  /* A routed answer was dropped because the connection closed (may be NULL). */
  void (*dropped)(void *app, const lbsim_hentry_t *entry);
  /* The session sent an error answer of its own (kind 0: 400, 405, 408,
   * 413, 414, 417, 431, 505), for the application's counters (may be NULL). */
  void (*error_sent)(void *app, const lbsim_hentry_t *entry);
} lbsim_happ_t;

typedef struct lbsim_hlimits_s {
  uint32_t max_header_bytes;
  uint32_t max_url_bytes;
  uint32_t max_body_bytes;
  uint32_t max_headers;         /* header lines */
  uint32_t max_pipeline;        /* queued answers before parsing pauses */
  uint64_t request_timeout_ns;  /* first byte of a request to its last */
  uint64_t idle_timeout_ns;     /* keep-alive idle */
  uint64_t linger_timeout_ns;   /* after the last answer, before closing */
  uint32_t linger_bytes;        /* discarded while lingering, at most */
  bool capture_body;            /* keep request bodies for route() */
  const char *const *capture;   /* header names (lower case, NULL-terminated) route() sees; NULL: none */
} lbsim_hlimits_t;

typedef enum lbsim_hstate_e {
  LBSIM_HSTATE_OPEN = 0,        /* reading requests */
  LBSIM_HSTATE_DRAINING,        /* no more requests: answer the queue, then close */
  LBSIM_HSTATE_LINGER,          /* all answered: once written, the transport shuts down writes and
                                   discards input, or closes if the peer has closed its side */
  LBSIM_HSTATE_CLOSE,           /* close now */
  LBSIM_HSTATE_STREAM           /* a stream's head is out: the application writes the rest; input is
                                   discarded; lbsim_hsession_end_stream() lingers */
} lbsim_hstate_t;

typedef struct lbsim_hsession_s {
  llhttp_t parser;
  const lbsim_hlimits_t *limits;
  const lbsim_happ_t *app;
  void *app_data;

  lbsim_hentry_t *queue;        /* ring of answers in request order */
  lbsim_hentry_t queue_one;     /* inline storage until a second is queued */
  uint32_t queue_cap, queue_head, queue_len;

  lbsim_hstate_t state;
  bool paused;                  /* parser paused: queue full */
  bool in_message;              /* between the first byte of a request and its end */
  bool in_headers;
  bool expect_continue;
  bool method_known;            /* the request's method is parsed (parser.method) */
  bool url_too_long_to_route;
  bool upgrade;                 /* an Upgrade request: answered, then the connection closes */
  bool host_ws;                 /* blank seen in the Host value: nothing but blanks may follow */
  char prev_byte;               /* the last byte of the previous chunk fed */
  const char *chunk;            /* the chunk being parsed */
  char version[8];              /* the request's version token, to tell 505 from 400 */
  uint8_t version_len;
  uint8_t hdr_name_len, hdr_value_len;
  uint16_t host_count;
  uint16_t header_count;
  uint16_t url_len_stored;
  uint32_t header_bytes;
  uint32_t url_bytes;
  uint64_t body_bytes;
  uint64_t now_ns;              /* time of the current call */
  uint64_t message_deadline_ns;
  uint64_t idle_deadline_ns;
  uint64_t linger_deadline_ns;
  uint32_t linger_discarded;
  uint64_t requests;            /* complete requests routed */
  char hdr_name[16];
  char hdr_value[24];
  char url[96];
  struct lbsim_buf_s *body;     /* captured body, when limits->capture_body */
  lbsim_hfield_t *fields;       /* captured headers, when limits->capture */
  uint8_t nfields;
  int8_t field_at;              /* the header being parsed among them: -1 none, -2 not looked up yet */
  uint32_t stream_arg;          /* the arg of the answer that became a stream */
  struct lbsim_buf_s *out;      /* where answers go during a call */
} lbsim_hsession_t;

void lbsim_hsession_init(lbsim_hsession_t *s, const lbsim_hlimits_t *limits, const lbsim_happ_t *app,
                         void *app_data, uint64_t now_ns);
/* Drops queued answers (telling the app) and frees memory. */
void lbsim_hsession_free(lbsim_hsession_t *s);
/* Parses bytes from the peer; answers already due are appended to out.
 * Returns how many bytes were consumed: fewer than len when the session
 * paused (queue full); the rest must be fed again once it wants input. */
size_t lbsim_hsession_feed(lbsim_hsession_t *s, const char *data, size_t len, uint64_t now_ns,
                           struct lbsim_buf_s *out);
/* The peer closed its side: remaining answers are still sent, then the
 * session lingers (the transport closes once its output is written). */
void lbsim_hsession_eof(lbsim_hsession_t *s, uint64_t now_ns, struct lbsim_buf_s *out);
/* Sends due answers and applies expired deadlines. */
void lbsim_hsession_tick(lbsim_hsession_t *s, uint64_t now_ns, struct lbsim_buf_s *out);
/* The transport has shut down its write side: start lingering. */
void lbsim_hsession_linger(lbsim_hsession_t *s, uint64_t now_ns);
/* When tick() next has work to do; LBSIM_NEVER if nothing is pending. */
uint64_t lbsim_hsession_next_wakeup(const lbsim_hsession_t *s);
/* True while the session can take more bytes. */
bool lbsim_hsession_wants_input(const lbsim_hsession_t *s);
/* The application has written the whole stream: the transport shuts down
 * its side once it is written, and closes by deadline_ns at the latest. */
void lbsim_hsession_end_stream(lbsim_hsession_t *s, uint64_t deadline_ns);

#endif
