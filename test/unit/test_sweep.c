/* Unit tests of sweeps (lbsim/cli/sweep.h): parsing of --sweep, the cartesian
 * product, the policies' declared parameters, and the checks of a command
 * line with a sweep. */
#include <math.h>
#include <stdarg.h>

#include "cmdline.h"
#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/cli/config.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/cli/sweep.h"

static char err[512];

/* Adds each spec (NULL-terminated) to a fresh sweep; the result of the last. */
static int sweep_of(lbsim_sweep_t *s, const char *first, ...) {
  memset(s, 0, sizeof(*s));
  va_list ap;
  va_start(ap, first);
  int r = 0;
  strcpy(err, "");
  for (const char *spec = first; spec != NULL && r == 0; spec = va_arg(ap, const char *))
    r = lbsim_sweep_add(s, spec, err, sizeof(err));
  va_end(ap);
  return r;
}

#define SWEEP(s, ...) sweep_of(s, __VA_ARGS__, (const char *)NULL)

/* The values of axis k, exactly. */
static int has_values(const lbsim_sweep_t *s, uint32_t k, const double *want, uint32_t n) {
  REQUIRE(k < s->naxes);
  if (s->axes[k].nvalues != n) {
    lbsim_test_fail(__FILE__, __LINE__, "axis %u has %u values, expected %u", k, s->axes[k].nvalues, n);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++)
    if (s->axes[k].values[i] != want[i]) {
      lbsim_test_fail(__FILE__, __LINE__, "axis %u value %u: %.17g, expected %.17g", k, i, s->axes[k].values[i],
                      want[i]);
      return -1;
    }
  return 0;
}

#define CHECK_VALUES(s, k, ...)                                                      \
  do {                                                                               \
    const double want_[] = {__VA_ARGS__};                                            \
    CHECK(has_values(s, k, want_, sizeof(want_) / sizeof(want_[0])) == 0);           \
  } while (0)

/* A bad spec: -1, one line naming `needle`, nothing kept. */
#define CHECK_BAD_SWEEP(needle, ...)                                                 \
  do {                                                                               \
    lbsim_sweep_t s_;                                                                \
    int r_ = SWEEP(&s_, __VA_ARGS__);                                                \
    uint32_t axes_ = s_.naxes;                                                       \
    lbsim_sweep_free(&s_);                                                           \
    CHECK_MSG(r_ == LBSIM_EINVAL, "accepted: expected an error about %s", needle);   \
    CHECK_MSG(strstr(err, needle) != NULL, "message \"%s\" does not mention \"%s\"", err, needle); \
    CHECK_MSG(strchr(err, '\n') == NULL, "message \"%s\" has a newline", err);       \
    CHECK_MSG(axes_ <= 1, "a bad spec was kept (%u axes)", axes_);                   \
  } while (0)

TEST(lists_and_ranges) {
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "alpha=0.1,0.3,0.9", "explore=0:0.1:0.05", "burst=10,20:40:10") == 0);
  CHECK_EQ(s.naxes, 3);
  CHECK_STR_EQ(lbsim_sweep_param_name(s.axes[0].param), "alpha");
  CHECK_STR_EQ(lbsim_sweep_param_name(s.axes[1].param), "explore");
  CHECK_VALUES(&s, 0, 0.1, 0.3, 0.9);
  CHECK_VALUES(&s, 1, 0, 0.05, 0.1);
  CHECK_VALUES(&s, 2, 10, 20, 30, 40);
  CHECK_EQ(s.combinations, 3 * 3 * 4);
  lbsim_sweep_free(&s);
  CHECK_EQ(s.naxes, 0);
}

TEST(a_range_ends_within_half_a_step_of_its_end) {
  lbsim_sweep_t s;
  /* 0.1 + 2 x 0.1 is 0.30000000000000004: values are kept as they print. */
  CHECK(SWEEP(&s, "alpha=0.1:0.5:0.1") == 0);
  CHECK_VALUES(&s, 0, 0.1, 0.2, 0.3, 0.4, 0.5);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "explore=0:1:0.25") == 0);
  CHECK_VALUES(&s, 0, 0, 0.25, 0.5, 0.75, 1);
  lbsim_sweep_free(&s);
  /* 2 is 0.1 past 1.9, less than half a step: 1.9 is the last value. */
  CHECK(SWEEP(&s, "decay=1:2:0.3") == 0);
  CHECK_VALUES(&s, 0, 1, 1.3, 1.6, 1.9);
  lbsim_sweep_free(&s);
  /* 2.2 is 0.1 past 2.1, within half a step: it is included. */
  CHECK(SWEEP(&s, "decay=1:2.1:0.4") == 0);
  CHECK_VALUES(&s, 0, 1, 1.4, 1.8, 2.2);
  lbsim_sweep_free(&s);
  /* 2.2 would be 0.2 past 2, exactly half a step: it is not. */
  CHECK(SWEEP(&s, "decay=1:2:0.4") == 0);
  CHECK_VALUES(&s, 0, 1, 1.4, 1.8);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "temperature=10:20:4") == 0);
  CHECK_VALUES(&s, 0, 10, 14, 18); /* 22 would be exactly half a step past 20 */
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "temperature=10:20:20") == 0);
  CHECK_VALUES(&s, 0, 10);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "rate=100:100:5") == 0); /* A = B: one value */
  CHECK_VALUES(&s, 0, 100);
  lbsim_sweep_free(&s);
}

TEST(every_option_that_changes_a_run_and_takes_a_number_can_be_swept) {
  /* Read from the option table: what changes a run on either clock... */
  const char *names[64];
  uint32_t n = lbsim_config_sweepables(names, 64);
  const char *expected[] = {"backends", "latency", "drift-period", "drift-step", "latency-floor", "latency-ceil",
                            "alpha", "explore", "burst", "sleep", "rounds", "duration", "requests", "timeout",
                            "failure-latency", "client-idle", "clients", "subset", "warmup", "load-board", "deadline",
                            "retries", "retry-backoff", "retry-backoff-max", "retry-backoff-multiplier",
                            "retry-budget", "retry-throttle", "outlier-consecutive-5xx",
                            "outlier-consecutive-local-origin", "outlier-interval", "outlier-base-ejection-time",
                            "outlier-max-ejection-time", "outlier-max-ejection-percent",
                            "outlier-enforcing-consecutive-5xx", "outlier-enforcing-local-origin",
                            "outlier-enforcing-success-rate", "outlier-success-rate-minimum-hosts",
                            "outlier-success-rate-request-volume", "outlier-success-rate-stdev-factor",
                            "lb-slow-start", "lb-slow-start-aggression", "lb-slow-start-min-weight", "decay",
                            "choices", "temperature", "rate", "concurrency", "interval", "net-delay", "capacity",
                            "error-rate", "time-scale"};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    const char *why;
    int p = lbsim_config_sweepable(expected[i], &why);
    CHECK_MSG(p >= 0, "--sweep %s: %s", expected[i], why);
    CHECK_STR_EQ(lbsim_sweep_param_name(p), expected[i]);
    char label[96];
    lbsim_sweep_param_label(p, label, sizeof(label));
    CHECK(strncmp(label, expected[i], strlen(expected[i])) == 0);
    /* Its range is the option's. */
    const char *range;
    CHECK(lbsim_config_check_number(expected[i], -1, &range) == LBSIM_EINVAL);
    CHECK(range != NULL && strlen(range) > 5);
  }
  CHECK_EQ(n, sizeof(expected) / sizeof(expected[0]));
  /* ... not the sockets alone, the output, which runs a sweep has, or what is not a number. */
  static const char *const not_swept[] = {"port-base", "max-conns", "pool-size", "header-timeout", "format",
                                          "seed", "seeds", "sweep", "shard", "policy", "compare", "jitter",
                                          "scenario", "subset-mode", "quiet", "load-reports", "speed", "retry-on", "weights",
                                          "outlier-ejection", "outlier-split-local-origin"};
  for (size_t i = 0; i < sizeof(not_swept) / sizeof(not_swept[0]); i++) {
    const char *why;
    CHECK_MSG(lbsim_config_sweepable(not_swept[i], &why) == -1 && why != NULL, "--sweep %s accepted", not_swept[i]);
  }
  char label[96];
  lbsim_sweep_param_label(lbsim_config_sweepable("rate", &(const char *){NULL}), label, sizeof(label));
  CHECK_STR_EQ(label, "rate (requests/s)");
  lbsim_sweep_param_label(lbsim_config_sweepable("alpha", &(const char *){NULL}), label, sizeof(label));
  CHECK_STR_EQ(label, "alpha (EMA weight of the newest latency sample)");
  lbsim_sweep_param_label(lbsim_config_sweepable("concurrency", &(const char *){NULL}), label, sizeof(label));
  CHECK_STR_EQ(label, "concurrency");
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "capacity=0,5", "backends=1,4096", "choices=0,2", "concurrency=1,8", "latency=5:50:15",
              "net-delay=0,0.5", "error-rate=0,0.1", "duration=1,2", "time-scale=0.5,1") == 0);
  lbsim_sweep_free(&s);
}

TEST(bad_specs_are_refused_with_one_line) {
  CHECK_BAD_SWEEP("--sweep speed: no such option (lbsim --sweep help lists what can be swept)", "speed=1,2");
  CHECK_BAD_SWEEP("--sweep port-base: it does not change what a virtual run does", "port-base=1,2");
  CHECK_BAD_SWEEP("--sweep seed: give --seeds S", "seed=1,2");
  CHECK_BAD_SWEEP("--sweep policy: not a number: --compare", "policy=1");
  CHECK_BAD_SWEEP("--sweep jitter: its value is not a number", "jitter=1");
  CHECK_BAD_SWEEP("expected alpha=V1,V2,... or alpha=A:B:STEP", "alpha");
  CHECK_BAD_SWEEP("no values", "alpha=");
  CHECK_BAD_SWEEP("an empty value", "alpha=0.1,,0.2");
  CHECK_BAD_SWEEP("an empty value", "alpha=0.1,");
  CHECK_BAD_SWEEP("invalid --sweep alpha value 'x': expected a number: (0, 1]", "alpha=x");
  CHECK_BAD_SWEEP("invalid --sweep alpha value 'nan'", "alpha=nan");
  CHECK_BAD_SWEEP("invalid --sweep alpha value '0x1'", "alpha=0x1");
  CHECK_BAD_SWEEP("invalid --sweep alpha value '1.5': expected a number: (0, 1]", "alpha=1.5");
  CHECK_BAD_SWEEP("invalid --sweep alpha value '0'", "alpha=0:1:0.1"); /* alpha > 0 */
  CHECK_BAD_SWEEP("invalid --sweep burst value '2.5': expected an integer: 1..1000000", "burst=2.5");
  CHECK_BAD_SWEEP("invalid --sweep burst value 2.5 (from 1:4:1.5)", "burst=1:4:1.5");
  CHECK_BAD_SWEEP("invalid --sweep explore value 1.2 (from 0:1:0.6)", "explore=0:1:0.6");
  CHECK_BAD_SWEEP("invalid --sweep backends value '4097'", "backends=4097");
  CHECK_BAD_SWEEP("invalid --sweep rate value '0'", "rate=0");
  CHECK_BAD_SWEEP("the step must be above 0", "alpha=0.1:0.5:0");
  CHECK_BAD_SWEEP("the step must be above 0", "alpha=0.1:0.5:-0.1");
  CHECK_BAD_SWEEP("invalid --sweep alpha step 'x'", "alpha=0.1:0.5:x");
  CHECK_BAD_SWEEP("the start is above the end", "alpha=0.5:0.1:0.1");
  CHECK_BAD_SWEEP("expected A:B:STEP", "alpha=0.1:0.5");
  CHECK_BAD_SWEEP("expected A:B:STEP", "alpha=0.1:0.5:0.1:1");
  CHECK_BAD_SWEEP("--sweep alpha given twice", "alpha=0.1", "alpha=0.2");
  CHECK_BAD_SWEEP("makes more than 10000 combinations", "burst=1:10001:1");
  CHECK_BAD_SWEEP("makes more than 10000 combinations", "alpha=0.01:1:0.01", "explore=0:1:0.01");
  CHECK_BAD_SWEEP("makes more than 10000 combinations", "burst=1:10000:1", "alpha=0.1,0.2");
  /* A range too long to walk is refused before anything is allocated. */
  CHECK_BAD_SWEEP("makes more than 10000 combinations", "rate=1:10000000:0.000001");
  /* ... however many: the count is not printed (it can have 300 digits). */
  CHECK_BAD_SWEEP("--sweep alpha=0.1:0.5:1e-300 makes more than 10000 combinations", "alpha=0.1:0.5:1e-300");
  /* At the limit exactly. */
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "burst=1:100:1", "capacity=1:100:1") == 0);
  CHECK_EQ(s.combinations, LBSIM_SWEEP_MAX_COMBINATIONS);
  lbsim_sweep_free(&s);
}

TEST(combinations_vary_the_last_parameter_fastest) {
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "alpha=0.1,0.2", "explore=0,0.5,1", "burst=1,2") == 0);
  CHECK_EQ(s.combinations, 12);
  double v[LBSIM_SWEEP_PARAMS];
  uint32_t seen = 0;
  for (uint32_t i = 0; i < 2; i++)
    for (uint32_t j = 0; j < 3; j++)
      for (uint32_t k = 0; k < 2; k++, seen++) {
        lbsim_sweep_values(&s, seen, v);
        CHECK(v[0] == s.axes[0].values[i] && v[1] == s.axes[1].values[j] && v[2] == s.axes[2].values[k]);
      }
  CHECK_EQ(seen, s.combinations);
  lbsim_sweep_free(&s);
}

TEST(a_policy_runs_once_across_what_it_does_not_use) {
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "alpha=0.1,0.2,0.3", "decay=1,10", "burst=10,100") == 0);
  uint32_t greedy = lbsim_sweep_unused(&s, lbsim_policy_find("ema-greedy")->uses);
  uint32_t p2c = lbsim_sweep_unused(&s, lbsim_policy_find("p2c-peak-ewma")->uses);
  uint32_t rr = lbsim_sweep_unused(&s, lbsim_policy_find("round-robin")->uses);
  CHECK_EQ(greedy, 1u << 1); /* decay */
  CHECK_EQ(p2c, 1u << 0);    /* alpha */
  CHECK_EQ(rr, (1u << 0) | (1u << 1));
  uint32_t runs[3] = {0, 0, 0}, unused[3] = {greedy, p2c, rr};
  for (uint32_t c = 0; c < s.combinations; c++)
    for (int w = 0; w < 3; w++)
      runs[w] += lbsim_sweep_runs(&s, c, unused[w]);
  CHECK_EQ(runs[0], 3 * 2); /* every alpha and burst */
  CHECK_EQ(runs[1], 2 * 2); /* every decay and burst */
  CHECK_EQ(runs[2], 2);     /* every burst: the traffic matters to every policy */
  /* The runs are the first of their kind: the unused parameters at their first value. */
  double v[LBSIM_SWEEP_PARAMS];
  for (uint32_t c = 0; c < s.combinations; c++)
    if (lbsim_sweep_runs(&s, c, rr)) {
      lbsim_sweep_values(&s, c, v);
      CHECK(v[0] == 0.1 && v[1] == 1);
    }
  lbsim_sweep_free(&s);
}

TEST(swept_values_and_traffic_shapes_are_applied) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  lbsim_sweep_t s;
  CHECK(SWEEP(&s, "alpha=0.5", "explore=0.2", "temperature=7", "decay=3", "choices=2", "capacity=9",
              "backends=11", "rate=250") == 0);
  double v[LBSIM_SWEEP_PARAMS];
  lbsim_sweep_values(&s, 0, v);
  lbsim_sweep_apply(&s, v, &cfg);
  CHECK(cfg.alpha == 0.5 && cfg.explore == 0.2 && cfg.temperature_ms == 7 && cfg.decay_s == 3);
  CHECK_EQ(cfg.choices, 2);
  CHECK_EQ(cfg.capacity, 9);
  CHECK_EQ(cfg.backends, 11);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_RATE);
  CHECK(cfg.rate == 250);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "concurrency=12") == 0);
  lbsim_sweep_values(&s, 0, v);
  lbsim_sweep_apply(&s, v, &cfg);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_CONCURRENCY);
  CHECK_EQ(cfg.concurrency, 12);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "burst=3") == 0);
  lbsim_sweep_values(&s, 0, v);
  lbsim_sweep_apply(&s, v, &cfg);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_BURST);
  CHECK_EQ(cfg.burst, 3);
  lbsim_sweep_free(&s);
}

TEST(the_tools_around_the_pick_are_swept_into_their_settings) {
  lbsim_sweep_t s = {0};
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  double v[LBSIM_SWEEP_PARAMS];
  CHECK(SWEEP(&s, "retries=3", "retry-budget=20", "retry-throttle=8", "deadline=0.5") == 0);
  lbsim_sweep_values(&s, 0, v);
  lbsim_sweep_apply(&s, v, &cfg);
  CHECK_EQ(cfg.retry.retries, 3);
  CHECK(cfg.retry.budget && cfg.retry.budget_pct == 20 && cfg.retry.budget_min_per_s == 10);
  CHECK(cfg.retry.throttle && cfg.retry.throttle_tokens == 8 && cfg.retry.throttle_ratio == 0.1);
  CHECK(cfg.retry.deadline_s == 0.5);
  lbsim_sweep_free(&s);
  CHECK(SWEEP(&s, "outlier-interval=5", "outlier-max-ejection-percent=50", "lb-slow-start=30",
              "lb-slow-start-min-weight=25") == 0);
  lbsim_sweep_values(&s, 0, v);
  lbsim_sweep_apply(&s, v, &cfg);
  CHECK(cfg.outlier.interval_s == 5 && cfg.outlier.max_percent == 50);
  CHECK(cfg.slow_start.window_s == 30 && cfg.slow_start.min_weight_pct == 25);
  /* Slow start weighs backends: the policies that do not run once. */
  CHECK_EQ(lbsim_sweep_unused(&s, LBSIM_POLICY_USES_ALPHA), 0xcu);
  CHECK_EQ(lbsim_sweep_unused(&s, LBSIM_POLICY_USES_WEIGHTS), 0u);
  lbsim_sweep_free(&s);
  CHECK_BAD_SWEEP("expected a number: 0..100 %", "retry-budget=120");
  CHECK_BAD_SWEEP("expected an integer: 0..100", "retries=1.5");
}

TEST(metrics_by_name) {
  lbsim_sweep_t s = {0};
  const char *names[] = {"p50", "p99", "p999", "success", "fastest", "regret", "switches", "top_share", "mean"};
  CHECK_EQ(sizeof(names) / sizeof(names[0]), LBSIM_SWEEP_METRICS);
  for (int m = 0; m < LBSIM_SWEEP_METRICS; m++) {
    CHECK(lbsim_sweep_set_metric(&s, names[m], err, sizeof(err)) == 0);
    CHECK_EQ(s.metric, m);
    CHECK_STR_EQ(lbsim_sweep_metric_name((lbsim_sweep_metric_t)m), names[m]);
    CHECK(strchr(lbsim_sweep_metric_label((lbsim_sweep_metric_t)m), '(') != NULL); /* a unit */
  }
  CHECK(lbsim_sweep_set_metric(&s, "p90", err, sizeof(err)) == LBSIM_EINVAL);
  CHECK(strstr(err, "expected p50, p99, p999, success, fastest, regret, switches, top_share or mean") != NULL);
}

/* A metric of one run, through its figures as a sweep's row has them. */
static double metric_of(const lbsim_stats_t *st, lbsim_sweep_metric_t m) {
  lbsim_figures_t f;
  lbsim_estimate_t e;
  lbsim_figures_of(&f, st, 1.0);
  lbsim_estimate(&e, &f, 1, 0);
  double half = 0;
  double v = lbsim_sweep_metric_value(m, &e, &half);
  return isnan(half) ? v : -1; /* one run: no interval */
}

TEST(metric_values_of_a_run) {
  lbsim_stats_t st;
  CHECK(lbsim_stats_init(&st, 2) == 0);
  CHECK(isnan(metric_of(&st, LBSIM_SWEEP_P99)));
  CHECK(isnan(metric_of(&st, LBSIM_SWEEP_FASTEST)));
  CHECK(isnan(metric_of(&st, LBSIM_SWEEP_SWITCHES))); /* no round */
  lbsim_stats_pick(&st, 0);
  lbsim_stats_record(&st, 0, LBSIM_RESULT_OK, 10, 10, 8, true, 3);
  lbsim_stats_record(&st, 1, LBSIM_RESULT_TIMEOUT, 5000, 10000, 8, false, 1);
  lbsim_stats_end_round(&st);
  CHECK_NEAR(metric_of(&st, LBSIM_SWEEP_SUCCESS), 0.75, 1e-12);
  CHECK_NEAR(metric_of(&st, LBSIM_SWEEP_FASTEST), 0.75, 1e-12);
  CHECK_NEAR(metric_of(&st, LBSIM_SWEEP_REGRET), (3 * 2 + 9992) / 4.0, 1e-9);
  CHECK_NEAR(metric_of(&st, LBSIM_SWEEP_P50), 10, 0.5);
  CHECK_EQ(metric_of(&st, LBSIM_SWEEP_SWITCHES), 0);
  lbsim_stats_free(&st);
}

/* ---- the policies' declarations ------------------------------------------------ */

/* Picks of policy `name` over 3000 requests with one setting changed:
 * answers whose latency depends on the backend and the time, fed back as
 * the client feeds them. Returns a digest of the picks. */
static uint64_t picks_with(const char *name, uint32_t flag, int variant) {
  lbsim_policy_params_t params = {
      .n = 6, .seed = 42, .stream = LBSIM_STREAM_POLICY, .explore = 0.05, .failure_latency_ms = 10000,
      .decay_s = 10, .choices = 0, .temperature_ms = 20,
  };
  double alpha = 0.3;
  if (variant) {
    if (flag == LBSIM_POLICY_USES_ALPHA)
      alpha = 0.9;
    if (flag == LBSIM_POLICY_USES_EXPLORE)
      params.explore = 0.3;
    if (flag == LBSIM_POLICY_USES_TEMPERATURE)
      params.temperature_ms = 500;
    if (flag == LBSIM_POLICY_USES_DECAY)
      params.decay_s = 0.05;
    if (flag == LBSIM_POLICY_USES_CHOICES)
      params.choices = 2;
  }
  lbsim_ema_t ema;
  lbsim_policy_t p;
  if (lbsim_ema_init(&ema, params.n, alpha) != 0)
    return 0;
  params.ema = &ema;
  uint64_t in_flight[64] = {0};
  params.in_flight = in_flight;
  if (lbsim_policy_init(&p, lbsim_policy_find(name), &params) != 0) {
    lbsim_ema_free(&ema);
    return 0;
  }
  uint64_t digest = 1469598103934665603u;
  uint32_t pending[64], npending = 0;
  for (uint32_t i = 0; i < 3000; i++) {
    uint64_t now = (uint64_t)i * 1000000;
    uint32_t b = lbsim_policy_select(&p, now);
    digest = (digest ^ b) * 1099511628211u;
    pending[npending++] = b;
    if (npending == 8) { /* answers come back in groups: some are in flight at each pick */
      for (uint32_t k = 0; k < npending; k++) {
        double ms = 10.0 + 7.0 * pending[k] + (double)((i / 500 + pending[k] * 3) % 6) * 15.0 + (double)(k % 3);
        lbsim_ema_update(&ema, pending[k], ms);
        lbsim_policy_observe(&p, pending[k], ms, true, now);
      }
      npending = 0;
    }
  }
  lbsim_policy_free(&p);
  lbsim_ema_free(&ema);
  return digest;
}

TEST(each_policy_declares_the_settings_it_reads) {
  static const uint32_t flags[] = {LBSIM_POLICY_USES_ALPHA, LBSIM_POLICY_USES_EXPLORE, LBSIM_POLICY_USES_TEMPERATURE,
                                   LBSIM_POLICY_USES_DECAY, LBSIM_POLICY_USES_CHOICES};
  static const char *const what[] = {"alpha", "explore", "temperature", "decay", "choices"};
  for (const lbsim_policy_ops_t *const *ops = lbsim_policy_all(); *ops; ops++) {
    for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
      uint64_t base = picks_with((*ops)->name, flags[f], 0), changed = picks_with((*ops)->name, flags[f], 1);
      CHECK(base != 0);
      bool uses = ((*ops)->uses & flags[f]) != 0;
      /* A setting not declared cannot change a pick (a sweep runs it once);
       * a declared one does. */
      CHECK_MSG(uses == (base != changed), "%s: %s %s declared, but changing it %s the picks", (*ops)->name,
                what[f], uses ? "is" : "is not", base != changed ? "changes" : "does not change");
    }
  }
}

/* ---- a command line with a sweep ------------------------------------------------ */

static lbsim_config_t cfg;

#define PARSE(...) cmdline_parse(&cfg, err, sizeof(err), __VA_ARGS__, (const char *)NULL)

#define CHECK_BAD_LINE(needle, ...)                                                  \
  do {                                                                               \
    lbsim_parse_result_t r_ = PARSE(__VA_ARGS__);                                    \
    lbsim_config_free(&cfg);                                                         \
    CHECK_MSG(r_ == LBSIM_PARSE_ERROR, "accepted: expected an error about %s", needle); \
    CHECK_MSG(strstr(err, needle) != NULL, "message \"%s\" does not mention \"%s\"", err, needle); \
  } while (0)

TEST(a_sweep_implies_the_virtual_clock) {
  CHECK_EQ(PARSE("--sweep", "alpha=0.1,0.2", "--rounds", "3"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.clock, LBSIM_CLOCK_VIRTUAL);
  CHECK_EQ(cfg.sweep.naxes, 1);
  CHECK_EQ(cfg.sweep.metric, LBSIM_SWEEP_P99);
  lbsim_config_free(&cfg);
  CHECK_EQ(cfg.sweep.naxes, 0);
  CHECK_EQ(PARSE("--clock", "virtual", "--sweep", "alpha=0.1", "--duration", "3", "--report", "x.svg",
                 "--sweep-metric", "regret"),
           LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.sweep.metric, LBSIM_SWEEP_REGRET);
  lbsim_config_free(&cfg);
  /* A replay's settings can be swept. */
  CHECK_EQ(PARSE("--replay", "linkerd", "--sweep", "choices=2,3", "--sweep", "backends=5,11"), LBSIM_PARSE_RUN);
  CHECK(cfg.compare && cfg.npolicies == 3);
  lbsim_config_free(&cfg);
}

TEST(a_sweep_refuses_what_it_cannot_run) {
  CHECK_BAD_LINE("--sweep runs on the virtual clock: it cannot be combined with --backends-only", "--sweep",
                 "alpha=0.1", "-r", "1", "--backends-only");
  CHECK_BAD_LINE("cannot be combined with --client-only", "--sweep", "alpha=0.1", "-r", "1", "--client-only",
                 "--server", "http://127.0.0.1:1/");
  CHECK_BAD_LINE("cannot be combined with --admin", "--sweep", "alpha=0.1", "-r", "1", "--admin", "0");
  CHECK_BAD_LINE("cannot be combined with --clock real", "--clock", "real", "--sweep", "alpha=0.1", "-r", "1");
  CHECK_BAD_LINE("--sweep needs an end for every run: give --rounds, --duration or --requests", "--sweep",
                 "alpha=0.1");
  CHECK_BAD_LINE("--sweep rate and --sweep concurrency set different traffic shapes", "--sweep", "rate=10",
                 "--sweep", "concurrency=2", "-r", "1");
  CHECK_BAD_LINE("--sweep burst sets the traffic shape (bursts): it cannot be combined with --rate", "--rate", "10",
                 "--sweep", "burst=5", "-r", "1");
  CHECK_BAD_LINE("--sweep rate sets the traffic shape (--rate): it cannot be combined with --concurrency",
                 "--concurrency", "10", "--sweep", "rate=5", "-r", "1");
  CHECK_BAD_LINE("--sweep-metric chooses what a sweep's --report plots: it needs --sweep", "--sweep-metric", "p50");
  CHECK_BAD_LINE("give --report FILE.svg too", "--sweep", "alpha=0.1", "-r", "1", "--sweep-metric", "p50");
  CHECK_BAD_LINE("invalid --sweep-metric 'p90'", "--sweep-metric", "p90");
  CHECK_BAD_LINE("--sweep port-base: it does not change what a virtual run does", "--sweep", "port-base=1", "-r",
                 "1");
  /* Each combination needs an end, and a floor below the ceiling. */
  CHECK_BAD_LINE("--sweep leaves a run without an end", "--sweep", "rounds=0,5");
  CHECK_EQ(PARSE("--sweep", "rounds=0,5", "--duration", "3"), LBSIM_PARSE_RUN);
  lbsim_config_free(&cfg);
  CHECK_BAD_LINE("--sweep puts --latency-floor (3000) above --latency-ceil (2000)", "--sweep",
                 "latency-floor=10,3000", "-r", "1");
  CHECK_BAD_LINE("--sweep puts --latency-floor (50) above --latency-ceil (20)", "--sweep", "latency-ceil=20,3000",
                 "-r", "1");
  /* Every run must hold the backends the scenario changes. */
  CHECK_BAD_LINE("--sweep backends goes down to 3, but the scenario changes backend 4", "--replay", "tower",
                 "--sweep", "backends=3,10");
  /* The same traffic shape given twice is no contradiction. */
  CHECK_EQ(PARSE("--rate", "10", "--sweep", "rate=5,20", "-r", "1"), LBSIM_PARSE_RUN);
  lbsim_config_free(&cfg);
}
