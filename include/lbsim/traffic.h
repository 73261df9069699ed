/* The traffic driver: the balancer proper. Rounds of --burst requests, all
 * picked by the policy when the round starts; each response feeds the EMA,
 * the policy and the statistics; a round ends when its last request is done,
 * its summary is printed, and the next starts after --sleep. */
#ifndef LBSIM_TRAFFIC_H
#define LBSIM_TRAFFIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "lbsim/client.h"
#include "lbsim/config.h"
#include "lbsim/ema.h"
#include "lbsim/policy.h"
#include "lbsim/stats.h"

typedef struct lbsim_traffic_s lbsim_traffic_t;
typedef void (*lbsim_traffic_cb)(lbsim_traffic_t *traffic);

struct lbsim_traffic_s {
  uv_loop_t *loop;
  const lbsim_config_t *cfg;
  uint32_t n;
  const char **names;           /* the URL of each backend, as printed */
  lbsim_client_t client;
  lbsim_ema_t ema;
  lbsim_policy_t policy;
  lbsim_stats_t stats;
  uv_timer_t sleep_timer;
  FILE *out;

  uint64_t round;
  uint64_t round_outstanding;   /* requests of this round not done yet */
  uint64_t start_ns;
  uint64_t end_ns;
  bool launching;               /* picking a burst: completions wait */
  bool sleeping;
  bool stopping;
  bool finished;
  lbsim_traffic_cb on_finished; /* the run summary is out */
  lbsim_traffic_cb on_closed;
  uint32_t open_handles;
};

/* `urls` and their addresses: the backends in order. */
int lbsim_traffic_init(lbsim_traffic_t *traffic, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg, uint64_t seed,
                       uint32_t index, const lbsim_url_t *urls, uint32_t n, FILE *out);
int lbsim_traffic_set_address(lbsim_traffic_t *traffic, uint32_t backend, const struct sockaddr *addr);
void lbsim_traffic_start(lbsim_traffic_t *traffic, lbsim_traffic_cb on_finished);
/* Stops launching; requests not sent yet are cancelled, those in flight end
 * by their deadline; then the run summary, then on_finished. */
void lbsim_traffic_stop(lbsim_traffic_t *traffic);
void lbsim_traffic_close(lbsim_traffic_t *traffic, lbsim_traffic_cb on_closed);
void lbsim_traffic_free(lbsim_traffic_t *traffic);

#endif
