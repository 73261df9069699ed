/* The tools around the pick. See lbsim/balancer/tools.h. */
#include "lbsim/balancer/tools.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/balancer/fleet.h"
#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

static lbsim_fleet_tools_t *tools_of(const lbsim_tools_t *t) {
  return t->balancer->fleet->tools;
}

/* ---- records of user requests being retried ---------------------------- */

static lbsim_retrying_t *record_of(const lbsim_fleet_tools_t *ft, uint32_t ticket) {
  uint32_t index = ticket - 1;
  return &ft->chunks[index / LBSIM_RETRYING_CHUNK][index % LBSIM_RETRYING_CHUNK];
}

static lbsim_retrying_t *record_new(lbsim_fleet_tools_t *ft) {
  if (ft->free_ticket == 0) {
    if (ft->nchunks >= UINT32_MAX / LBSIM_RETRYING_CHUNK - 1)
      return NULL;
    lbsim_retrying_t **chunks = realloc(ft->chunks, (ft->nchunks + 1) * sizeof(*chunks));
    if (chunks == NULL)
      return NULL;
    ft->chunks = chunks;
    lbsim_retrying_t *chunk = malloc(LBSIM_RETRYING_CHUNK * sizeof(*chunk));
    if (chunk == NULL)
      return NULL;
    chunks[ft->nchunks] = chunk;
    uint32_t base = ft->nchunks * LBSIM_RETRYING_CHUNK;
    ft->nchunks++;
    for (uint32_t k = LBSIM_RETRYING_CHUNK; k-- > 0;) {
      lbsim_retrying_t *rec = &chunk[k];
      memset(rec, 0, sizeof(*rec));
      lbsim_timer_init(&rec->timer, LBSIM_ORDER_TRAFFIC);
      lbsim_queue_init(&rec->link);
      rec->ticket = base + k + 1;
      rec->owner = ft;
      rec->next_free = ft->free_ticket;
      ft->free_ticket = rec->ticket;
    }
  }
  lbsim_retrying_t *rec = record_of(ft, ft->free_ticket);
  ft->free_ticket = rec->next_free;
  rec->next_free = 0;
  return rec;
}

static void record_free(lbsim_fleet_tools_t *ft, lbsim_retrying_t *rec) {
  rec->next_free = ft->free_ticket;
  ft->free_ticket = rec->ticket;
}

/* ---- set-up ---------------------------------------------------------------- */

int lbsim_fleet_tools_init(lbsim_fleet_tools_t *ft, lbsim_fleet_t *fleet, uint32_t nclients) {
  memset(ft, 0, sizeof(*ft));
  const lbsim_config_t *cfg = fleet->cfg;
  ft->fleet = fleet;
  ft->cfg = cfg;
  ft->retrying = cfg->retry.retries > 0;
  ft->ejecting = cfg->outlier.on;
  ft->weighing = cfg->weights != NULL || cfg->slow_start.window_s > 0;
  ft->deadline = cfg->retry.deadline_s > 0;
  ft->picking = ft->ejecting || ft->weighing;
  ft->timeout_ns = lbsim_ms_to_ns(cfg->timeout_s * 1000.0);
  ft->deadline_ns = lbsim_ms_to_ns(cfg->retry.deadline_s * 1000.0);
  lbsim_timer_init(&ft->sweep, LBSIM_ORDER_TRAFFIC);
  ft->clients = calloc(nclients, sizeof(*ft->clients));
  return ft->clients ? 0 : LBSIM_ENOMEM;
}

static void on_outlier_change(lbsim_outlier_t *o, uint32_t pick, bool ejected, lbsim_eject_reason_t reason,
                              uint64_t duration_ns, uint32_t times, uint64_t now_ns) {
  lbsim_tools_t *t = LBSIM_CONTAINER_OF(o, lbsim_tools_t, outlier);
  lbsim_balancer_t *b = t->balancer;
  lbsim_fleet_tools_t *ft = tools_of(t);
  if (ejected) {
    LBSIM_TALLY(b->stats, ejections, 1);
  } else {
    LBSIM_TALLY(b->stats, returns, 1);
    /* Back in service: as a backend that passed its health check, it
     * starts slow. */
    if (ft->weighing)
      lbsim_weights_start(&t->weights, pick, now_ns);
  }
  if (ft->on_ejection) {
    lbsim_ejection_t e = {b->client, lbsim_balancer_backend(b, pick), ejected, reason,
                          (double)duration_ns / LBSIM_NS_PER_S, times};
    ft->on_ejection(ft->ejection_data, b->fleet, &e, now_ns);
  }
}

int lbsim_tools_client_init(lbsim_fleet_tools_t *ft, lbsim_balancer_t *b) {
  const lbsim_config_t *cfg = ft->cfg;
  lbsim_tools_t *t = &ft->clients[b->client];
  if (ft->nclients < b->client + 1)
    ft->nclients = b->client + 1;
  t->balancer = b;
  b->tools = t;
  lbsim_queue_init(&t->backoff);
  if (cfg->retry.budget)
    lbsim_budget_init(&t->budget, cfg->retry.budget_pct, cfg->retry.budget_min_per_s);
  if (cfg->retry.throttle)
    lbsim_throttle_init(&t->throttle, cfg->retry.throttle_tokens, cfg->retry.throttle_ratio);
  lbsim_rng_init(&t->rng, b->fleet->seed, lbsim_rng_client_stream(LBSIM_STREAM_RETRY, b->client));
  if (ft->retrying) {
    t->avoid_list = malloc(b->n * sizeof(*t->avoid_list));
    t->avoid_member = malloc(b->n);
    if (t->avoid_list == NULL || t->avoid_member == NULL)
      return LBSIM_ENOMEM;
  }
  if (ft->ejecting) {
    if (lbsim_outlier_init(&t->outlier, &cfg->outlier, b->n, b->fleet->seed,
                           lbsim_rng_client_stream(LBSIM_STREAM_OUTLIER, b->client)) != 0)
      return LBSIM_ENOMEM;
    t->outlier.on_change = on_outlier_change;
  }
  if (ft->weighing) {
    /* --weights are per backend; the client weighs those of its subset. */
    double *base = NULL;
    if (cfg->weights != NULL) {
      base = malloc(b->n * sizeof(*base));
      if (base == NULL)
        return LBSIM_ENOMEM;
      for (uint32_t k = 0; k < b->n; k++)
        base[k] = cfg->weights[lbsim_balancer_backend(b, k)];
    }
    if (lbsim_weights_init(&t->weights, &cfg->slow_start, base, b->n) != 0)
      return LBSIM_ENOMEM; /* base is freed with the tools */
  }
  return 0;
}

const lbsim_policy_weights_t *lbsim_tools_weights(const lbsim_tools_t *t) {
  return tools_of(t)->weighing ? &t->weights.view : NULL;
}

void lbsim_fleet_tools_free(lbsim_fleet_tools_t *ft) {
  for (uint32_t c = 0; c < ft->nclients; c++) {
    lbsim_tools_t *t = &ft->clients[c];
    if (t->balancer == NULL)
      continue;
    if (ft->ejecting)
      lbsim_outlier_free(&t->outlier);
    if (ft->weighing) {
      free((void *)t->weights.base);
      lbsim_weights_free(&t->weights);
    }
    free(t->avoid_list);
    free(t->avoid_member);
  }
  free(ft->clients);
  ft->clients = NULL;
  ft->nclients = 0;
  for (uint32_t k = 0; k < ft->nchunks; k++)
    free(ft->chunks[k]);
  free(ft->chunks);
  ft->chunks = NULL;
  ft->nchunks = 0;
}

/* ---- the run ----------------------------------------------------------------- */

static void on_sweep(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_fleet_tools_t *ft = LBSIM_CONTAINER_OF(timer, lbsim_fleet_tools_t, sweep);
  for (uint32_t c = 0; c < ft->nclients; c++)
    lbsim_outlier_interval(&ft->clients[c].outlier, now_ns);
  lbsim_clock_set(ft->clock, &ft->sweep, timer->due_ns + lbsim_ms_to_ns(ft->cfg->outlier.interval_s * 1000.0),
                  on_sweep);
}

void lbsim_fleet_tools_start(lbsim_fleet_tools_t *ft, lbsim_clock_t *clock, uint64_t now_ns,
                             lbsim_ejection_cb on_ejection, void *data) {
  ft->clock = clock;
  ft->on_ejection = on_ejection;
  ft->ejection_data = data;
  if (ft->ejecting)
    lbsim_clock_set(clock, &ft->sweep, now_ns + lbsim_ms_to_ns(ft->cfg->outlier.interval_s * 1000.0), on_sweep);
}

void lbsim_fleet_tools_stop(lbsim_fleet_tools_t *ft) {
  if (ft->clock == NULL)
    return;
  lbsim_clock_cancel(ft->clock, &ft->sweep);
  for (uint32_t c = 0; c < ft->nclients; c++) {
    lbsim_queue_t *q;
    lbsim_queue_foreach(q, &ft->clients[c].backoff) {
      lbsim_clock_cancel(ft->clock, &LBSIM_CONTAINER_OF(q, lbsim_retrying_t, link)->timer);
    }
  }
}

void lbsim_fleet_tools_backend_up(lbsim_fleet_tools_t *ft, uint32_t i, uint64_t now_ns) {
  if (!ft->weighing)
    return;
  for (uint32_t c = 0; c < ft->nclients; c++) {
    lbsim_tools_t *t = &ft->clients[c];
    uint32_t k = lbsim_balancer_local(t->balancer, i);
    if (k != UINT32_MAX)
      lbsim_weights_start(&t->weights, k, now_ns);
  }
}

/* ---- picks --------------------------------------------------------------------- */

void lbsim_tools_user(lbsim_tools_t *t, uint64_t now_ns) {
  if (tools_of(t)->cfg->retry.budget)
    lbsim_budget_deposit(&t->budget, now_ns, 1);
}

/* `among` (NULL: every backend) without `avoid`, when another remains. */
static const lbsim_eligible_t *without(lbsim_tools_t *t, const lbsim_eligible_t *among, uint32_t avoid,
                                       lbsim_eligible_t *out) {
  uint32_t n = t->balancer->n;
  if ((among ? among->n : n) <= 1 || (among != NULL && !among->member[avoid]))
    return among;
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    t->avoid_member[i] = (among ? among->member[i] : 1) && i != avoid;
    if (t->avoid_member[i])
      t->avoid_list[k++] = i;
  }
  *out = (lbsim_eligible_t){t->avoid_list, k, t->avoid_member};
  return out;
}

uint32_t lbsim_tools_pick(lbsim_tools_t *t, uint64_t now_ns, uint32_t avoid) {
  lbsim_fleet_tools_t *ft = tools_of(t);
  if (ft->weighing)
    lbsim_weights_update(&t->weights, now_ns);
  const lbsim_eligible_t *eligible = ft->ejecting ? lbsim_outlier_eligible(&t->outlier) : NULL;
  lbsim_eligible_t scratch;
  if (avoid != UINT32_MAX)
    eligible = without(t, eligible, avoid, &scratch);
  return lbsim_policy_select_among(&t->balancer->policy, now_ns, eligible);
}

uint64_t lbsim_tools_user_deadline(const lbsim_fleet_tools_t *ft, uint64_t first_ns) {
  return ft->deadline ? first_ns + ft->deadline_ns : LBSIM_NEVER;
}

uint64_t lbsim_tools_attempt_deadline(const lbsim_fleet_tools_t *ft, uint64_t now_ns, uint64_t user_deadline_ns) {
  if (user_deadline_ns == LBSIM_NEVER)
    return 0;
  uint64_t own = now_ns + ft->timeout_ns;
  return own < user_deadline_ns ? own : user_deadline_ns;
}

/* ---- outcomes ---------------------------------------------------------------------- */

static void on_backoff_done(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_retrying_t *rec = LBSIM_CONTAINER_OF(timer, lbsim_retrying_t, timer);
  lbsim_fleet_tools_t *ft = rec->owner;
  lbsim_balancer_t *b = ft->clients[rec->client].balancer;
  /* Out of the heap before anything can set it again (the retry may fail at once). */
  lbsim_clock_cancel(ft->clock, timer);
  lbsim_queue_remove(&rec->link);
  rec->attempts++;
  lbsim_balancer_attempt(b, now_ns, rec->ticket, lbsim_tools_attempt_deadline(ft, now_ns, rec->deadline_ns),
                         rec->avoid);
}

/* Whether a failed attempt (of a user request with `rec`, or a first
 * attempt) is retried: then a record waits out its backoff. Otherwise the
 * tally says why not. */
static bool retry(lbsim_tools_t *t, const lbsim_request_t *req, lbsim_retrying_t *rec, bool throttled,
                  uint64_t end_ns) {
  lbsim_fleet_tools_t *ft = tools_of(t);
  const lbsim_retry_config_t *rc = &ft->cfg->retry;
  lbsim_stats_t *s = t->balancer->stats;
  uint32_t attempts = rec ? rec->attempts : 1;
  if (t->stopped) {
    LBSIM_TALLY(s, backoff_cancelled, 1);
    return false;
  }
  if (attempts > rc->retries) {
    LBSIM_TALLY(s, exhausted, 1);
    return false;
  }
  if (throttled) {
    LBSIM_TALLY(s, refused_throttle, 1);
    return false;
  }
  uint64_t deadline = rec ? rec->deadline_ns : lbsim_tools_user_deadline(ft, req->start_ns);
  uint64_t at = end_ns + lbsim_retry_backoff_ns(rc, attempts, &t->rng);
  if (at >= deadline) {
    LBSIM_TALLY(s, refused_deadline, 1);
    return false;
  }
  if (rc->budget && !lbsim_budget_try_withdraw(&t->budget, end_ns)) {
    LBSIM_TALLY(s, refused_budget, 1);
    return false;
  }
  bool fresh = rec == NULL;
  if (fresh) {
    rec = record_new(ft);
    if (rec == NULL) {
      lbsim_log_error("out of memory: a failed request was not retried");
      return false;
    }
    rec->first_ns = req->start_ns;
    rec->deadline_ns = deadline;
    rec->client = req->client;
    rec->attempts = 1;
  }
  rec->avoid = req->pick;
  if (lbsim_clock_set(ft->clock, &rec->timer, at, on_backoff_done) != 0) {
    lbsim_log_error("out of memory: a failed request was not retried");
    if (fresh)
      record_free(ft, rec); /* one of its own is freed with its user request */
    return false;
  }
  lbsim_queue_insert_tail(&t->backoff, &rec->link);
  return true;
}

void lbsim_tools_done(lbsim_tools_t *t, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                      uint32_t count) {
  lbsim_fleet_tools_t *ft = tools_of(t);
  lbsim_balancer_t *b = t->balancer;
  const lbsim_retry_config_t *rc = &ft->cfg->retry;
  lbsim_retrying_t *rec = req->ticket ? record_of(ft, req->ticket) : NULL;
  uint64_t first_ns = rec ? rec->first_ns : req->start_ns;
  if (ft->ejecting)
    lbsim_outlier_observe(&t->outlier, req->pick, result, count, end_ns);
  uint32_t ended = count;
  if (result == LBSIM_RESULT_OK) {
    if (rc->throttle)
      lbsim_throttle_success(&t->throttle, count);
  } else if (ft->retrying && !lbsim_retry_on(rc->on, result)) {
    if (result != LBSIM_RESULT_CANCELLED)
      LBSIM_TALLY(b->stats, not_retryable, count);
  } else if (ft->retrying) {
    /* A retry carries its ticket alone: only first attempts come in numbers. */
    ended = 0;
    for (uint32_t k = 0; k < count; k++) {
      bool throttled = rc->throttle && !lbsim_throttle_failure(&t->throttle);
      if (!retry(t, req, rec, throttled, end_ns))
        ended++;
    }
  }
  if (ended == 0)
    return;
  lbsim_balancer_user_done(b, req, result, first_ns, end_ns, ended);
  if (rec != NULL)
    record_free(ft, rec);
}

void lbsim_tools_cancel_retries(lbsim_tools_t *t, uint64_t now_ns) {
  lbsim_fleet_tools_t *ft = tools_of(t);
  lbsim_balancer_t *b = t->balancer;
  t->stopped = true;
  lbsim_queue_t *q;
  while ((q = lbsim_queue_head(&t->backoff)) != NULL) {
    lbsim_retrying_t *rec = LBSIM_CONTAINER_OF(q, lbsim_retrying_t, link);
    lbsim_queue_remove(q);
    lbsim_clock_cancel(ft->clock, &rec->timer);
    LBSIM_TALLY(b->stats, backoff_cancelled, 1);
    lbsim_request_t req = {.start_ns = now_ns, .oracle_ms = -1, .backend = lbsim_balancer_backend(b, rec->avoid),
                           .pick = rec->avoid, .client = rec->client, .ticket = rec->ticket};
    lbsim_balancer_user_done(b, &req, LBSIM_RESULT_CANCELLED, rec->first_ns, now_ns, 1);
    record_free(ft, rec);
  }
}
