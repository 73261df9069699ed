/* The backend service model (lbsim/model/model.h): a backend's truth and
 * how events change it, a copy serving requests from it, and the farm
 * stepping the drift and playing a scenario back on a clock driven by
 * hand. */
#include <math.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "lbsim/base/timers.h"
#include "lbsim/model/model.h"

#define MS UINT64_C(1000000)
#define S UINT64_C(1000000000)

/* ---- a clock driven by hand ---------------------------------------------------- */

typedef struct hand_clock_s {
  lbsim_clock_t clock;
  lbsim_timers_t timers;
} hand_clock_t;

static int hand_set(lbsim_clock_t *clock, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb) {
  return lbsim_timers_set(&LBSIM_CONTAINER_OF(clock, hand_clock_t, clock)->timers, timer, due_ns, cb);
}

static void hand_cancel(lbsim_clock_t *clock, lbsim_timer_t *timer) {
  lbsim_timers_cancel(&LBSIM_CONTAINER_OF(clock, hand_clock_t, clock)->timers, timer);
}

static void hand_init(hand_clock_t *h) {
  h->clock.set = hand_set;
  h->clock.cancel = hand_cancel;
  lbsim_timers_init(&h->timers);
}

/* Runs every timer due by `until`, in the clocks' order. */
static void hand_run(hand_clock_t *h, uint64_t until) {
  lbsim_timer_t *t;
  while ((t = lbsim_timers_peek(&h->timers)) != NULL && t->due_ns <= until) {
    lbsim_timers_pop(&h->timers);
    t->cb(t, t->due_ns);
  }
}

/* What the farm told its owner. */
#define MAX_SEEN 64
typedef struct seen_s {
  int n;
  uint64_t at_ns[MAX_SEEN];
  uint32_t backend[MAX_SEEN];
  lbsim_origin_t origin[MAX_SEEN];
  lbsim_action_t action[MAX_SEEN];
  double old[MAX_SEEN];
} seen_t;

static void on_change(lbsim_farm_t *farm, lbsim_model_t *model, const lbsim_event_t *ev, double old,
                      uint64_t now_ns) {
  seen_t *s = farm->data;
  if (s->n == MAX_SEEN)
    return;
  s->at_ns[s->n] = now_ns;
  s->backend[s->n] = model->index;
  s->origin[s->n] = ev->origin;
  s->action[s->n] = ev->action;
  s->old[s->n] = old;
  s->n++;
}

static void config(lbsim_config_t *cfg, uint32_t backends) {
  lbsim_config_defaults(cfg);
  cfg->backends = backends;
  cfg->drift_period_s = 0;
  cfg->latency.min_ms = cfg->latency.max_ms = 10;
}

/* ---- models ------------------------------------------------------------------- */

TEST(a_model_starts_from_the_command_line_and_its_own_stream) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  cfg.capacity = 7;
  cfg.error_rate = 0.25;
  cfg.jitter = (lbsim_jitter_t){LBSIM_JITTER_EXP, 3};
  lbsim_model_t a, b, a2;
  lbsim_model_init(&a, &cfg, 42, 0);
  lbsim_model_init(&b, &cfg, 42, 1);
  lbsim_model_init(&a2, &cfg, 42, 0);
  CHECK_EQ(a.capacity, 7);
  CHECK_NEAR(a.error_rate, 0.25, 0);
  CHECK_EQ(a.jitter.kind, LBSIM_JITTER_EXP);
  CHECK(!a.down && !a.stalled);
  CHECK(a.latency.latency_ms >= cfg.latency.min_ms && a.latency.latency_ms <= cfg.latency.max_ms);
  /* The same backend of the same seed, the same latency; another backend draws its own. */
  CHECK(a.latency.latency_ms == a2.latency.latency_ms);
  CHECK(a.latency.latency_ms != b.latency.latency_ms);
  CHECK_EQ(b.index, 1);
}

TEST(every_event_says_what_it_replaced_and_makes_a_new_generation) {
  lbsim_config_t cfg;
  config(&cfg, 1);
  lbsim_model_t m;
  lbsim_model_init(&m, &cfg, 1, 0);
  uint64_t gen = m.generation;
  struct {
    lbsim_event_t ev;
    double old;
  } steps[] = {
      {{.action = LBSIM_ACTION_LATENCY, .value = 80}, 10},
      {{.action = LBSIM_ACTION_ERROR_RATE, .value = 0.5}, 0},
      {{.action = LBSIM_ACTION_CAPACITY, .value = 4}, 0},
      {{.action = LBSIM_ACTION_DOWN}, 0},
      {{.action = LBSIM_ACTION_DOWN}, 1}, /* already down */
      {{.action = LBSIM_ACTION_UP}, 1},
      {{.action = LBSIM_ACTION_STALL}, 0},
      {{.action = LBSIM_ACTION_RESUME}, 1},
  };
  for (size_t i = 0; i < LBSIM_ARRAY_SIZE(steps); i++) {
    double old = lbsim_model_apply(&m, &steps[i].ev, 0);
    CHECK_MSG(old == steps[i].old, "%s: replaced %g, expected %g", lbsim_action_name(steps[i].ev.action), old,
              steps[i].old);
    CHECK_EQ(m.generation, gen + i + 1);
  }
  CHECK_NEAR(m.latency.latency_ms, 80, 0);
  CHECK_NEAR(m.error_rate, 0.5, 0);
  CHECK_EQ(m.capacity, 4);
  CHECK(!m.down && !m.stalled);
}

TEST(a_slow_start_fades_linearly_back_to_the_latency) {
  lbsim_config_t cfg;
  config(&cfg, 1);
  lbsim_model_t m;
  lbsim_model_init(&m, &cfg, 1, 0);
  lbsim_event_t down = {.action = LBSIM_ACTION_DOWN};
  lbsim_event_t up = {.action = LBSIM_ACTION_UP, .slow_start_s = 2, .slow_start_factor = 5};
  lbsim_model_apply(&m, &down, 1 * S);
  CHECK(isinf(lbsim_model_true_ms(&m, 1 * S))); /* a backend that is down never answers */
  lbsim_model_apply(&m, &up, 10 * S);
  CHECK(lbsim_model_ramping(&m, 10 * S));
  CHECK_NEAR(lbsim_model_latency_ms(&m, 10 * S), 50, 1e-9);
  CHECK_NEAR(lbsim_model_latency_ms(&m, 11 * S), 30, 1e-9); /* halfway: halfway back */
  CHECK_NEAR(lbsim_model_true_ms(&m, 11 * S), 30, 1e-9);
  CHECK(!lbsim_model_ramping(&m, 12 * S));
  CHECK_NEAR(lbsim_model_latency_ms(&m, 12 * S), 10, 0);
  lbsim_event_t stall = {.action = LBSIM_ACTION_STALL};
  lbsim_model_apply(&m, &stall, 13 * S);
  CHECK(isinf(lbsim_model_true_ms(&m, 13 * S)));
}

/* ---- copies ------------------------------------------------------------------- */

/* A backend of 10 ms with `capacity` servers (0: unlimited), and a copy of it. */
static int copy_of(lbsim_copy_t *c, lbsim_model_t *m, uint32_t capacity) {
  lbsim_config_t cfg;
  config(&cfg, 1);
  cfg.capacity = capacity;
  lbsim_model_init(m, &cfg, 1, 0);
  return lbsim_copy_init(c, m, 1);
}

TEST(a_copy_answers_after_the_latency_and_follows_the_model) {
  lbsim_model_t m;
  lbsim_copy_t c;
  CHECK_EQ(copy_of(&c, &m, 0), 0);
  uint64_t due;
  CHECK_EQ(lbsim_copy_serve(&c, 1 * S, &due), 200);
  CHECK_EQ(due, 1 * S + 10 * MS);
  CHECK_EQ(lbsim_copy_serve(&c, 2 * S, &due), 200); /* no queue: at once, however many */
  CHECK_EQ(due, 2 * S + 10 * MS);
  lbsim_event_t slower = {.action = LBSIM_ACTION_LATENCY, .value = 25};
  lbsim_model_apply(&m, &slower, 3 * S);
  CHECK_EQ(lbsim_copy_serve(&c, 3 * S, &due), 200);
  CHECK_EQ(due, 3 * S + 25 * MS);
  lbsim_event_t stall = {.action = LBSIM_ACTION_STALL};
  lbsim_model_apply(&m, &stall, 4 * S);
  CHECK_EQ(lbsim_copy_serve(&c, 4 * S, &due), 200); /* accepted... */
  CHECK(due == LBSIM_NEVER);                         /* ...never answered */
  lbsim_copy_free(&c);
}

TEST(a_copy_with_a_capacity_queues_first_come_first_served) {
  lbsim_model_t m;
  lbsim_copy_t c;
  CHECK_EQ(copy_of(&c, &m, 1), 0);
  uint64_t due[3];
  for (int i = 0; i < 3; i++)
    CHECK_EQ(lbsim_copy_serve(&c, 0, &due[i]), 200);
  CHECK_EQ(due[0], 10 * MS);
  CHECK_EQ(due[1], 20 * MS);
  CHECK_EQ(due[2], 30 * MS);
  lbsim_copy_free(&c);
}

TEST(copies_of_one_seed_draw_alike_request_by_request) {
  lbsim_config_t cfg;
  config(&cfg, 1);
  cfg.error_rate = 0.3;
  cfg.jitter = (lbsim_jitter_t){LBSIM_JITTER_LOGNORMAL, 0.5};
  lbsim_model_t m;
  lbsim_model_init(&m, &cfg, 1, 0);
  lbsim_copy_t a, b;
  CHECK_EQ(lbsim_copy_init(&a, &m, 9), 0);
  CHECK_EQ(lbsim_copy_init(&b, &m, 9), 0);
  enum { N = 20000 };
  int failed = 0;
  for (int i = 0; i < N; i++) {
    uint64_t due_a, due_b;
    int st = lbsim_copy_serve(&a, 0, &due_a);
    CHECK_EQ(lbsim_copy_serve(&b, 0, &due_b), st);
    CHECK(due_a == due_b);
    failed += st == 503;
  }
  /* 30 % injected failures: six thousand, give or take a few dozen. */
  CHECK_MSG(failed > 0.28 * N && failed < 0.32 * N, "%d failures of %d", failed, N);
  lbsim_copy_free(&a);
  lbsim_copy_free(&b);
}

TEST(a_copy_takes_in_outages_and_capacity_changes) {
  lbsim_model_t m;
  lbsim_copy_t c;
  CHECK_EQ(copy_of(&c, &m, 1), 0);
  uint64_t due;
  for (int i = 0; i < 5; i++)
    lbsim_copy_serve(&c, 0, &due); /* a queue until 50 ms */
  CHECK_EQ(lbsim_copy_sync(&c, 0), 0);
  lbsim_event_t down = {.action = LBSIM_ACTION_DOWN}, up = {.action = LBSIM_ACTION_UP};
  lbsim_model_apply(&m, &down, 1 * MS);
  CHECK_EQ(lbsim_copy_sync(&c, 1 * MS), -1);
  CHECK_EQ(lbsim_copy_sync(&c, 1 * MS), 0); /* taken in once */
  lbsim_model_apply(&m, &up, 2 * MS);
  CHECK_EQ(lbsim_copy_sync(&c, 2 * MS), 1);
  /* The queued work was lost with the crash: the next request starts at once. */
  CHECK_EQ(lbsim_copy_serve(&c, 2 * MS, &due), 200);
  CHECK_EQ(due, 12 * MS);
  lbsim_event_t wider = {.action = LBSIM_ACTION_CAPACITY, .value = 2};
  lbsim_model_apply(&m, &wider, 3 * MS);
  CHECK_EQ(lbsim_copy_sync(&c, 3 * MS), 0);
  CHECK_EQ(c.servers.capacity, 2);
  CHECK_EQ(lbsim_copy_serve(&c, 3 * MS, &due), 200); /* the new server is free */
  CHECK_EQ(due, 13 * MS);
  lbsim_copy_free(&c);
}

/* ---- the farm ----------------------------------------------------------------- */

/* A farm on a clock driven by hand, telling `seen` of every change. */
static int watched_fleet(lbsim_farm_t *f, const lbsim_config_t *cfg, uint64_t seed, hand_clock_t *h, seen_t *seen) {
  hand_init(h);
  seen->n = 0;
  int err = lbsim_farm_init(f, cfg, seed, &h->clock);
  f->on_change = on_change;
  f->data = seen;
  return err;
}

TEST(drift_steps_every_model_at_each_period_from_the_start) {
  lbsim_config_t cfg;
  config(&cfg, 3);
  cfg.drift_period_s = 2;
  cfg.latency.min_ms = 10;
  cfg.latency.max_ms = 100;
  hand_clock_t h;
  lbsim_farm_t f;
  seen_t seen;
  CHECK_EQ(watched_fleet(&f, &cfg, 5, &h, &seen), 0);
  CHECK_EQ(lbsim_farm_start(&f, 1 * S), 0);
  hand_run(&h, 2 * S);
  CHECK_EQ(seen.n, 0); /* the first step is one period after the start */
  hand_run(&h, 6 * S);
  CHECK_EQ(seen.n, 6); /* at 3 s and 5 s, every model in turn */
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(seen.at_ns[i], (i < 3 ? 3 : 5) * S);
    CHECK_EQ(seen.backend[i], i % 3);
    CHECK_EQ(seen.origin[i], LBSIM_ORIGIN_DRIFT);
    CHECK_EQ(seen.action[i], LBSIM_ACTION_LATENCY);
  }
  lbsim_farm_stop(&f);
  hand_run(&h, 100 * S);
  CHECK_EQ(seen.n, 6); /* stopped: no more steps */
  lbsim_farm_free(&f);
  lbsim_timers_free(&h.timers);
}

TEST(a_scenario_plays_back_scaled_in_file_order_at_each_instant) {
  lbsim_config_t cfg;
  config(&cfg, 2);
  cfg.time_scale = 0.5;
  char err[200];
  const char *text = "at 0s backend 2 capacity 3\n"
                     "at 4s all latency 40ms\n"
                     "at 4s backend 1 down\n"
                     "at 10s backend 1 up\n";
  CHECK_EQ(lbsim_scenario_parse(&cfg.scenario, text, "t", 2, err, sizeof(err)), 0);
  hand_clock_t h;
  lbsim_farm_t f;
  seen_t seen;
  CHECK_EQ(watched_fleet(&f, &cfg, 1, &h, &seen), 0);
  CHECK_EQ(lbsim_farm_start(&f, 100 * S), 0);
  /* What is due at 0 s is applied at the start itself. */
  CHECK_EQ(seen.n, 1);
  CHECK_EQ(f.models[1].capacity, 3);
  CHECK_EQ(seen.origin[0], LBSIM_ORIGIN_SCENARIO);
  hand_run(&h, 101 * S);
  CHECK_EQ(seen.n, 1);
  hand_run(&h, 102 * S); /* 4 s at half speed: "all" is each backend, then the next line */
  CHECK_EQ(seen.n, 4);
  CHECK_EQ(seen.at_ns[1], 102 * S);
  CHECK_EQ(seen.backend[1], 0);
  CHECK_EQ(seen.backend[2], 1);
  CHECK_EQ(seen.action[3], LBSIM_ACTION_DOWN);
  CHECK_NEAR(seen.old[1], 10, 0);
  CHECK_NEAR(f.models[1].latency.latency_ms, 40, 0);
  CHECK(f.models[0].down);
  lbsim_farm_stop(&f);
  hand_run(&h, 200 * S);
  CHECK_EQ(seen.n, 4); /* stopped before "up" */
  lbsim_farm_free(&f);
  lbsim_config_free(&cfg);
  lbsim_timers_free(&h.timers);
}
