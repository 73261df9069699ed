#include "harness.h"
#include "lbsim/config.h"

/* Parses a space-separated command line (no quoting needed here). */
static lbsim_parse_result_t parse(lbsim_config_t *cfg, const char *line, char *err, size_t errlen) {
  static char buf[1024];
  char *argv[64];
  int argc = 0;
  snprintf(buf, sizeof(buf), "lbsim %s", line);
  for (char *tok = strtok(buf, " "); tok && argc < 63; tok = strtok(NULL, " "))
    argv[argc++] = tok;
  argv[argc] = NULL;
  err[0] = '\0';
  return lbsim_config_parse(cfg, argc, argv, err, errlen);
}

/* The line must be rejected with a message containing `what`. */
static int rejected(const char *line, const char *what) {
  lbsim_config_t cfg;
  char err[256];
  lbsim_parse_result_t r = parse(&cfg, line, err, sizeof(err));
  lbsim_config_free(&cfg);
  if (r != LBSIM_PARSE_ERROR) {
    lbsim_test_fail(__FILE__, __LINE__, "'%s' was accepted", line);
    return -1;
  }
  if (strstr(err, what) == NULL || strchr(err, '\n') != NULL) {
    lbsim_test_fail(__FILE__, __LINE__, "'%s': message '%s' lacks '%s'", line, err, what);
    return -1;
  }
  return 0;
}

TEST(defaults_follow_the_contract) {
  lbsim_config_t cfg;
  char err[256];
  CHECK_EQ(parse(&cfg, "", err, sizeof(err)), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_DEMO);
  CHECK_EQ(cfg.backends, 5);
  CHECK_STR_EQ(cfg.host, "127.0.0.1");
  CHECK_EQ(cfg.port_base, 5001);
  CHECK_NEAR(cfg.latency.min_ms, 100, 0);
  CHECK_NEAR(cfg.latency.max_ms, 1500, 0);
  CHECK_NEAR(cfg.drift_period_s, 5, 0);
  CHECK_NEAR(cfg.latency.step_ms, 100, 0);
  CHECK_NEAR(cfg.latency.floor_ms, 50, 0);
  CHECK_NEAR(cfg.latency.ceil_ms, 2000, 0);
  CHECK_NEAR(cfg.alpha, 0.3, 0);
  CHECK_NEAR(cfg.explore, 0.05, 0);
  CHECK_EQ(cfg.burst, 100);
  CHECK_NEAR(cfg.sleep_s, 1, 0);
  CHECK_EQ(cfg.rounds, 0);
  CHECK_NEAR(cfg.duration_s, 0, 0);
  CHECK_NEAR(cfg.timeout_s, 5, 0);
  CHECK_NEAR(cfg.failure_latency_ms, 10000, 0);
  CHECK(!cfg.seed_given);
  CHECK(!cfg.quiet);
  CHECK_STR_EQ(cfg.policies[0], "ema-greedy");
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_BURST);
  CHECK_EQ(cfg.format, LBSIM_FORMAT_TEXT);
  lbsim_config_free(&cfg);
}

TEST(accepts_good_values) {
  lbsim_config_t cfg;
  char err[256];
  CHECK_EQ(parse(&cfg, "-n 3 --latency 7 --sleep 0.5 --timeout 0.25 -s 42 -q -p 0 --drift-period 0", err,
                 sizeof(err)),
           LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.backends, 3);
  CHECK_NEAR(cfg.latency.min_ms, 7, 0);
  CHECK_NEAR(cfg.latency.max_ms, 7, 0);
  CHECK_NEAR(cfg.sleep_s, 0.5, 0);
  CHECK_NEAR(cfg.timeout_s, 0.25, 0);
  CHECK(cfg.seed_given && cfg.seed == 42);
  CHECK(cfg.quiet);
  CHECK_EQ(cfg.port_base, 0);
  lbsim_config_free(&cfg);

  CHECK_EQ(parse(&cfg, "--latency 1:20 --backends=7", err, sizeof(err)), LBSIM_PARSE_RUN);
  CHECK_NEAR(cfg.latency.min_ms, 1, 0);
  CHECK_NEAR(cfg.latency.max_ms, 20, 0);
  CHECK_EQ(cfg.backends, 7);
  lbsim_config_free(&cfg);

  CHECK_EQ(parse(&cfg, "--client-only --server http://b:2/ --server http://a:1/x", err, sizeof(err)),
           LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_CLIENT);
  CHECK_EQ(cfg.nservers, 2);
  CHECK_STR_EQ(cfg.servers[0].host, "b");
  CHECK_STR_EQ(cfg.servers[1].path, "/x");
  lbsim_config_free(&cfg);

  CHECK_EQ(parse(&cfg, "--compare ema-greedy,round-robin --rate 250.5 -f json", err, sizeof(err)), LBSIM_PARSE_RUN);
  CHECK(cfg.compare);
  CHECK_EQ(cfg.npolicies, 2);
  CHECK_STR_EQ(cfg.policies[1], "round-robin");
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_RATE);
  CHECK_NEAR(cfg.rate, 250.5, 0);
  CHECK_EQ(cfg.format, LBSIM_FORMAT_JSON);
  lbsim_config_free(&cfg);

  CHECK_EQ(parse(&cfg, "--policy p2c-peak-ewma -c 8 --interval 0.5", err, sizeof(err)), LBSIM_PARSE_RUN);
  CHECK_STR_EQ(cfg.policies[0], "p2c-peak-ewma");
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_CONCURRENCY);
  CHECK_EQ(cfg.concurrency, 8);
  lbsim_config_free(&cfg);
}

TEST(help_version_and_policy_list) {
  lbsim_config_t cfg;
  char err[256];
  CHECK_EQ(parse(&cfg, "--help", err, sizeof(err)), LBSIM_PARSE_HELP);
  lbsim_config_free(&cfg);
  CHECK_EQ(parse(&cfg, "-V", err, sizeof(err)), LBSIM_PARSE_VERSION);
  lbsim_config_free(&cfg);
  CHECK_EQ(parse(&cfg, "--policy help", err, sizeof(err)), LBSIM_PARSE_POLICIES);
  lbsim_config_free(&cfg);
  /* A bad option after --help is still an error. */
  CHECK_EQ(parse(&cfg, "--help -n 0", err, sizeof(err)), LBSIM_PARSE_ERROR);
  lbsim_config_free(&cfg);
}

TEST(rejects_bad_numbers) {
  CHECK(rejected("-n abc", "--backends 'abc'") == 0);
  CHECK(rejected("-n 0", "1..4096") == 0);
  CHECK(rejected("-n 4097", "1..4096") == 0);
  CHECK(rejected("--burst -1", "--burst") == 0);
  CHECK(rejected("--alpha 0", "--alpha") == 0);
  CHECK(rejected("--alpha 1.5", "--alpha") == 0);
  CHECK(rejected("--explore 2", "--explore") == 0);
  CHECK(rejected("--sleep nan", "--sleep") == 0);
  CHECK(rejected("--sleep inf", "--sleep") == 0);
  CHECK(rejected("--timeout 0x10", "--timeout") == 0);
  CHECK(rejected("--duration 1e999", "--duration") == 0);
  CHECK(rejected("--timeout 0", "--timeout") == 0);
  CHECK(rejected("--sleep 1s", "--sleep") == 0);
  CHECK(rejected("-p 70000", "--port-base") == 0);
  CHECK(rejected("--seed -3", "--seed") == 0);
  CHECK(rejected("--rounds 1.5", "--rounds") == 0);
}

TEST(rejects_bad_latencies) {
  CHECK(rejected("--latency 5:1", "MIN is greater than MAX") == 0);
  CHECK(rejected("--latency a:b", "--latency") == 0);
  CHECK(rejected("--latency -5", "--latency") == 0);
  CHECK(rejected("--latency 1:", "--latency") == 0);
  CHECK(rejected("--latency-floor 100 --latency-ceil 50", "--latency-floor") == 0);
}

TEST(rejects_bad_urls_and_roles) {
  CHECK(rejected("--client-only --server https://x/", "https:// is not supported") == 0);
  CHECK(rejected("--client-only --server nothttp", "expected http://") == 0);
  CHECK(rejected("--client-only", "needs at least one --server") == 0);
  CHECK(rejected("--server http://x/", "only for --client-only") == 0);
  CHECK(rejected("--backends-only --client-only", "cannot be combined") == 0);
  CHECK(rejected("--port-base 65535 -n 2", "past port 65535") == 0);
  CHECK(rejected("--compare ema-greedy --client-only --server http://x/", "--compare") == 0);
}

TEST(rejects_unknown_and_malformed_options) {
  CHECK(rejected("--bogus", "unknown option '--bogus'") == 0);
  CHECK(rejected("-Z", "unknown option '-Z'") == 0);
  CHECK(rejected("-n", "needs a value") == 0);
  CHECK(rejected("--backends", "needs a value") == 0);
  CHECK(rejected("extra", "unexpected argument 'extra'") == 0);
  CHECK(rejected("--policy nope", "unknown policy 'nope'") == 0);
  CHECK(rejected("--compare ema-greedy,ema-greedy", "twice") == 0);
  CHECK(rejected("--compare ema-greedy,,random", "policy") == 0);
  CHECK(rejected("--policy random --compare ema-greedy", "cannot be combined") == 0);
  CHECK(rejected("--rate 0", "--rate") == 0);
  CHECK(rejected("--rate 5 --concurrency 3", "cannot be combined") == 0);
  CHECK(rejected("-c 2.5", "--concurrency") == 0);
  CHECK(rejected("--format xml", "text or json") == 0);
}
