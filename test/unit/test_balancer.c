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
  CHECK_EQ(lbsim_fleet_in_flight(&fleet), 5);
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

/* ---- probes --------------------------------------------------------------------------- */

/* A policy of the test's own: round-robin that asks for a probe of the
 * backend after the one it picks, and records the answers. */
static uint32_t probing_picks;
static double probed_rtt_ms[8];
static uint32_t probed_backend[8], nprobed;

static int probing_create(lbsim_policy_t *p, const lbsim_policy_params_t *params) {
  (void)p, (void)params;
  probing_picks = 0;
  nprobed = 0;
  return 0;
}

static uint32_t probing_select(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible) {
  (void)now_ns, (void)eligible;
  uint32_t pick = probing_picks++ % p->params.n;
  lbsim_policy_probe(p, (pick + 1) % p->params.n);
  return pick;
}

static void probing_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns) {
  (void)p, (void)backend, (void)latency_ms, (void)ok, (void)now_ns;
}

static void probing_probed(lbsim_policy_t *p, uint32_t backend, double rtt_ms, bool ok, uint64_t now_ns) {
  (void)p, (void)now_ns;
  if (nprobed < 8 && ok) {
    probed_backend[nprobed] = backend;
    probed_rtt_ms[nprobed++] = rtt_ms;
  }
}

static void probing_destroy(lbsim_policy_t *p) {
  (void)p;
}

static const lbsim_policy_ops_t probing_ops = {.name = "probing", .create = probing_create,
                                                .select = probing_select, .observe = probing_observe,
                                                .probed = probing_probed, .destroy = probing_destroy};

/* A policy asks for a probe while it picks: the balancer sends it once
 * the pick has gone, as a request of its own, counted apart from the
 * users' requests, and hands its answer to the policy alone. */
TEST(a_probe_a_policy_asks_for_goes_out_after_the_pick_and_comes_back_to_it) {
  lbsim_fleet_t fleet;
  lbsim_config_t cfg;
  fake_t f;
  CHECK_EQ(setup(&fleet, &cfg, &f, &timeless_ops), 0);
  lbsim_balancer_t *b = &fleet.clients[0];
  /* The fleet's policy is round-robin; this client's becomes the probing one. */
  void (*probe)(void *, uint32_t) = b->policy.probe;
  lbsim_policy_params_t params = b->policy.params;
  lbsim_policy_free(&b->policy);
  params.n = 3;
  params.in_flight = b->in_flight_to;
  CHECK_EQ(lbsim_policy_init(&b->policy, &probing_ops, &params), 0);
  b->policy.probe = probe; /* as the balancer sets it */
  b->policy.probe_data = b;
  lbsim_balancer_launch(b, 1000);
  CHECK_EQ(f.nreqs, 2);
  CHECK(!f.reqs[0].probe && f.reqs[0].backend == 0); /* the pick first ... */
  CHECK(f.reqs[1].probe && f.reqs[1].backend == 1);  /* ... then the probe it asked for */
  CHECK_EQ(b->in_flight, 1);                         /* a probe is no user's request */
  CHECK_EQ(b->in_flight_to[1], 0);
  CHECK_EQ(b->probes_sent, 1);
  f.base.on_done(f.base.done_data, &f.reqs[1], LBSIM_RESULT_OK, 1000 + 300000, 1);
  CHECK_EQ(nprobed, 1);
  CHECK_EQ(probed_backend[0], 1);
  CHECK_NEAR(probed_rtt_ms[0], 0.3, 1e-9);
  CHECK(!b->ema.measured[1]);                        /* nothing for the estimates */
  CHECK_EQ(fleet.stats.total.requests, 0);           /* nor for the statistics */
  CHECK_EQ(b->probes_answered, 1);
  f.base.on_done(f.base.done_data, &f.reqs[0], LBSIM_RESULT_OK, 5000000, 1);
  CHECK_EQ(fleet.stats.total.requests, 1);
  CHECK_EQ(b->in_flight, 0);
  lbsim_fleet_free(&fleet);
}
