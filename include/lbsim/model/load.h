/* What a backend is doing at an instant: the requests in flight there
 * (arrived, not yet answered), how many of them wait for a server, how busy
 * its servers have been and how many answers it sent over the last second.
 * Pure code, fed by both clocks from the same events — a request's arrival
 * and the instant its answer is ready (the copy's model decides it when the
 * request arrives) — so that both tell the same numbers at the same
 * simulated instants.
 *
 * Events are taken in time order, lazily: arrivals and answers may be
 * recorded ahead of the instant the state is at (the virtual network knows
 * a request's arrival and its answer as soon as it is sent), and the state
 * moves forward to an instant when asked (lbsim_load_advance). At one
 * instant, answers come first, then the board's refresh, then arrivals: a
 * report written at t counts the requests that arrived before t and were
 * not yet answered at t.
 *
 * The report is what the backend writes in ORCA's endpoint-load-metrics
 * (net/http/orca.h): requests in flight (named_metrics.rif), waiting
 * (named_metrics.queue), answers per second (rps_fractional) and busy
 * servers / capacity (cpu_utilization) when it has a capacity. "The last
 * second" is a sliding window over whole seconds from the state's origin:
 * the current second so far, plus the previous one weighted by how much of
 * it the window still covers.
 *
 * The board (--load-board): every `period` from the origin, a snapshot of
 * the report, taken as the state crosses the instant; reading it asks for
 * the snapshot of the last refresh at or before now. */
#ifndef LBSIM_LOAD_H
#define LBSIM_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#define LBSIM_LOAD_WINDOW_NS UINT64_C(1000000000) /* the last second */
#define LBSIM_LOAD_UNTAGGED UINT32_MAX            /* an answer nobody waits to hear the state of */

/* Which fields of a report are there (a foreign server may send some). */
enum {
  LBSIM_LOAD_RIF = 1u << 0,
  LBSIM_LOAD_QUEUE = 1u << 1,
  LBSIM_LOAD_RPS = 1u << 2,
  LBSIM_LOAD_CPU = 1u << 3
};

typedef struct lbsim_load_report_s {
  uint32_t rif;          /* requests in flight */
  uint32_t queue;        /* ... waiting for a server */
  double rps;            /* answers per second over the last second, to 1e-4 */
  double cpu;            /* busy servers / capacity over the last second, to 1e-4 */
  uint32_t has;          /* LBSIM_LOAD_* */
} lbsim_load_report_t;

typedef struct lbsim_load_arrival_s {
  uint64_t at_ns;
  uint32_t count;
} lbsim_load_arrival_t;

typedef struct lbsim_load_departure_s {
  uint64_t due_ns;
  uint32_t count : 31;
  uint32_t at_once : 1;  /* answered as they arrived: never counted in flight */
  uint32_t tag;          /* told with the state after it (lbsim_load_advance), or LBSIM_LOAD_UNTAGGED */
} lbsim_load_departure_t;

/* A departure with a tag happened: `report` is the state right after every
 * answer of its instant. */
typedef void (*lbsim_load_answered_cb)(void *data, uint32_t tag, const lbsim_load_report_t *report);

typedef struct lbsim_load_s {
  uint64_t at_ns;                  /* the instant the state is at */
  uint64_t in_flight;
  uint32_t capacity;               /* servers; 0: unlimited */
  /* Arrivals recorded ahead of at_ns, oldest first: a ring of runs of one
   * instant each (its capacity a power of two). */
  lbsim_load_arrival_t *arrivals;
  uint32_t first, narrivals, arrivals_cap;
  /* Answers ahead of at_ns: a min-heap on their instant. */
  lbsim_load_departure_t *departures;
  uint32_t ndepartures, departures_cap;
  uint32_t *tags;                  /* the tags of one instant's answers, while they are told */
  uint32_t tags_cap;
  /* The last second: busy servers x ns and answers, in the current whole
   * second (from window_ns) and in the one before. */
  uint64_t window_ns;
  double busy_now, busy_before;
  uint64_t done_now, done_before;
  /* The board: its period (0: none), the snapshot and when it was taken,
   * and the next refresh. */
  uint64_t board_period_ns;
  uint64_t board_at_ns, board_next_ns;
  lbsim_load_report_t board;
  uint32_t outages;                /* times the state was cleared by a crash */
  bool nomem;                      /* an event could not be recorded: said once */
} lbsim_load_t;

/* An idle backend of `capacity` servers (0: unlimited) from origin_ns. */
void lbsim_load_init(lbsim_load_t *load, uint32_t capacity, uint64_t origin_ns);
void lbsim_load_free(lbsim_load_t *load);
/* A board refreshed every period_ns from the origin (0: none). */
void lbsim_load_board(lbsim_load_t *load, uint64_t period_ns);

/* `count` requests arrive at at_ns (no earlier than any recorded before,
 * nor than the state's instant) and are answered at due_ns (no earlier;
 * LBSIM_NEVER: not at all, see lbsim_load_leave); a tag is told the state
 * then. One answered as it arrives is never in flight. */
void lbsim_load_admit(lbsim_load_t *load, uint64_t at_ns, uint64_t due_ns, uint32_t count, uint32_t tag);
/* Moves the state to t (no-op if it is there or past it), taking every
 * recorded event up to t in order; `answered` (may be NULL) hears of
 * tagged departures. */
void lbsim_load_advance(lbsim_load_t *load, uint64_t t, lbsim_load_answered_cb answered, void *data);
/* `count` requests that will never be answered leave now (their client
 * closed the connection to a stalled backend). */
void lbsim_load_leave(lbsim_load_t *load, uint64_t now_ns, uint32_t count);
/* A crash: everything in flight, arrived or on its way, is gone. */
void lbsim_load_clear(lbsim_load_t *load, uint64_t now_ns);
/* A new number of servers from now on. */
void lbsim_load_set_capacity(lbsim_load_t *load, uint64_t now_ns, uint32_t capacity);

/* The report at the state's instant (after lbsim_load_advance). */
void lbsim_load_report(const lbsim_load_t *load, lbsim_load_report_t *out);
/* The board as of now: the snapshot of its last refresh at or before now,
 * and that refresh's instant. */
void lbsim_load_board_read(lbsim_load_t *load, uint64_t now_ns, lbsim_load_report_t *out, uint64_t *at_ns);

#endif
