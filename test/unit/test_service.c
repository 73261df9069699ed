/* How a simulated backend serves a request (lbsim/model/service.h): the
 * per-request noise of --jitter and the first-come-first-served queue in
 * front of --capacity servers. */
#include <math.h>

#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/base/rng.h"
#include "lbsim/model/service.h"

#define MS UINT64_C(1000000)

TEST(jitter_parse_and_format) {
  lbsim_jitter_t j;
  char err[200], text[48];
  CHECK_EQ(lbsim_jitter_parse("none", &j, err, sizeof(err)), 0);
  CHECK_EQ(j.kind, LBSIM_JITTER_NONE);
  CHECK_EQ(lbsim_jitter_parse("exp:20", &j, err, sizeof(err)), 0);
  lbsim_jitter_format(&j, text, sizeof(text));
  CHECK_STR_EQ(text, "exp:20");
  CHECK_EQ(lbsim_jitter_parse("uniform:1", &j, err, sizeof(err)), 0);
  CHECK_EQ(lbsim_jitter_parse("uniform:1.5", &j, err, sizeof(err)), LBSIM_EINVAL);
  CHECK_EQ(lbsim_jitter_parse("lognormal:", &j, err, sizeof(err)), LBSIM_EINVAL);
  CHECK_EQ(lbsim_jitter_parse("lognormal", &j, err, sizeof(err)), LBSIM_EINVAL);
  CHECK_EQ(lbsim_jitter_parse("exp:0", &j, err, sizeof(err)), LBSIM_EINVAL);
}

TEST(jitter_keeps_the_mean_and_spreads) {
  static const char *specs[] = {"exp:20", "lognormal:0.3", "uniform:1"};
  static const double means[] = {120, 100, 100};
  for (int k = 0; k < 3; k++) {
    lbsim_jitter_t j;
    char err[200];
    CHECK_EQ(lbsim_jitter_parse(specs[k], &j, err, sizeof(err)), 0);
    lbsim_rng_t r;
    lbsim_rng_init(&r, 8, 8);
    double sum = 0, lo = 1e9, hi = 0;
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
      double v = lbsim_jitter_apply(&j, 100, &r);
      CHECK(v >= 0);
      sum += v;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    CHECK_MSG(fabs(sum / N - means[k]) < means[k] * 0.01, "%s: mean %.2f", specs[k], sum / N);
    CHECK(hi - lo > 50);
  }
}

/* Servers never used cost nothing: the heap follows the requests served at
 * once, so a million servers a backend take no memory until they work. */
TEST(capacity_takes_memory_for_busy_servers_only) {
  lbsim_servers_t s;
  CHECK_EQ(lbsim_servers_init(&s, 1000000), 0);
  CHECK(s.free_at == NULL && s.slots == 0);
  for (int i = 0; i < 3; i++)
    CHECK_EQ(lbsim_servers_schedule(&s, 0, 20 * MS), 20 * MS);
  CHECK_EQ(s.used, 3);
  CHECK(s.slots < 16);
  /* Sequential requests reuse an idle server rather than a new one. */
  for (int i = 1; i <= 1000; i++)
    CHECK_EQ(lbsim_servers_schedule(&s, (uint64_t)i * 100 * MS, 20 * MS), (uint64_t)i * 100 * MS + 20 * MS);
  CHECK_EQ(s.used, 3);
  /* Shrinking drops the busy servers first: the idle ones stay. */
  const uint64_t t = 200 * MS * 1000;
  for (int i = 0; i < 5; i++)
    lbsim_servers_schedule(&s, t, 50 * MS);
  CHECK_EQ(s.used, 5);
  CHECK_EQ(lbsim_servers_resize(&s, 2, t), 0);
  CHECK_EQ(s.used, 0);
  CHECK_EQ(lbsim_servers_schedule(&s, t, MS), t + MS);
  CHECK_EQ(lbsim_servers_schedule(&s, t, MS), t + MS);
  CHECK_EQ(lbsim_servers_schedule(&s, t, MS), t + 2 * MS); /* two servers now */
  /* With fewer idle servers than the new capacity, the soonest free busy ones stay. */
  CHECK_EQ(lbsim_servers_resize(&s, 3, t), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, t, 10 * MS), t + 10 * MS); /* the new idle one */
  CHECK_EQ(lbsim_servers_resize(&s, 1, t), 0);                  /* keeps the one free at t + 1 ms */
  CHECK_EQ(s.used, 1);
  CHECK_EQ(lbsim_servers_schedule(&s, t, MS), t + 2 * MS);
  lbsim_servers_free(&s);
}

TEST(capacity_serves_first_come_first_served_in_waves) {
  lbsim_servers_t s;
  CHECK_EQ(lbsim_servers_init(&s, 10), 0);
  int waves[11] = {0};
  for (int i = 0; i < 100; i++) {
    uint64_t done = lbsim_servers_schedule(&s, 0, 20 * MS);
    CHECK(done % (20 * MS) == 0);
    int wave = (int)(done / (20 * MS));
    CHECK(wave >= 1 && wave <= 10);
    waves[wave]++;
    /* First come, first served: never sooner than an earlier arrival. */
    CHECK(wave == i / 10 + 1);
  }
  for (int w = 1; w <= 10; w++)
    CHECK_EQ(waves[w], 10);
  /* Later arrivals after the queue drained start at once. */
  CHECK_EQ(lbsim_servers_schedule(&s, 500 * MS, 20 * MS), 520 * MS);
  /* Growing adds idle servers; shrinking keeps the soonest free. */
  CHECK_EQ(lbsim_servers_resize(&s, 20, 600 * MS), 0);
  CHECK_EQ(s.capacity, 20);
  CHECK_EQ(lbsim_servers_resize(&s, 2, 600 * MS), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 600 * MS, 10 * MS), 610 * MS);
  lbsim_servers_free(&s);
  CHECK_EQ(lbsim_servers_init(&s, 0), 0); /* unlimited */
  CHECK_EQ(lbsim_servers_schedule(&s, 5, 7), 12);
  lbsim_servers_free(&s);
}

TEST(a_bad_jitter_says_what_was_expected) {
  lbsim_jitter_t j;
  char err[200];
  CHECK_EQ(lbsim_jitter_parse("uniform:1.5", &j, err, sizeof(err)), LBSIM_EINVAL);
  CHECK_MSG(strstr(err, "(0, 1]") != NULL, "%s", err);
  CHECK_EQ(lbsim_jitter_parse("gauss:3", &j, err, sizeof(err)), LBSIM_EINVAL);
  CHECK_MSG(strstr(err, "none, exp:MS, lognormal:SIGMA, uniform:WIDTH") != NULL, "%s", err);
}

TEST(each_jitter_stays_in_its_shape) {
  lbsim_jitter_t exp_j = {LBSIM_JITTER_EXP, 20}, uni = {LBSIM_JITTER_UNIFORM, 0.5},
                 logn = {LBSIM_JITTER_LOGNORMAL, 0.3};
  lbsim_rng_t r;
  lbsim_rng_init(&r, 3, 3);
  for (int i = 0; i < 10000; i++) {
    CHECK(lbsim_jitter_apply(&exp_j, 100, &r) >= 100); /* exp: a delay added, never taken off */
    double u = lbsim_jitter_apply(&uni, 100, &r);
    CHECK(u >= 50 && u <= 150);
    CHECK(lbsim_jitter_apply(&logn, 100, &r) > 0);
  }
}

TEST(no_jitter_is_the_base_and_draws_nothing) {
  lbsim_jitter_t none = {LBSIM_JITTER_NONE, 0};
  lbsim_rng_t a, b;
  lbsim_rng_init(&a, 5, 1);
  lbsim_rng_init(&b, 5, 1);
  CHECK_NEAR(lbsim_jitter_apply(&none, 12.5, &a), 12.5, 0);
  /* The stream is untouched: the draws of the next jittered request do
   * not depend on how many requests had none. */
  CHECK_EQ(lbsim_rng_next(&a), lbsim_rng_next(&b));
}

TEST(a_request_arriving_to_an_idle_server_starts_at_once) {
  lbsim_servers_t s;
  CHECK_EQ(lbsim_servers_init(&s, 2), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 0, 100 * MS), 100 * MS);
  /* One server is still busy; the other takes it at its arrival. */
  CHECK_EQ(lbsim_servers_schedule(&s, 30 * MS, 10 * MS), 40 * MS);
  /* Both busy: the next waits for the first to free up (40 ms). */
  CHECK_EQ(lbsim_servers_schedule(&s, 35 * MS, 10 * MS), 50 * MS);
  lbsim_servers_free(&s);
}

TEST(shrinking_drops_the_servers_busy_longest_and_growing_adds_idle_ones) {
  lbsim_servers_t s;
  CHECK_EQ(lbsim_servers_init(&s, 2), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 0, 100 * MS), 100 * MS);
  CHECK_EQ(lbsim_servers_schedule(&s, 0, 10 * MS), 10 * MS);
  /* One server left: the one free at 10 ms (the long request still ends
   * at 100 ms, but nothing queues behind it). */
  CHECK_EQ(lbsim_servers_resize(&s, 1, 5 * MS), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 5 * MS, 10 * MS), 20 * MS);
  CHECK_EQ(lbsim_servers_schedule(&s, 5 * MS, 40 * MS), 60 * MS);
  /* A second server, free from now (50 ms), beside the one busy until 60. */
  CHECK_EQ(lbsim_servers_resize(&s, 2, 50 * MS), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 50 * MS, 10 * MS), 60 * MS);
  CHECK_EQ(lbsim_servers_schedule(&s, 50 * MS, 10 * MS), 70 * MS);
  /* Unlimited: no queue at all. */
  CHECK_EQ(lbsim_servers_resize(&s, 0, 50 * MS), 0);
  CHECK_EQ(lbsim_servers_schedule(&s, 50 * MS, 10 * MS), 60 * MS);
  lbsim_servers_free(&s);
}
