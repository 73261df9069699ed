/* A precise scheduler for many deadlines on one loop.
 *
 * libuv's timers count whole milliseconds of a loop clock that is read once
 * per iteration, so an answer due at t fires up to ~2 ms late. A simulated
 * backend's latency must be honoured to well under a millisecond, so every
 * connection's next deadline goes into one heap here, and one Linux
 * timerfd (nanosecond, absolute CLOCK_MONOTONIC, the clock of uv_hrtime)
 * watched by a uv_poll_t wakes the loop for the earliest. Elsewhere a
 * uv_timer stands in, rounding up so that nothing fires early.
 *
 * Entries are embedded in their owners (24 bytes each, no allocation). */
#ifndef LBSIM_SCHED_H
#define LBSIM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/base/clock.h"
#include "lbsim/base/timers.h"

/* The scheduler's entries are the clock's timers. */
typedef lbsim_timer_t lbsim_sched_entry_t;
typedef lbsim_timer_cb lbsim_sched_cb;

typedef struct lbsim_sched_s {
  uv_loop_t *loop;
  lbsim_clock_t clock;         /* the real clock, as the models use it */
  lbsim_timers_t timers;
  uint64_t armed_ns;          /* what the wake-up is set for; LBSIM_NEVER: nothing */
  int tfd;                    /* timerfd, or -1 (uv_timer fallback) */
  uv_poll_t poll;
  uv_timer_t timer;
  uint64_t wakeups;
} lbsim_sched_t;

int lbsim_sched_init(lbsim_sched_t *sched, uv_loop_t *loop);
/* Schedules (or moves) `entry` to run `cb` at due_ns; LBSIM_NEVER cancels.
 * Returns 0, or UV_ENOMEM when the heap could not grow. */
int lbsim_sched_set(lbsim_sched_t *sched, lbsim_sched_entry_t *entry, uint64_t due_ns, lbsim_sched_cb cb);
void lbsim_sched_cancel(lbsim_sched_t *sched, lbsim_sched_entry_t *entry);
/* Schedules `entry` no later than due_ns: an entry already due sooner stays
 * where it is. For deadlines that move later on every request (idle
 * timeouts): the callback then finds nothing due yet and schedules again,
 * once, instead of the heap being reordered on every request. */
int lbsim_sched_no_later(lbsim_sched_t *sched, lbsim_sched_entry_t *entry, uint64_t due_ns, lbsim_sched_cb cb);
/* Closes the scheduler's handle; `closed` gets it as argument. Entries still
 * scheduled are forgotten. */
void lbsim_sched_close(lbsim_sched_t *sched, uv_close_cb closed);

#endif
