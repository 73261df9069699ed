/* One balancer: a client with its pools, the EMA, a policy and the
 * statistics. It launches requests when the runner says so and reports each
 * completion back. Compare mode has one per policy, each against its own copy
 * of the backends. */
#ifndef LBSIM_TRAFFIC_H
#define LBSIM_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lbsim/client.h"
#include "lbsim/config.h"
#include "lbsim/ema.h"
#include "lbsim/oracle.h"
#include "lbsim/policy.h"
#include "lbsim/sched.h"
#include "lbsim/stats.h"

typedef struct lbsim_traffic_s lbsim_traffic_t;
typedef void (*lbsim_traffic_cb)(lbsim_traffic_t *traffic);

struct lbsim_traffic_s {
  uv_loop_t *loop;
  const lbsim_config_t *cfg;
  uint32_t index;               /* which policy of --compare */
  const char *policy_name;
  uint32_t n;
  const char **names;           /* the URL of each backend, as printed */
  lbsim_oracle_t *oracle;       /* NULL when the backends are elsewhere */
  lbsim_client_t client;
  lbsim_ema_t ema;
  lbsim_policy_t policy;
  lbsim_stats_t stats;

  uint64_t in_flight;           /* launched, not done */
  uint64_t round_outstanding;   /* launched in this round, not done */
  uint64_t round_start_ns;
  bool launching;               /* a burst is being launched: completions wait */
  bool round_open;

  lbsim_traffic_cb on_request_done; /* after each completion (runner) */
  lbsim_traffic_cb on_round_done;   /* the round's last request is done */
  void *data;                   /* the runner */
  lbsim_traffic_cb on_closed;
  bool closing;
};

/* max_connections: the most connections it may hold over all backends
 * (what the file descriptors allow); 0 = no cap. Returns 0 or a libuv
 * error; either way it is then closed (lbsim_traffic_close) and freed. */
int lbsim_traffic_init(lbsim_traffic_t *traffic, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg,
                       uint64_t seed, uint32_t index, const lbsim_url_t *urls, uint32_t n, lbsim_oracle_t *oracle,
                       uint32_t max_connections);
int lbsim_traffic_set_address(lbsim_traffic_t *traffic, uint32_t backend, const struct sockaddr *addr);
/* Picks a backend with the policy and sends one request to it. */
void lbsim_traffic_launch(lbsim_traffic_t *traffic);
/* Starts a round: `burst` requests, all picked now, one after another. */
void lbsim_traffic_round(lbsim_traffic_t *traffic, uint32_t burst);
/* Requests not sent yet end as cancelled. */
void lbsim_traffic_cancel_queued(lbsim_traffic_t *traffic);
void lbsim_traffic_close(lbsim_traffic_t *traffic, lbsim_traffic_cb on_closed);
void lbsim_traffic_free(lbsim_traffic_t *traffic);

#endif
