/* Weights and Envoy's slow start (lbsim/balancer/weights.h). */
#include <math.h>

#include "harness.h"
#include "lbsim/balancer/weights.h"

#define S(x) ((uint64_t)((x) * 1e9 + 0.5))

/* weight x max(min %, (t / window)^(1 / aggression)), t at least 1 ms. */
TEST(slow_start_follows_envoys_formula) {
  lbsim_slow_start_config_t cfg = {.window_s = 60, .aggression = 1, .min_weight_pct = 10};
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, 0), 0.1, 1e-12); /* 1 ms / 60 s, raised to the minimum */
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(6)), 0.1, 1e-12);
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(30)), 0.5, 1e-12);
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(59.999)), 59.999 / 60, 1e-9);
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(60)), 1.0, 0);
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(600)), 1.0, 0);
  cfg.aggression = 2; /* faster at first: the square root */
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(15)), 0.5, 1e-12);
  cfg.aggression = 0.5; /* slower: the square */
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, S(30)), 0.25, 1e-12);
  cfg.min_weight_pct = 0;
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, 0), pow(1.0 / 60000, 2), 1e-18);
  cfg.window_s = 0; /* off */
  CHECK_NEAR(lbsim_slow_start_factor(&cfg, 0), 1.0, 0);
}

TEST(a_backend_in_slow_start_weighs_less_until_its_window_ends) {
  lbsim_slow_start_config_t cfg = {.window_s = 10, .aggression = 1, .min_weight_pct = 10};
  const double base[3] = {2, 1, 1};
  lbsim_weights_t w;
  CHECK(lbsim_weights_init(&w, &cfg, base, 3) == 0);
  CHECK(!w.view.uniform); /* --weights that differ */
  CHECK(w.view.value[0] == 2 && w.view.value[1] == 1);
  lbsim_weights_start(&w, 1, S(100));
  lbsim_weights_start(&w, 2, S(104));
  lbsim_weights_update(&w, S(105));
  CHECK_NEAR(w.view.value[1], 0.5, 1e-12);
  CHECK_NEAR(w.view.value[2], 0.1, 1e-12);
  CHECK_EQ(w.nslow, 2);
  lbsim_weights_update(&w, S(110));
  CHECK_NEAR(w.view.value[1], 1.0, 0); /* its window is over: out of slow start */
  CHECK_NEAR(w.view.value[2], 0.6, 1e-12);
  CHECK_EQ(w.nslow, 1);
  lbsim_weights_start(&w, 2, S(111)); /* back again: a new slow start */
  lbsim_weights_update(&w, S(116));
  CHECK_NEAR(w.view.value[2], 0.5, 1e-12);
  lbsim_weights_update(&w, S(121));
  CHECK_EQ(w.nslow, 0);
  CHECK_NEAR(w.view.value[2], 1.0, 0);
  lbsim_weights_free(&w);
  /* All 1 (no --weights): uniform, but for the slow starts. */
  CHECK(lbsim_weights_init(&w, &cfg, NULL, 3) == 0);
  CHECK(w.view.uniform);
  lbsim_weights_start(&w, 0, S(1));
  lbsim_weights_update(&w, S(2));
  CHECK(!w.view.uniform);
  lbsim_weights_update(&w, S(11));
  CHECK(w.view.uniform);
  lbsim_weights_free(&w);
  cfg.window_s = 0; /* no slow start: a backend coming up changes nothing */
  CHECK(lbsim_weights_init(&w, &cfg, NULL, 3) == 0);
  lbsim_weights_start(&w, 0, S(1));
  CHECK(w.view.uniform && w.nslow == 0);
  lbsim_weights_free(&w);
}
