/* How the file descriptor limit is shared out. Pure: the limit comes in.
 *
 * Every connection of a balancer (a client of a fleet: every policy has
 * --clients of them) holds a socket, and in the demo one more in the
 * backend; the listeners and a reserve come first. When what is left does
 * not cover every request a balancer may have in flight, each gets a cap on
 * its connections and pipelines or queues beyond it; when not even one
 * connection per balancer fits, the run is refused. */
#ifndef LBSIM_FDBUDGET_H
#define LBSIM_FDBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "lbsim/cli/config.h"

/* Descriptors kept for stdio, the loop, signals, the scheduler, admin and
 * name look-ups. */
#define LBSIM_FD_RESERVE 64

typedef enum lbsim_fd_verdict_e {
  LBSIM_FD_OK = 0,            /* every request in flight can have its connection */
  LBSIM_FD_CAPPED,            /* connections capped at max_connections per balancer */
  LBSIM_FD_NO_LISTENERS,      /* the listeners alone do not fit */
  LBSIM_FD_NO_CONNECTION      /* not one client connection fits */
} lbsim_fd_verdict_t;

typedef struct lbsim_fd_plan_s {
  lbsim_fd_verdict_t verdict;
  uint64_t fixed;             /* listeners and the reserve */
  uint64_t wanted;            /* connections a balancer may want at once */
  uint64_t budget;            /* connections a balancer may have */
  uint32_t max_connections;   /* each balancer's cap (0: none) */
  uint32_t balancers;         /* every client of every policy */
} lbsim_fd_plan_t;

/* Connections one balancer may want open at once: its share of the
 * requests in flight at most, bounded by --pool-size per backend it uses. */
uint64_t lbsim_fd_wanted(const lbsim_config_t *cfg, uint32_t nbackends);
/* Shares `limit` descriptors out for this configuration. */
void lbsim_fd_plan(const lbsim_config_t *cfg, uint64_t limit, lbsim_fd_plan_t *plan);

#endif
