/* The dashboard's event stream, as Server-Sent Events, without any I/O.
 *
 * Every event is framed once when it is published:
 *
 *   id: 5f3a09c1.42
 *   event: round
 *   data: {"type":"round",...}
 *   <blank line>
 *
 * and kept in a bounded history (by bytes and by count, oldest dropped
 * first), so that a viewer that reconnects with Last-Event-ID gets what it
 * missed. An id is this run's token, a dot and a counter from 1: a viewer
 * that comes back to a later run (the same port, lbsim started again) is
 * recognised as such. The first event, `start`, is kept for the whole run.
 *
 * Viewers read the history: each has a cursor (the next id it needs), and
 * the writer sends from there as its socket takes it. So a viewer costs no
 * memory of its own beyond what its socket holds, and a viewer that does
 * not read falls behind until the event it needs next has left the
 * history: then it is dropped (lbsim_sse_behind()). Pure code. */
#ifndef LBSIM_SSE_H
#define LBSIM_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbsim/base/buf.h"

typedef struct lbsim_sse_item_s {
  uint64_t id;                /* the counter part of the event's id */
  size_t len;
  char data[];                /* the framed event */
} lbsim_sse_item_t;

typedef struct lbsim_sse_s {
  uint32_t token;             /* this run's, in every id */
  lbsim_sse_item_t *start;    /* the first event: kept for the whole run */
  lbsim_sse_item_t **ring;    /* the history: ids oldest .. next_id - 1 */
  uint32_t cap, head, count;
  uint64_t oldest;            /* id of ring[head] */
  uint64_t next_id;           /* the next event's id (1 first) */
  size_t bytes;               /* held by the history (start included) */
  size_t max_bytes;
  uint32_t max_count;
  size_t largest;             /* the largest event so far, framed */
  uint64_t dropped;           /* events that have left the history */
} lbsim_sse_t;

/* Where a viewer starts (lbsim_sse_resume). */
typedef struct lbsim_sse_start_s {
  bool reset;                 /* its Last-Event-ID is gone (or of another run): it starts afresh */
  bool send_start;            /* send the start event first */
  uint64_t next_id;           /* then the history from this id */
} lbsim_sse_start_t;

void lbsim_sse_init(lbsim_sse_t *sse, uint32_t token, size_t max_bytes, uint32_t max_count);
void lbsim_sse_free(lbsim_sse_t *sse);
/* Frames and keeps one event: `type` (letters, digits, '-' or '_') and its
 * data, one line of JSON. Drops the oldest events beyond the bounds (never
 * the newest). 0, or LBSIM_ENOMEM (the event is lost: ids stay consecutive). */
int lbsim_sse_publish(lbsim_sse_t *sse, const char *type, const char *data, size_t len);
/* The event with this id, or NULL (not yet published, or gone). */
const lbsim_sse_item_t *lbsim_sse_get(const lbsim_sse_t *sse, uint64_t id);
/* A viewer whose next event is `next_id` has fallen too far behind: that
 * event has left the history. */
static inline bool lbsim_sse_behind(const lbsim_sse_t *sse, uint64_t next_id) {
  return next_id < sse->oldest;
}
/* Where a viewer starts: last_event_id is its Last-Event-ID header (NULL:
 * none, a new viewer). A new viewer gets the start event and the whole
 * history; one that resumes gets what followed its last event, or, when
 * that has left the history or the id is not of this run, is reset: told
 * so, then served as a new viewer. */
lbsim_sse_start_t lbsim_sse_resume(const lbsim_sse_t *sse, const char *last_event_id);
/* Appends the `reset` event (no id) telling a viewer why it starts afresh. */
void lbsim_sse_reset_event(const lbsim_sse_t *sse, const char *last_event_id, lbsim_buf_t *out);
/* The type of a JSON Lines object ({"type":"round",...}) into type[len];
 * 0, or LBSIM_EINVAL when the line does not start that way. */
int lbsim_sse_type_of(const char *line, size_t len, char *type, size_t typelen);

#endif
