/* The traffic driver. See lbsim/traffic.h. */
#include "lbsim/traffic.h"

#include "internal.h"
#include "lbsim/report.h"

static void round_start(lbsim_traffic_t *t);

static double elapsed_s(const lbsim_traffic_t *t) {
  return (double)(t->end_ns - t->start_ns) / LBSIM_NS_PER_S;
}

static void finish(lbsim_traffic_t *t) {
  if (t->finished)
    return;
  t->finished = true;
  if (t->end_ns == 0)
    t->end_ns = uv_hrtime();
  lbsim_report_run(t->out, &t->stats, t->names, &t->ema, t->start_ns ? elapsed_s(t) : 0.0);
  if (t->on_finished)
    t->on_finished(t);
}

static bool should_stop(const lbsim_traffic_t *t) {
  const lbsim_config_t *cfg = t->cfg;
  if (t->stopping)
    return true;
  if (cfg->rounds > 0 && t->round >= cfg->rounds)
    return true;
  if (cfg->duration_s > 0 && (double)(uv_hrtime() - t->start_ns) >= cfg->duration_s * LBSIM_NS_PER_S)
    return true;
  return false;
}

static void on_sleep_done(uv_timer_t *timer) {
  lbsim_traffic_t *t = timer->data;
  t->sleeping = false;
  round_start(t);
}

static void round_end(lbsim_traffic_t *t) {
  t->end_ns = uv_hrtime();
  lbsim_report_round(t->out, t->round, t->names, &t->ema, t->stats.round_picks, t->n);
  if (should_stop(t)) {
    finish(t);
    return;
  }
  t->sleeping = true;
  uv_timer_start(&t->sleep_timer, on_sleep_done, lbsim_s_to_ms(t->cfg->sleep_s), 0);
}

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
  lbsim_stats_record(&t->stats, b, result, measured_ms);
  t->round_outstanding--;
  if (!t->launching && t->round_outstanding == 0 && !t->finished)
    round_end(t);
}

static void round_start(lbsim_traffic_t *t) {
  if (should_stop(t)) {
    finish(t);
    return;
  }
  t->round++;
  lbsim_stats_new_round(&t->stats);
  /* Every pick is made now, one after another, before any answer of the
   * burst can arrive (the seed's behaviour, and the cause of its herding). */
  t->launching = true;
  for (uint32_t i = 0; i < t->cfg->burst; i++) {
    lbsim_creq_t *req = lbsim_client_request(&t->client);
    if (req == NULL) {
      lbsim_log_error("out of memory: round %llu launched %u of %u requests", (unsigned long long)t->round, i,
                      t->cfg->burst);
      break;
    }
    uint64_t now = uv_hrtime();
    req->backend = lbsim_policy_select(&t->policy, now);
    req->start_ns = now;
    lbsim_stats_pick(&t->stats, req->backend);
    t->round_outstanding++;
    lbsim_client_submit(&t->client, req);
  }
  t->launching = false;
  if (t->round_outstanding == 0)
    round_end(t);
}

int lbsim_traffic_init(lbsim_traffic_t *t, uv_loop_t *loop, lbsim_sched_t *sched, const lbsim_config_t *cfg, uint64_t seed,
                       uint32_t index, const lbsim_url_t *urls, uint32_t n, FILE *out) {
  memset(t, 0, sizeof(*t));
  t->loop = loop;
  t->cfg = cfg;
  t->n = n;
  t->out = out;
  /* Handles first: whatever fails below, lbsim_traffic_close() can run. */
  uv_timer_init(loop, &t->sleep_timer);
  t->sleep_timer.data = t;
  t->open_handles = 1;
  t->names = calloc(n, sizeof(*t->names));
  if (t->names == NULL)
    return UV_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    t->names[i] = urls[i].text;
  if (lbsim_ema_init(&t->ema, n, cfg->alpha) != 0 || lbsim_stats_init(&t->stats, n) != 0)
    return UV_ENOMEM;

  const lbsim_policy_ops_t *ops = lbsim_policy_find("ema-greedy");
  lbsim_policy_params_t params = {
      .n = n,
      .seed = seed,
      .stream = LBSIM_STREAM_POLICY + index,
      .ema = &t->ema,
      .explore = cfg->explore,
      .failure_latency_ms = cfg->failure_latency_ms,
      .decay_s = 10.0,
      .choices = 0,
      .temperature_ms = 50.0,
  };
  int err = ops ? lbsim_policy_init(&t->policy, ops, &params) : UV_EINVAL;
  if (err != 0)
    return err;

  lbsim_client_config_t ccfg = {
      .pool_size = cfg->pool_size,
      .timeout_ns = lbsim_ms_to_ns(cfg->timeout_s * 1000.0),
      .idle_ns = lbsim_ms_to_ns(cfg->client_idle_s * 1000.0),
  };
  return lbsim_client_init(&t->client, loop, sched, &ccfg, urls, n, on_request_done, t);
}

int lbsim_traffic_set_address(lbsim_traffic_t *t, uint32_t backend, const struct sockaddr *addr) {
  return lbsim_client_set_address(&t->client, backend, addr);
}

void lbsim_traffic_start(lbsim_traffic_t *t, lbsim_traffic_cb on_finished) {
  t->on_finished = on_finished;
  t->start_ns = uv_hrtime();
  round_start(t);
}

void lbsim_traffic_stop(lbsim_traffic_t *t) {
  if (t->stopping || t->finished)
    return;
  t->stopping = true;
  if (t->sleeping || t->start_ns == 0) {
    uv_timer_stop(&t->sleep_timer);
    t->sleeping = false;
    finish(t);
    return;
  }
  /* Mid-round: what has not been sent yet is cancelled now; the rest ends
   * by its deadline, and the round's last completion ends the run. */
  lbsim_client_cancel_queued(&t->client);
}

static void traffic_handle_closed(lbsim_traffic_t *t) {
  if (--t->open_handles == 0 && t->on_closed)
    t->on_closed(t);
}

static void on_client_closed(lbsim_client_t *client) {
  traffic_handle_closed(client->data);
}

static void on_timer_closed(uv_handle_t *handle) {
  traffic_handle_closed(handle->data);
}

void lbsim_traffic_close(lbsim_traffic_t *t, lbsim_traffic_cb on_closed) {
  t->on_closed = on_closed;
  t->open_handles++;
  uv_close((uv_handle_t *)&t->sleep_timer, on_timer_closed);
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
