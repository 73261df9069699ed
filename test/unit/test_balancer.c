/* Unit tests of the balancer (lbsim/balancer/balancer.h) over a transport that
 * records what it is given: when each pick of a burst is stamped, and the
 * latency each completion is measured with. */
#include <string.h>

#include "harness.h"
#include "lbsim/balancer/balancer.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/cli/config.h"

#define MAX_REQS 16

typedef struct {
  lbsim_transport_t base;
  lbsim_request_t reqs[MAX_REQS];
  uint32_t nreqs;
  uint64_t clock_ns;   /* what `now` answers; each call moves it on */
  uint64_t step_ns;
} fake_t;

static lbsim_request_t *fake_request(lbsim_transport_t *t) {
  fake_t *f = (fake_t *)t;
  return f->nreqs < MAX_REQS ? &f->reqs[f->nreqs++] : NULL;
}

static void fake_submit(lbsim_transport_t *t, lbsim_request_t *req) {
  (void)t;
  (void)req; /* held until the test ends it */
}

static void fake_cancel(lbsim_transport_t *t) {
  (void)t;
}

static uint64_t fake_now(lbsim_transport_t *t) {
  fake_t *f = (fake_t *)t;
  f->clock_ns += f->step_ns;
  return f->clock_ns;
}

static const lbsim_transport_ops_t timeless_ops = {
    .request = fake_request, .submit = fake_submit, .cancel_queued = fake_cancel};
static const lbsim_transport_ops_t clocked_ops = {
    .request = fake_request, .submit = fake_submit, .cancel_queued = fake_cancel, .now = fake_now};

static const char *names[] = {"a", "b", "c"};

/* A fleet of one client over three backends, on the fake transport. */
static int setup(lbsim_fleet_t *fleet, lbsim_config_t *cfg, fake_t *f, const lbsim_transport_ops_t *ops) {
  lbsim_config_defaults(cfg);
  strcpy(cfg->policies[0], "round-robin");
  cfg->npolicies = 1;
  memset(f, 0, sizeof(*f));
  f->base.ops = ops;
  int err = lbsim_fleet_init(fleet, cfg, 1, 0, names, 3, NULL);
  lbsim_fleet_attach(fleet, &f->base, true);
  return err;
}

TEST(a_timeless_transport_stamps_the_whole_burst_with_its_instant) {
  lbsim_fleet_t fleet;
  lbsim_config_t cfg;
  fake_t f;
  CHECK_EQ(setup(&fleet, &cfg, &f, &timeless_ops), 0);
  lbsim_balancer_t *b = &fleet.clients[0];
  lbsim_balancer_round(b, 5, 1000);
  CHECK_EQ(f.nreqs, 5);
  for (uint32_t i = 0; i < f.nreqs; i++)
    CHECK_EQ(f.reqs[i].start_ns, 1000);
  CHECK_EQ(b->in_flight, 5);
  CHECK_EQ(fleet.in_flight, 5);
  lbsim_fleet_free(&fleet);
}

TEST(a_clocked_transport_stamps_each_pick_when_it_is_made) {
  lbsim_fleet_t fleet;
  lbsim_config_t cfg;
  fake_t f;
  CHECK_EQ(setup(&fleet, &cfg, &f, &clocked_ops), 0);
  lbsim_balancer_t *b = &fleet.clients[0];
  f.clock_ns = 1000;
  f.step_ns = 250; /* each submit takes 250 ns, as opening a connection would */
  lbsim_balancer_round(b, 4, 1000);
  CHECK_EQ(f.nreqs, 4);
  CHECK_EQ(f.reqs[0].start_ns, 1000); /* the round's own instant */
  CHECK_EQ(f.reqs[1].start_ns, 1250);
  CHECK_EQ(f.reqs[2].start_ns, 1500);
  CHECK_EQ(f.reqs[3].start_ns, 1750);
  CHECK_EQ(b->round_start_ns, 1000);
  /* Latency is measured from each request's own pick: the last one of the
   * burst, answered 2 ms after its pick, counts 2 ms, not 2 ms plus the
   * time the burst took to go out. */
  uint64_t end = f.reqs[3].start_ns + 2000000;
  f.base.on_done(f.base.done_data, &f.reqs[3], LBSIM_RESULT_OK, end, 1);
  CHECK_NEAR(b->ema.value_ms[f.reqs[3].backend], 2.0, 1e-9);
  CHECK_EQ(b->in_flight, 3);
  lbsim_fleet_free(&fleet);
}

/* A request its client cancelled is counted, and stops counting in flight,
 * but teaches the estimates nothing: it is no failure of the backend. */
TEST(a_cancelled_request_is_counted_not_learnt) {
  lbsim_fleet_t fleet;
  lbsim_config_t cfg;
  fake_t f;
  CHECK_EQ(setup(&fleet, &cfg, &f, &timeless_ops), 0);
  lbsim_balancer_t *b = &fleet.clients[0];
  lbsim_balancer_round(b, 2, 1000);
  uint32_t backend = f.reqs[0].backend;
  f.base.on_done(f.base.done_data, &f.reqs[0], LBSIM_RESULT_CANCELLED, 5000000, 1);
  CHECK(!b->ema.measured[backend]);
  CHECK_EQ(b->in_flight_to[backend], 0);
  CHECK_EQ(fleet.stats.total.by_result[LBSIM_RESULT_CANCELLED], 1);
  CHECK_EQ(fleet.stats.total.failed, 1);
  f.base.on_done(f.base.done_data, &f.reqs[1], LBSIM_RESULT_TIMEOUT, 5000000, 1);
  CHECK(b->ema.measured[f.reqs[1].backend]); /* a timeout is the backend's: learnt */
  CHECK_NEAR(b->ema.value_ms[f.reqs[1].backend], cfg.failure_latency_ms, 1e-9);
  CHECK_EQ(b->in_flight, 0);
  lbsim_fleet_free(&fleet);
}
