/* One balancer. See lbsim/balancer/balancer.h. */
#include "lbsim/balancer/balancer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/base/error.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/balancer/tools.h"

/* With --rate and --concurrency there are no rounds: whether traffic has
 * followed a change of the fastest backend is judged over windows of this
 * many consecutive picks. */
#define DIVERT_WINDOW 50

static void end_round(lbsim_balancer_t *b, uint64_t now_ns) {
  b->round_open = false;
  /* The fleet's rounds are its one client's; a larger fleet's clients
   * have rounds of their own, not in step: it is summed up by interval. */
  if (b->fleet->nclients == 1)
    lbsim_stats_end_round(b->stats);
  if (b->on_round_done && !b->detached)
    b->on_round_done(b, now_ns);
}

/* An answer's load report into the client's view; one that cannot be used
 * is said once per fleet. */
static void heard(lbsim_balancer_t *b, const lbsim_request_t *req, uint64_t end_ns) {
  const char *bad = lbsim_loads_heard(&b->loads, req->pick, req->report, req->no_report, end_ns);
  if (bad != NULL && !b->fleet->told_no_report) {
    b->fleet->told_no_report = true;
    lbsim_log_error("%s answered without a usable load report (endpoint-load-metrics %s): such answers leave the "
                    "view of their backend as it was",
                    b->fleet->names[req->backend], bad);
  }
}

/* The policy asked for a probe: it goes out once the policy has returned. */
static void on_probe_asked(void *data, uint32_t pick) {
  lbsim_balancer_t *b = data;
  if (b->nprobes_pending < LBSIM_PROBES_PENDING)
    b->probes_pending[b->nprobes_pending++] = pick;
  else
    b->probes_dropped++;
}

static void send_probes(lbsim_balancer_t *b, uint64_t now_ns) {
  while (b->nprobes_pending > 0 && !b->detached) {
    uint32_t pick = b->probes_pending[--b->nprobes_pending];
    lbsim_request_t *req = b->transport->ops->request(b->transport);
    if (req == NULL) {
      b->probes_dropped++;
      continue;
    }
    *req = (lbsim_request_t){.start_ns = now_ns, .oracle_ms = -1, .backend = lbsim_balancer_backend(b, pick),
                             .pick = pick, .client = b->client, .probe = true};
    b->probes_sent++;
    b->transport->ops->submit(b->transport, req);
  }
  b->nprobes_pending = 0;
}

/* A probe's answer: the policy's, and nobody else's. */
static void probe_done(lbsim_balancer_t *b, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                       uint32_t count) {
  b->probes_answered += count;
  if (b->policy.ops->probed != NULL)
    for (uint32_t k = 0; k < count; k++)
      b->policy.ops->probed(&b->policy, req->pick, (double)(end_ns - req->start_ns) / LBSIM_NS_PER_MS,
                            result == LBSIM_RESULT_OK, end_ns);
  send_probes(b, end_ns);
}

/* `count` user requests of this client ended at end_ns: the runner hears
 * of them, and the round ends with its last. */
static void users_ended(lbsim_balancer_t *b, uint32_t count, uint64_t end_ns) {
  if (b->measuring)
    b->fleet->in_flight -= count;
  b->in_flight -= count;
  b->round_outstanding = b->round_outstanding > count ? b->round_outstanding - count : 0;
  if (b->on_requests_done && !b->detached)
    b->on_requests_done(b, count, end_ns);
  if (b->round_open && !b->launching && b->round_outstanding == 0)
    end_round(b, end_ns);
}

/* `count` attempts of this client, alike, ended at end_ns. Without tools an
 * attempt is its user request, and both are counted at once. */
static void client_done(lbsim_balancer_t *b, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                        uint32_t count) {
  lbsim_fleet_t *f = b->fleet;
  uint32_t backend = req->backend, pick = req->pick;
  /* Its statistics are written last; with many backends, far from the cache. */
  __builtin_prefetch(&b->stats->backend[backend], 1);
  __builtin_prefetch((const char *)&b->stats->backend[backend] + 64, 1);
  bool ok = result == LBSIM_RESULT_OK;
  double measured_ms = (double)(end_ns - req->start_ns) / LBSIM_NS_PER_MS;
  double sample_ms = ok ? measured_ms : b->cfg->failure_latency_ms;
  if (b->loads.views != NULL && (ok || result == LBSIM_RESULT_STATUS))
    heard(b, req, end_ns);
  if (result == LBSIM_RESULT_CANCELLED) {
    /* Its client gave up on it: counted, but it says nothing of the backend. */
    lbsim_policy_end(&b->policy, pick, count);
  } else {
    lbsim_ema_update_n(&b->ema, pick, sample_ms, count);
    lbsim_policy_observe_n(&b->policy, pick, sample_ms, ok, end_ns, count);
  }
  if (b->tools != NULL) {
    lbsim_stats_record_attempt(b->stats, backend, result, measured_ms, sample_ms, req->oracle_ms, req->to_fastest,
                               count);
    if (f->measuring)
      lbsim_fleet_ended(f, backend, count, end_ns);
    lbsim_tools_done(b->tools, req, result, end_ns, count);
    return;
  }
  lbsim_stats_record(b->stats, backend, result, measured_ms, sample_ms, req->oracle_ms, req->to_fastest, count);
  if (f->measuring) {
    lbsim_fleet_ended(f, backend, count, end_ns);
    lbsim_fleet_heard(f, b->client, result, measured_ms, count);
  }
  users_ended(b, count, end_ns);
}

void lbsim_balancer_user_done(lbsim_balancer_t *b, const lbsim_request_t *req, lbsim_result_t result,
                              uint64_t first_ns, uint64_t end_ns, uint32_t count) {
  lbsim_fleet_t *f = b->fleet;
  double user_ms = (double)(end_ns - first_ns) / LBSIM_NS_PER_MS;
  double sample_ms = result == LBSIM_RESULT_OK ? user_ms : b->cfg->failure_latency_ms;
  lbsim_stats_record_user(b->stats, result, user_ms, sample_ms, req->oracle_ms, req->to_fastest, count);
  if (f->measuring)
    lbsim_fleet_heard(f, b->client, result, user_ms, count);
  users_ended(b, count, end_ns);
}

/* A transport's completions go to the fleet: to the client that sent them. */
static void on_done(void *data, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns, uint32_t count) {
  lbsim_fleet_t *f = data;
  lbsim_balancer_t *b = &f->clients[req->client];
  if (__builtin_expect(req->probe, 0)) {
    probe_done(b, req, result, end_ns, count);
    return;
  }
  client_done(b, req, result, end_ns, count);
  if (b->nprobes_pending > 0)
    send_probes(b, end_ns);
}

/* The expected cost of a pick's backend. The oracle's answer changes only
 * with its version (outside slow starts): kept for every backend, it is
 * one small array to read instead of a model per pick. */
static double pick_cost_ms(lbsim_fleet_t *f, uint32_t backend, uint64_t now_ns) {
  const lbsim_oracle_t *o = f->oracle;
  if (o->dirty || f->judge_cost_ms == NULL)
    return lbsim_oracle_cost_ms(o, backend, now_ns);
  if (f->judge_version != o->version) {
    for (uint32_t i = 0; i < f->n; i++)
      f->judge_cost_ms[i] = lbsim_oracle_cost_ms(o, i, now_ns);
    f->judge_version = o->version;
  }
  return f->judge_cost_ms[backend];
}

/* Oracle bookkeeping at a pick: is it the truly fastest (the lowest
 * expected cost, failures counted at --failure-latency), and has the fastest
 * changed since the last pick? The best expected cost is kept with the
 * request: its regret is what the estimator gets minus that. (A client
 * with a subset is judged against every backend: the best it could have
 * had, had it been given another subset.) */
static inline __attribute__((always_inline)) void judge_pick(lbsim_balancer_t *b, lbsim_request_t *req,
                                                            uint64_t now_ns) {
  req->oracle_ms = -1;
  req->to_fastest = false;
  if (b->oracle == NULL)
    return;
  uint32_t fastest = lbsim_oracle_fastest(b->oracle, now_ns);
  double best = lbsim_oracle_fastest_ms(b->oracle, now_ns);
  if (!isfinite(best))
    return; /* every backend fails for sure: there is no right choice */
  req->oracle_ms = best;
  req->to_fastest = req->backend == fastest || pick_cost_ms(b->fleet, req->backend, now_ns) <= best;
  lbsim_stats_t *s = b->stats;
  if (b->oracle->epoch != s->seen_epoch) {
    if (s->seen_epoch != 0)
      lbsim_stats_fastest_changed(s, fastest, b->oracle->epoch_ns);
    s->seen_epoch = b->oracle->epoch;
  }
  if (s->divert_pending) {
    /* Ties count: any backend as fast as the fastest is a right choice. */
    s->window_picks++;
    s->window_to_target += req->to_fastest;
    if (!b->round_open && s->window_picks == DIVERT_WINDOW) {
      lbsim_stats_divert_window(s, s->window_picks, s->window_to_target, req->start_ns);
      s->window_picks = s->window_to_target = 0;
    }
  }
}

/* An attempt picked now, to be submitted: NULL when out of memory. With
 * the tools (`tools`, a constant where it is inlined: a run without them
 * pays for none of their checks), the pick leaves out ejected backends and
 * `avoid`. */
static inline __attribute__((always_inline)) lbsim_request_t *pick(lbsim_balancer_t *b, uint64_t now_ns,
                                                                   uint32_t ticket, uint64_t deadline_ns,
                                                                   uint32_t avoid, bool tools) {
  lbsim_request_t *req = b->transport->ops->request(b->transport);
  if (req == NULL) {
    lbsim_log_error("out of memory: a request was not launched");
    return NULL;
  }
  req->pick = tools && (avoid != UINT32_MAX || b->fleet->tools->picking) ? lbsim_tools_pick(b->tools, now_ns, avoid)
                                                                         : lbsim_policy_select(&b->policy, now_ns);
  req->backend = lbsim_balancer_backend(b, req->pick);
  req->client = b->client;
  req->probe = false;
  req->start_ns = now_ns;
  req->deadline_ns = deadline_ns;
  req->ticket = ticket;
  if (__builtin_expect(b->loads.on, 0))
    lbsim_loads_picked(&b->loads, req->pick, now_ns, b->stats);
  judge_pick(b, req, now_ns);
  lbsim_stats_pick(b->stats, req->backend);
  if (tools)
    LBSIM_TALLY(b->stats, attempts, 1);
  if (b->measuring)
    lbsim_fleet_sent(b->fleet, b, req->backend, now_ns);
  return req;
}

/* A user request, with the tools or without. */
static inline __attribute__((always_inline)) void launch(lbsim_balancer_t *b, uint64_t now_ns, bool tools) {
  uint64_t deadline_ns = 0;
  if (tools) {
    const lbsim_fleet_tools_t *ft = b->fleet->tools;
    lbsim_tools_user(b->tools, now_ns);
    if (ft->deadline)
      deadline_ns = lbsim_tools_attempt_deadline(ft, now_ns, lbsim_tools_user_deadline(ft, now_ns));
  }
  lbsim_request_t *req = pick(b, now_ns, 0, deadline_ns, UINT32_MAX, tools);
  if (req == NULL)
    return;
  if (tools)
    LBSIM_TALLY(b->stats, users, 1);
  b->in_flight++;
  b->launched++;
  if (b->measuring)
    b->fleet->in_flight++;
  if (b->round_open)
    b->round_outstanding++;
  b->transport->ops->submit(b->transport, req);
  if (b->nprobes_pending > 0)
    send_probes(b, now_ns);
}

static __attribute__((noinline)) void launch_with_tools(lbsim_balancer_t *b, uint64_t now_ns) {
  launch(b, now_ns, true);
}

/* Inline in a burst's loop too: a pick is a few dozen instructions, and a
 * call's entry and exit would be a good part of them. */
static inline __attribute__((always_inline)) void launch_any(lbsim_balancer_t *b, uint64_t now_ns) {
  if (__builtin_expect(b->tools != NULL, 0))
    launch_with_tools(b, now_ns);
  else
    launch(b, now_ns, false);
}

void lbsim_balancer_launch(lbsim_balancer_t *b, uint64_t now_ns) {
  launch_any(b, now_ns);
}

void lbsim_balancer_attempt(lbsim_balancer_t *b, uint64_t now_ns, uint32_t ticket, uint64_t deadline_ns,
                            uint32_t avoid) {
  lbsim_request_t *req = pick(b, now_ns, ticket, deadline_ns, avoid, true);
  if (req == NULL) {
    /* Out of memory: the retry is not sent, and its user request ends. */
    LBSIM_TALLY(b->stats, backoff_cancelled, 1);
    lbsim_request_t none = {.start_ns = now_ns, .oracle_ms = -1, .backend = lbsim_balancer_backend(b, avoid),
                            .pick = avoid, .client = b->client, .ticket = ticket};
    lbsim_tools_done(b->tools, &none, LBSIM_RESULT_CANCELLED, now_ns, 1);
    return;
  }
  LBSIM_TALLY(b->stats, retries, 1);
  b->transport->ops->submit(b->transport, req);
  if (b->nprobes_pending > 0)
    send_probes(b, now_ns);
}

void lbsim_balancer_round(lbsim_balancer_t *b, uint32_t burst, uint64_t now_ns) {
  if (b->fleet->nclients == 1)
    lbsim_stats_new_round(b->stats);
  b->round_start_ns = now_ns;
  b->round_open = true;
  /* Every pick is made now, one after another, before any answer of the
   * burst can arrive (the seed's behaviour, and the cause of its herding). */
  b->launching = true;
  uint64_t (*clock)(lbsim_transport_t *) = b->transport->ops->now;
  for (uint32_t i = 0; i < burst; i++)
    launch_any(b, clock && i > 0 ? clock(b->transport) : now_ns);
  b->launching = false;
  lbsim_stats_t *s = b->stats;
  if (s->divert_pending) {
    lbsim_stats_divert_window(s, s->window_picks, s->window_to_target, now_ns);
    s->window_picks = s->window_to_target = 0;
  }
  if (b->round_outstanding == 0)
    end_round(b, now_ns);
}

int lbsim_balancer_init(lbsim_balancer_t *b, lbsim_fleet_t *fleet, uint32_t client, const uint32_t *subset,
                        uint32_t n) {
  memset(b, 0, sizeof(*b));
  const lbsim_config_t *cfg = fleet->cfg;
  b->cfg = cfg;
  b->fleet = fleet;
  b->client = client;
  b->n = n;
  b->subset = subset;
  b->oracle = fleet->oracle;
  b->stats = &fleet->stats;
  b->measuring = fleet->measuring;
  b->last_pick = UINT32_MAX;
  lbsim_timer_init(&b->pause, LBSIM_ORDER_TRAFFIC);
  b->in_flight_to = calloc(n, sizeof(*b->in_flight_to));
  if (b->in_flight_to == NULL)
    return LBSIM_ENOMEM;
  if (fleet->tools != NULL && lbsim_tools_client_init(fleet->tools, b) != 0)
    return LBSIM_ENOMEM;
  if (lbsim_ema_init(&b->ema, n, cfg->alpha) != 0)
    return LBSIM_ENOMEM;
  if (lbsim_loads_init(&b->loads, n, subset, cfg->load_reports, cfg->load_board_s > 0 ? &fleet->board : NULL) != 0)
    return LBSIM_ENOMEM;
  const lbsim_policy_ops_t *ops = lbsim_policy_find(fleet->policy_name);
  lbsim_policy_params_t params = {
      .n = n,
      .seed = fleet->seed,
      /* Every policy of a comparison draws from the same stream ids: they
       * differ by their choices, not by their luck. */
      .stream = lbsim_rng_client_stream(LBSIM_STREAM_POLICY, client),
      .ema = &b->ema,
      .in_flight = b->in_flight_to,
      .explore = cfg->explore,
      .failure_latency_ms = cfg->failure_latency_ms,
      .decay_s = cfg->decay_s,
      .choices = cfg->choices,
      .temperature_ms = cfg->temperature_ms,
      .loads = &b->loads,
      .weights = b->tools ? lbsim_tools_weights(b->tools) : NULL,
  };
  int err = ops ? lbsim_policy_init(&b->policy, ops, &params) : LBSIM_EINVAL;
  b->policy.probe = on_probe_asked;
  b->policy.probe_data = b;
  return err;
}

void lbsim_balancer_attach(lbsim_balancer_t *b, lbsim_transport_t *transport) {
  b->transport = transport;
  transport->on_done = on_done;
  transport->done_data = b->fleet;
}

void lbsim_balancer_cancel_queued(lbsim_balancer_t *b) {
  if (b->transport)
    b->transport->ops->cancel_queued(b->transport);
}

void lbsim_balancer_cancel_retries(lbsim_balancer_t *b, uint64_t now_ns) {
  if (b->tools != NULL)
    lbsim_tools_cancel_retries(b->tools, now_ns);
}

void lbsim_balancer_detach(lbsim_balancer_t *b) {
  b->detached = true;
}

void lbsim_balancer_free(lbsim_balancer_t *b) {
  lbsim_policy_free(&b->policy);
  lbsim_ema_free(&b->ema);
  lbsim_loads_free(&b->loads);
  free(b->in_flight_to);
  b->in_flight_to = NULL;
}

uint32_t lbsim_balancer_local(const lbsim_balancer_t *b, uint32_t i) {
  if (b->subset == NULL)
    return i < b->n ? i : UINT32_MAX;
  uint32_t lo = 0, hi = b->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (b->subset[mid] < i)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < b->n && b->subset[lo] == i ? lo : UINT32_MAX;
}
