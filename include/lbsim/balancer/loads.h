/* What a client knows of the backends' load, and how old that is.
 *
 * Two sources, one at a time:
 *   - piggybacked reports (--load-reports): each answer carries its
 *     backend's state when it was written (model/load.h, ORCA's header on
 *     sockets); the client keeps, per backend it may use, the last one it
 *     got and how many requests it has sent there since. Its view of a
 *     backend is as old as its last answer from it.
 *   - the board (--load-board, Mitzenmacher's "How useful is old
 *     information?"): every period, every client's view of every backend is
 *     the backend's true state at that instant, and nothing changes it in
 *     between. The board reads the copies' own state (the driver says where
 *     they are), so it needs the backends in this process.
 * A pick records how old the view of the backend it chose was (the fleet's
 * statistics keep the mean). Pure code. */
#ifndef LBSIM_LOADS_H
#define LBSIM_LOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbsim/balancer/stats.h"
#include "lbsim/model/load.h"

/* A client's view of one backend, from piggybacked reports. */
typedef struct lbsim_view_s {
  uint64_t at_ns;        /* when its last report came (LBSIM_NEVER: none yet) */
  uint32_t rif;          /* requests in flight there, as reported */
  uint32_t sent;         /* the client's requests sent to it since */
} lbsim_view_t;

/* The board of a fleet: the state of each backend's copy (by its index
 * among all) that serves the fleet. */
typedef struct lbsim_board_s {
  uint64_t period_ns;
  lbsim_load_t *(*load_of)(void *data, uint32_t backend);
  void *data;
} lbsim_board_t;

/* One client's source: its views, or the board. */
typedef struct lbsim_loads_s {
  lbsim_view_t *views;           /* per backend it may use; NULL without reports */
  const lbsim_board_t *board;    /* NULL without a board */
  const uint32_t *subset;        /* its backends among all (NULL: all) */
  bool on;                       /* views or a board: the picks' hot path asks this only */
} lbsim_loads_t;

/* Views for n backends when reports are read, the board when there is one
 * (both NULL: nothing is known). 0, or LBSIM_ENOMEM. */
int lbsim_loads_init(lbsim_loads_t *loads, uint32_t n, const uint32_t *subset, bool reports,
                     const lbsim_board_t *board);
void lbsim_loads_free(lbsim_loads_t *loads);

static inline bool lbsim_loads_on(const lbsim_loads_t *loads) {
  return loads->on;
}

/* The load the client sees on its k-th backend now — the reported
 * requests in flight plus its own sent since, or the board's — and when it
 * was learnt (*at_ns; LBSIM_NEVER: nothing yet, the load is then its own
 * requests sent). */
uint64_t lbsim_loads_get(const lbsim_loads_t *loads, uint32_t k, uint64_t now_ns, uint64_t *at_ns);
/* A pick of the k-th backend: its view's age goes into the statistics, and
 * the request counts as sent since the view. */
void lbsim_loads_picked(lbsim_loads_t *loads, uint32_t k, uint64_t now_ns, lbsim_stats_t *stats);
/* An answer from the k-th backend with its report (NULL: none, `why` says
 * why); returns the reason the client could not use it, or NULL. */
const char *lbsim_loads_heard(lbsim_loads_t *loads, uint32_t k, const lbsim_load_report_t *report, const char *why,
                              uint64_t now_ns);

#endif
