/* Unit tests of the visual report's axes and choice of backends
 * (lbsim/report/svg.h), and of the SVG drawn from a timeline. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lbsim/report/svg.h"

TEST(a_narrow_range_gets_a_linear_axis_from_zero) {
  lbsim_axis_t a;
  lbsim_axis_fit(&a, 100, 1500);
  CHECK(!a.log);
  CHECK(a.lo == 0 && a.hi >= 1500 && a.hi <= 2000);
  lbsim_axis_fit(&a, 10, 200); /* exactly 20x: still linear */
  CHECK(!a.log && a.hi >= 200);
  CHECK_NEAR(lbsim_axis_pos(&a, 0), 0, 1e-12);
  CHECK_NEAR(lbsim_axis_pos(&a, a.hi), 1, 1e-12);
  CHECK_NEAR(lbsim_axis_pos(&a, 2 * a.hi), 1, 1e-12); /* clamped */
}

TEST(a_range_over_twenty_fold_gets_a_log_axis_that_holds_it) {
  lbsim_axis_t a;
  lbsim_axis_fit(&a, 10, 2000); /* Linkerd: 10 ms backends and one stuck at 2 s */
  CHECK(a.log);
  CHECK(a.lo < 10 && a.lo > 1);
  CHECK(a.hi >= 2000 && a.hi <= 5000);
  CHECK(lbsim_axis_pos(&a, 10) > 0.01);          /* clear of the bottom edge */
  CHECK_NEAR(lbsim_axis_pos(&a, a.hi), 1, 1e-12);
  /* Equal ratios are equal distances. */
  CHECK_NEAR(lbsim_axis_pos(&a, 100) - lbsim_axis_pos(&a, 10), lbsim_axis_pos(&a, 1000) - lbsim_axis_pos(&a, 100),
             1e-9);
  lbsim_axis_fit(&a, 0.5, 10000); /* tower, and a failure's estimate */
  CHECK(a.log && a.lo <= 0.4 && a.hi >= 10000);
  lbsim_axis_fit(&a, INFINITY, 0); /* nothing to draw */
  CHECK(!a.log && a.hi > 0);
}

TEST(a_range_axis_holds_its_values_of_either_sign) {
  lbsim_axis_t a;
  lbsim_axis_fit_range(&a, 1000, 1100); /* narrow and far from 0 */
  CHECK(!a.log && a.lo <= 1000 && a.lo >= 900 && a.hi >= 1100 && a.hi <= 1200);
  lbsim_axis_fit_range(&a, -12.5, 40); /* a regret can be negative */
  CHECK(!a.log && a.lo <= -12.5 && a.lo > -30 && a.hi >= 40 && a.hi <= 60);
  CHECK_NEAR(lbsim_axis_pos(&a, 0), -a.lo / (a.hi - a.lo), 1e-12);
  lbsim_axis_fit_range(&a, 0.3, 0.3); /* one value: room on both sides */
  CHECK(a.lo < 0.3 && a.hi > 0.3);
  CHECK(lbsim_axis_pos(&a, 0.3) > 0.2 && lbsim_axis_pos(&a, 0.3) < 0.8);
  lbsim_axis_fit_range(&a, 10, 10000);
  CHECK(a.log && a.lo <= 10 && a.hi >= 10000);
}

TEST(ticks_are_nice_and_cover_the_axis) {
  lbsim_axis_t a;
  double t[LBSIM_AXIS_MAX_TICKS];
  bool named[LBSIM_AXIS_MAX_TICKS];
  lbsim_axis_fit_range(&a, -12.5, 40);
  uint32_t n = lbsim_axis_ticks(&a, t, named, LBSIM_AXIS_MAX_TICKS);
  CHECK(n >= 3 && n <= 12);
  CHECK(t[0] == a.lo && fabs(t[n - 1] - a.hi) < 1e-9);
  bool zero = false;
  for (uint32_t k = 0; k < n; k++) {
    CHECK(named[k]);
    zero = zero || (t[k] == 0 && !signbit(t[k])); /* 0, never "-0" */
  }
  CHECK(zero);
  lbsim_axis_fit_range(&a, 10, 10000);
  n = lbsim_axis_ticks(&a, t, named, LBSIM_AXIS_MAX_TICKS);
  CHECK_EQ(n, 10); /* 10 20 50 100 200 500 1000 2000 5000 10000 */
  CHECK(t[0] == 10 && t[3] == 100 && t[9] == 10000);
  CHECK(named[0] && named[1]); /* three decades: all named */
  CHECK_EQ(lbsim_axis_ticks(&a, t, named, 4), 4); /* never more than asked */
}

/* 11 backends at 10 ms for 15 s sampled every 50 ms, summarised every 5 s;
 * backend 1 stuck at 2 s (past a 1 s timeout) from 3.75 s to 11.25 s;
 * round robin sends each the same, some of them failing. */
static int linkerd_like(lbsim_timeline_t *tl) {
  if (lbsim_timeline_init(tl, 1, 11) != 0)
    return -1;
  for (uint32_t s = 0; s <= 300; s++) {
    double t = s * 0.05;
    int at = lbsim_timeline_sample(tl, t, true);
    if (at < 0)
      return -1;
    bool stuck = t >= 3.75 && t < 11.25;
    for (uint32_t i = 0; i < 11; i++) {
      lbsim_timeline_true(tl, (uint32_t)at)[i] = i == 0 && stuck ? 2000.0f : 10.0f;
      lbsim_timeline_cost(tl, (uint32_t)at)[i] = i == 0 && stuck ? 10000.0f : 10.0f;
      lbsim_timeline_ema(tl, (uint32_t)at, 0)[i] = i == 0 && t > 4.75 ? 9000.0f : 20.0f;
    }
  }
  for (uint32_t b = 1; b <= 3; b++) {
    int at = lbsim_timeline_block(tl, 5.0 * b);
    for (uint32_t i = 0; i < 11; i++)
      lbsim_timeline_picks(tl, (uint32_t)at, 0)[i] = i == 0 ? 400 : 455; /* the stuck one answers less */
    tl->answered[at] = 5000;
    tl->failed[at] = b == 2 ? 455 : 100;
  }
  return 0;
}

TEST(the_backend_that_changed_comes_first) {
  lbsim_timeline_t tl;
  CHECK_EQ(linkerd_like(&tl), 0);
  uint32_t order[11];
  lbsim_svg_rank(&tl, order);
  CHECK_EQ(order[0], 0);
  lbsim_timeline_free(&tl);
}

TEST(a_slow_backend_few_requests_went_to_still_matters) {
  /* tower: 10 backends, 0.5 ms to 500 ms; the slowest gets the fewest. */
  static const float ms[10] = {0.5f, 5, 5, 5, 5, 50, 50, 50, 50, 500};
  static const uint32_t picks[10] = {3000, 900, 900, 900, 900, 250, 250, 250, 250, 20};
  lbsim_timeline_t tl;
  CHECK_EQ(lbsim_timeline_init(&tl, 1, 10), 0);
  for (uint32_t s = 0; s < 10; s++) {
    int at = lbsim_timeline_sample(&tl, s * 0.05, true);
    for (uint32_t i = 0; i < 10; i++)
      lbsim_timeline_true(&tl, (uint32_t)at)[i] = lbsim_timeline_cost(&tl, (uint32_t)at)[i] = ms[i];
  }
  int at = lbsim_timeline_block(&tl, 0.5);
  memcpy(lbsim_timeline_picks(&tl, (uint32_t)at, 0), picks, sizeof(picks));
  uint32_t order[10];
  lbsim_svg_rank(&tl, order);
  bool busiest = false, slowest = false;
  for (uint32_t k = 0; k < LBSIM_SVG_COLORS; k++) {
    busiest = busiest || order[k] == 0;
    slowest = slowest || order[k] == 9;
  }
  CHECK(busiest && slowest);
  lbsim_timeline_free(&tl);
}

TEST(the_drawing_shows_the_stuck_backend_shares_and_failures) {
  lbsim_timeline_t tl;
  CHECK_EQ(linkerd_like(&tl), 0);
  char urls[11][40];
  const char *names[11];
  for (int i = 0; i < 11; i++) {
    snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d/ping", 7001 + i);
    names[i] = urls[i];
  }
  const char *const *per_policy[1] = {names};
  const char *policies[1] = {"round-robin"};
  char *svg = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&svg, &len);
  CHECK(f != NULL);
  CHECK_EQ(lbsim_svg_write(f, &tl, per_policy, policies, "t"), 0);
  fclose(f);
  CHECK(strstr(svg, "class=\"latency\" data-scale=\"log\"") != NULL);
  CHECK(strstr(svg, "class=\"legend-backend\" data-backend=\"1\"") != NULL);
  CHECK(strstr(svg, ">backend 1</text>") != NULL);       /* by number, not by URL */
  CHECK(strstr(svg, "backends 1–11: 127.0.0.1 ports 7001–7011") != NULL); /* where they are */
  CHECK(strstr(svg, "class=\"truth\" data-backend=\"1\"") != NULL);
  CHECK(strstr(svg, "<title>455 failed of 5000</title>") != NULL);
  /* Three blocks: each one's bands start where the previous ended. */
  CHECK(strstr(svg, "class=\"share\" data-backend=\"1\" x=\"80.00\"") != NULL);
  uint32_t bands = 0;
  for (const char *p = svg; (p = strstr(p, "class=\"share\"")) != NULL; p++)
    bands++;
  CHECK_EQ(bands, 3 * (LBSIM_SVG_COLORS + 1));
  /* Backends 2-9 answer alike all along: one grey line, said in the legend. */
  CHECK(strstr(svg, "same true latency: 2–9") != NULL);
  CHECK(strstr(svg, "data-backends=\"2 3 4 5 6 7 8 9\"") != NULL);
  free(svg);
  svg = NULL;
  /* Without a failure, the failure plot is one line that says so. */
  for (uint32_t b = 0; b < tl.nblocks; b++)
    tl.failed[b] = 0;
  f = open_memstream(&svg, &len);
  CHECK(f != NULL);
  CHECK_EQ(lbsim_svg_write(f, &tl, per_policy, policies, "t"), 0);
  fclose(f);
  CHECK(strstr(svg, "no failures: 0 of the 15000 answers failed") != NULL);
  CHECK(strstr(svg, "class=\"failed\"") == NULL);
  free(svg);
  lbsim_timeline_free(&tl);
}
