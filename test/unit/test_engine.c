/* Unit tests of the virtual clock (lbsim/virtual/engine.h): the order in which the
 * engine runs timers due at the same instant, and the virtual network's
 * outcomes, each computed by hand and matched to the nanosecond: network
 * delay, capacity waves, deadlines, outages, stalls, slow start, injected
 * errors. The network's completions come to a recorder here instead of a
 * balancer; no loop, no socket. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "lbsim/virtual/engine.h"
#include "lbsim/virtual/vnet.h"
#include "lbsim/base/rng.h"

#define MS(x) ((uint64_t)((x) * 1000000.0 + 0.5))

/* ---- the engine: order and ties ----------------------------------------------- */

typedef struct probe_s {
  lbsim_timer_t timer;
  int id;
  struct log_s *log;
} probe_t;

typedef struct log_s {
  lbsim_engine_t *engine;
  int ids[64];
  uint64_t at[64];
  int n;
} log_t;

static void on_probe(lbsim_timer_t *timer, uint64_t now_ns) {
  probe_t *p = LBSIM_CONTAINER_OF(timer, probe_t, timer);
  log_t *log = p->log;
  if (log->n < 64) {
    log->ids[log->n] = p->id;
    log->at[log->n] = now_ns;
    log->n++;
  }
}

static void probe_init(probe_t *p, int id, lbsim_order_t order, log_t *log) {
  lbsim_timer_init(&p->timer, order);
  p->id = id;
  p->log = log;
}

/* Ten timers at one instant, two per order class, set in many orders: they
 * run by class (changes, drift, completions, traffic, reports), and within a
 * class in the order they were set. */
TEST(timers_at_one_instant_run_by_class_then_by_the_order_they_were_set) {
  static const lbsim_order_t classes[] = {LBSIM_ORDER_REPORT, LBSIM_ORDER_TRAFFIC, LBSIM_ORDER_COMPLETION,
                                          LBSIM_ORDER_DRIFT, LBSIM_ORDER_CHANGE};
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 42, 0);
  for (int trial = 0; trial < 200; trial++) {
    lbsim_engine_t e;
    lbsim_engine_init(&e, MS(1));
    log_t log = {.engine = &e};
    probe_t p[10];
    int order[10];
    for (int i = 0; i < 10; i++) {
      probe_init(&p[i], i, classes[i / 2], &log);
      order[i] = i;
    }
    for (int i = 9; i > 0; i--) { /* a seeded shuffle of the setting order */
      int j = (int)lbsim_rng_below(&rng, (uint64_t)i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    int set_rank[10];
    for (int k = 0; k < 10; k++) {
      set_rank[order[k]] = k;
      CHECK_EQ(lbsim_clock_set(&e.clock, &p[order[k]].timer, MS(5), on_probe), 0);
    }
    lbsim_engine_run(&e);
    CHECK_EQ(log.n, 10);
    CHECK_EQ(e.events, 10);
    CHECK_EQ(e.timers.len, 0);
    for (int k = 0; k < 10; k++) {
      CHECK_EQ(log.at[k], MS(5));
      CHECK(!lbsim_timer_pending(&p[log.ids[k]].timer));
    }
    for (int k = 1; k < 10; k++) {
      const probe_t *a = &p[log.ids[k - 1]], *b = &p[log.ids[k]];
      CHECK_MSG(a->timer.order < b->timer.order || (a->timer.order == b->timer.order &&
                                                    set_rank[a->id] < set_rank[b->id]),
                "trial %d: timer %d ran before %d", trial, a->id, b->id);
    }
    lbsim_engine_free(&e);
  }
}

TEST(time_jumps_from_one_due_time_to_the_next_whatever_the_setting_order) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  log_t log = {.engine = &e};
  probe_t p[4];
  static const uint64_t due[] = {MS(30), MS(10), MS(3600000), MS(20)};
  for (int i = 0; i < 4; i++) {
    probe_init(&p[i], i, LBSIM_ORDER_TRAFFIC, &log);
    lbsim_clock_set(&e.clock, &p[i].timer, due[i], on_probe);
  }
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 4);
  CHECK_EQ(log.ids[0], 1);
  CHECK_EQ(log.ids[1], 3);
  CHECK_EQ(log.ids[2], 0);
  CHECK_EQ(log.ids[3], 2);
  CHECK_EQ(log.at[3], MS(3600000));
  CHECK_EQ(e.now_ns, MS(3600000)); /* an hour, in no time */
  lbsim_engine_free(&e);
}

/* Setting a timer again gives it a new place in the order: it sorts as if
 * it had just been set. */
TEST(a_timer_set_again_goes_after_those_set_meanwhile) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  log_t log = {.engine = &e};
  probe_t a, b, c;
  probe_init(&a, 0, LBSIM_ORDER_COMPLETION, &log);
  probe_init(&b, 1, LBSIM_ORDER_COMPLETION, &log);
  probe_init(&c, 2, LBSIM_ORDER_COMPLETION, &log);
  lbsim_clock_set(&e.clock, &a.timer, MS(7), on_probe);
  lbsim_clock_set(&e.clock, &b.timer, MS(7), on_probe);
  lbsim_clock_set(&e.clock, &c.timer, MS(9), on_probe);
  lbsim_clock_set(&e.clock, &a.timer, MS(7), on_probe); /* again, same instant */
  lbsim_clock_set(&e.clock, &c.timer, MS(5), on_probe); /* moved earlier */
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 3);
  CHECK_EQ(log.ids[0], 2);
  CHECK_EQ(log.at[0], MS(5));
  CHECK_EQ(log.ids[1], 1);
  CHECK_EQ(log.ids[2], 0);
  lbsim_engine_free(&e);
}

/* What a callback does to the timers, at the instant it runs. */
typedef struct actor_s {
  lbsim_timer_t timer;
  int id;
  log_t *log;
  lbsim_engine_t *engine;
  probe_t *target;      /* set or cancel this one */
  lbsim_order_t target_order;
  uint64_t target_due;  /* LBSIM_NEVER: cancel it */
  uint64_t period;      /* > 0: set itself again */
  int repeats;
  bool stop;
} actor_t;

static void on_actor(lbsim_timer_t *timer, uint64_t now_ns) {
  actor_t *a = LBSIM_CONTAINER_OF(timer, actor_t, timer);
  log_t *log = a->log;
  log->ids[log->n] = a->id;
  log->at[log->n++] = now_ns;
  if (a->target) {
    if (a->target_due == LBSIM_NEVER) {
      lbsim_clock_cancel(&a->engine->clock, &a->target->timer);
    } else {
      a->target->timer.order = (uint8_t)a->target_order;
      lbsim_clock_set(&a->engine->clock, &a->target->timer, a->target_due, on_probe);
    }
  }
  if (a->period > 0 && --a->repeats > 0)
    lbsim_clock_set(&a->engine->clock, &a->timer, timer->due_ns + a->period, on_actor);
  if (a->stop)
    lbsim_engine_stop(a->engine);
}

/* A timer set from a callback for the current instant (or for the past,
 * which the engine takes as now) runs at this instant, at its place in the
 * key order: before the pending timers of a later class, after those of its
 * own class set before it. */
TEST(a_timer_set_for_now_or_the_past_runs_now_in_key_order) {
  for (int past = 0; past < 2; past++) {
    lbsim_engine_t e;
    lbsim_engine_init(&e, 0);
    log_t log = {.engine = &e};
    actor_t act = {.id = 0, .log = &log, .engine = &e};
    probe_t traffic, report, late, target;
    lbsim_timer_init(&act.timer, LBSIM_ORDER_COMPLETION);
    probe_init(&traffic, 1, LBSIM_ORDER_TRAFFIC, &log);
    probe_init(&report, 2, LBSIM_ORDER_REPORT, &log);
    probe_init(&late, 3, LBSIM_ORDER_CHANGE, &log);
    probe_init(&target, 4, LBSIM_ORDER_TRAFFIC, &log);
    act.target = &target;
    act.target_order = LBSIM_ORDER_TRAFFIC;
    act.target_due = past ? MS(1) : MS(10);
    lbsim_clock_set(&e.clock, &act.timer, MS(10), on_actor);
    lbsim_clock_set(&e.clock, &traffic.timer, MS(10), on_probe);
    lbsim_clock_set(&e.clock, &report.timer, MS(10), on_probe);
    lbsim_clock_set(&e.clock, &late.timer, MS(10) + 1, on_probe);
    lbsim_engine_run(&e);
    CHECK_EQ(log.n, 5);
    static const int want[] = {0, 1, 4, 2, 3};
    for (int k = 0; k < 5; k++)
      CHECK_EQ(log.ids[k], want[k]);
    CHECK_EQ(log.at[2], MS(10)); /* never in the past */
    CHECK_EQ(log.at[4], MS(10) + 1);
    lbsim_engine_free(&e);
  }
}

TEST(a_timer_of_an_earlier_class_set_for_now_runs_before_pending_ones) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  log_t log = {.engine = &e};
  actor_t act = {.id = 0, .log = &log, .engine = &e};
  probe_t completion, change;
  lbsim_timer_init(&act.timer, LBSIM_ORDER_TRAFFIC);
  probe_init(&completion, 1, LBSIM_ORDER_TRAFFIC, &log);
  probe_init(&change, 2, LBSIM_ORDER_CHANGE, &log);
  act.target = &change;
  act.target_order = LBSIM_ORDER_CHANGE;
  act.target_due = MS(10);
  lbsim_clock_set(&e.clock, &act.timer, MS(10), on_actor);
  lbsim_clock_set(&e.clock, &completion.timer, MS(10), on_probe);
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 3);
  CHECK_EQ(log.ids[1], 2); /* (10 ms, change) < (10 ms, traffic) */
  CHECK_EQ(log.ids[2], 1);
  lbsim_engine_free(&e);
}

TEST(a_timer_cancelled_by_an_earlier_one_of_its_instant_does_not_run) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  log_t log = {.engine = &e};
  actor_t act = {.id = 0, .log = &log, .engine = &e};
  probe_t victim;
  lbsim_timer_init(&act.timer, LBSIM_ORDER_CHANGE);
  probe_init(&victim, 1, LBSIM_ORDER_COMPLETION, &log);
  act.target = &victim;
  act.target_due = LBSIM_NEVER;
  lbsim_clock_set(&e.clock, &victim.timer, MS(10), on_probe); /* set first, but of a later class */
  lbsim_clock_set(&e.clock, &act.timer, MS(10), on_actor);
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 1);
  CHECK_EQ(log.ids[0], 0);
  CHECK(!lbsim_timer_pending(&victim.timer));
  CHECK_EQ(e.timers.len, 0);
  lbsim_engine_free(&e);
}

/* A periodic timer set from its own due time keeps exact multiples of its
 * period; one that does not set itself again leaves the heap. */
TEST(a_periodic_timer_keeps_exact_multiples_and_a_spent_one_leaves) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, MS(2));
  log_t log = {.engine = &e};
  actor_t act = {.id = 0, .log = &log, .engine = &e, .period = 333333333, .repeats = 20};
  lbsim_timer_init(&act.timer, LBSIM_ORDER_DRIFT);
  lbsim_clock_set(&e.clock, &act.timer, MS(2) + act.period, on_actor);
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 20);
  for (int k = 0; k < 20; k++)
    CHECK_EQ(log.at[k], MS(2) + (uint64_t)(k + 1) * act.period);
  CHECK(!lbsim_timer_pending(&act.timer));
  CHECK_EQ(e.timers.len, 0);
  CHECK_EQ(e.events, 20);
  lbsim_engine_free(&e);
}

TEST(stop_returns_with_the_rest_pending_and_run_goes_on_from_there) {
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  log_t log = {.engine = &e};
  actor_t act = {.id = 0, .log = &log, .engine = &e, .stop = true};
  probe_t same, later;
  lbsim_timer_init(&act.timer, LBSIM_ORDER_COMPLETION);
  probe_init(&same, 1, LBSIM_ORDER_TRAFFIC, &log);
  probe_init(&later, 2, LBSIM_ORDER_TRAFFIC, &log);
  lbsim_clock_set(&e.clock, &act.timer, MS(4), on_actor);
  lbsim_clock_set(&e.clock, &same.timer, MS(4), on_probe);
  lbsim_clock_set(&e.clock, &later.timer, MS(8), on_probe);
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 1);
  CHECK_EQ(e.now_ns, MS(4));
  CHECK_EQ(e.timers.len, 2);
  CHECK(!lbsim_timer_pending(&act.timer));
  lbsim_engine_run(&e);
  CHECK_EQ(log.n, 3);
  CHECK_EQ(log.ids[1], 1);
  CHECK_EQ(log.at[1], MS(4));
  CHECK_EQ(log.at[2], MS(8));
  lbsim_engine_free(&e);
}

/* ---- the network ------------------------------------------------------------------ */

typedef struct done_s {
  uint32_t backend;
  uint64_t start_ns, end_ns;
  lbsim_result_t result;
  uint32_t count;
} done_t;

/* A stand-in for the balancer: sends requests, records how they end. */
typedef struct rig_s {
  lbsim_engine_t engine;
  lbsim_model_t models[3];
  lbsim_vnet_t net;
  done_t done[256];
  uint32_t ndone;
  uint64_t ended;          /* requests, batches counted by their size */
  /* what a completion does next */
  uint32_t resend_to;      /* < 3: each completion sends one more there... */
  uint32_t resends_left;   /* ... this many times */
} rig_t;

static void on_rig_done(void *data, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                        uint32_t count);

static void rig_send_kind(rig_t *r, uint32_t backend, bool probe) {
  lbsim_request_t *req = r->net.transport.ops->request(&r->net.transport);
  req->backend = req->pick = backend;
  req->client = 0;
  req->start_ns = r->engine.now_ns;
  req->oracle_ms = -1;
  req->to_fastest = false;
  req->probe = probe;
  r->net.transport.ops->submit(&r->net.transport, req);
}

static void rig_send(rig_t *r, uint32_t backend) {
  rig_send_kind(r, backend, false);
}

static void on_rig_done(void *data, const lbsim_request_t *req, lbsim_result_t result, uint64_t end_ns,
                        uint32_t count) {
  rig_t *r = data;
  if (r->ndone < 256)
    r->done[r->ndone++] = (done_t){req->backend, req->start_ns, end_ns, result, count};
  r->ended += count;
  for (uint32_t k = 0; k < count && r->resends_left > 0; k++) {
    r->resends_left--;
    rig_send(r, r->resend_to);
  }
}

/* Three backends at `latency_ms`, the network of `net_delay_ms` whose trip
 * back varies by `spread` of its mean, the client's deadline `timeout_s`. */
static int rig_init_spread(rig_t *r, double latency_ms, uint32_t capacity, double net_delay_ms, double spread,
                           double timeout_s) {
  memset(r, 0, sizeof(*r));
  lbsim_engine_init(&r->engine, 0);
  for (uint32_t i = 0; i < 3; i++) {
    lbsim_model_t *m = &r->models[i];
    m->index = i;
    m->latency.latency_ms = latency_ms;
    m->generation = 1;
    m->capacity = capacity;
    m->slow_start_factor = 1;
  }
  REQUIRE(lbsim_vnet_init(&r->net, &r->engine, r->models, 3, 1, 3, NULL, 7, net_delay_ms, spread, timeout_s, 4) == 0);
  r->net.transport.on_done = on_rig_done;
  r->net.transport.done_data = r;
  r->resend_to = 3;
  return 0;
}

/* The same with a network that does not vary. */
static int rig_init(rig_t *r, double latency_ms, uint32_t capacity, double net_delay_ms, double timeout_s) {
  return rig_init_spread(r, latency_ms, capacity, net_delay_ms, 0, timeout_s);
}

static void rig_free(rig_t *r) {
  lbsim_vnet_free(&r->net);
  lbsim_engine_free(&r->engine);
}

/* A scripted change of a model at an instant, as the farm makes it. */
typedef struct change_s {
  lbsim_timer_t timer;
  rig_t *rig;
  uint32_t backend;
  lbsim_event_t event;
} change_t;

static void on_change(lbsim_timer_t *timer, uint64_t now_ns) {
  change_t *c = LBSIM_CONTAINER_OF(timer, change_t, timer);
  lbsim_model_apply(&c->rig->models[c->backend], &c->event, now_ns);
  lbsim_vnet_sync(&c->rig->net, c->backend, now_ns);
}

static void schedule_change(change_t *c, rig_t *r, uint64_t at_ns, uint32_t backend, lbsim_action_t action,
                            double value) {
  memset(c, 0, sizeof(*c));
  c->rig = r;
  c->backend = backend;
  c->event.action = action;
  c->event.value = value;
  lbsim_timer_init(&c->timer, LBSIM_ORDER_CHANGE);
  lbsim_clock_set(&r->engine.clock, &c->timer, at_ns, on_change);
}

/* A burst sent at an instant, as the runner sends one. */
typedef struct burst_s {
  lbsim_timer_t timer;
  rig_t *rig;
  uint32_t backend, n;
} burst_t;

static void on_burst(lbsim_timer_t *timer, uint64_t now_ns) {
  (void)now_ns;
  burst_t *b = LBSIM_CONTAINER_OF(timer, burst_t, timer);
  for (uint32_t k = 0; k < b->n; k++)
    rig_send(b->rig, b->backend);
}

static void schedule_burst(burst_t *b, rig_t *r, uint64_t at_ns, uint32_t backend, uint32_t n) {
  b->rig = r;
  b->backend = backend;
  b->n = n;
  lbsim_timer_init(&b->timer, LBSIM_ORDER_TRAFFIC);
  lbsim_clock_set(&r->engine.clock, &b->timer, at_ns, on_burst);
}

TEST(an_answer_comes_back_after_the_latency_and_the_network_delay) {
  rig_t r;
  CHECK(rig_init(&r, 50, 0, 0.3, 5) == 0);
  burst_t b;
  schedule_burst(&b, &r, MS(1000), 1, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 1);
  CHECK_EQ(r.done[0].backend, 1);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[0].start_ns, MS(1000));
  CHECK_EQ(r.done[0].end_ns, MS(1050.3));
  CHECK_EQ(r.net.in_flight, 0);
  rig_free(&r);
}

/* One backend serving 10 at once at 50 ms, 0.2 ms of network whose way back
 * varies by `spread`, a burst of 35: four waves of 10, 10, 10 and 5, each
 * one event. Each wave's end minus when its backend was done and the way
 * out (0.1 ms) goes into back[w]. */
static void capacity_waves(double spread, uint64_t back[4]) {
  rig_t r;
  CHECK(rig_init_spread(&r, 50, 10, 0.2, spread, 5) == 0);
  burst_t b;
  schedule_burst(&b, &r, 0, 0, 35);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 35);
  CHECK_EQ(r.ndone, 4);
  CHECK_EQ(r.engine.events, 1 + 4); /* the burst, four waves */
  static const uint32_t counts[] = {10, 10, 10, 5};
  for (uint32_t w = 0; w < 4; w++) {
    CHECK_EQ(r.done[w].result, LBSIM_RESULT_OK);
    CHECK_EQ(r.done[w].count, counts[w]);
    uint64_t served = MS(50) * (w + 1) + MS(0.1);
    CHECK(r.done[w].end_ns >= served);
    back[w] = r.done[w].end_ns - served;
  }
  rig_free(&r);
}

/* Without the spread, the waves end at 50, 100, 150 and 200 ms plus the
 * network delay. */
TEST(capacity_waves_end_at_multiples_of_the_latency_plus_the_network) {
  uint64_t back[4];
  capacity_waves(0, back);
  for (uint32_t w = 0; w < 4; w++)
    CHECK_EQ(back[w], MS(0.1));
}

/* With the network's spread, each wave comes back 0 to 0.2 ms after its
 * backend is done (0.1 on average), a draw of its own, and is still one
 * event; the same run gives the same draws. */
TEST(the_spread_varies_each_wave_within_its_bounds_and_keeps_it_one_event) {
  uint64_t ends[2][4];
  for (int run = 0; run < 2; run++) {
    capacity_waves(1, ends[run]);
    for (uint32_t w = 0; w < 4; w++)
      CHECK(ends[run][w] <= MS(0.2));
  }
  uint32_t differ = 0;
  for (uint32_t w = 0; w < 4; w++) {
    CHECK_EQ(ends[0][w], ends[1][w]);
    differ += ends[0][w] != ends[0][0];
  }
  CHECK(differ > 0); /* not one constant delay */
}

/* Backends of one latency answer a burst at different instants once the
 * network varies, as sockets measure them: no two exactly alike, so a
 * policy that takes the lowest estimate is not left with a tie to break by
 * index. */
TEST(the_spread_separates_backends_of_equal_latency) {
  rig_t r;
  CHECK(rig_init_spread(&r, 20, 0, 0.1, 1, 5) == 0);
  for (uint32_t i = 0; i < 3; i++)
    for (uint32_t k = 0; k < 5; k++)
      rig_send(&r, i);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 15);
  CHECK_EQ(r.ndone, 3); /* one event per backend */
  for (uint32_t k = 0; k < 3; k++) {
    CHECK_EQ(r.done[k].count, 5);
    CHECK(r.done[k].end_ns >= MS(20.05) && r.done[k].end_ns <= MS(20.15));
  }
  CHECK(r.done[0].end_ns != r.done[1].end_ns || r.done[1].end_ns != r.done[2].end_ns);
  rig_free(&r);
}

/* The queue is entered when the request reaches the backend, half the
 * network delay after the pick, and left half of it before the answer is
 * back: a request sent later joins the queue behind the first wave. */
TEST(a_request_queues_from_when_it_reaches_the_backend) {
  rig_t r;
  CHECK(rig_init(&r, 50, 1, 2, 5) == 0);
  burst_t a, b;
  schedule_burst(&a, &r, 0, 0, 1);
  schedule_burst(&b, &r, MS(30), 0, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 2);
  CHECK_EQ(r.done[0].end_ns, MS(1 + 50 + 1));
  CHECK_EQ(r.done[1].end_ns, MS(1 + 50 + 50 + 1)); /* served from 51 ms, when the server frees up */
  rig_free(&r);
}

/* An answer that would come after the deadline ends as a timeout exactly at
 * pick + timeout; one that comes exactly at the deadline is in time. */
TEST(an_answer_later_than_the_deadline_times_out_exactly_at_it) {
  rig_t r;
  CHECK(rig_init(&r, 300, 0, 0.5, 0.25) == 0);
  r.models[2].latency.latency_ms = 249.5; /* + 0.5 network: exactly 250 ms */
  burst_t a, b;
  schedule_burst(&a, &r, MS(10), 0, 3);
  schedule_burst(&b, &r, MS(10), 2, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 4);
  CHECK_EQ(r.ndone, 2);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_TIMEOUT);
  CHECK_EQ(r.done[0].count, 3);
  CHECK_EQ(r.done[0].end_ns, MS(260));
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[1].end_ns, MS(260));
  rig_free(&r);
}

/* Queued behind a capacity of 1, the later requests of a burst miss the
 * deadline: they end as timeouts at it, the earlier ones as answers. */
TEST(requests_queued_past_the_deadline_time_out_at_it) {
  rig_t r;
  CHECK(rig_init(&r, 40, 1, 0, 0.1) == 0);
  burst_t b;
  schedule_burst(&b, &r, 0, 0, 5);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 5);
  CHECK_EQ(r.ndone, 3);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[0].end_ns, MS(40));
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[1].end_ns, MS(80));
  CHECK_EQ(r.done[2].result, LBSIM_RESULT_TIMEOUT);
  CHECK_EQ(r.done[2].count, 3);
  CHECK_EQ(r.done[2].end_ns, MS(100));
  rig_free(&r);
}

/* Down: refused at once. An outage mid-flight resets what is in flight to
 * that backend, at the outage, and nothing else. Up with slow start: five
 * times slower at first, falling linearly back. */
TEST(outages_refuse_at_once_reset_what_is_in_flight_and_recover_slowly) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0, 5) == 0);
  burst_t b1, b2, b3, b4;
  change_t down, up;
  schedule_burst(&b1, &r, 0, 0, 4);        /* in flight at the outage */
  schedule_burst(&b2, &r, 0, 1, 2);        /* another backend: untouched */
  schedule_change(&down, &r, MS(60), 0, LBSIM_ACTION_DOWN, 0);
  schedule_burst(&b3, &r, MS(70), 0, 2);   /* down: refused */
  schedule_change(&up, &r, MS(200), 0, LBSIM_ACTION_UP, 0);
  up.event.slow_start_s = 1;
  up.event.slow_start_factor = 5;
  schedule_burst(&b4, &r, MS(700), 0, 1);  /* half-way through slow start: x3 */
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 9);
  CHECK_EQ(r.ndone, 4);
  CHECK_EQ(r.done[0].backend, 0);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_RESET);
  CHECK_EQ(r.done[0].count, 4);
  CHECK_EQ(r.done[0].end_ns, MS(60));
  CHECK_EQ(r.done[1].backend, 0);
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_CONNECT);
  CHECK_EQ(r.done[1].count, 2);
  CHECK_EQ(r.done[1].end_ns, MS(70));
  CHECK_EQ(r.done[2].backend, 1);
  CHECK_EQ(r.done[2].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[2].end_ns, MS(100));
  CHECK_EQ(r.done[3].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[3].end_ns, MS(700 + 300));
  CHECK_EQ(r.net.in_flight, 0);
  rig_free(&r);
}

/* An outage empties the capacity queue: after recovery the servers are free. */
TEST(an_outage_drops_the_queued_work) {
  rig_t r;
  CHECK(rig_init(&r, 100, 1, 0, 5) == 0);
  burst_t b1, b2;
  change_t down, up;
  schedule_burst(&b1, &r, 0, 0, 10); /* would hold the server for a second */
  schedule_change(&down, &r, MS(50), 0, LBSIM_ACTION_DOWN, 0);
  schedule_change(&up, &r, MS(60), 0, LBSIM_ACTION_UP, 0);
  schedule_burst(&b2, &r, MS(60), 0, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 11); /* each queued request had its own end */
  for (uint32_t k = 0; k < 10; k++) {
    CHECK_EQ(r.done[k].result, LBSIM_RESULT_RESET);
    CHECK_EQ(r.done[k].end_ns, MS(50));
  }
  CHECK_EQ(r.done[10].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[10].end_ns, MS(160));
  rig_free(&r);
}

/* A reset's completion launches requests to the backend that just went
 * down (a closed loop, round-robin): they are refused, not reset with the
 * ones in flight. */
TEST(requests_launched_by_an_outage_s_resets_are_refused) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0, 5) == 0);
  burst_t b;
  change_t down;
  schedule_burst(&b, &r, 0, 0, 2);
  schedule_change(&down, &r, MS(50), 0, LBSIM_ACTION_DOWN, 0);
  r.resend_to = 0;
  r.resends_left = 2;
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 4);
  CHECK_EQ(r.ndone, 2);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_RESET);
  CHECK_EQ(r.done[0].count, 2);
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_CONNECT);
  CHECK_EQ(r.done[1].count, 2);
  CHECK_EQ(r.done[1].end_ns, MS(50));
  CHECK_EQ(r.net.in_flight, 0);
  CHECK_EQ(r.engine.timers.len, 0);
  rig_free(&r);
}

/* The client keeps connections alive. At an outage a request on a
 * connection that already carried one is sent again on a new connection,
 * as the client does after a keep-alive race, and that connect is refused
 * a round trip later; a request on a new connection is reset. Connections
 * idle for longer than the client keeps them are closed meanwhile. */
TEST(at_an_outage_reused_connections_are_refused_on_retry_and_new_ones_reset) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0.4, 5) == 0);
  burst_t b1, b2;
  change_t down;
  schedule_burst(&b1, &r, 0, 0, 3);          /* three connections, idle from 100.4 ms */
  schedule_burst(&b2, &r, MS(200), 0, 5);    /* three reused, two new */
  schedule_change(&down, &r, MS(250), 0, LBSIM_ACTION_DOWN, 0);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 8);
  CHECK_EQ(r.ndone, 3);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[0].count, 3);
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_RESET);
  CHECK_EQ(r.done[1].count, 2);
  CHECK_EQ(r.done[1].end_ns, MS(250));
  CHECK_EQ(r.done[2].result, LBSIM_RESULT_CONNECT);
  CHECK_EQ(r.done[2].count, 3);
  CHECK_EQ(r.done[2].start_ns, MS(200));
  CHECK_EQ(r.done[2].end_ns, MS(250.4));
  CHECK_EQ(r.net.in_flight, 0);
  rig_free(&r);
}

TEST(connections_idle_longer_than_the_client_keeps_them_are_not_reused) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0, 5) == 0);
  burst_t b1, b2, b3;
  change_t down;
  schedule_burst(&b1, &r, 0, 0, 2);             /* idle from 100 ms, closed at 4.1 s */
  schedule_burst(&b2, &r, MS(4100), 0, 1);      /* a new connection: the old ones are closed */
  schedule_burst(&b3, &r, MS(4150), 0, 1);
  schedule_change(&down, &r, MS(4160), 0, LBSIM_ACTION_DOWN, 0);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 3);
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_RESET);
  CHECK_EQ(r.done[2].result, LBSIM_RESULT_RESET);
  rig_free(&r);
}

/* A refused connect costs the connect's round trip on the network: a
 * closed loop against a backend that is down moves on in time. */
TEST(a_refused_connect_takes_a_round_trip) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0.25, 5) == 0);
  change_t down;
  burst_t b;
  schedule_change(&down, &r, 0, 0, LBSIM_ACTION_DOWN, 0);
  schedule_burst(&b, &r, MS(1), 0, 1);
  r.resend_to = 0;
  r.resends_left = 99;
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 100);
  CHECK_EQ(r.ndone, 100);
  for (uint32_t k = 0; k < r.ndone; k++) {
    CHECK_EQ(r.done[k].result, LBSIM_RESULT_CONNECT);
    CHECK_EQ(r.done[k].end_ns, MS(1) + (uint64_t)(k + 1) * MS(0.25));
  }
  rig_free(&r);
}

/* Requests that take no time at all, in a closed loop: time stands still;
 * the engine says so and stops instead of spinning for ever. */
TEST(time_that_stands_still_stops_the_engine) {
  rig_t r;
  CHECK(rig_init(&r, 0, 0, 0, 5) == 0);
  r.engine.max_at_instant = 1000;
  burst_t b;
  schedule_burst(&b, &r, MS(3), 0, 1);
  r.resend_to = 0;
  r.resends_left = UINT32_MAX;
  lbsim_engine_run(&r.engine);
  CHECK(r.engine.stuck);
  CHECK_EQ(r.engine.now_ns, MS(3));
  CHECK(r.ended >= 1000 && r.ended <= 1002);
  rig_free(&r);
}

/* Rounds that take no time repeat at one instant, a few events each (a
 * burst to one backend is one batch): counted in requests, time that stands
 * still is seen after a thousand rounds' worth, not after 2^24 events. */
TEST(requests_at_one_instant_beyond_the_limit_stop_the_engine) {
  rig_t r;
  CHECK(rig_init(&r, 0, 0, 0, 5) == 0);
  lbsim_engine_limit(&r.engine, 100, UINT64_MAX);
  CHECK_EQ(r.engine.max_requests_at_instant, 100 * LBSIM_ENGINE_UNITS_AT_ONE_INSTANT);
  burst_t b;
  schedule_burst(&b, &r, MS(3), 0, 100);
  r.resend_to = 0;
  r.resends_left = UINT32_MAX;
  lbsim_engine_run(&r.engine);
  CHECK(r.engine.stuck);
  CHECK_EQ(r.engine.now_ns, MS(3));
  CHECK(r.ended >= 100000 - 100 && r.ended <= 100000);
  CHECK(r.engine.events < 3000); /* the events' guard alone would have waited for 2^24 */
  rig_free(&r);
  /* However large a round, two fit; however small, at most 2^22 requests. */
  lbsim_engine_t e;
  lbsim_engine_init(&e, 0);
  lbsim_engine_limit(&e, 16000000, UINT64_MAX);
  CHECK_EQ(e.max_requests_at_instant, 32000000);
  lbsim_engine_limit(&e, 1000000, UINT64_MAX);
  CHECK_EQ(e.max_requests_at_instant, LBSIM_ENGINE_REQUESTS_AT_ONE_INSTANT);
  lbsim_engine_free(&e);
}

/* One request a millisecond, each answered an hour later: a batch each. */
typedef struct drip_s {
  lbsim_timer_t timer;
  rig_t *rig;
  uint32_t left;
} drip_t;

static void on_drip(lbsim_timer_t *timer, uint64_t now_ns) {
  drip_t *d = LBSIM_CONTAINER_OF(timer, drip_t, timer);
  rig_send(d->rig, 0);
  if (--d->left > 0)
    lbsim_clock_set(&d->rig->engine.clock, timer, now_ns + MS(1), on_drip);
}

/* The batches in flight are the simulated state the budget counts: beyond
 * it the request is cancelled and the engine stops, once, at the same
 * instant on every machine. */
TEST(requests_in_flight_beyond_the_memory_budget_stop_the_engine) {
  rig_t r;
  CHECK(rig_init(&r, 3600000, 0, 0, 86400) == 0);
  lbsim_engine_limit(&r.engine, 1, 1024 * LBSIM_VNET_BATCH_BYTES); /* one slab of batches */
  drip_t d = {.rig = &r, .left = 5000};
  lbsim_timer_init(&d.timer, LBSIM_ORDER_TRAFFIC);
  lbsim_clock_set(&r.engine.clock, &d.timer, MS(1), on_drip);
  lbsim_engine_run(&r.engine);
  CHECK(r.engine.out_of_memory && r.engine.over_budget);
  CHECK_EQ(r.engine.now_ns, MS(1025)); /* the 1025th request found no room */
  CHECK_EQ(r.ndone, 1);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_CANCELLED);
  CHECK_EQ(r.net.in_flight, 1024);
  CHECK_EQ(r.engine.state_bytes, 1024 * LBSIM_VNET_BATCH_BYTES);
  lbsim_vnet_cancel_all(&r.net);
  CHECK_EQ(r.ended, 1025);
  lbsim_clock_cancel(&r.engine.clock, &d.timer);
  rig_free(&r);
}

/* Stalled: accepted, never answered; the client gives up at the deadline.
 * What was served before the stall is answered; after resume, all is well. */
TEST(a_stall_times_out_at_the_deadline_and_resume_answers_again) {
  rig_t r;
  CHECK(rig_init(&r, 20, 0, 0, 0.5) == 0);
  burst_t b1, b2, b3;
  change_t stall, resume;
  schedule_burst(&b1, &r, 0, 0, 1);
  schedule_change(&stall, &r, MS(10), 0, LBSIM_ACTION_STALL, 0);
  schedule_burst(&b2, &r, MS(10), 0, 3);
  schedule_change(&resume, &r, MS(100), 0, LBSIM_ACTION_RESUME, 0);
  schedule_burst(&b3, &r, MS(100), 0, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 3);
  CHECK_EQ(r.done[0].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[0].end_ns, MS(20));
  CHECK_EQ(r.done[1].result, LBSIM_RESULT_OK);
  CHECK_EQ(r.done[1].end_ns, MS(120));
  CHECK_EQ(r.done[2].result, LBSIM_RESULT_TIMEOUT);
  CHECK_EQ(r.done[2].count, 3);
  CHECK_EQ(r.done[2].end_ns, MS(510));
  rig_free(&r);
}

/* --error-rate: the k-th request to a backend fails as the k-th draw of the
 * backend's error stream says, after its latency. */
TEST(injected_errors_follow_the_seeded_stream) {
  rig_t r;
  CHECK(rig_init(&r, 5, 0, 0, 5) == 0);
  r.models[1].error_rate = 0.3;
  r.resend_to = 1;
  r.resends_left = 199; /* one at a time: 200 requests in sequence */
  burst_t b;
  schedule_burst(&b, &r, 0, 1, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 200);
  lbsim_rng_t rng;
  lbsim_rng_init(&rng, 7, LBSIM_STREAM_ERRORS + 1);
  uint64_t want = 0;
  for (int k = 0; k < 200; k++)
    want += lbsim_rng_double(&rng) < 0.3;
  uint64_t failed = 0;
  for (uint32_t k = 0; k < r.ndone; k++) {
    if (r.done[k].result == LBSIM_RESULT_STATUS)
      failed += r.done[k].count;
    else
      CHECK_EQ(r.done[k].result, LBSIM_RESULT_OK);
  }
  CHECK_EQ(failed, want);
  CHECK(want > 40 && want < 80);
  CHECK_EQ(r.engine.now_ns, MS(5) * 200);
  rig_free(&r);
}

/* A latency drop mid-flight: the later request overtakes the earlier ones,
 * and every answer comes back in time order. */
TEST(answers_overtaken_by_a_faster_one_still_end_in_time_order) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0, 5) == 0);
  burst_t b1, b2, b3;
  change_t faster;
  schedule_burst(&b1, &r, 0, 0, 2);
  schedule_burst(&b2, &r, MS(10), 0, 1);
  schedule_change(&faster, &r, MS(20), 0, LBSIM_ACTION_LATENCY, 10);
  schedule_burst(&b3, &r, MS(20), 0, 1);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 3);
  CHECK_EQ(r.done[0].end_ns, MS(30));
  CHECK_EQ(r.done[1].end_ns, MS(100));
  CHECK_EQ(r.done[1].count, 2);
  CHECK_EQ(r.done[2].end_ns, MS(110));
  rig_free(&r);
}

/* The answer of an overtaking request launches new requests at once (a
 * closed loop does): its batch is freed and taken again while its own
 * completion runs. Every request must still end once. */
TEST(a_batch_taken_again_by_the_requests_its_answer_launches) {
  rig_t r;
  CHECK(rig_init(&r, 100, 0, 0, 5) == 0);
  burst_t b1, b2;
  change_t faster;
  schedule_burst(&b1, &r, 0, 0, 1);
  schedule_change(&faster, &r, MS(10), 0, LBSIM_ACTION_LATENCY, 10);
  schedule_burst(&b2, &r, MS(10), 0, 1); /* ends at 20 ms, before the first */
  r.resend_to = 0;
  r.resends_left = 30;
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 32);
  CHECK_EQ(r.net.in_flight, 0);
  CHECK_EQ(r.engine.timers.len, 0);
  rig_free(&r);
}

/* With jitter every request is its own event; without, those alike are one. */
TEST(requests_alike_travel_as_one_event_and_jittered_ones_do_not) {
  rig_t r;
  CHECK(rig_init(&r, 10, 0, 0.1, 5) == 0);
  r.models[2].jitter = (lbsim_jitter_t){LBSIM_JITTER_UNIFORM, 0.5};
  burst_t b1, b2;
  schedule_burst(&b1, &r, 0, 0, 50);
  schedule_burst(&b2, &r, 0, 2, 5);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ended, 55);
  CHECK_EQ(r.ndone, 6);
  uint64_t prev = 0;
  for (uint32_t k = 0; k < r.ndone; k++) {
    CHECK(r.done[k].end_ns >= prev);
    prev = r.done[k].end_ns;
    if (r.done[k].backend == 0)
      CHECK_EQ(r.done[k].count, 50);
    else
      CHECK_EQ(r.done[k].count, 1);
  }
  rig_free(&r);
}

TEST(cancel_all_ends_everything_in_flight_as_cancelled) {
  rig_t r;
  CHECK(rig_init(&r, 100, 2, 0, 5) == 0);
  burst_t b1, b2;
  schedule_burst(&b1, &r, 0, 0, 5);
  schedule_burst(&b2, &r, 0, 1, 1);
  log_t log = {.engine = &r.engine};
  actor_t stopper = {.id = 0, .log = &log, .engine = &r.engine, .stop = true};
  lbsim_timer_init(&stopper.timer, LBSIM_ORDER_REPORT);
  lbsim_clock_set(&r.engine.clock, &stopper.timer, MS(1), on_actor);
  lbsim_engine_run(&r.engine);
  CHECK_EQ(log.n, 1);
  CHECK_EQ(r.ended, 0);
  CHECK_EQ(r.net.in_flight, 6);
  lbsim_vnet_cancel_all(&r.net);
  CHECK_EQ(r.ended, 6);
  CHECK_EQ(r.net.in_flight, 0);
  CHECK_EQ(r.ndone, 4); /* by copy, in the order sent: 2 + 2 + 1 queued on backend 1, 1 on backend 2 */
  for (uint32_t k = 0; k < r.ndone; k++) {
    CHECK_EQ(r.done[k].result, LBSIM_RESULT_CANCELLED);
    CHECK_EQ(r.done[k].end_ns, MS(1));
  }
  CHECK_EQ(r.engine.timers.len, 0);
  rig_free(&r);
}

/* A probe is answered at once by a backend that is up (the network's round
 * trip, no service time), refused by one that is down, and never answered
 * by one that is stalled. */
TEST(a_probe_costs_the_round_trip_not_the_service) {
  rig_t r;
  CHECK(rig_init(&r, 50, 0, 2, 1) == 0);
  r.models[1].down = true;
  r.models[1].generation++;
  lbsim_vnet_sync(&r.net, 1, 0);
  r.models[2].stalled = true;
  r.models[2].generation++;
  for (uint32_t i = 0; i < 3; i++)
    rig_send_kind(&r, i, true);
  rig_send(&r, 0); /* a request alike but not a probe: not one batch with it */
  lbsim_engine_run(&r.engine);
  CHECK_EQ(r.ndone, 4);
  CHECK(r.done[0].backend == 0 && r.done[0].result == LBSIM_RESULT_OK && r.done[0].end_ns == MS(2));
  CHECK(r.done[1].backend == 1 && r.done[1].result == LBSIM_RESULT_CONNECT && r.done[1].end_ns == MS(2));
  CHECK(r.done[2].backend == 0 && r.done[2].result == LBSIM_RESULT_OK && r.done[2].end_ns == MS(52));
  CHECK(r.done[3].backend == 2 && r.done[3].result == LBSIM_RESULT_TIMEOUT && r.done[3].end_ns == MS(1000));
  rig_free(&r);
}
