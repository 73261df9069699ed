/* Unit tests of the visual report's timeline (lbsim/report/timeline.h): the
 * store's bounded series, and a run recorded on a clock of the test's own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lbsim/balancer/fleet.h"
#include "lbsim/cli/config.h"
#include "lbsim/report/timeline.h"

TEST(blocks_cover_the_whole_run_and_keep_every_count) {
  lbsim_timeline_t tl;
  CHECK_EQ(lbsim_timeline_init(&tl, 2, 3), 0);
  const uint32_t blocks = 3 * LBSIM_TIMELINE_MAX + 7;
  for (uint32_t b = 1; b <= blocks; b++) {
    int at = lbsim_timeline_block(&tl, b * 0.5);
    CHECK(at >= 0);
    lbsim_timeline_picks(&tl, (uint32_t)at, 0)[b % 3] += 2;
    lbsim_timeline_picks(&tl, (uint32_t)at, 1)[0] += 1;
    tl.answered[(size_t)at * 2] += 2;
    tl.failed[(size_t)at * 2] += b % 2;
  }
  CHECK(tl.nblocks <= tl.block_cap && tl.nblocks > tl.block_cap / 4);
  CHECK_NEAR(tl.block_end[tl.nblocks - 1], blocks * 0.5, 1e-9);
  uint64_t picks0 = 0, picks1 = 0, answered = 0, failed = 0;
  for (uint32_t b = 0; b < tl.nblocks; b++) {
    if (b > 0)
      CHECK(tl.block_end[b] > tl.block_end[b - 1]);
    for (uint32_t i = 0; i < 3; i++)
      picks0 += lbsim_timeline_picks(&tl, b, 0)[i], picks1 += lbsim_timeline_picks(&tl, b, 1)[i];
    answered += tl.answered[(size_t)b * 2];
    failed += tl.failed[(size_t)b * 2];
  }
  CHECK_EQ(picks0, 2 * blocks);
  CHECK_EQ(picks1, blocks);
  CHECK_EQ(answered, 2 * blocks);
  CHECK_EQ(failed, (blocks + 1) / 2);
  lbsim_timeline_free(&tl);
}

TEST(samples_are_thinned_evenly_and_the_last_is_kept) {
  lbsim_timeline_t tl;
  CHECK_EQ(lbsim_timeline_init(&tl, 1, 2), 0);
  const uint32_t samples = 5 * LBSIM_TIMELINE_MAX;
  for (uint32_t s = 0; s < samples; s++)
    lbsim_timeline_sample(&tl, s * 0.05, false);
  CHECK(lbsim_timeline_sample(&tl, samples * 0.05, true) >= 0);
  CHECK(tl.nsamples <= tl.sample_cap && tl.nsamples > tl.sample_cap / 4);
  CHECK(tl.sample_t[0] == 0);
  CHECK_NEAR(tl.sample_t[tl.nsamples - 1], samples * 0.05, 1e-9);
  CHECK(lbsim_timeline_sample(&tl, 1.0, true) < 0); /* never back in time */
  lbsim_timeline_free(&tl);
}

/* A clock that only remembers the one timer set on it. */
typedef struct {
  lbsim_clock_t base;
  lbsim_timer_t *timer;
} fake_clock_t;

static int fake_set(lbsim_clock_t *c, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb) {
  fake_clock_t *f = (fake_clock_t *)c;
  timer->due_ns = due_ns;
  timer->cb = cb;
  timer->slot = 1;
  f->timer = timer;
  return 0;
}

static void fake_cancel(lbsim_clock_t *c, lbsim_timer_t *timer) {
  (void)c;
  timer->slot = 0;
}

/* Runs the pending timer at its due time. */
static uint64_t fire(fake_clock_t *f) {
  lbsim_timer_t *t = f->timer;
  uint64_t now = t->due_ns;
  t->slot = 0;
  t->cb(t, now);
  return now;
}

static const char *names[] = {"a", "b"};

TEST(a_recorded_run_samples_on_its_clock_adds_its_rounds_and_is_drawn) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  strcpy(cfg.policies[0], "round-robin");
  cfg.npolicies = 1;
  lbsim_fleet_t fleet;
  CHECK(lbsim_fleet_init(&fleet, &cfg, 1, 0, names, 2, NULL) == 0);
  lbsim_balancer_t *b = &fleet.clients[0];
  fake_clock_t clock = {{fake_set, fake_cancel}, NULL};
  lbsim_timeline_t tl;
  memset(&tl, 0, sizeof(tl));
  CHECK(lbsim_timeline_record(&tl, &clock.base, &fleet, 1, NULL) == 0);

  const uint64_t t0 = 3000000000u; /* the run starts at 3 s of its clock */
  lbsim_timeline_start(&tl, t0);
  CHECK_EQ(tl.nsamples, 1);
  CHECK(tl.sample_t[0] == 0);
  CHECK(isnan(lbsim_timeline_ema(&tl, 0, 0)[0])); /* not measured yet */
  CHECK(isnan(lbsim_timeline_true(&tl, 0)[0]));   /* no oracle: the truth is unknown */
  CHECK(clock.timer == &tl.sample);
  CHECK_EQ(tl.sample.due_ns, t0 + LBSIM_SAMPLE_MS * 1000000u);

  b->ema.measured[1] = true;
  b->ema.value_ms[1] = 120.0;
  uint64_t now = fire(&clock);
  CHECK_EQ(tl.nsamples, 2);
  CHECK_NEAR(tl.sample_t[1], LBSIM_SAMPLE_MS / 1000.0, 1e-12);
  CHECK(lbsim_timeline_ema(&tl, 1, 0)[1] == 120.0f);
  CHECK(lbsim_timer_pending(&tl.sample) && tl.sample.due_ns == now + LBSIM_SAMPLE_MS * 1000000u);

  fleet.stats.round_picks[0] = 3;
  fleet.stats.round_picks[1] = 5;
  fleet.stats.round.requests = 7;
  fleet.stats.round.failed = 2;
  lbsim_timeline_round(&tl, t0 + 500000000u);
  CHECK_EQ(tl.nblocks, 1);
  CHECK_NEAR(tl.block_end[0], 0.5, 1e-12);
  CHECK_EQ(lbsim_timeline_picks(&tl, 0, 0)[1], 5);
  CHECK_EQ(tl.answered[0], 7);
  CHECK_EQ(tl.failed[0], 2);

  char *path = cfg.report_path;
  snprintf(path, sizeof(cfg.report_path), "/tmp/lbsim-test-timeline-%ld.svg", (long)getpid());
  CHECK_EQ(lbsim_timeline_finish(&tl, t0 + 600000000u, &cfg, 42), 0);
  CHECK(!lbsim_timer_pending(&tl.sample)); /* no sample after the end */
  CHECK_EQ(tl.nsamples, 3);                /* the last one is kept */
  CHECK_NEAR(tl.sample_t[2], 0.6, 1e-12);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  static char svg[1 << 16];
  size_t len = fread(svg, 1, sizeof(svg) - 1, f);
  svg[len] = '\0';
  fclose(f);
  unlink(path);
  CHECK(strstr(svg, "<svg") != NULL);
  CHECK(strstr(svg, "lbsim: 2 backends, policy round-robin, seed 42") != NULL);
  CHECK(strstr(svg, "backends 1–2: a") == NULL); /* "a" and "b" are no URLs: listed */
  CHECK(strstr(svg, "backend 1: a, 2: b") != NULL);
  /* A replay is named in the title. */
  strcpy(cfg.replay, "linkerd");
  cfg.time_scale = 0.25;
  CHECK_EQ(lbsim_timeline_finish(&tl, t0 + 700000000u, &cfg, 42), 0);
  f = fopen(path, "r");
  CHECK(f != NULL);
  len = fread(svg, 1, sizeof(svg) - 1, f);
  svg[len] = '\0';
  fclose(f);
  unlink(path);
  CHECK(strstr(svg, "lbsim: replay linkerd at time scale 0.25, 2 backends, policy round-robin, seed 42") != NULL);
  /* A file that cannot be written is an error. */
  strcpy(cfg.report_path, "/nonexistent-dir/r.svg");
  CHECK(lbsim_timeline_finish(&tl, t0 + 800000000u, &cfg, 42) != 0);
  lbsim_timeline_free(&tl);
  lbsim_fleet_free(&fleet);
}

TEST(a_timeline_that_records_nothing_ignores_the_run) {
  lbsim_timeline_t tl;
  memset(&tl, 0, sizeof(tl));
  lbsim_timeline_start(&tl, 5);
  lbsim_timeline_round(&tl, 10);
  lbsim_timeline_stop(&tl);
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  strcpy(cfg.report_path, "/nonexistent-dir/r.svg");
  CHECK_EQ(lbsim_timeline_finish(&tl, 20, &cfg, 1), 0); /* nothing written */
  CHECK_EQ(tl.nsamples, 0);
  CHECK_EQ(tl.nblocks, 0);
}
