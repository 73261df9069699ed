/* One balancer. See lbsim/traffic.h. */
#include "lbsim/traffic.h"

#include <math.h>

#include "internal.h"

/* With --rate and --concurrency there are no rounds: whether traffic has
 * followed a change of the fastest backend is judged over windows of this
 * many consecutive picks. */
#define DIVERT_WINDOW 50

static void on_request_done(lbsim_client_t *client, lbsim_creq_t *req, lbsim_result_t result, int http_status,
                            uint64_t end_ns) {
  lbsim_traffic_t *t = client->data;
  (void)http_status;
  uint32_t b = req->backend;
  bool ok = result == LBSIM_RESULT_OK;
  double measured_ms = (double)(end_ns - req->start_ns) / LBSIM_NS_PER_MS;
  double sample_ms = ok ? measured_ms : t->cfg->failure_latency_ms;
  lbsim_ema_update(&t->ema, b, sample_ms);
  lbsim_policy_observe(&t->policy, b, sample_ms, ok, end_ns);
  lbsim_stats_record(&t->stats, b, result, measured_ms, sample_ms, req->oracle_ms, req->to_fastest);
  t->in_flight--;
  if (t->round_outstanding > 0)
    t->round_outstanding--;
  if (t->on_request_done && !t->closing)
    t->on_request_done(t);
  if (t->round_open && !t->launching && t->round_outstanding == 0 && !t->closing) {
    t->round_open = false;
    lbsim_stats_end_round(&t->stats);
    if (t->on_round_done)
      t->on_round_done(t);
  }
}

/* Oracle bookkeeping at a pick: is it the truly fastest, and has the
 * fastest changed since the last pick? */
static void judge_pick(lbsim_traffic_t *t, lbsim_creq_t *req) {
  req->oracle_ms = -1;
  req->to_fastest = false;
  if (t->oracle == NULL)
    return;
  uint32_t fastest = lbsim_oracle_fastest(t->oracle);
  double best = lbsim_oracle_fastest_ms(t->oracle);
  if (!isfinite(best))
    return; /* nothing can answer: there is no right choice */
  req->oracle_ms = best;
  req->to_fastest = req->backend == fastest ||
                    lbsim_oracle_true_ms(t->oracle, req->backend) <= req->oracle_ms;
  if (t->oracle->epoch != t->stats.seen_epoch) {
    if (t->stats.seen_epoch != 0)
      lbsim_stats_fastest_changed(&t->stats, fastest, t->oracle->epoch_ns);
    t->stats.seen_epoch = t->oracle->epoch;
  }
  if (t->stats.divert_pending) {
    /* Ties count: any backend as fast as the fastest is a right choice. */
    t->stats.window_picks++;
    t->stats.window_to_target += req->to_fastest;
    if (!t->round_open && t->stats.window_picks == DIVERT_WINDOW) {
      lbsim_stats_divert_window(&t->stats, t->stats.window_picks, t->stats.window_to_target, req->start_ns);
      t->stats.window_picks = t->stats.window_to_target = 0;
    }
  }
}

void lbsim_traffic_launch(lbsim_traffic_t *t) {
  lbsim_creq_t *req = lbsim_client_request(&t->client);
  if (req == NULL) {
    lbsim_log_error("out of memory: a request was not launched");
    return;
  }
  uint64_t now = uv_hrtime();
  req->backend = lbsim_policy_select(&t->policy, now);
  req->start_ns = now;
  judge_pick(t, req);
  lbsim_stats_pick(&t->stats, req->backend);
  t->in_flight++;
  if (t->round_open)
    t->round_outstanding++;
  lbsim_client_submit(&t->client, req);
}

void lbsim_traffic_round(lbsim_traffic_t *t, uint32_t burst) {
  lbsim_stats_new_round(&t->stats);
  t->round_start_ns = uv_hrtime();
  t->round_open = true;
  /* Every pick is made now, one after another, before any answer of the
   * burst can arrive (the seed's behaviour, and the cause of its herding). */
  t->launching = true;
  for (uint32_t i = 0; i < burst; i++)
    lbsim_traffic_launch(t);
  t->launching = false;
  if (t->stats.divert_pending) {
    lbsim_stats_divert_window(&t->stats, t->stats.window_picks, t->stats.window_to_target, t->round_start_ns);
    t->stats.window_picks = t->stats.window_to_target = 0;
  }
  if (t->round_outstanding == 0) {
    t->round_open = false;
    lbsim_stats_end_round(&t->stats);
    if (t->on_round_done)
      t->on_round_done(t);
  }
}

int lbsim_traffic_init(lbsim_traffic_t *t, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg,
                       uint64_t seed, uint32_t index, const lbsim_url_t *urls, uint32_t n, lbsim_oracle_t *oracle,
                       uint32_t max_connections) {
  memset(t, 0, sizeof(*t));
  t->loop = loop;
  t->cfg = cfg;
  t->index = index;
  t->policy_name = cfg->policies[index];
  t->n = n;
  t->oracle = oracle;
  lbsim_client_config_t ccfg = {
      .pool_size = cfg->pool_size,
      .max_total = max_connections,
      /* Beyond the descriptor budget, a few requests per connection rather
       * than a whole round trip's wait: far below any server's cap
       * (nginx and lbsim's backends queue dozens). */
      .max_pipeline = 8,
      .timeout_ns = lbsim_ms_to_ns(cfg->timeout_s * 1000.0),
      .idle_ns = lbsim_ms_to_ns(cfg->client_idle_s * 1000.0),
  };
  /* First: whatever fails below, lbsim_traffic_close closes the client. */
  int err = lbsim_client_init(&t->client, loop, sched, &ccfg, urls, n, on_request_done, t);
  if (err != 0)
    return err;
  t->names = calloc(n, sizeof(*t->names));
  if (t->names == NULL)
    return UV_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    t->names[i] = urls[i].text;
  if (lbsim_ema_init(&t->ema, n, cfg->alpha) != 0 || lbsim_stats_init(&t->stats, n) != 0)
    return UV_ENOMEM;

  const lbsim_policy_ops_t *ops = lbsim_policy_find(t->policy_name);
  lbsim_policy_params_t params = {
      .n = n,
      .seed = seed,
      /* Every policy of a comparison draws from the same stream id: they
       * differ by their choices, not by their luck. */
      .stream = LBSIM_STREAM_POLICY,
      .ema = &t->ema,
      .explore = cfg->explore,
      .failure_latency_ms = cfg->failure_latency_ms,
      .decay_s = cfg->decay_s,
      .choices = cfg->choices,
      .temperature_ms = cfg->temperature_ms,
  };
  return ops ? lbsim_policy_init(&t->policy, ops, &params) : UV_EINVAL;
}

int lbsim_traffic_set_address(lbsim_traffic_t *t, uint32_t backend, const struct sockaddr *addr) {
  return lbsim_client_set_address(&t->client, backend, addr);
}

void lbsim_traffic_cancel_queued(lbsim_traffic_t *t) {
  lbsim_client_cancel_queued(&t->client);
}

static void on_client_closed(lbsim_client_t *client) {
  lbsim_traffic_t *t = client->data;
  if (t->on_closed)
    t->on_closed(t);
}

void lbsim_traffic_close(lbsim_traffic_t *t, lbsim_traffic_cb on_closed) {
  t->closing = true;
  t->on_closed = on_closed;
  lbsim_client_close(&t->client, on_client_closed);
}

void lbsim_traffic_free(lbsim_traffic_t *t) {
  lbsim_client_free(&t->client);
  lbsim_policy_free(&t->policy);
  lbsim_stats_free(&t->stats);
  lbsim_ema_free(&t->ema);
  free(t->names);
  t->names = NULL;
}
