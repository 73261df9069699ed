/* Unit tests of command-line parsing and validation (lbsim/cli/config.h). */
#include <stdlib.h>
#include <unistd.h>

#include "cmdline.h"
#include "harness.h"
#include "lbsim/cli/config.h"
#include "lbsim/report/report.h"

static lbsim_config_t cfg;
static char err[2048];

/* Parses "lbsim" followed by the given arguments. */
#define PARSE(...) cmdline_parse(&cfg, err, sizeof(err), __VA_ARGS__, (const char *)NULL)

/* Runs a parse, frees the configuration and checks the result. */
#define CHECK_PARSE(expected, ...)                                                   \
  do {                                                                               \
    lbsim_parse_result_t r_ = PARSE(__VA_ARGS__);                                    \
    lbsim_config_free(&cfg);                                                         \
    CHECK_MSG(r_ == (expected), "parse result %d, expected %d (err \"%s\")", (int)r_, \
              (int)(expected), err);                                                 \
  } while (0)

/* A bad command line: LBSIM_PARSE_ERROR, and a one-line message containing
 * `needle` (the option's name) without the "lbsim: " prefix. */
#define CHECK_BAD(needle, ...)                                                       \
  do {                                                                               \
    lbsim_parse_result_t r_ = PARSE(__VA_ARGS__);                                    \
    lbsim_config_free(&cfg);                                                         \
    CHECK_MSG(r_ == LBSIM_PARSE_ERROR, "accepted (result %d): expected an error about %s", \
              (int)r_, needle);                                                      \
    CHECK_MSG(strstr(err, needle) != NULL, "message \"%s\" does not mention \"%s\"", err, \
              needle);                                                               \
    CHECK_MSG(strchr(err, '\n') == NULL, "message \"%s\" has a newline", err);       \
    CHECK_MSG(strncmp(err, "lbsim:", 6) != 0, "message \"%s\" has the prefix", err); \
  } while (0)

TEST(defaults_match_the_design) {
  CHECK_EQ(PARSE(NULL), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_DEMO);
  CHECK_EQ(cfg.backends, 5);
  CHECK_STR_EQ(cfg.host, "127.0.0.1");
  CHECK_EQ(cfg.port_base, 5001);
  CHECK(cfg.latency.min_ms == 100 && cfg.latency.max_ms == 1500);
  CHECK(cfg.drift_period_s == 5);
  CHECK(cfg.latency.step_ms == 100);
  CHECK(cfg.latency.floor_ms == 50);
  CHECK(cfg.latency.ceil_ms == 2000);
  CHECK_EQ(cfg.nservers, 0);
  CHECK(cfg.servers == NULL);
  CHECK(cfg.alpha == 0.3);
  CHECK(cfg.explore == 0.05);
  CHECK_EQ(cfg.burst, 100);
  CHECK(cfg.sleep_s == 1);
  CHECK_EQ(cfg.rounds, 0);
  CHECK(cfg.duration_s == 0);
  CHECK(cfg.timeout_s == 5);
  CHECK(cfg.failure_latency_ms == 10000);
  CHECK(!cfg.seed_given);
  CHECK(!cfg.quiet);
  CHECK_EQ(cfg.npolicies, 1);
  CHECK_STR_EQ(cfg.policies[0], "ema-greedy");
  CHECK(!cfg.compare);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_BURST);
  CHECK(cfg.format == lbsim_format_find("text"));
  lbsim_config_free(&cfg);

  /* lbsim_config_defaults gives the same */
  lbsim_config_t d;
  lbsim_config_defaults(&d);
  CHECK_EQ(d.backends, 5);
  CHECK_EQ(d.port_base, 5001);
  CHECK(d.alpha == 0.3 && d.explore == 0.05 && d.timeout_s == 5);
}

TEST(backends_count) {
  CHECK_EQ(PARSE("-n", "3"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.backends, 3);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--backends", "4096"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.backends, 4096);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--backends=1", "-p", "0"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.backends, 1);
  CHECK_EQ(cfg.port_base, 0);
  lbsim_config_free(&cfg);
}

TEST(fixed_latency) {
  CHECK_EQ(PARSE("--latency", "7"), LBSIM_PARSE_RUN);
  CHECK(cfg.latency.min_ms == 7 && cfg.latency.max_ms == 7);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--latency", "0"), LBSIM_PARSE_RUN);
  CHECK(cfg.latency.min_ms == 0 && cfg.latency.max_ms == 0);
  lbsim_config_free(&cfg);
}

TEST(latency_range) {
  CHECK_EQ(PARSE("--latency", "1:20"), LBSIM_PARSE_RUN);
  CHECK(cfg.latency.min_ms == 1 && cfg.latency.max_ms == 20);
  /* the drift settings are untouched */
  CHECK(cfg.latency.step_ms == 100 && cfg.latency.floor_ms == 50 && cfg.latency.ceil_ms == 2000);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--latency", "2.5:2.5"), LBSIM_PARSE_RUN);
  CHECK(cfg.latency.min_ms == 2.5 && cfg.latency.max_ms == 2.5);
  lbsim_config_free(&cfg);
}

TEST(decimals) {
  CHECK_EQ(PARSE("--sleep", "0.5", "--timeout", "0.25", "--drift-period", "2.5", "-d", "1.5"),
           LBSIM_PARSE_RUN);
  CHECK(cfg.sleep_s == 0.5);
  CHECK(cfg.timeout_s == 0.25);
  CHECK(cfg.drift_period_s == 2.5);
  CHECK(cfg.duration_s == 1.5);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--sleep", "0", "--drift-period", "0", "--alpha", "1", "--explore", "0"), LBSIM_PARSE_RUN);
  CHECK(cfg.sleep_s == 0 && cfg.drift_period_s == 0 && cfg.alpha == 1 && cfg.explore == 0);
  lbsim_config_free(&cfg);
}

TEST(client_options) {
  CHECK_EQ(PARSE("-a", "0.5", "-e", "0.1", "-b", "7", "-r", "3", "-t", "2", "--failure-latency", "500",
                 "--drift-step", "10", "--latency-floor", "1", "--latency-ceil", "10", "-q"),
           LBSIM_PARSE_RUN);
  CHECK(cfg.alpha == 0.5);
  CHECK(cfg.explore == 0.1);
  CHECK_EQ(cfg.burst, 7);
  CHECK_EQ(cfg.rounds, 3);
  CHECK(cfg.timeout_s == 2);
  CHECK(cfg.failure_latency_ms == 500);
  CHECK(cfg.latency.step_ms == 10 && cfg.latency.floor_ms == 1 && cfg.latency.ceil_ms == 10);
  CHECK(cfg.quiet);
  lbsim_config_free(&cfg);
}

TEST(servers_kept_in_order) {
  CHECK_EQ(PARSE("--client-only", "--server", "http://127.0.0.1:5003/ping", "--server", "http://[::1]:80/",
                 "--server=http://example.com"),
           LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_CLIENT);
  CHECK_EQ(cfg.nservers, 3);
  CHECK_STR_EQ(cfg.servers[0].text, "http://127.0.0.1:5003/ping");
  CHECK_EQ(cfg.servers[0].port, 5003);
  CHECK_STR_EQ(cfg.servers[1].host, "::1");
  CHECK_STR_EQ(cfg.servers[2].host, "example.com");
  CHECK_STR_EQ(cfg.servers[2].path, "/");
  lbsim_config_free(&cfg);
  CHECK(cfg.servers == NULL);
  CHECK_EQ(cfg.nservers, 0);
  /* the role flag may come after the servers */
  CHECK_EQ(PARSE("--server", "http://h:1/", "--client-only"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.nservers, 1);
  lbsim_config_free(&cfg);
}

TEST(seed) {
  CHECK_EQ(PARSE("--seed", "42"), LBSIM_PARSE_RUN);
  CHECK(cfg.seed_given);
  CHECK_EQ(cfg.seed, 42);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("-s", "0"), LBSIM_PARSE_RUN);
  CHECK(cfg.seed_given);
  CHECK_EQ(cfg.seed, 0);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("-s", "18446744073709551615"), LBSIM_PARSE_RUN);
  CHECK(cfg.seed == UINT64_MAX);
  lbsim_config_free(&cfg);
  /* a later parse starts again from the defaults */
  CHECK_EQ(PARSE("-n", "2"), LBSIM_PARSE_RUN);
  CHECK(!cfg.seed_given);
  lbsim_config_free(&cfg);
}

TEST(roles) {
  CHECK_EQ(PARSE("--backends-only"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_BACKENDS);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--backends-only", "--backends-only", "--host", "::1"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.role, LBSIM_ROLE_BACKENDS);
  CHECK_STR_EQ(cfg.host, "::1");
  lbsim_config_free(&cfg);
}

TEST(policies_and_shapes) {
  CHECK_EQ(PARSE("--policy", "round-robin"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.npolicies, 1);
  CHECK_STR_EQ(cfg.policies[0], "round-robin");
  CHECK(!cfg.compare);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--compare", "ema-greedy,p2c-peak-ewma,random", "-p", "0"), LBSIM_PARSE_RUN);
  CHECK(cfg.compare);
  CHECK_EQ(cfg.npolicies, 3);
  CHECK_STR_EQ(cfg.policies[0], "ema-greedy");
  CHECK_STR_EQ(cfg.policies[1], "p2c-peak-ewma");
  CHECK_STR_EQ(cfg.policies[2], "random");
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--rate", "250.5"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_RATE);
  CHECK(cfg.rate == 250.5);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("-c", "8", "--format", "json"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_CONCURRENCY);
  CHECK_EQ(cfg.concurrency, 8);
  CHECK(cfg.format == lbsim_format_find("json"));
  lbsim_config_free(&cfg);
}

TEST(port_base_limits) {
  CHECK_PARSE(LBSIM_PARSE_RUN, "--port-base", "65535", "-n", "1");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--port-base", "65531", "-n", "5");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--port-base", "0", "-n", "4096");
  /* ports of the backends do not matter to a client */
  CHECK_PARSE(LBSIM_PARSE_RUN, "--client-only", "--server", "http://h/", "--port-base", "65535", "-n", "9");
}

TEST(help_version_and_policy_list) {
  CHECK_PARSE(LBSIM_PARSE_HELP, "--help");
  CHECK_PARSE(LBSIM_PARSE_HELP, "-h");
  CHECK_PARSE(LBSIM_PARSE_VERSION, "--version");
  CHECK_PARSE(LBSIM_PARSE_VERSION, "-V");
  CHECK_PARSE(LBSIM_PARSE_POLICIES, "--policy", "help");
  /* --help needs no valid configuration otherwise ... */
  CHECK_PARSE(LBSIM_PARSE_HELP, "--client-only", "--help");
  /* ... but a bad option is still an error */
  CHECK_BAD("--bogus", "--help", "--bogus");
  CHECK_BAD("--burst", "--help", "--burst", "x");
}

TEST(non_numeric_values) {
  CHECK_BAD("--backends", "-n", "three");
  CHECK_BAD("--backends", "-n", "3x");
  CHECK_BAD("--backends", "-n", "");
  CHECK_BAD("--backends", "-n", " 3");
  CHECK_BAD("--backends", "-n", "2.5");
  CHECK_BAD("--sleep", "--sleep", "soon");
  CHECK_BAD("--sleep", "--sleep", "1s");
  CHECK_BAD("--sleep", "--sleep", ".");
  CHECK_BAD("--sleep", "--sleep", "");
  CHECK_BAD("--seed", "--seed", "abc");
  CHECK_BAD("--latency", "--latency", "fast");
  CHECK_BAD("--latency", "--latency", "1:");
  CHECK_BAD("--latency", "--latency", ":5");
  CHECK_BAD("--latency", "--latency", "1:2:3");
}

TEST(negative_values) {
  CHECK_BAD("--burst", "--burst", "-1");
  CHECK_BAD("--backends", "-n", "-3");
  CHECK_BAD("--sleep", "--sleep", "-0.5");
  CHECK_BAD("--timeout", "--timeout", "-1");
  CHECK_BAD("--latency", "--latency", "-5");
  CHECK_BAD("--latency", "--latency", "-5:10");
  CHECK_BAD("--seed", "--seed", "-1");
  CHECK_BAD("--rounds", "--rounds", "-2");
}

TEST(out_of_range_values) {
  CHECK_BAD("--alpha", "--alpha", "0");
  CHECK_BAD("--alpha", "--alpha", "1.5");
  CHECK_BAD("--explore", "--explore", "2");
  CHECK_BAD("--explore", "--explore", "1.0000001");
  CHECK_BAD("--timeout", "--timeout", "0");
  CHECK_BAD("--burst", "--burst", "0");
  CHECK_BAD("--port-base", "--port-base", "65536");
  CHECK_BAD("--latency", "--latency", "3600001");
  CHECK_BAD("--seed", "--seed", "18446744073709551616");
  CHECK_BAD("--backends", "-n", "99999999999999999999999");
}

TEST(backend_count_bounds) {
  CHECK_BAD("--backends", "-n", "0");
  CHECK_BAD("--backends", "-n", "4097");
  CHECK_BAD("--backends", "--backends", "4294967297"); /* 2^32 + 1 must not wrap to 1 */
}

TEST(special_float_spellings) {
  static const char *const values[] = {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "INF",
                                       "0x10", "0X1p3", "1e999", "-1e999"};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    CHECK_BAD("--sleep", "--sleep", values[i]);
    CHECK_BAD("--timeout", "--timeout", values[i]);
    CHECK_BAD("--latency", "--latency", values[i]);
    CHECK_BAD("--backends", "-n", values[i]);
    CHECK_BAD("--burst", "--burst", values[i]);
  }
  CHECK_BAD("--latency", "--latency", "1:nan");
  CHECK_BAD("--latency", "--latency", "inf:inf");
  CHECK_BAD("--rate", "--rate", "inf");
  CHECK_BAD("--rate", "--rate", "nan");
}

TEST(latency_min_above_max) {
  CHECK_BAD("--latency", "--latency", "5:1");
}

TEST(floor_above_ceil) {
  CHECK_BAD("--latency-floor", "--latency-floor", "100", "--latency-ceil", "50");
  CHECK_BAD("--latency-floor", "--latency-floor", "2001"); /* above the default ceil */
  CHECK_PARSE(LBSIM_PARSE_RUN, "--latency-floor", "100", "--latency-ceil", "100");
}

TEST(server_https_rejected) {
  CHECK_BAD("--server", "--client-only", "--server", "https://x");
  CHECK_BAD("https:// is not supported", "--client-only", "--server", "https://x");
  CHECK_BAD("--server", "--client-only", "--server", "http://ok/", "--server", "ftp://x");
}

TEST(role_and_server_combinations) {
  CHECK_BAD("--client-only", "--client-only");
  CHECK_BAD("--server", "--client-only");
  CHECK_BAD("--server", "--server", "http://127.0.0.1:5001/ping");
  CHECK_BAD("--server", "--backends-only", "--server", "http://127.0.0.1:5001/ping");
  CHECK_BAD("--client-only", "--backends-only", "--client-only");
  CHECK_BAD("--backends-only", "--client-only", "--server", "http://h/", "--backends-only");
}

TEST(unknown_options) {
  CHECK_BAD("--bogus", "--bogus");
  CHECK_BAD("--bogus", "--bogus=1");
  CHECK_BAD("-x", "-x");
  CHECK_BAD("-x", "-q", "-x");
}

/* A known long option given a value it does not take is not "unknown". */
TEST(flag_given_a_value) {
  CHECK_BAD("--quiet", "--quiet=1");
  CHECK_BAD("takes no value", "--quiet=1");
  CHECK_BAD("takes no value", "--client-only=yes", "--server", "http://h/");
  CHECK_BAD("--version", "--version=2");
}

TEST(missing_values) {
  CHECK_BAD("-n", "-n");
  CHECK_BAD("--sleep", "--sleep");
  CHECK_BAD("--server", "--client-only", "--server");
  CHECK_BAD("--seed", "-q", "--seed");
  CHECK_BAD("needs a value", "--timeout");
  /* an abbreviated long option is reported by its full name */
  CHECK_BAD("--timeout", "--timeo");
}

TEST(port_range_overflow) {
  CHECK_BAD("--port-base", "--port-base", "65535", "-n", "2");
  CHECK_BAD("--port-base", "--port-base", "65000", "-n", "537");
  /* with --compare each policy gets its own copy of the backends */
  CHECK_BAD("--port-base", "--port-base", "60000", "-n", "3000", "--compare", "random,round-robin");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--port-base", "60000", "-n", "2768", "--compare", "random,round-robin");
}

TEST(unexpected_positional_argument) {
  CHECK_BAD("extra", "extra");
  CHECK_BAD("5", "-n", "3", "5");
  CHECK_BAD("http://h/", "--client-only", "http://h/");
}

TEST(policy_names) {
  CHECK_BAD("nope", "--policy", "nope");
  CHECK_BAD("policy", "--policy", "nope");
  CHECK_BAD("policy", "--policy", "");
  CHECK_BAD("policy", "--policy", "a-policy-name-that-is-far-too-long-for-the-table");
}

TEST(compare_lists) {
  CHECK_BAD("'a'", "--compare", "a,a");
  CHECK_BAD("twice", "--compare", "random,random");
  CHECK_BAD("twice", "--compare", "ema-greedy,random,ema-greedy");
  CHECK_BAD("policy", "--compare", "random,");
  CHECK_BAD("policy", "--compare", ",random");
  CHECK_BAD("policy", "--compare", "");
  CHECK_BAD("--compare", "--compare", "random", "--compare", "round-robin");
  CHECK_BAD("--compare", "--policy", "random", "--compare", "round-robin,random");
  CHECK_BAD("--compare", "--compare", "round-robin,random", "--policy", "random");
}

TEST(compare_needs_its_own_backends) {
  CHECK_BAD("--compare", "--compare", "ema-greedy", "--client-only", "--server", "http://x/");
  CHECK_BAD("--compare", "--compare", "ema-greedy,random", "--backends-only");
}

TEST(traffic_shapes) {
  CHECK_BAD("--rate", "--rate", "0");
  CHECK_BAD("--rate", "--rate", "-5");
  CHECK_BAD("--concurrency", "--concurrency", "0");
  CHECK_BAD("--concurrency", "--concurrency", "1.5");
  CHECK_BAD("--concurrency", "--rate", "5", "--concurrency", "3");
  CHECK_BAD("--rate", "--concurrency", "3", "--rate", "5");
}

TEST(output_format) {
  CHECK_BAD("--format", "--format", "xml");
  CHECK_BAD("--format", "--format", "JSON");
  CHECK_BAD("--format", "-f", "");
}

TEST(host_must_be_an_address) {
  CHECK_BAD("--host", "--host", "localhost");
  CHECK_BAD("--host", "--host", "256.0.0.1");
  CHECK_BAD("--host", "--host", "");
}

/* Many parses in one process: each starts from scratch (getopt state included). */
TEST(repeated_parses_are_independent) {
  for (int i = 0; i < 50; i++) {
    CHECK_BAD("--burst", "-q", "--burst", "0");
    CHECK_EQ(PARSE("--burst", "9"), LBSIM_PARSE_RUN);
    CHECK_EQ(cfg.burst, 9);
    CHECK(!cfg.quiet);
    lbsim_config_free(&cfg);
  }
}

TEST(error_message_fits_small_buffers) {
  char small[16];
  CHECK_EQ(cmdline_parse(&cfg, small, sizeof(small), "--bogus-option-with-a-long-name", (const char *)NULL),
           LBSIM_PARSE_ERROR);
  lbsim_config_free(&cfg);
  CHECK_EQ(strlen(small), sizeof(small) - 1);
}

/* ---- around the pick: retries, ejection, slow start --------------------------- */

TEST(the_tools_around_the_pick_are_off_by_default_with_documented_defaults) {
  CHECK_EQ(PARSE(NULL), LBSIM_PARSE_RUN);
  CHECK(!lbsim_config_tools(&cfg));
  CHECK(cfg.retry.retries == 0 && cfg.retry.deadline_s == 0 && !cfg.retry.budget && !cfg.retry.throttle);
  CHECK_EQ(cfg.retry.on, LBSIM_RETRY_ON_ALL);
  CHECK(cfg.retry.backoff_ms == 25 && cfg.retry.backoff_max_ms == 250 && cfg.retry.backoff_multiplier == 2);
  /* Envoy's defaults */
  CHECK(!cfg.outlier.on && cfg.outlier.consecutive_5xx == 5 && cfg.outlier.interval_s == 10);
  CHECK(cfg.outlier.base_s == 30 && cfg.outlier.max_s == 300 && cfg.outlier.max_percent == 10);
  CHECK(cfg.outlier.enforcing_5xx == 100 && cfg.outlier.sr_min_hosts == 5 && cfg.outlier.sr_volume == 100);
  CHECK(cfg.outlier.sr_stdev_factor == 1.9 && !cfg.outlier.split);
  CHECK(cfg.slow_start.window_s == 0 && cfg.slow_start.aggression == 1 && cfg.slow_start.min_weight_pct == 10);
  CHECK(cfg.weights == NULL);
  lbsim_config_free(&cfg);
}

TEST(retries_budgets_and_throttles_are_read) {
  CHECK_EQ(PARSE("--retries", "3", "--retry-on", "5xx,timeout", "--retry-budget", "20", "--deadline", "1.5"),
           LBSIM_PARSE_RUN);
  CHECK(lbsim_config_tools(&cfg));
  CHECK(cfg.retry.retries == 3 && cfg.retry.on == (LBSIM_RETRY_ON_5XX | LBSIM_RETRY_ON_TIMEOUT));
  CHECK(cfg.retry.budget && cfg.retry.budget_pct == 20 && cfg.retry.budget_min_per_s == 10);
  CHECK(cfg.retry.deadline_s == 1.5);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--retries", "1", "--retry-budget", "12.5,0", "--retry-throttle", "100,0.25"), LBSIM_PARSE_RUN);
  CHECK(cfg.retry.budget_pct == 12.5 && cfg.retry.budget_min_per_s == 0);
  CHECK(cfg.retry.throttle && cfg.retry.throttle_tokens == 100 && cfg.retry.throttle_ratio == 0.25);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--outlier-ejection", "--outlier-split-local-origin", "--outlier-interval", "2",
                 "--outlier-max-ejection-percent", "50", "--lb-slow-start", "30", "--lb-slow-start-aggression", "2",
                 "-n", "3", "--weights", "1,2,0.5"),
           LBSIM_PARSE_RUN);
  CHECK(cfg.outlier.on && cfg.outlier.split && cfg.outlier.interval_s == 2 && cfg.outlier.max_percent == 50);
  CHECK(cfg.slow_start.window_s == 30 && cfg.slow_start.aggression == 2);
  CHECK(cfg.nweights == 3 && cfg.weights[1] == 2 && cfg.weights[2] == 0.5);
  lbsim_config_free(&cfg);
  /* A deadline, or weights, alone turn the tools on. */
  CHECK_EQ(PARSE("--deadline", "2"), LBSIM_PARSE_RUN);
  CHECK(lbsim_config_tools(&cfg));
  lbsim_config_free(&cfg);
}

TEST(bad_retries_ejection_and_weights_are_refused_with_one_line) {
  CHECK_BAD("--deadline", "--deadline", "-1");
  CHECK_BAD("--deadline", "--deadline", "86401");
  CHECK_BAD("--retries", "--retries", "101");
  CHECK_BAD("--retries", "--retries", "-2");
  CHECK_BAD("--retry-backoff", "--retries", "1", "--retry-backoff", "-5");
  CHECK_BAD("--retry-backoff-max", "--retries", "1", "--retry-backoff-max", "1e9");
  CHECK_BAD("--retry-backoff-multiplier", "--retries", "1", "--retry-backoff-multiplier", "0");
  CHECK_BAD("'refused' is not connect", "--retries", "1", "--retry-on", "refused");
  CHECK_BAD("--retry-on", "--retries", "1", "--retry-on", "");
  CHECK_BAD("PCT must be a number: 0..100 %", "--retries", "1", "--retry-budget", "120");
  CHECK_BAD("--retry-budget", "--retries", "1", "--retry-budget", "-1");
  CHECK_BAD("MIN_PER_S", "--retries", "1", "--retry-budget", "20,x");
  CHECK_BAD("MIN_PER_S", "--retries", "1", "--retry-budget", "20,-1");
  CHECK_BAD("--retry-budget tunes retries: it needs --retries N above 0", "--retry-budget", "20");
  CHECK_BAD("--retry-throttle tunes retries", "--retries", "0", "--retry-throttle", "10,0.1");
  CHECK_BAD("--retry-on tunes retries", "--retry-on", "5xx");
  CHECK_BAD("RATIO must be a number: (0, 1000]", "--retries", "1", "--retry-throttle", "10,0");
  CHECK_BAD("RATIO", "--retries", "1", "--retry-throttle", "10,-0.5");
  CHECK_BAD("expected MAX_TOKENS,RATIO", "--retries", "1", "--retry-throttle", "10");
  CHECK_BAD("MAX_TOKENS", "--retries", "1", "--retry-throttle", "0,0.1");
  CHECK_BAD("MAX_TOKENS", "--retries", "1", "--retry-throttle", "1001,0.1");
  CHECK_BAD("--outlier-interval tunes outlier ejection: it needs --outlier-ejection", "--outlier-interval", "5");
  CHECK_BAD("--outlier-split-local-origin", "--outlier-split-local-origin");
  CHECK_BAD("--outlier-max-ejection-percent", "--outlier-ejection", "--outlier-max-ejection-percent", "101");
  CHECK_BAD("--outlier-consecutive-5xx", "--outlier-ejection", "--outlier-consecutive-5xx", "0");
  CHECK_BAD("shorter than --outlier-base-ejection-time", "--outlier-ejection", "--outlier-max-ejection-time", "10");
  CHECK_BAD("--outlier-interval", "--outlier-ejection", "--outlier-interval", "0");
  CHECK_BAD("--lb-slow-start", "--lb-slow-start", "-3");
  CHECK_BAD("--lb-slow-start-min-weight", "--lb-slow-start", "3", "--lb-slow-start-min-weight", "120");
  CHECK_BAD("--lb-slow-start-aggression", "--lb-slow-start", "3", "--lb-slow-start-aggression", "0");
  CHECK_BAD("it needs --lb-slow-start S above 0", "--lb-slow-start-aggression", "2");
  CHECK_BAD("--weights gives 2 weights for 5 backends", "--weights", "1,2");
  CHECK_BAD("weight 2 '0' must be a number: (0, 1000000]", "-n", "3", "--weights", "1,0,1");
  CHECK_BAD("weight 3", "-n", "3", "--weights", "1,1,-2");
  CHECK_BAD("weight 2 is empty", "-n", "3", "--weights", "1,,1");
  CHECK_BAD("--weights gives one weight per backend", "--clock", "virtual", "--rounds", "1", "-n", "2",
            "--weights", "1,1", "--sweep", "backends=2,3");
  CHECK_BAD("--backends-only", "--backends-only", "--retries", "2");
  /* A swept tuning needs its tool as a given one does; a swept tool satisfies it. */
  CHECK_BAD("--outlier-interval tunes outlier ejection", "--clock", "virtual", "--rounds", "1", "--sweep",
            "outlier-interval=1,2");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--clock", "virtual", "--rounds", "1", "--retry-budget", "20", "--sweep",
              "retries=0,3");
}

TEST(the_metastable_replay_is_a_row_of_options) {
  CHECK_EQ(PARSE("--replay", "metastable"), LBSIM_PARSE_RUN);
  CHECK(cfg.clients == 20 && cfg.backends == 10 && cfg.capacity == 10 && cfg.retry.retries == 3);
  CHECK(cfg.rate == 6500 && cfg.timeout_s == 0.05 && !cfg.compare);
  CHECK_STR_EQ(cfg.policies[0], "round-robin");
  CHECK_EQ(cfg.scenario.nevents, 2); /* every backend 3x slower from 20 s to 30 s */
  CHECK(cfg.scenario.events[0].backend == LBSIM_ALL_BACKENDS && cfg.scenario.events[0].value == 30);
  lbsim_config_free(&cfg);
  /* Later options override it, a comparison included. */
  CHECK_EQ(PARSE("--replay", "metastable", "--retry-budget", "20", "--compare", "round-robin,p2c-peak-ewma"),
           LBSIM_PARSE_RUN);
  CHECK(cfg.retry.budget && cfg.compare && cfg.npolicies == 2);
  lbsim_config_free(&cfg);
  CHECK_BAD("linkerd, tower or metastable", "--replay", "storm");
}

/* ---- the edges of the input space (issue 21) ---- */

TEST(numbers_have_one_grammar_and_integers_are_numbers) {
  CHECK_EQ(PARSE("--burst", "1e3", "--rounds", "2e0", "--backends", "+7"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.burst, 1000);
  CHECK_EQ(cfg.rounds, 2);
  CHECK_EQ(cfg.backends, 7);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--alpha", "1e-320"), LBSIM_PARSE_RUN);
  CHECK(cfg.alpha > 0);
  lbsim_config_free(&cfg);
  CHECK_BAD("expected an integer: 1..1000000", "--burst", "2.5");
  CHECK_BAD("invalid --latency '0x14'", "--latency", "0x14");
  CHECK_BAD("invalid --metrics", "--metrics", "127.0.0.1:0x10");
  CHECK_BAD("bad exp parameter '0x14'", "--jitter", "exp:0x14");
  CHECK_BAD("expected a number: (0, 1]", "--alpha", "1e-400");
  CHECK_BAD("expected an integer: 0..18446744073709551615", "--seed", "1e3");
}

TEST(every_time_is_a_nanosecond_at_least_and_at_most_the_longest_run) {
  CHECK_BAD("expected a number: 0 or 0.001..86400 s", "--drift-period", "1e-300");
  CHECK_BAD("expected a number: 0.001..86400 s", "--interval", "1e-300");
  CHECK_BAD("expected a number: 0 or 0.000000001..86400 s", "--sleep", "1e-10");
  CHECK_BAD("expected a number: 0.000000001..86400 s", "--timeout", "1e-10");
  CHECK_BAD("expected a number: 0 or 0.000000001..31536000 s", "--duration", "1e8");
  CHECK_BAD("expected a number: 0.000001..10000000 req/s", "--rate", "1e-9");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--sleep", "1e-9", "--drift-period", "0.001", "--duration", "31536000");
  /* What --time-scale makes of --duration is checked as --duration is. */
  CHECK_BAD("below 1 ns", "--duration", "1e-6", "--time-scale", "1e-6");
  CHECK_BAD("longer than a run may last", "--duration", "1e6", "--time-scale", "1000");
  CHECK_EQ(PARSE("--duration", "2", "--time-scale", "0.5", "--requests", "3"), LBSIM_PARSE_RUN);
  CHECK(cfg.duration_s == 1 && cfg.requests == 2);
  lbsim_config_free(&cfg);
}

TEST(an_end_beyond_the_longest_run_is_refused) {
  CHECK_BAD("250000 rounds with --sleep 86400 last at least", "--clock", "virtual", "--sleep", "86400", "--rounds",
            "250000");
  CHECK_BAD("--requests 100 at --rate 1e-06 take some", "--clock", "virtual", "--rate", "1e-6", "--requests", "100");
  /* A --duration ends them sooner. */
  CHECK_PARSE(LBSIM_PARSE_RUN, "--clock", "virtual", "--sleep", "86400", "--rounds", "250000", "--duration", "10");
  /* Rounds that --requests ends sooner are no more than it needs. */
  CHECK_PARSE(LBSIM_PARSE_RUN, "--clock", "virtual", "--sleep", "86400", "--rounds", "250000", "--requests", "100");
  /* A swept rate counts by its least value. */
  CHECK_BAD("at --rate 1e-06", "--sweep", "rate=1e-6,5", "--requests", "100");
}

TEST(options_that_would_have_no_effect_are_refused) {
  CHECK_BAD("--burst is the size of a round: --rate sends no rounds", "--rate", "5", "--burst", "3");
  CHECK_BAD("--sleep is the pause between rounds: --concurrency sends no rounds", "--sleep", "0", "-c", "3");
  CHECK_BAD("--burst is the size of a round: --concurrency (from --replay tower) sends no rounds", "--burst", "3",
            "--replay", "tower");
  CHECK_BAD("--sweep rate sends no rounds", "--burst", "3", "--sweep", "rate=1,2", "-r", "1");
  CHECK_BAD("--backends-only runs no client", "--backends-only", "--rounds", "3");
  CHECK_BAD("--duration ends the client's traffic", "--backends-only", "--duration", "3");
  CHECK_BAD("--requests ends the client's traffic", "--backends-only", "--requests", "3");
}

TEST(a_replay_takes_its_place_and_the_later_option_wins) {
  /* After the replay: the user's shape and policy replace its own. */
  CHECK_EQ(PARSE("--replay", "tower", "--rate", "5"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_RATE);
  CHECK(cfg.rate == 5);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--replay", "linkerd", "--policy", "random"), LBSIM_PARSE_RUN);
  CHECK(!cfg.compare && cfg.npolicies == 1);
  CHECK_STR_EQ(cfg.policies[0], "random");
  lbsim_config_free(&cfg);
  /* Before it: the replay's replace the user's. */
  CHECK_EQ(PARSE("--policy", "random", "--replay", "linkerd"), LBSIM_PARSE_RUN);
  CHECK(cfg.compare && cfg.npolicies == 3);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--rate", "5", "--replay", "tower"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_CONCURRENCY);
  lbsim_config_free(&cfg);
  CHECK_EQ(PARSE("--backends", "3", "--replay", "tower"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.backends, 10);
  lbsim_config_free(&cfg);
  /* Abbreviated, with =, it is found where it stands; never as a value. */
  CHECK_EQ(PARSE("--repl=tower", "--rate", "5"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.shape, LBSIM_SHAPE_RATE);
  CHECK_STR_EQ(cfg.replay, "tower");
  lbsim_config_free(&cfg);
  CHECK_BAD("--replay given twice", "--replay", "tower", "--replay", "linkerd");
  CHECK_BAD("unknown --replay", "--replay", "nope");
  /* The user's own two still cannot be combined. */
  CHECK_BAD("--rate and --concurrency cannot be combined", "--replay", "tower", "--rate", "5", "-c", "3");
  CHECK_BAD("--policy and --compare cannot be combined", "--compare", "random", "--policy", "random", "--replay",
            "tower");
}

TEST(an_ambiguous_abbreviation_is_named) {
  CHECK_BAD("ambiguous option '--max': it abbreviates --max-conns, --max-header-bytes", "--max", "5");
  CHECK_BAD("ambiguous option '--re'", "--re=5");
  CHECK_BAD("unknown option '--bogus'", "--bogus");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--max-c", "5");
}

TEST(the_events_history_in_the_environment_is_checked_with_the_options) {
  setenv("LBSIM_EVENTS_HISTORY", "-1", 1);
  CHECK_BAD("invalid LBSIM_EVENTS_HISTORY '-1': expected an integer: 1024..1073741824 bytes", "--admin", "0");
  setenv("LBSIM_EVENTS_HISTORY", "0x1000", 1);
  CHECK_BAD("invalid LBSIM_EVENTS_HISTORY '0x1000'", "--admin", "0");
  CHECK_PARSE(LBSIM_PARSE_RUN, "--backends", "3"); /* read by the admin only */
  setenv("LBSIM_EVENTS_HISTORY", "1e6", 1);
  CHECK_EQ(PARSE("--admin", "0"), LBSIM_PARSE_RUN);
  CHECK_EQ(cfg.events_history, 1000000);
  lbsim_config_free(&cfg);
  unsetenv("LBSIM_EVENTS_HISTORY");
}

TEST(a_report_over_its_input_is_refused) {
  char path[] = "/tmp/lbsim-test-config-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, "at 1s all down\n", 15) == 15);
  close(fd);
  CHECK_BAD("lbsim does not write over its input", "--scenario", path, "--report", path);
  CHECK_BAD("cannot read scenario /tmp: Is a directory", "--scenario", "/tmp");
  unlink(path);
}

TEST(a_message_quotes_input_escaped_and_keeps_its_reason) {
  CHECK_BAD("invalid --burst '\\v5'", "--burst", "\v5");
  char host[3000] = "http://";
  memset(host + 7, 'a', 2500);
  strcpy(host + 2507, ":80/");
  CHECK_BAD("...': URL longer than 2048 bytes", "--client-only", "--server", host);
  CHECK(strlen(err) < 300);
}

/* ---- a sweep's description ------------------------------------------------- */

typedef struct described_s {
  char text[4096];
} described_t;

static void gather(void *data, const char *arg) {
  described_t *d = data;
  size_t len = strlen(d->text);
  snprintf(d->text + len, sizeof(d->text) - len, "%s|", arg);
}

/* Each argument of description d (cfg's, which it may overwrite), set on
 * the defaults, gives a configuration described the same way. */
static void check_reads_back(described_t *d) {
  described_t again = {""};
  lbsim_config_t copy;
  lbsim_config_defaults(&copy);
  for (char *arg = d->text, *bar; (bar = strchr(arg, '|')) != NULL; arg = bar + 1) {
    *bar = '\0';
    CHECK_MSG(lbsim_config_set(&copy, arg, err, sizeof(err)) == 0, "%s: %s", arg, err);
  }
  lbsim_config_describe(&copy, gather, &again);
  d->text[0] = '\0';
  lbsim_config_describe(&cfg, gather, d);
  lbsim_config_free(&copy);
  CHECK_STR_EQ(again.text, d->text);
}

TEST(a_description_names_every_option_a_run_depends_on_and_reads_back) {
  CHECK_EQ(PARSE("--sweep", "alpha=0.1:0.3:0.1", "--sweep", "rate=100,200", "--compare", "ema-greedy,round-robin",
                 "--duration", "3", "--seed", "9", "--seeds", "4", "--jitter", "exp:0.1", "--latency", "5",
                 "--time-scale", "2", "--format", "json", "--max-conns", "7", "-q"),
           LBSIM_PARSE_RUN);
  described_t d = {""};
  lbsim_config_describe(&cfg, gather, &d);
  /* Exact numbers, the swept values listed, --duration as it runs (scaled). */
  CHECK_MSG(strstr(d.text, "|--sweep=alpha=0.1,0.2,0.3|--sweep=rate=100,200|") != NULL, "%s", d.text);
  CHECK_MSG(strstr(d.text, "|--latency=5:5|") && strstr(d.text, "|--jitter=exp:0.1|"), "%s", d.text);
  CHECK_MSG(strstr(d.text, "|--duration=6|") && strstr(d.text, "|--time-scale=2|"), "%s", d.text);
  CHECK_MSG(strstr(d.text, "|--compare=ema-greedy,round-robin|") && !strstr(d.text, "--policy="), "%s", d.text);
  CHECK_MSG(strstr(d.text, "|--seed=9|") && strstr(d.text, "|--seeds=4|"), "%s", d.text);
  /* Neither the output nor the sockets' tuning. */
  CHECK_MSG(!strstr(d.text, "--format") && !strstr(d.text, "--max-conns") && !strstr(d.text, "--quiet") &&
                !strstr(d.text, "--concurrency"),
            "%s", d.text);
  check_reads_back(&d);
  lbsim_config_free(&cfg);
  lbsim_config_t copy;
  lbsim_config_defaults(&copy);
  CHECK(lbsim_config_set(&copy, "--format=json", err, sizeof(err)) == LBSIM_EINVAL);
  CHECK(lbsim_config_set(&copy, "alpha=0.3", err, sizeof(err)) == LBSIM_EINVAL);
  lbsim_config_free(&copy);
}

/* The tools around the pick are in a description, and read back from it. */
TEST(a_description_carries_the_tools_around_the_pick) {
  CHECK_EQ(PARSE("--sweep", "retries=1,3", "--duration", "3", "--retry-budget", "12.5,4", "--retry-throttle",
                 "8,0.25", "--retry-on", "timeout,connect", "--deadline", "2", "-n", "3", "--weights", "1,2.5,1",
                 "--outlier-ejection", "--outlier-split-local-origin", "--lb-slow-start", "7"),
           LBSIM_PARSE_RUN);
  described_t d = {""};
  lbsim_config_describe(&cfg, gather, &d);
  static const char *const parts[] = {"|--retry-budget=12.5,4|", "|--retry-throttle=8,0.25|",
                                      "|--retry-on=connect,timeout|", "|--deadline=2|", "|--weights=1,2.5,1|",
                                      "|--outlier-ejection=on|", "|--outlier-split-local-origin=on|",
                                      "|--lb-slow-start=7|", "|--outlier-interval=10|", "|--sweep=retries=1,3|"};
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
    CHECK_MSG(strstr(d.text, parts[i]) != NULL, "no %s in %s", parts[i], d.text);
  check_reads_back(&d);
  lbsim_config_free(&cfg);
  /* Off, they are not there at all. */
  CHECK_EQ(PARSE("--clock", "virtual", "--rounds", "1"), LBSIM_PARSE_RUN);
  d.text[0] = '\0';
  lbsim_config_describe(&cfg, gather, &d);
  CHECK_MSG(!strstr(d.text, "--retry-budget") && !strstr(d.text, "--weights") && !strstr(d.text, "--outlier-ejection"),
            "%s", d.text);
  lbsim_config_free(&cfg);
}

TEST(seeds_shard_and_resume_belong_to_a_sweep) {
  const char *sweep[] = {"--sweep", "alpha=0.1,0.2", "--rounds", "3"};
  CHECK_PARSE(LBSIM_PARSE_RUN, sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", "2/3", "--seeds",
              "1", "--resume", "part.2");
  CHECK_BAD("--seeds", "--clock", "virtual", "--rounds", "3", "--seeds", "2");
  CHECK_BAD("--shard runs a share of a sweep: it needs --sweep", "--clock", "virtual", "--rounds", "3", "--shard",
            "0/2");
  CHECK_BAD("--resume", "--clock", "virtual", "--rounds", "3", "--resume", "x");
  CHECK_BAD("--seeds '0'", sweep[0], sweep[1], sweep[2], sweep[3], "--seeds", "0");
  CHECK_BAD("--seeds '1001'", sweep[0], sweep[1], sweep[2], sweep[3], "--seeds", "1001");
  CHECK_BAD("K must be below N", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", "3/3");
  CHECK_BAD("N must be in 1..", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", "0/0");
  static const char *const bad_shards[] = {"1", "/2", "1/", "-1/2", " 1/2", "1/2x", "a/b", "99999999999999999999/2"};
  for (size_t i = 0; i < sizeof(bad_shards) / sizeof(bad_shards[0]); i++)
    CHECK_BAD("expected K/N", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", bad_shards[i]);
  CHECK_BAD("--shard needs --seed", sweep[0], sweep[1], sweep[2], sweep[3], "--shard", "0/2");
  CHECK_BAD("--resume needs --seed", sweep[0], sweep[1], sweep[2], sweep[3], "--resume", "x");
  CHECK_BAD("give --report to lbsim merge", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", "0/2",
            "--report", "x.svg");
  CHECK_BAD("give --format to lbsim merge", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--shard", "0/2",
            "--format", "json");
  CHECK_BAD("--resume x.svg is also the --report", sweep[0], sweep[1], sweep[2], sweep[3], "--seed", "1", "--resume",
            "x.svg", "--report", "x.svg");
  CHECK_BAD("at most 1000000", "--sweep", "alpha=0.0001:1:0.0001", sweep[2], sweep[3], "--compare",
            "ema-greedy,ema-softmax", "--seeds", "100");
}
