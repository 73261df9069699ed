/* Unit tests of the descriptor budget (lbsim/net/fdbudget.h): how a limit is
 * shared out between listeners, the reserve and the client's connections. */
#include "harness.h"
#include "lbsim/cli/config.h"
#include "lbsim/net/fdbudget.h"

static lbsim_config_t demo(void) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  return cfg;
}

TEST(the_demo_fits_in_the_usual_limit) {
  lbsim_config_t cfg = demo();
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_OK);
  CHECK_EQ(plan.fixed, LBSIM_FD_RESERVE + 5);
  CHECK_EQ(plan.wanted, 100);
  /* (1024 - 69) * 9 / 10 / 2 sockets per connection */
  CHECK_EQ(plan.budget, 429);
  CHECK_EQ(plan.max_connections, 0);
}

TEST(a_large_burst_is_capped_not_refused) {
  lbsim_config_t cfg = demo();
  cfg.burst = 10000;
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_CAPPED);
  CHECK_EQ(plan.max_connections, 429);
}

TEST(compare_mode_shares_the_budget_between_policies) {
  lbsim_config_t cfg = demo();
  cfg.compare = true;
  cfg.npolicies = 4;
  cfg.burst = 1000;
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 4096, &plan);
  CHECK_EQ(plan.balancers, 4);
  CHECK_EQ(plan.fixed, LBSIM_FD_RESERVE + 4 * 5);
  CHECK_EQ(plan.budget, (4096 - 84) * 9 / 10 / 2 / 4);
  CHECK_EQ(plan.verdict, LBSIM_FD_CAPPED);
}

TEST(the_client_alone_needs_one_socket_per_connection) {
  lbsim_config_t cfg = demo();
  cfg.role = LBSIM_ROLE_CLIENT;
  cfg.nservers = 3;
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.fixed, LBSIM_FD_RESERVE);
  CHECK_EQ(plan.budget, (1024 - 64) * 9 / 10);
  CHECK_EQ(plan.verdict, LBSIM_FD_OK);
}

TEST(too_many_listeners_are_refused) {
  lbsim_config_t cfg = demo();
  cfg.backends = 4096;
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_NO_LISTENERS);
  cfg.role = LBSIM_ROLE_BACKENDS;
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_NO_LISTENERS);
  lbsim_fd_plan(&cfg, 8192, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_OK);
}

TEST(no_room_for_a_single_connection_is_refused) {
  lbsim_config_t cfg = demo();
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, LBSIM_FD_RESERVE + 5 + 2, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_NO_CONNECTION);
}

TEST(what_a_balancer_wants_follows_the_traffic_shape) {
  lbsim_config_t cfg = demo();
  CHECK_EQ(lbsim_fd_wanted(&cfg, 5), 100);
  cfg.shape = LBSIM_SHAPE_CONCURRENCY;
  cfg.concurrency = 37;
  CHECK_EQ(lbsim_fd_wanted(&cfg, 5), 37);
  cfg.shape = LBSIM_SHAPE_RATE;
  cfg.rate = 200;
  cfg.timeout_s = 2.5;
  CHECK_EQ(lbsim_fd_wanted(&cfg, 5), 501); /* every request may wait out its deadline */
  cfg.pool_size = 10;
  CHECK_EQ(lbsim_fd_wanted(&cfg, 5), 50);  /* --pool-size caps it per backend */
}

/* A fleet: every client has pools of its own, for its share of the
 * traffic over the backends it uses; the budget is shared between them. */
TEST(a_fleet_shares_the_budget_between_its_clients) {
  lbsim_config_t cfg = demo();
  cfg.clients = 10;
  cfg.burst = 1000;
  lbsim_fd_plan_t plan;
  lbsim_fd_plan(&cfg, 4096, &plan);
  CHECK_EQ(plan.balancers, 10);
  CHECK_EQ(plan.fixed, LBSIM_FD_RESERVE + 5); /* the backends are listened on once */
  CHECK_EQ(plan.wanted, 100);                 /* a tenth of the burst each */
  /* (4096 - 69) * 9 / 10 / 2 / 10 clients */
  CHECK_EQ(plan.budget, 181);
  CHECK_EQ(plan.verdict, LBSIM_FD_OK);
  /* With 100 clients each may have 18 connections, and wants 10. */
  cfg.clients = 100;
  lbsim_fd_plan(&cfg, 4096, &plan);
  CHECK_EQ(plan.wanted, 10);
  CHECK_EQ(plan.budget, 18);
  CHECK_EQ(plan.verdict, LBSIM_FD_OK);
  /* At a lower limit, capped per client, and refused when not one connection each fits. */
  lbsim_fd_plan(&cfg, 1024, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_CAPPED);
  CHECK_EQ(plan.max_connections, 4);
  lbsim_fd_plan(&cfg, 200, &plan);
  CHECK_EQ(plan.verdict, LBSIM_FD_NO_CONNECTION);
  /* A subset bounds what a client wants by its pools: 2 backends x --pool-size 3. */
  cfg.clients = 10;
  cfg.subset = 2;
  cfg.pool_size = 3;
  lbsim_fd_plan(&cfg, 4096, &plan);
  CHECK_EQ(plan.wanted, 6);
}
