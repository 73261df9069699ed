#include "lbsim/cli/config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/file.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"
#include "lbsim/balancer/policy.h"
#include "lbsim/report/report.h"

/* How an option's argument is read and where it is stored. */
typedef enum opt_kind_e {
  OPT_FLAG,      /* no argument: sets a bool */
  OPT_ROLE,      /* no argument: sets cfg->role to `role` */
  OPT_UINT32,    /* a number of the range, into a uint32_t */
  OPT_UINT64,    /* a number of the range, into a uint64_t */
  OPT_BURST,     /* --burst: an OPT_UINT32 that, swept, also picks the bursts' shape */
  OPT_DOUBLE,    /* a number of the range, into a double */
  OPT_LATENCY,   /* MS or MIN:MAX, each of the range */
  OPT_HOST,      /* bind address */
  OPT_SERVER,    /* repeatable URL */
  OPT_SEED,
  OPT_POLICY,    /* one policy name, or "help" */
  OPT_COMPARE,   /* comma-separated policy names */
  OPT_SHAPE,     /* --rate / --concurrency: a number that also picks the shape */
  OPT_FORMAT,
  OPT_CLOCK,
  OPT_SWEEP,     /* repeatable NAME=VALUES (sweep.h) */
  OPT_SWEEP_METRIC,
  OPT_SHARD,     /* K/N (sweep.h) */
  OPT_JITTER,
  OPT_PATH,      /* a file name into a char[1024] */
  OPT_SCENARIO,  /* a scenario file's name (loaded once every option is read) */
  OPT_ADMIN,
  OPT_METRICS,
  OPT_REPLAY,    /* the replay's options take its place, see lbsim_config_parse */
  OPT_SUBSET_MODE,
  OPT_RETRY_ON,       /* a comma list of failure kinds */
  OPT_RETRY_BUDGET,   /* PCT[,MIN_PER_S]: the range is PCT's, and a sweep's */
  OPT_RETRY_THROTTLE, /* MAX_TOKENS,RATIO: the range is MAX_TOKENS', and a sweep's */
  OPT_WEIGHTS,        /* W1,W2,...: one per backend, each of the range */
  OPT_HELP,
  OPT_VERSION
} opt_kind_t;

/* What an option's value decides. The default is a run's: an option added
 * to the table is described and, when it takes one number, sweepable,
 * unless its row says otherwise. */
typedef enum opt_affects_e {
  AFFECTS_RUN = 0,   /* what a run does, on either clock: in a sweep's description; sweepable */
  AFFECTS_RUNS,      /* which runs a sweep has (--sweep, --seed, --seeds): described, not swept */
  AFFECTS_NO_RUN     /* the sockets alone, the output, the command itself */
} opt_affects_t;

typedef struct opt_s {
  const char *name;
  int short_name;          /* 0: long only */
  const char *metavar;     /* NULL: no argument */
  opt_kind_t kind;
  size_t offset;           /* into lbsim_config_t */
  lbsim_range_t range;     /* of a number (lbsim/base/number.h) */
  const char *help;
  const char *default_text;
  const char *section;     /* starts a new help section when set */
  int role;                /* OPT_ROLE: the role it sets */
  opt_affects_t affects;   /* given only where it is not AFFECTS_RUN */
} opt_t;

#define OFF(field) offsetof(lbsim_config_t, field)
#define NO_RANGE {0, 0, false, false, false, NULL}
#define INT(lo, hi) {lo, hi, false, false, true, NULL}
#define INT_UNIT(lo, hi, unit) {lo, hi, false, false, true, unit}
#define NS_S 0.000000001 /* 1 ns in seconds */
#define NS_MS 0.000001   /* 1 ns in milliseconds */

/* One row per option: parsing, validation, --help, sweeps and a sweep's
 * description all come from here. The rows leave out `affects` where it is
 * AFFECTS_RUN, hence no warning about fields left out. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const opt_t options[] = {
  {"backends-only", 0, NULL, OPT_ROLE, 0, NO_RANGE,
   "run only the simulated backends", NULL, "Roles (default: backends and client on one loop, the demo)", LBSIM_ROLE_BACKENDS, .affects = AFFECTS_NO_RUN},
  {"client-only", 0, NULL, OPT_ROLE, 0, NO_RANGE,
   "run only the balancer client against --server URLs", NULL, NULL, LBSIM_ROLE_CLIENT, .affects = AFFECTS_NO_RUN},
  {"backends", 'n', "N", OPT_UINT32, OFF(backends), INT(1, LBSIM_MAX_BACKENDS),
   "number of simulated backends", "5", "Backends", 0},
  {"host", 0, "ADDR", OPT_HOST, OFF(host), NO_RANGE,
   "bind address of the backends (IPv4 or IPv6 literal)", "127.0.0.1", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"port-base", 'p', "P", OPT_UINT32, OFF(port_base), INT(0, 65535),
   "backend i listens on P+i-1; 0 = ports chosen by the OS", "5001", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"latency", 0, "MS|MIN:MAX", OPT_LATENCY, OFF(latency), {NS_MS, 3600000, false, true, false, "ms"},
   "initial latency per backend: fixed, or uniform in [MIN,MAX]", "100:1500", NULL, 0},
  {"drift-period", 0, "S", OPT_DOUBLE, OFF(drift_period_s), {0.001, 86400, false, true, false, "s"},
   "seconds between drift steps; 0 = no drift", "5", NULL, 0},
  {"drift-step", 0, "MS", OPT_DOUBLE, OFF(latency.step_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "each drift step is uniform in [-MS,+MS]", "100", NULL, 0},
  {"latency-floor", 0, "MS", OPT_DOUBLE, OFF(latency.floor_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "lowest latency after a drift step", "50", NULL, 0},
  {"latency-ceil", 0, "MS", OPT_DOUBLE, OFF(latency.ceil_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "highest latency after a drift step", "2000", NULL, 0},
  {"max-conns", 0, "N", OPT_UINT32, OFF(max_conns), INT(1, 1000000),
   "connections per backend; beyond it new ones get 503 and are closed", "10000", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"max-header-bytes", 0, "B", OPT_UINT32, OFF(max_header_bytes), INT_UNIT(256, 1048576, "bytes"),
   "request line and headers larger than this -> 431", "8192", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"max-url-bytes", 0, "B", OPT_UINT32, OFF(max_url_bytes), INT_UNIT(16, 1048576, "bytes"),
   "request target longer than this -> 414", "4096", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"max-body-bytes", 0, "B", OPT_UINT32, OFF(max_body_bytes), INT_UNIT(0, 1073741824, "bytes"),
   "request body larger than this -> 413", "65536", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"max-pipeline", 0, "N", OPT_UINT32, OFF(max_pipeline), INT(1, 65536),
   "requests queued per connection before reading pauses", "64", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"max-output-bytes", 0, "B", OPT_UINT32, OFF(max_output_bytes), INT_UNIT(1024, 1073741824, "bytes"),
   "unsent output per connection before reading pauses", "65536", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"header-timeout", 0, "S", OPT_DOUBLE, OFF(header_timeout_s), {NS_S, 3600, false, false, false, "s"},
   "a request (headers and body) must arrive within S", "10", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"idle-timeout", 0, "S", OPT_DOUBLE, OFF(idle_timeout_s), {NS_S, 86400, false, false, false, "s"},
   "idle keep-alive connections are closed after S", "15", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"server", 0, "URL", OPT_SERVER, 0, NO_RANGE,
   "backend URL http://host:port/path (repeatable, in order)", "the built-in backends", "Client", 0, .affects = AFFECTS_NO_RUN},
  {"alpha", 'a', "A", OPT_DOUBLE, OFF(alpha), {0, 1, true, false, false, NULL},
   "EMA weight of the newest latency sample", "0.3", NULL, 0},
  {"explore", 'e', "P", OPT_DOUBLE, OFF(explore), {0, 1, false, false, false, NULL},
   "probability of picking a random other backend", "0.05", NULL, 0},
  {"burst", 'b', "N", OPT_BURST, OFF(burst), INT(1, 1000000),
   "requests launched together per round", "100", NULL, 0},
  {"sleep", 0, "S", OPT_DOUBLE, OFF(sleep_s), {NS_S, 86400, false, true, false, "s"},
   "pause between rounds", "1", NULL, 0},
  {"rounds", 'r', "N", OPT_UINT64, OFF(rounds), INT(0, 1e15),
   "stop after N rounds; 0 = until SIGINT/SIGTERM", "0", NULL, 0},
  {"duration", 'd', "S", OPT_DOUBLE, OFF(duration_s), {NS_S, LBSIM_RUN_MAX_S, false, true, false, "s"},
   "start no new round after S seconds; 0 = no limit", "0", NULL, 0},
  {"requests", 0, "N", OPT_UINT64, OFF(requests), INT(0, 1e15),
   "launch no more than N requests (per compared policy, shared by its clients); 0 = no limit", "0", NULL, 0},
  {"timeout", 't', "S", OPT_DOUBLE, OFF(timeout_s), {NS_S, 86400, false, false, false, "s"},
   "per-request deadline: connect, send and the whole response", "5", NULL, 0},
  {"failure-latency", 0, "MS", OPT_DOUBLE, OFF(failure_latency_ms), {NS_MS, 86400000, false, true, false, "ms"},
   "latency fed to the estimator for a failed request", "10000", NULL, 0},
  {"pool-size", 0, "N", OPT_UINT32, OFF(pool_size), INT(0, 1000000),
   "connections per backend, requests queue beyond; 0 = one per request in flight", "0", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"client-idle", 0, "S", OPT_DOUBLE, OFF(client_idle_s), {NS_S, 86400, false, false, false, "s"},
   "idle client connections are closed after S (keep below the server's)", "4", NULL, 0},
  {"clients", 0, "N", OPT_UINT32, OFF(clients), INT(1, LBSIM_MAX_CLIENTS),
   "independent balancers, each with its own state and share of the traffic", "1", "Fleet", 0},
  {"subset", 0, "K", OPT_UINT32, OFF(subset), INT(1, LBSIM_MAX_BACKENDS),
   "each client uses K of the backends (its subset)", "all", NULL, 0},
  {"subset-mode", 0, "MODE", OPT_SUBSET_MODE, 0, NO_RANGE,
   "how subsets are drawn: random, or deterministic (the SRE book's rounds)", "random", NULL, 0},
  {"warmup", 0, "S", OPT_DOUBLE, OFF(warmup_s), {NS_S, LBSIM_RUN_MAX_S, false, true, false, "s"},
   "the first S seconds are run but not counted", "0", NULL, 0},
  {"load-reports", 0, NULL, OPT_FLAG, OFF(load_reports), NO_RANGE,
   "every answer carries the backend's load (ORCA endpoint-load-metrics, TEXT); clients read it", NULL, NULL, 0},
  {"load-board", 0, "S", OPT_DOUBLE, OFF(load_board_s), {NS_S, 86400, false, false, false, "s"},
   "Mitzenmacher's board: every S, every client's view of every backend is its true state then", "off", NULL, 0},
  {"deadline", 0, "S", OPT_DOUBLE, OFF(retry.deadline_s), {NS_S, 86400, false, true, false, "s"},
   "a user request's deadline over all its attempts (--timeout is each attempt's); 0 = none", "0",
   "Around the pick: attempts, retries, outlier ejection, slow start", 0},
  {"retries", 0, "N", OPT_UINT32, OFF(retry.retries), INT(0, 100),
   "retry a failed attempt up to N times, on another backend when one is eligible", "0", NULL, 0},
  {"retry-on", 0, "KINDS", OPT_RETRY_ON, OFF(retry.on), NO_RANGE,
   "the failures retried: a comma list of connect, reset, timeout, 5xx", "connect,reset,timeout,5xx", NULL, 0},
  {"retry-backoff", 0, "MS", OPT_DOUBLE, OFF(retry.backoff_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "gRPC's initial backoff: the n-th retry waits random(0, min(MS x MULTIPLIER^(n-1), MAX))", "25", NULL, 0},
  {"retry-backoff-max", 0, "MS", OPT_DOUBLE, OFF(retry.backoff_max_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "the longest backoff (MAX)", "250", NULL, 0},
  {"retry-backoff-multiplier", 0, "X", OPT_DOUBLE, OFF(retry.backoff_multiplier), {0, 100, true, false, false, NULL},
   "the backoff's growth per retry (MULTIPLIER)", "2", NULL, 0},
  {"retry-budget", 0, "PCT[,MIN]", OPT_RETRY_BUDGET, OFF(retry.budget_pct), {0, 100, false, false, false, "%"},
   "Finagle's retry budget: retries at most PCT % of the requests over 10 s, plus MIN per second (10)", "off",
   NULL, 0},
  {"retry-throttle", 0, "TOKENS,RATIO", OPT_RETRY_THROTTLE, OFF(retry.throttle_tokens),
   {0, 1000, true, false, false, NULL},
   "gRPC's retry throttling: -1 token a failure, +RATIO a success, no retry at or below TOKENS/2", "off", NULL, 0},
  {"outlier-ejection", 0, NULL, OPT_FLAG, OFF(outlier.on), NO_RANGE,
   "eject failing backends from a client's picks for a while, as Envoy's outlier detection", NULL, NULL, 0},
  {"outlier-consecutive-5xx", 0, "N", OPT_UINT32, OFF(outlier.consecutive_5xx), INT(1, 1000000),
   "eject after N failures in a row (5xx answers; every failure without the split)", "5", NULL, 0},
  {"outlier-consecutive-local-origin", 0, "N", OPT_UINT32, OFF(outlier.consecutive_local), INT(1, 1000000),
   "with the split: eject after N connect failures, resets or timeouts in a row", "5", NULL, 0},
  {"outlier-split-local-origin", 0, NULL, OPT_FLAG, OFF(outlier.split), NO_RANGE,
   "count connect failures, resets and timeouts apart from 5xx answers (split_external_local_origin_errors)", NULL,
   NULL, 0},
  {"outlier-interval", 0, "S", OPT_DOUBLE, OFF(outlier.interval_s), {0.001, 86400, false, false, false, "s"},
   "the sweep that returns ejected backends and ejects by success rate", "10", NULL, 0},
  {"outlier-base-ejection-time", 0, "S", OPT_DOUBLE, OFF(outlier.base_s), {NS_S, 86400, false, false, false, "s"},
   "an ejection lasts S x the times the backend was ejected in a row", "30", NULL, 0},
  {"outlier-max-ejection-time", 0, "S", OPT_DOUBLE, OFF(outlier.max_s), {NS_S, 86400, false, false, false, "s"},
   "the longest ejection", "300", NULL, 0},
  {"outlier-max-ejection-percent", 0, "PCT", OPT_DOUBLE, OFF(outlier.max_percent), {0, 100, false, false, false, "%"},
   "at most PCT % of the backends out at once (one always may be)", "10", NULL, 0},
  {"outlier-enforcing-consecutive-5xx", 0, "PCT", OPT_DOUBLE, OFF(outlier.enforcing_5xx),
   {0, 100, false, false, false, "%"}, "the share of consecutive-5xx detections that eject", "100", NULL, 0},
  {"outlier-enforcing-local-origin", 0, "PCT", OPT_DOUBLE, OFF(outlier.enforcing_local),
   {0, 100, false, false, false, "%"}, "the share of consecutive local-origin detections that eject", "100", NULL, 0},
  {"outlier-enforcing-success-rate", 0, "PCT", OPT_DOUBLE, OFF(outlier.enforcing_sr),
   {0, 100, false, false, false, "%"}, "the share of success-rate detections that eject; 0 = none", "100", NULL, 0},
  {"outlier-success-rate-minimum-hosts", 0, "N", OPT_UINT32, OFF(outlier.sr_min_hosts), INT(1, 1000000),
   "success-rate ejection needs N backends with enough requests", "5", NULL, 0},
  {"outlier-success-rate-request-volume", 0, "N", OPT_UINT32, OFF(outlier.sr_volume), INT(1, 1000000000),
   "... N requests in the interval", "100", NULL, 0},
  {"outlier-success-rate-stdev-factor", 0, "X", OPT_DOUBLE, OFF(outlier.sr_stdev_factor),
   {0, 1000, false, false, false, NULL}, "eject below the mean success rate - X standard deviations", "1.9", NULL, 0},
  {"lb-slow-start", 0, "S", OPT_DOUBLE, OFF(slow_start.window_s), {NS_S, 86400, false, true, false, "s"},
   "Envoy's slow start: a backend that comes up or back ramps up its weight over S; 0 = off", "0", NULL, 0},
  {"lb-slow-start-aggression", 0, "X", OPT_DOUBLE, OFF(slow_start.aggression), {0, 1000, true, false, false, NULL},
   "weight x max(MIN %, (t / S)^(1 / X))", "1", NULL, 0},
  {"lb-slow-start-min-weight", 0, "PCT", OPT_DOUBLE, OFF(slow_start.min_weight_pct),
   {0, 100, false, false, false, "%"}, "the least weight in slow start, MIN % of the backend's", "10", NULL, 0},
  {"weights", 0, "W1,W2,...", OPT_WEIGHTS, 0, {0, 1000000, true, false, false, NULL},
   "one weight per backend, for round-robin, least-outstanding and p2c-peak-ewma", "all 1", NULL, 0},
  {"policy", 0, "NAME", OPT_POLICY, 0, NO_RANGE,
   "balancing policy; 'help' lists them", "ema-greedy", "Policies and traffic", 0},
  {"compare", 0, "P1,P2,...", OPT_COMPARE, 0, NO_RANGE,
   "run one client per policy, each against its own copy of the backends", NULL, NULL, 0},
  {"decay", 0, "S", OPT_DOUBLE, OFF(decay_s), {NS_S, 86400, false, false, false, "s"},
   "p2c-peak-ewma: time constant of the moving average", "10", NULL, 0},
  {"choices", 0, "K", OPT_UINT32, OFF(choices), INT(0, 4096),
   "least-outstanding, least-loaded: best of K random backends (1: one at random); 0 or K >= backends = all", "0",
   NULL, 0},
  {"temperature", 0, "MS", OPT_DOUBLE, OFF(temperature_ms), {NS_MS, 3600000, false, false, false, "ms"},
   "ema-softmax: EMA gap in ms that splits traffic e:1", "20", NULL, 0},
  {"rate", 0, "R", OPT_SHAPE, OFF(rate), {0.000001, 10000000, false, false, false, "req/s"},
   "open loop: Poisson arrivals at R req/s instead of bursts", NULL, NULL, 0},
  {"concurrency", 'c', "C", OPT_SHAPE, OFF(concurrency), INT(1, 1000000),
   "closed loop: C requests always in flight instead of bursts", NULL, NULL, 0},
  {"interval", 'i', "S", OPT_DOUBLE, OFF(interval_s), {0.001, 86400, false, false, false, "s"},
   "summary period with --rate or --concurrency", "1", NULL, 0},
  {"format", 'f', "FMT", OPT_FORMAT, 0, NO_RANGE,
   "output on stdout: text (the seed's lines) or json (JSON Lines)", "text", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"clock", 0, "real|virtual", OPT_CLOCK, 0, NO_RANGE,
   "real: sockets and the wall clock; virtual: the same models on simulated time, no sockets", "real", "Clock", 0, .affects = AFFECTS_NO_RUN},
  {"net-delay", 0, "MS", OPT_DOUBLE, OFF(net_delay_ms), {NS_MS, 3600000, false, true, false, "ms"},
   "virtual clock: network and HTTP cost of a request, on average (varies with --rate, --concurrency)", "0.1", NULL, 0},
  {"memory", 0, "MIB", OPT_UINT32, OFF(memory_mib), INT_UNIT(1, 1048576, "MiB"),
   "virtual clock: what the requests in flight may take, at 128 bytes a batch; beyond it the run stops", "2048", NULL, 0,
   .affects = AFFECTS_NO_RUN},
  {"sweep", 0, "NAME=VALUES", OPT_SWEEP, 0, NO_RANGE,
   "virtual clock: run every combination of V1,V2,... or A:B:STEP, one row each (repeatable)", NULL, NULL, 0, .affects = AFFECTS_RUNS},
  {"sweep-metric", 0, "METRIC", OPT_SWEEP_METRIC, 0, NO_RANGE,
   "what --report plots against the first swept parameter", "p99", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"seeds", 0, "S", OPT_UINT32, OFF(sweep.seeds), INT(1, 1000),
   "sweep: run each row with seeds N, N+1, ...: mean and 95% interval", NULL, NULL, 0, .affects = AFFECTS_RUNS},
  {"shard", 0, "K/N", OPT_SHARD, 0, NO_RANGE,
   "sweep: run only share K of N (0 <= K < N), as JSON Lines for 'lbsim merge'", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"resume", 0, "FILE", OPT_PATH, OFF(resume_path), NO_RANGE,
   "sweep: append each run to FILE as it ends; given FILE again, skip the runs it holds", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"capacity", 0, "N", OPT_UINT32, OFF(capacity), INT(0, 1000000),
   "requests a backend serves at once, the rest queue (FIFO); 0 = unlimited", "0", "Load, faults and scenarios", 0},
  {"jitter", 0, "DIST", OPT_JITTER, 0, NO_RANGE,
   "per-request noise: none, exp:MS, lognormal:SIGMA, uniform:WIDTH", "none", NULL, 0},
  {"error-rate", 0, "P", OPT_DOUBLE, OFF(error_rate), {0, 1, false, false, false, NULL},
   "probability that a backend answers 503", "0", NULL, 0},
  {"scenario", 0, "FILE", OPT_SCENARIO, OFF(scenario_path), NO_RANGE,
   "scripted changes: 'at 15s backend 3 latency 2000ms', ... (see lbsim(1))", NULL, NULL, 0},
  {"time-scale", 0, "X", OPT_DOUBLE, OFF(time_scale), {0.000001, 1000, false, false, false, NULL},
   "run X times as fast: scenario times, --duration, --warmup, --interval and --requests", "1", NULL, 0},
  {"replay", 0, "NAME", OPT_REPLAY, 0, NO_RANGE,
   "a published experiment: linkerd, tower or metastable (in its place: later options override it)", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"admin", 0, "PORT", OPT_ADMIN, 0, INT(0, 65535),
   "live dashboard (GET /), JSON control (POST /backends/N) and metrics on 127.0.0.1:PORT", "off", "Observability", 0, .affects = AFFECTS_NO_RUN},
  {"metrics", 0, "ADDR:PORT", OPT_METRICS, 0, NO_RANGE,
   "read-only GET /metrics (Prometheus) on any address, e.g. 0.0.0.0:9100 or [::]:9100", "off", NULL, 0, .affects = AFFECTS_NO_RUN},
  {"report", 0, "FILE.svg", OPT_PATH, OFF(report_path), NO_RANGE,
   "draw latency, estimates, traffic shares and failures over time into an SVG file at the end", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"seed", 's', "N", OPT_SEED, OFF(seed), NO_RANGE,
   "seed of every random choice; printed in the header", "from the clock", "Run", 0, .affects = AFFECTS_RUNS},
  {"quiet", 'q', NULL, OPT_FLAG, OFF(quiet), NO_RANGE,
   "no drift log", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"help", 'h', NULL, OPT_HELP, 0, NO_RANGE,
   "show this help and exit", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},
  {"version", 'V', NULL, OPT_VERSION, 0, NO_RANGE,
   "show the version and exit", NULL, NULL, 0, .affects = AFFECTS_NO_RUN},

};
#pragma GCC diagnostic pop

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
/* The seed is an identifier, not a quantity: all 64 bits, digits only. */
#define SEED_RANGE "0..18446744073709551615"

void lbsim_config_defaults(lbsim_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->role = LBSIM_ROLE_DEMO;
  cfg->backends = 5;
  strcpy(cfg->host, "127.0.0.1");
  cfg->port_base = 5001;
  cfg->latency = (lbsim_latency_spec_t){
      .min_ms = 100, .max_ms = 1500, .step_ms = 100, .floor_ms = 50, .ceil_ms = 2000};
  cfg->drift_period_s = 5;
  cfg->max_conns = 10000;
  cfg->max_header_bytes = 8192;
  cfg->max_url_bytes = 4096;
  cfg->max_body_bytes = 65536;
  cfg->max_pipeline = 64;
  cfg->max_output_bytes = 65536;
  cfg->header_timeout_s = 10;
  cfg->idle_timeout_s = 15;
  cfg->alpha = 0.3;
  cfg->explore = 0.05;
  cfg->burst = 100;
  cfg->sleep_s = 1;
  cfg->rounds = 0;
  cfg->duration_s = 0;
  cfg->timeout_s = 5;
  cfg->failure_latency_ms = 10000;
  cfg->pool_size = 0;
  cfg->client_idle_s = 4;
  cfg->clients = 1;
  cfg->retry = (lbsim_retry_config_t){
      .on = LBSIM_RETRY_ON_ALL,
      .backoff_ms = LBSIM_RETRY_BACKOFF_MS,
      .backoff_max_ms = LBSIM_RETRY_BACKOFF_MAX_MS,
      .backoff_multiplier = LBSIM_RETRY_BACKOFF_MULTIPLIER,
      .budget_pct = 20,
      .budget_min_per_s = LBSIM_RETRY_BUDGET_MIN_PER_S,
      .throttle_tokens = 10,
      .throttle_ratio = LBSIM_RETRY_THROTTLE_RATIO,
  };
  cfg->outlier = (lbsim_outlier_config_t){
      .consecutive_5xx = 5,
      .consecutive_local = 5,
      .interval_s = 10,
      .base_s = 30,
      .max_s = 300,
      .max_percent = 10,
      .enforcing_5xx = 100,
      .enforcing_local = 100,
      .enforcing_sr = 100,
      .sr_min_hosts = 5,
      .sr_volume = 100,
      .sr_stdev_factor = 1.9,
  };
  cfg->slow_start = (lbsim_slow_start_config_t){.window_s = 0, .aggression = 1, .min_weight_pct = 10};
  strcpy(cfg->policies[0], "ema-greedy");
  cfg->npolicies = 1;
  cfg->decay_s = 10;
  cfg->choices = 0;
  cfg->temperature_ms = 20;
  cfg->shape = LBSIM_SHAPE_BURST;
  cfg->interval_s = 1;
  cfg->format = lbsim_format_find("text");
  cfg->time_scale = 1;
  cfg->clock = LBSIM_CLOCK_REAL;
  cfg->net_delay_ms = 0.1;
  cfg->memory_mib = LBSIM_MEMORY_MIB;
  cfg->sweep.metric = LBSIM_SWEEP_P99;
}

void lbsim_config_free(lbsim_config_t *cfg) {
  free(cfg->weights);
  cfg->weights = NULL;
  cfg->nweights = 0;
  lbsim_scenario_free(&cfg->scenario);
  lbsim_sweep_free(&cfg->sweep);
  free(cfg->servers);
  cfg->servers = NULL;
  cfg->nservers = 0;
}

static lbsim_parse_result_t error(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return LBSIM_PARSE_ERROR;
}

/* Digits only, all 64 bits: the seed. */
static int parse_u64(const char *s, uint64_t *out) {
  if (*s == '\0')
    return LBSIM_EINVAL;
  uint64_t v = 0;
  for (const char *c = s; *c; c++) {
    if (*c < '0' || *c > '9')
      return LBSIM_EINVAL;
    uint64_t d = (uint64_t)(*c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return LBSIM_EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* ---- numbers: the grammar and the ranges of lbsim/base/number.h ------------- */

static bool numeric(const opt_t *o) {
  switch (o->kind) {
  case OPT_UINT32:
  case OPT_BURST:
  case OPT_UINT64:
  case OPT_DOUBLE:
  case OPT_LATENCY:
  case OPT_SHAPE:
  case OPT_ADMIN:
  case OPT_RETRY_BUDGET:
  case OPT_RETRY_THROTTLE:
  case OPT_WEIGHTS:
    return true;
  default:
    return false;
  }
}

/* An option's range as --help, the manual and the errors write it; NULL
 * for an option that takes no number. */
static const char *range_text(const opt_t *o) {
  static char texts[NOPTIONS][64];
  char *text = texts[o - options];
  if (o->kind == OPT_SEED)
    return SEED_RANGE;
  if (!numeric(o))
    return NULL;
  if (text[0] == '\0')
    lbsim_range_text(&o->range, text, sizeof(texts[0]));
  return text;
}

/* What a value must be, as the errors say it: "an integer: 1..4096". */
static const char *expected_text(const opt_t *o) {
  static char texts[NOPTIONS][96];
  char *text = texts[o - options];
  if (text[0] == '\0')
    snprintf(text, sizeof(texts[0]), "%s: %s", o->kind == OPT_SEED ? "an integer" : lbsim_range_kind(&o->range),
             range_text(o));
  return text;
}

static lbsim_parse_result_t bad_value(const opt_t *o, const char *arg, char *err, size_t errlen) {
  return error(err, errlen, "invalid --%s '%s': expected %s", o->name, lbsim_token(arg), expected_text(o));
}

static const opt_t *find_option(const char *name) {
  for (size_t i = 0; i < NOPTIONS; i++)
    if (strcmp(options[i].name, name) == 0)
      return &options[i];
  return NULL;
}

int lbsim_config_check_number(const char *option, double value, const char **expected) {
  const opt_t *o = find_option(option);
  if (o == NULL || !numeric(o)) {
    *expected = "a number";
    return LBSIM_EINVAL;
  }
  *expected = expected_text(o);
  return lbsim_range_has(&o->range, value) ? 0 : LBSIM_EINVAL;
}

int lbsim_config_number(const char *option, const char *text, double *value, const char **expected) {
  double v = NAN;
  if (lbsim_number_parse(text, &v) != 0) {
    lbsim_config_check_number(option, NAN, expected);
    return LBSIM_EINVAL;
  }
  *value = v;
  return lbsim_config_check_number(option, v, expected);
}

/* ---- where an option comes from ----------------------------------------------- */

/* The options of a --replay take its place on the command line: those
 * before it are overridden by it, those after it override it, as a later
 * option overrides an earlier one. Settings that cannot be combined
 * (--rate and --concurrency, --policy and --compare) are refused only when
 * the user gave both; against the replay's, the later one wins. */
typedef enum source_e { FROM_NOBODY = 0, FROM_USER, FROM_REPLAY } source_t;

typedef struct parse_state_s {
  source_t now;            /* whose options are being read */
  const char *replay;      /* the replay's name, or NULL */
  source_t shape_from;     /* who chose --rate or --concurrency */
  source_t policy_from;    /* who chose --policy or --compare */
  bool burst_given;        /* --burst, --sleep: by the user (a replay sets neither) */
  bool sleep_given;
} parse_state_t;

/* ---- a description of what a virtual run depends on ------------------------- */

static lbsim_parse_result_t apply(lbsim_config_t *cfg, parse_state_t *ps, const opt_t *o, const char *arg,
                                  char *err, size_t errlen);

/* One option's value as a description gives it; false when it has none
 * to give (a traffic shape not chosen, an option not given). */
static bool describe_value(const lbsim_config_t *cfg, const opt_t *o, lbsim_buf_t *v) {
  const void *field = (const char *)cfg + o->offset;
  bool several = cfg->compare && cfg->npolicies > 1;
  switch (o->kind) {
  case OPT_UINT32:
  case OPT_BURST:
    /* At a value it cannot be given (--seeds 0), the option was not given. */
    if (!lbsim_range_has(&o->range, *(const uint32_t *)field))
      return false;
    lbsim_buf_u64(v, *(const uint32_t *)field);
    return true;
  case OPT_UINT64:
    lbsim_buf_u64(v, *(const uint64_t *)field);
    return true;
  case OPT_DOUBLE:
    /* Likewise (--load-board 0 is "off"). */
    if (!lbsim_range_has(&o->range, *(const double *)field))
      return false;
    lbsim_buf_exact(v, *(const double *)field);
    return true;
  case OPT_FLAG:
    /* A flag that changes a run (--load-reports, --outlier-ejection) is there when it is set. */
    if (!*(const bool *)field)
      return false;
    lbsim_buf_append_str(v, "on");
    return true;
  case OPT_LATENCY:
    lbsim_buf_exact(v, cfg->latency.min_ms);
    lbsim_buf_append_str(v, ":");
    lbsim_buf_exact(v, cfg->latency.max_ms);
    return true;
  case OPT_SHAPE:
    if (o->offset == OFF(rate) && cfg->shape == LBSIM_SHAPE_RATE)
      lbsim_buf_exact(v, cfg->rate);
    else if (o->offset == OFF(concurrency) && cfg->shape == LBSIM_SHAPE_CONCURRENCY)
      lbsim_buf_u64(v, cfg->concurrency);
    else
      return false;
    return true;
  case OPT_POLICY:
    /* A comparison of one policy runs as that policy. */
    if (several)
      return false;
    lbsim_buf_append_str(v, cfg->policies[0]);
    return true;
  case OPT_COMPARE:
    for (uint32_t w = 0; several && w < cfg->npolicies; w++)
      lbsim_buf_printf(v, "%s%s", w ? "," : "", cfg->policies[w]);
    return several;
  case OPT_JITTER:
    lbsim_buf_append_str(v, lbsim_jitter_name(cfg->jitter.kind));
    if (cfg->jitter.kind != LBSIM_JITTER_NONE) {
      lbsim_buf_append_str(v, ":");
      lbsim_buf_exact(v, cfg->jitter.param);
    }
    return true;
  case OPT_SCENARIO:
    lbsim_scenario_format(&cfg->scenario, v);
    return cfg->scenario.nevents > 0;
  case OPT_SEED:
    lbsim_buf_u64(v, cfg->seed);
    return true;
  case OPT_SUBSET_MODE:
    lbsim_buf_append_str(v, lbsim_subset_mode_name(cfg->subset_mode));
    return true;
  case OPT_RETRY_ON:
    lbsim_retry_on_format(cfg->retry.on, v);
    return true;
  case OPT_RETRY_BUDGET:
    if (!cfg->retry.budget)
      return false;
    lbsim_buf_exact(v, cfg->retry.budget_pct);
    lbsim_buf_printf(v, ",%u", cfg->retry.budget_min_per_s);
    return true;
  case OPT_RETRY_THROTTLE:
    if (!cfg->retry.throttle)
      return false;
    lbsim_buf_exact(v, cfg->retry.throttle_tokens);
    lbsim_buf_append_str(v, ",");
    lbsim_buf_exact(v, cfg->retry.throttle_ratio);
    return true;
  case OPT_WEIGHTS:
    for (uint32_t i = 0; i < cfg->nweights; i++) {
      if (i)
        lbsim_buf_append_str(v, ",");
      lbsim_buf_exact(v, cfg->weights[i]);
    }
    return cfg->weights != NULL;
  default:
    /* Kinds whose value a run never depends on (the table says so); a new
     * kind of option that changes a run needs its case above. */
    return false;
  }
}

void lbsim_config_describe(const lbsim_config_t *cfg, void (*arg)(void *data, const char *text), void *data) {
  lbsim_buf_t v = LBSIM_BUF_INIT;
  for (size_t i = 0; i < NOPTIONS; i++) {
    const opt_t *o = &options[i];
    if (o->affects == AFFECTS_NO_RUN)
      continue;
    if (o->kind == OPT_SWEEP) {
      for (uint32_t k = 0; k < cfg->sweep.naxes; k++) {
        const lbsim_sweep_axis_t *axis = &cfg->sweep.axes[k];
        lbsim_buf_clear(&v);
        lbsim_buf_printf(&v, "--sweep=%s=", options[axis->param].name);
        for (uint32_t j = 0; j < axis->nvalues; j++) {
          if (j)
            lbsim_buf_append_str(&v, ",");
          lbsim_buf_exact(&v, axis->values[j]);
        }
        lbsim_buf_append(&v, "", 1);
        if (lbsim_buf_ok(&v))
          arg(data, v.data);
      }
      continue;
    }
    lbsim_buf_clear(&v);
    lbsim_buf_printf(&v, "--%s=", o->name);
    if (!describe_value(cfg, o, &v))
      continue;
    lbsim_buf_append(&v, "", 1);
    if (lbsim_buf_ok(&v))
      arg(data, v.data);
  }
  lbsim_buf_free(&v);
}

int lbsim_config_set(lbsim_config_t *cfg, const char *text, char *err, size_t errlen) {
  const char *eq = strchr(text, '=');
  const opt_t *o = NULL;
  for (size_t i = 0; eq && strncmp(text, "--", 2) == 0 && i < NOPTIONS; i++)
    if (strlen(options[i].name) == (size_t)(eq - text - 2) && strncmp(options[i].name, text + 2, (size_t)(eq - text - 2)) == 0)
      o = &options[i];
  if (o == NULL || o->affects == AFFECTS_NO_RUN)
    return lbsim_refuse(err, errlen, "'%.64s' is not an option of a sweep's description", text);
  if (o->kind == OPT_SCENARIO)
    return 0;
  parse_state_t ps = {.now = FROM_USER};
  return apply(cfg, &ps, o, eq + 1, err, errlen) == LBSIM_PARSE_RUN ? 0 : LBSIM_EINVAL;
}

/* ---- the options a sweep varies ------------------------------------------------ */

/* The options --time-scale multiplies, as given, times it: the scenario
 * times are scaled when they are scheduled, the summaries keep their place
 * in the experiment. */
static void scale_by_time(lbsim_config_t *cfg) {
  double x = cfg->time_scale;
  cfg->duration_s = cfg->given.duration_s;
  cfg->warmup_s = cfg->given.warmup_s;
  cfg->interval_s = cfg->given.interval_s;
  cfg->requests = cfg->given.requests;
  if (x != 1) {
    cfg->duration_s *= x;
    cfg->warmup_s *= x;
    cfg->interval_s *= x;
    if (cfg->requests)
      cfg->requests = (uint64_t)ceil((double)cfg->requests * x);
  }
}

static bool sweepable(const opt_t *o) {
  switch (o->kind) {
  case OPT_UINT32:
  case OPT_BURST:
  case OPT_UINT64:
  case OPT_DOUBLE:
  case OPT_SHAPE:
  case OPT_LATENCY:        /* one latency for every backend */
  case OPT_RETRY_BUDGET:   /* its PCT */
  case OPT_RETRY_THROTTLE: /* its MAX_TOKENS */
    return o->affects == AFFECTS_RUN;
  default:
    return false;
  }
}

int lbsim_config_sweepable(const char *name, const char **why) {
  const opt_t *o = find_option(name);
  *why = NULL;
  if (o == NULL)
    *why = "no such option";
  else if (o->kind == OPT_SEED)
    *why = "give --seeds S to run each row with S seeds";
  else if (o->affects == AFFECTS_RUNS)
    *why = "it chooses which runs a sweep has";
  else if (o->affects == AFFECTS_NO_RUN)
    *why = "it does not change what a virtual run does";
  else if (o->kind == OPT_POLICY || o->kind == OPT_COMPARE)
    *why = "not a number: --compare P1,P2,... runs each policy";
  else if (!sweepable(o))
    *why = "its value is not a number";
  return *why ? -1 : (int)(o - options);
}

uint32_t lbsim_config_sweepables(const char **names, uint32_t max) {
  uint32_t n = 0;
  for (size_t i = 0; i < NOPTIONS && n < max; i++)
    if (sweepable(&options[i]))
      names[n++] = options[i].name;
  return n;
}

const char *lbsim_config_option_name(int option) {
  return options[option].name;
}

const char *lbsim_config_option_meaning(int option) {
  static const struct {
    const char *metavar, *unit;
  } units[] = {{"MS", "ms"}, {"MS|MIN:MAX", "ms"}, {"S", "s"}, {"R", "requests/s"}, {"P", "probability"}};
  const opt_t *o = &options[option];
  /* The help when it is a short plain phrase, else the unit its value is in. */
  if (strlen(o->help) <= 48 && strpbrk(o->help, ":;=") == NULL)
    return o->help;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strcmp(units[i].metavar, o->metavar) == 0)
      return units[i].unit;
  return NULL;
}

int lbsim_config_option_shape(int option) {
  const opt_t *o = &options[option];
  if (o->kind == OPT_BURST)
    return LBSIM_SHAPE_BURST;
  if (o->kind == OPT_SHAPE)
    return o->offset == OFF(rate) ? LBSIM_SHAPE_RATE : LBSIM_SHAPE_CONCURRENCY;
  return -1;
}

void lbsim_config_set_number(lbsim_config_t *cfg, int option, double v) {
  const opt_t *o = &options[option];
  void *field = (char *)cfg + o->offset;
  int shape = lbsim_config_option_shape(option);
  if (shape >= 0)
    cfg->shape = (lbsim_shape_t)shape;
  /* What --time-scale multiplies is set as given, then multiplied. */
  if (o->offset == OFF(duration_s))
    field = &cfg->given.duration_s;
  else if (o->offset == OFF(warmup_s))
    field = &cfg->given.warmup_s;
  else if (o->offset == OFF(interval_s))
    field = &cfg->given.interval_s;
  else if (o->offset == OFF(requests))
    field = &cfg->given.requests;
  switch (o->kind) {
  case OPT_UINT32:
  case OPT_BURST:
    *(uint32_t *)field = (uint32_t)v;
    break;
  case OPT_UINT64:
    *(uint64_t *)field = (uint64_t)v;
    break;
  case OPT_SHAPE:
    if (shape == LBSIM_SHAPE_RATE)
      cfg->rate = v;
    else
      cfg->concurrency = (uint32_t)v;
    break;
  case OPT_LATENCY:
    cfg->latency.min_ms = cfg->latency.max_ms = v;
    break;
  case OPT_RETRY_BUDGET: /* swept, it is on (with MIN at what was given, or 10) */
    cfg->retry.budget = true;
    cfg->retry.budget_pct = v;
    break;
  case OPT_RETRY_THROTTLE: /* ... with RATIO at what was given, or 0.1 */
    cfg->retry.throttle = true;
    cfg->retry.throttle_tokens = v;
    break;
  default:
    *(double *)field = v;
    break;
  }
  scale_by_time(cfg);
}

void lbsim_config_list_sweepables(FILE *out) {
  fprintf(out, "Options a sweep can vary (--sweep NAME=V1,V2,... or NAME=A:B:STEP):\n");
  for (size_t i = 0; i < NOPTIONS; i++)
    if (sweepable(&options[i]))
      fprintf(out, "  %-20s %s\n", options[i].name, range_text(&options[i]));
}

static lbsim_parse_result_t parse_latency(const opt_t *o, const char *arg, lbsim_latency_spec_t *spec,
                                          char *err, size_t errlen) {
  char buf[128];
  const char *colon = strchr(arg, ':');
  size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
  double lo = 0, hi = 0;
  bool ok = len < sizeof(buf);
  if (ok) {
    memcpy(buf, arg, len);
    buf[len] = '\0';
    ok = lbsim_number_read(&o->range, buf, &lo) == 0;
    hi = lo;
    if (ok && colon != NULL)
      ok = lbsim_number_read(&o->range, colon + 1, &hi) == 0;
  }
  if (!ok)
    return error(err, errlen, "invalid --%s '%s': expected MS or MIN:MAX, each %s", o->name, lbsim_token(arg),
                 expected_text(o));
  if (lo > hi)
    return error(err, errlen, "invalid --%s '%s': MIN is greater than MAX", o->name, lbsim_token(arg));
  spec->min_ms = lo;
  spec->max_ms = hi;
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t parse_host(const char *arg, char *host, char *err, size_t errlen) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, arg, addr) != 1 && inet_pton(AF_INET6, arg, addr) != 1)
    return error(err, errlen, "invalid --host '%s': expected an IPv4 or IPv6 address", lbsim_token(arg));
  if (strlen(arg) >= 256)
    return error(err, errlen, "invalid --host: address too long");
  strcpy(host, arg);
  return LBSIM_PARSE_RUN;
}

/* ADDR:PORT with an IPv4 address, or [ADDR]:PORT with an IPv6 one. */
static lbsim_parse_result_t parse_metrics(lbsim_config_t *cfg, const char *arg, char *err, size_t errlen) {
  static const lbsim_range_t port_range = INT(0, 65535);
  char host[64];
  const char *colon = strrchr(arg, ':');
  size_t len = colon ? (size_t)(colon - arg) : 0;
  bool v6 = len >= 2 && arg[0] == '[' && arg[len - 1] == ']';
  const char *start = v6 ? arg + 1 : arg;
  if (v6)
    len -= 2;
  double port;
  unsigned char addr[16];
  if (colon == NULL || len == 0 || len >= sizeof(host) || lbsim_number_read(&port_range, colon + 1, &port) != 0)
    return error(err, errlen, "invalid --metrics '%s': expected ADDR:PORT (port 0..65535), e.g. 127.0.0.1:9100 or [::]:9100",
                 lbsim_token(arg));
  memcpy(host, start, len);
  host[len] = '\0';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
    return error(err, errlen, "invalid --metrics '%s': '%s' is not an %s address%s", lbsim_token(arg),
                 lbsim_token(host), v6 ? "IPv6" : "IPv4", v6 ? "" : " (IPv6 goes in brackets: [::1]:9100)");
  strcpy(cfg->metrics_host, host);
  cfg->metrics_port = (uint32_t)port;
  cfg->metrics = true;
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t add_server(lbsim_config_t *cfg, const char *arg, char *err, size_t errlen) {
  char why[128];
  if (cfg->nservers >= LBSIM_MAX_BACKENDS)
    return error(err, errlen, "too many --server URLs (at most %d)", LBSIM_MAX_BACKENDS);
  lbsim_url_t *grown = realloc(cfg->servers, (cfg->nservers + 1) * sizeof(*grown));
  if (grown == NULL)
    return error(err, errlen, "out of memory");
  cfg->servers = grown;
  if (lbsim_url_parse(&cfg->servers[cfg->nservers], arg, why, sizeof(why)) != 0)
    return error(err, errlen, "invalid --server '%s': %s", lbsim_token(arg), why);
  cfg->nservers++;
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t set_policy(lbsim_config_t *cfg, uint32_t slot, const char *name, size_t len,
                                       char *err, size_t errlen) {
  char buf[32];
  if (len == 0 || len >= sizeof(buf))
    return error(err, errlen, "invalid policy name '%s' (see --policy help)", lbsim_token_n(name, len));
  memcpy(buf, name, len);
  buf[len] = '\0';
  if (lbsim_policy_find(buf) == NULL)
    return error(err, errlen, "unknown policy '%s' (see --policy help)", lbsim_token(buf));
  for (uint32_t i = 0; i < slot; i++)
    if (strcmp(cfg->policies[i], buf) == 0)
      return error(err, errlen, "policy '%s' listed twice in --compare", buf);
  strcpy(cfg->policies[slot], buf);
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t parse_compare(lbsim_config_t *cfg, const char *arg, char *err, size_t errlen) {
  uint32_t n = 0;
  for (const char *p = arg;;) {
    size_t len = strcspn(p, ",");
    if (n == LBSIM_MAX_POLICIES)
      return error(err, errlen, "--compare takes at most %d policies", LBSIM_MAX_POLICIES);
    if (set_policy(cfg, n, p, len, err, errlen) != LBSIM_PARSE_RUN)
      return LBSIM_PARSE_ERROR;
    n++;
    if (p[len] == '\0')
      break;
    p += len + 1;
  }
  cfg->npolicies = n;
  cfg->compare = true;
  return LBSIM_PARSE_RUN;
}

/* A setting the user chose twice in ways that cannot be combined. */
static bool user_twice(const parse_state_t *ps, source_t before) {
  return ps->now == FROM_USER && before == FROM_USER;
}

/* PCT[,MIN_PER_S] */
static lbsim_parse_result_t parse_budget(lbsim_config_t *cfg, const opt_t *o, const char *arg, char *err,
                                         size_t errlen) {
  static const lbsim_range_t min_range = INT(0, 1000000);
  char buf[64];
  double pct, min = LBSIM_RETRY_BUDGET_MIN_PER_S;
  if (strlen(arg) >= sizeof(buf))
    return error(err, errlen, "invalid --retry-budget '%s': expected PCT or PCT,MIN_PER_S", lbsim_token(arg));
  strcpy(buf, arg);
  char *comma = strchr(buf, ',');
  if (comma != NULL)
    *comma = '\0';
  if (lbsim_number_read(&o->range, buf, &pct) != 0)
    return error(err, errlen, "invalid --retry-budget '%s': PCT must be %s", lbsim_token(arg), expected_text(o));
  if (comma != NULL && lbsim_number_read(&min_range, comma + 1, &min) != 0)
    return error(err, errlen, "invalid --retry-budget '%s': MIN_PER_S must be an integer: 0..1000000",
                 lbsim_token(arg));
  cfg->retry.budget = true;
  cfg->retry.budget_pct = pct;
  cfg->retry.budget_min_per_s = (uint32_t)min;
  return LBSIM_PARSE_RUN;
}

/* MAX_TOKENS,RATIO (gRPC's retryThrottling) */
static lbsim_parse_result_t parse_throttle(lbsim_config_t *cfg, const opt_t *o, const char *arg, char *err,
                                           size_t errlen) {
  static const lbsim_range_t ratio_range = {0, 1000, true, false, false, NULL};
  char buf[64];
  double tokens, ratio;
  const char *comma = strchr(arg, ',');
  size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
  if (len >= sizeof(buf))
    return error(err, errlen, "invalid --retry-throttle '%s': expected MAX_TOKENS,RATIO (e.g. 10,0.1)",
                 lbsim_token(arg));
  memcpy(buf, arg, len);
  buf[len] = '\0';
  if (lbsim_number_read(&o->range, buf, &tokens) != 0)
    return error(err, errlen, "invalid --retry-throttle '%s': MAX_TOKENS must be %s", lbsim_token(arg),
                 expected_text(o));
  if (comma == NULL)
    return error(err, errlen, "invalid --retry-throttle '%s': expected MAX_TOKENS,RATIO (e.g. 10,0.1)",
                 lbsim_token(arg));
  if (lbsim_number_read(&ratio_range, comma + 1, &ratio) != 0)
    return error(err, errlen, "invalid --retry-throttle '%s': RATIO must be a number: (0, 1000]", lbsim_token(arg));
  cfg->retry.throttle = true;
  cfg->retry.throttle_tokens = tokens;
  cfg->retry.throttle_ratio = ratio;
  return LBSIM_PARSE_RUN;
}

/* W1,W2,...: their count is checked against the backends in validate(). */
static lbsim_parse_result_t parse_weights(lbsim_config_t *cfg, const opt_t *o, const char *arg, char *err,
                                          size_t errlen) {
  uint32_t n = 1;
  for (const char *c = arg; *c; c++)
    n += *c == ',';
  if (n > LBSIM_MAX_BACKENDS)
    return error(err, errlen, "invalid --weights: more than %d weights", LBSIM_MAX_BACKENDS);
  double *w = malloc(n * sizeof(*w));
  if (w == NULL)
    return error(err, errlen, "out of memory");
  uint32_t k = 0;
  for (const char *p = arg;; p += strcspn(p, ",") + 1) {
    size_t len = strcspn(p, ",");
    char buf[64];
    if (len == 0 || len >= sizeof(buf)) {
      free(w);
      return error(err, errlen, "invalid --weights '%s': weight %u is empty or too long", lbsim_token(arg), k + 1);
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (lbsim_number_read(&o->range, buf, &w[k]) != 0) {
      free(w);
      return error(err, errlen, "invalid --weights: weight %u '%s' must be %s", k + 1, lbsim_token(buf),
                   expected_text(o));
    }
    k++;
    if (p[len] == '\0')
      break;
  }
  free(cfg->weights);
  cfg->weights = w;
  cfg->nweights = k;
  return LBSIM_PARSE_RUN;
}

/* Options that tune a tool which is off without another option: the first
 * one given is kept, for validate() to name. */
static void note_needs(lbsim_config_t *cfg, const opt_t *o) {
  static const struct {
    const char *prefix;
    size_t offset;
    size_t len;
  } needs[] = {
      {"retry-", OFF(needs_retries), sizeof(cfg->needs_retries)},
      {"outlier-", OFF(needs_outlier), sizeof(cfg->needs_outlier)},
      {"lb-slow-start-", OFF(needs_slow_start), sizeof(cfg->needs_slow_start)},
  };
  if (strcmp(o->name, "outlier-ejection") == 0)
    return;
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(needs); k++) {
    char *first = (char *)cfg + needs[k].offset;
    if (strncmp(o->name, needs[k].prefix, strlen(needs[k].prefix)) == 0 && first[0] == '\0')
      snprintf(first, needs[k].len, "--%s", o->name);
  }
}

static lbsim_parse_result_t apply_option(lbsim_config_t *cfg, parse_state_t *ps, const opt_t *o, const char *arg,
                                         char *err, size_t errlen);

static lbsim_parse_result_t apply(lbsim_config_t *cfg, parse_state_t *ps, const opt_t *o, const char *arg,
                                  char *err, size_t errlen) {
  lbsim_parse_result_t r = apply_option(cfg, ps, o, arg, err, errlen);
  if (r == LBSIM_PARSE_RUN)
    note_needs(cfg, o);
  return r;
}

static lbsim_parse_result_t apply_option(lbsim_config_t *cfg, parse_state_t *ps, const opt_t *o, const char *arg,
                                         char *err, size_t errlen) {
  void *field = (char *)cfg + o->offset;
  double d;
  uint64_t u;
  switch (o->kind) {
  case OPT_FLAG:
    *(bool *)field = true;
    return LBSIM_PARSE_RUN;
  case OPT_ROLE:
    if (cfg->role != LBSIM_ROLE_DEMO && cfg->role != (lbsim_role_t)o->role)
      return error(err, errlen, "--backends-only and --client-only cannot be combined");
    cfg->role = (lbsim_role_t)o->role;
    return LBSIM_PARSE_RUN;
  case OPT_UINT32:
  case OPT_BURST:
  case OPT_UINT64:
  case OPT_DOUBLE:
    if (lbsim_number_read(&o->range, arg, &d) != 0)
      return bad_value(o, arg, err, errlen);
    if (o->kind == OPT_UINT32 || o->kind == OPT_BURST)
      *(uint32_t *)field = (uint32_t)d;
    else if (o->kind == OPT_UINT64)
      *(uint64_t *)field = (uint64_t)d;
    else
      *(double *)field = d;
    ps->burst_given = ps->burst_given || (o->offset == OFF(burst) && ps->now == FROM_USER);
    ps->sleep_given = ps->sleep_given || (o->offset == OFF(sleep_s) && ps->now == FROM_USER);
    return LBSIM_PARSE_RUN;
  case OPT_LATENCY:
    return parse_latency(o, arg, field, err, errlen);
  case OPT_HOST:
    return parse_host(arg, field, err, errlen);
  case OPT_SERVER:
    return add_server(cfg, arg, err, errlen);
  case OPT_SEED:
    if (parse_u64(arg, &u) != 0)
      return bad_value(o, arg, err, errlen);
    cfg->seed = u;
    cfg->seed_given = true;
    return LBSIM_PARSE_RUN;
  case OPT_POLICY:
    if (strcmp(arg, "help") == 0)
      return LBSIM_PARSE_POLICIES;
    if (cfg->compare && user_twice(ps, ps->policy_from))
      return error(err, errlen, "--policy and --compare cannot be combined");
    cfg->compare = false;
    cfg->npolicies = 1;
    ps->policy_from = ps->now;
    return set_policy(cfg, 0, arg, strlen(arg), err, errlen);
  case OPT_COMPARE:
    if (user_twice(ps, ps->policy_from))
      return error(err, errlen, cfg->compare ? "--compare given twice" : "--policy and --compare cannot be combined");
    ps->policy_from = ps->now;
    return parse_compare(cfg, arg, err, errlen);
  case OPT_SHAPE: {
    lbsim_shape_t shape = o->offset == OFF(rate) ? LBSIM_SHAPE_RATE : LBSIM_SHAPE_CONCURRENCY;
    if (cfg->shape != LBSIM_SHAPE_BURST && cfg->shape != shape && user_twice(ps, ps->shape_from))
      return error(err, errlen, "--rate and --concurrency cannot be combined");
    if (lbsim_number_read(&o->range, arg, &d) != 0)
      return bad_value(o, arg, err, errlen);
    cfg->shape = shape;
    ps->shape_from = ps->now;
    if (shape == LBSIM_SHAPE_RATE)
      cfg->rate = d;
    else
      cfg->concurrency = (uint32_t)d;
    return LBSIM_PARSE_RUN;
  }
  case OPT_FORMAT: {
    const lbsim_format_t *format = lbsim_format_find(arg);
    if (format == NULL) {
      char names[128] = "";
      for (const lbsim_format_t *const *f = lbsim_format_all(); *f; f++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                 f == lbsim_format_all() ? "" : f[1] ? ", " : " or ", (*f)->name);
      return error(err, errlen, "invalid --format '%s': expected %s", lbsim_token(arg), names);
    }
    cfg->format = format;
    return LBSIM_PARSE_RUN;
  }
  case OPT_CLOCK:
    if (strcmp(arg, "real") == 0)
      cfg->clock = LBSIM_CLOCK_REAL;
    else if (strcmp(arg, "virtual") == 0)
      cfg->clock = LBSIM_CLOCK_VIRTUAL;
    else
      return error(err, errlen, "invalid --clock '%s': expected real or virtual", lbsim_token(arg));
    cfg->clock_given = true;
    return LBSIM_PARSE_RUN;
  case OPT_SWEEP:
    if (strcmp(arg, "help") == 0)
      return LBSIM_PARSE_SWEEPABLE;
    return lbsim_sweep_add(&cfg->sweep, arg, err, errlen) == 0 ? LBSIM_PARSE_RUN : LBSIM_PARSE_ERROR;
  case OPT_SWEEP_METRIC:
    return lbsim_sweep_set_metric(&cfg->sweep, arg, err, errlen) == 0 ? LBSIM_PARSE_RUN : LBSIM_PARSE_ERROR;
  case OPT_SHARD:
    return lbsim_sweep_set_shard(&cfg->sweep, arg, err, errlen) == 0 ? LBSIM_PARSE_RUN : LBSIM_PARSE_ERROR;
  case OPT_JITTER: {
    char why[256];
    if (lbsim_jitter_parse(arg, &cfg->jitter, why, sizeof(why)) != 0)
      return error(err, errlen, "invalid --jitter: %s", why);
    return LBSIM_PARSE_RUN;
  }
  case OPT_PATH:
  case OPT_SCENARIO:
    if (*arg == '\0' || strlen(arg) >= 1024)
      return error(err, errlen, "invalid --%s: expected a file name (at most 1023 bytes)", o->name);
    strcpy(field, arg);
    return LBSIM_PARSE_RUN;
  case OPT_ADMIN:
    if (lbsim_number_read(&o->range, arg, &d) != 0)
      return bad_value(o, arg, err, errlen);
    cfg->admin = true;
    cfg->admin_port = (uint32_t)d;
    return LBSIM_PARSE_RUN;
  case OPT_METRICS:
    return parse_metrics(cfg, arg, err, errlen);
  case OPT_REPLAY:
    /* The one located (locate_replay) is not read here: this one comes after
     * an operand, which is refused once the options are read. */
    return LBSIM_PARSE_RUN;
  case OPT_SUBSET_MODE: {
    int mode = lbsim_subset_mode_find(arg);
    if (mode < 0)
      return error(err, errlen, "invalid --subset-mode '%s': expected random or deterministic", lbsim_token(arg));
    cfg->subset_mode = (lbsim_subset_mode_t)mode;
    cfg->subset_mode_given = true;
    return LBSIM_PARSE_RUN;
  }
  case OPT_RETRY_ON: {
    uint32_t on;
    char why[160];
    if (lbsim_retry_on_parse(arg, &on, why, sizeof(why)) != 0)
      return error(err, errlen, "%s", why);
    *(uint32_t *)field = on;
    return LBSIM_PARSE_RUN;
  }
  case OPT_RETRY_BUDGET:
    return parse_budget(cfg, o, arg, err, errlen);
  case OPT_RETRY_THROTTLE:
    return parse_throttle(cfg, o, arg, err, errlen);
  case OPT_WEIGHTS:
    return parse_weights(cfg, o, arg, err, errlen);
  case OPT_HELP:
    return LBSIM_PARSE_HELP;
  case OPT_VERSION:
    return LBSIM_PARSE_VERSION;
  }
  return error(err, errlen, "internal error: unhandled option --%s", o->name);
}

/* ---- checks that involve more than one option ------------------------------------ */

/* The traffic shape of the runs: a sweep of burst, rate or concurrency
 * sets it for every run. */
static lbsim_shape_t run_shape(const lbsim_config_t *cfg) {
  for (uint32_t k = 0; k < cfg->sweep.naxes; k++) {
    int shape = lbsim_config_option_shape(cfg->sweep.axes[k].param);
    if (shape >= 0)
      return (lbsim_shape_t)shape;
  }
  return cfg->shape;
}

/* The least value a run gets for an option: the swept one's, or the option's. */
static double least(const lbsim_config_t *cfg, const char *name, double value) {
  for (uint32_t k = 0; k < cfg->sweep.naxes; k++)
    if (strcmp(options[cfg->sweep.axes[k].param].name, name) == 0)
      for (uint32_t i = 0; i < cfg->sweep.axes[k].nvalues; i++)
        if (i == 0 || cfg->sweep.axes[k].values[i] < value)
          value = cfg->sweep.axes[k].values[i];
  return value;
}

/* Options that only bursts use, given with another traffic shape. */
static lbsim_parse_result_t check_shape_options(const lbsim_config_t *cfg, const parse_state_t *ps, char *err,
                                                size_t errlen) {
  lbsim_shape_t shape = run_shape(cfg);
  if (shape == LBSIM_SHAPE_BURST || !(ps->burst_given || ps->sleep_given))
    return LBSIM_PARSE_RUN;
  const char *option = shape == LBSIM_SHAPE_RATE ? "rate" : "concurrency";
  char by[96];
  if (shape != cfg->shape)
    snprintf(by, sizeof(by), "--sweep %s", option);
  else if (ps->shape_from == FROM_REPLAY)
    snprintf(by, sizeof(by), "--%s (from --replay %s)", option, ps->replay);
  else
    snprintf(by, sizeof(by), "--%s", option);
  return error(err, errlen, "%s: %s sends no rounds",
               ps->burst_given ? "--burst is the size of a round" : "--sleep is the pause between rounds", by);
}

/* A run lasts at most LBSIM_RUN_MAX_S. What certainly takes longer, known
 * from the options, is refused here; the rest ends there (runner.h). */
static lbsim_parse_result_t check_run_length(const lbsim_config_t *cfg, char *err, size_t errlen) {
  char max[40];
  lbsim_number_text(LBSIM_RUN_MAX_S, max, sizeof(max));
  if (cfg->duration_s > 0)
    return LBSIM_PARSE_RUN; /* it ends by then */
  lbsim_shape_t shape = run_shape(cfg);
  if (shape == LBSIM_SHAPE_BURST && (cfg->rounds > 0 || cfg->requests > 0)) {
    double burst = least(cfg, "burst", cfg->burst);
    double rounds = cfg->requests > 0 ? ceil((double)cfg->requests / burst) : (double)cfg->rounds;
    if (cfg->rounds > 0 && (double)cfg->rounds < rounds)
      rounds = (double)cfg->rounds;
    /* Rounds count once --warmup is over. */
    double at_least = cfg->warmup_s + (rounds - 1) * cfg->sleep_s;
    if (at_least > LBSIM_RUN_MAX_S)
      return error(err, errlen, "%.0f rounds with --sleep %g%s last at least %.0f s: longer than a run may last (%s s); "
                   "give fewer rounds or a --duration", rounds, cfg->sleep_s, cfg->warmup_s > 0 ? " after --warmup" : "",
                   at_least, max);
  }
  if (shape == LBSIM_SHAPE_RATE && cfg->requests > 0) {
    double rate = least(cfg, "rate", cfg->rate);
    double expected = (double)cfg->requests / rate;
    if (expected > LBSIM_RUN_MAX_S)
      return error(err, errlen, "--requests %llu at --rate %g take some %.3g s: longer than a run may last (%s s); "
                   "give a --duration", (unsigned long long)cfg->requests, rate, expected, max);
  }
  return LBSIM_PARSE_RUN;
}

/* What --time-scale made of the times it multiplies (scale_by_time), and
 * every scenario time, checked as the options are. */
static lbsim_parse_result_t check_scaled_times(const lbsim_config_t *cfg, char *err, size_t errlen) {
  char max[40];
  lbsim_number_text(LBSIM_RUN_MAX_S, max, sizeof(max));
  const struct {
    const char *name;
    double given, scaled;
  } times[] = {{"--duration", cfg->given.duration_s, cfg->duration_s},
               {"--warmup", cfg->given.warmup_s, cfg->warmup_s}};
  for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
    if (times[i].given > 0 && (times[i].scaled < 1e-9 || times[i].scaled > LBSIM_RUN_MAX_S))
      return error(err, errlen, "%s %g x --time-scale %g is %g s: %s", times[i].name, times[i].given, cfg->time_scale,
                   times[i].scaled, times[i].scaled < 1e-9 ? "below 1 ns" : "longer than a run may last");
  if (cfg->interval_s < 1e-9)
    return error(err, errlen, "--interval %g x --time-scale %g is %g s: below 1 ns", cfg->given.interval_s,
                 cfg->time_scale, cfg->interval_s);
  for (uint32_t e = 0; e < cfg->scenario.nevents; e++) {
    const lbsim_event_t *ev = &cfg->scenario.events[e];
    if (ev->at_s * cfg->time_scale > LBSIM_RUN_MAX_S)
      return error(err, errlen, "%s:%u: at %g s x --time-scale %g is later than a run may last (%s s)",
                   cfg->scenario_path[0] ? lbsim_token(cfg->scenario_path) : cfg->replay, ev->line, ev->at_s,
                   cfg->time_scale, max);
  }
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t check_environment(lbsim_config_t *cfg, char *err, size_t errlen) {
  static const lbsim_range_t history = INT_UNIT(1024, 1073741824, "bytes");
  const char *env = getenv("LBSIM_EVENTS_HISTORY");
  if (!cfg->admin || env == NULL || *env == '\0')
    return LBSIM_PARSE_RUN;
  double v;
  if (lbsim_number_read(&history, env, &v) != 0) {
    char range[64];
    return error(err, errlen, "invalid LBSIM_EVENTS_HISTORY '%s': expected %s: %s", lbsim_token(env),
                 lbsim_range_kind(&history), lbsim_range_text(&history, range, sizeof(range)));
  }
  cfg->events_history = (size_t)v;
  return LBSIM_PARSE_RUN;
}

/* A file written (--report) that is one of the inputs (the scenario file,
 * by device and inode). A --resume file is appended to by design (and
 * may not be the report either: lbsim_sweep_validate). */
static lbsim_parse_result_t check_outputs(const lbsim_config_t *cfg, char *err, size_t errlen) {
  if (cfg->report_path[0] != '\0' && cfg->scenario_path[0] != '\0' &&
      lbsim_file_same(cfg->report_path, cfg->scenario_path))
    return error(err, errlen, "--report %s is the scenario %s: lbsim does not write over its input",
                 lbsim_token(cfg->report_path), lbsim_token(cfg->scenario_path));
  return LBSIM_PARSE_RUN;
}

bool lbsim_config_tools(const lbsim_config_t *cfg) {
  return cfg->retry.retries > 0 || cfg->retry.deadline_s > 0 || cfg->outlier.on || cfg->slow_start.window_s > 0 ||
         cfg->weights != NULL;
}

/* Whether --sweep NAME is given. */
static bool swept(const lbsim_config_t *cfg, const char *name) {
  for (uint32_t k = 0; k < cfg->sweep.naxes; k++)
    if (strcmp(options[cfg->sweep.axes[k].param].name, name) == 0)
      return true;
  return false;
}

/* The tools around the pick: each tuning option needs its tool on. */
static lbsim_parse_result_t check_tools(lbsim_config_t *cfg, char *err, size_t errlen) {
  for (uint32_t k = 0; k < cfg->sweep.naxes; k++)
    note_needs(cfg, &options[cfg->sweep.axes[k].param]); /* a swept tuning needs its tool as a given one does */
  if (cfg->needs_retries[0] != '\0' && cfg->retry.retries == 0 && !swept(cfg, "retries"))
    return error(err, errlen, "%s tunes retries: it needs --retries N above 0", cfg->needs_retries);
  if (cfg->needs_outlier[0] != '\0' && !cfg->outlier.on)
    return error(err, errlen, "%s tunes outlier ejection: it needs --outlier-ejection", cfg->needs_outlier);
  if (cfg->needs_slow_start[0] != '\0' && cfg->slow_start.window_s == 0 && !swept(cfg, "lb-slow-start"))
    return error(err, errlen, "%s tunes slow start: it needs --lb-slow-start S above 0", cfg->needs_slow_start);
  if (cfg->outlier.max_s < cfg->outlier.base_s)
    return error(err, errlen, "--outlier-max-ejection-time (%g s) is shorter than --outlier-base-ejection-time (%g s)",
                 cfg->outlier.max_s, cfg->outlier.base_s);
  if (cfg->weights != NULL) {
    uint32_t backends = cfg->role == LBSIM_ROLE_CLIENT ? cfg->nservers : cfg->backends;
    if (cfg->role == LBSIM_ROLE_BACKENDS)
      return error(err, errlen, "--weights is for the client side: it cannot be combined with --backends-only");
    if (swept(cfg, "backends"))
      return error(err, errlen, "--weights gives one weight per backend: it cannot be combined with --sweep backends");
    if (cfg->nweights != backends)
      return error(err, errlen, "--weights gives %u weight%s for %u backend%s", cfg->nweights,
                   cfg->nweights == 1 ? "" : "s", backends, backends == 1 ? "" : "s");
  }
  if (cfg->role == LBSIM_ROLE_BACKENDS && lbsim_config_tools(cfg))
    return error(err, errlen, "retries, deadlines, outlier ejection and slow start are the client's: they cannot be "
                              "combined with --backends-only");
  return LBSIM_PARSE_RUN;
}

/* The backends' load as the clients learn it: piggybacked reports or a
 * board, not both; a board needs the backends in this process; a policy
 * that reads the load needs one of them (a sweep of load-board gives it a
 * board in every run). */
static lbsim_parse_result_t validate_loads(const lbsim_config_t *cfg, char *err, size_t errlen) {
  if (cfg->load_board_s > 0 && cfg->load_reports)
    return error(err, errlen, "--load-board replaces --load-reports: give one of them");
  if (cfg->load_board_s > 0 && cfg->role != LBSIM_ROLE_DEMO)
    return error(err, errlen, "--load-board reads the built-in backends' state: it cannot be combined with %s",
                 cfg->role == LBSIM_ROLE_CLIENT ? "--client-only" : "--backends-only");
  bool board_swept = swept(cfg, "load-board");
  if (board_swept && cfg->load_reports)
    return error(err, errlen, "--sweep load-board replaces --load-reports: give one of them");
  if (cfg->load_reports || cfg->load_board_s > 0 || board_swept || cfg->role == LBSIM_ROLE_BACKENDS)
    return LBSIM_PARSE_RUN;
  for (uint32_t w = 0; w < cfg->npolicies; w++) {
    const lbsim_policy_ops_t *ops = lbsim_policy_find(cfg->policies[w]);
    if (ops != NULL && (ops->uses & LBSIM_POLICY_USES_LOADS))
      return error(err, errlen, "%s reads the load the backends report: give --load-reports or --load-board S",
                   ops->name);
  }
  return LBSIM_PARSE_RUN;
}

static lbsim_parse_result_t validate(lbsim_config_t *cfg, const parse_state_t *ps, char *err, size_t errlen) {
  lbsim_parse_result_t r;
  if (cfg->scenario_path[0] != '\0') {
    if (cfg->role == LBSIM_ROLE_CLIENT)
      return error(err, errlen, "--scenario changes the built-in backends: it cannot be combined with --client-only");
    lbsim_scenario_free(&cfg->scenario); /* a file replaces a replay's script */
    if (lbsim_scenario_load(&cfg->scenario, cfg->scenario_path, cfg->backends, err, errlen) != 0)
      return LBSIM_PARSE_ERROR;
  }
  cfg->given = (lbsim_time_scaled_t){cfg->duration_s, cfg->warmup_s, cfg->interval_s, cfg->requests};
  scale_by_time(cfg);
  if ((r = check_scaled_times(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if (cfg->report_path[0] != '\0' && cfg->role == LBSIM_ROLE_BACKENDS)
    return error(err, errlen, "--report draws the client's view: it cannot be combined with --backends-only");
  if ((r = check_outputs(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if (cfg->latency.floor_ms > cfg->latency.ceil_ms)
    return error(err, errlen, "--latency-floor (%g) is greater than --latency-ceil (%g)",
                 cfg->latency.floor_ms, cfg->latency.ceil_ms);
  if (lbsim_sweep_validate(&cfg->sweep, cfg, err, errlen) != 0)
    return LBSIM_PARSE_ERROR;
  if (cfg->role == LBSIM_ROLE_BACKENDS && (cfg->rounds > 0 || cfg->requests > 0 || cfg->duration_s > 0))
    return error(err, errlen, "%s ends the client's traffic: --backends-only runs no client, until SIGINT or SIGTERM",
                 cfg->rounds > 0 ? "--rounds" : cfg->requests > 0 ? "--requests" : "--duration");
  if ((r = check_shape_options(cfg, ps, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if (cfg->sweep.naxes > 0)
    cfg->clock = LBSIM_CLOCK_VIRTUAL; /* a sweep is a series of virtual runs */
  if (cfg->clock == LBSIM_CLOCK_VIRTUAL) {
    /* No sockets: what needs one cannot run, and nothing else would end it. */
    if (cfg->role != LBSIM_ROLE_DEMO)
      return error(err, errlen, "%s needs sockets: it cannot be combined with --clock virtual",
                   cfg->role == LBSIM_ROLE_CLIENT ? "--client-only" : "--backends-only");
    if (cfg->nservers > 0)
      return error(err, errlen, "--server needs sockets: it cannot be combined with --clock virtual");
    if (cfg->admin)
      return error(err, errlen, "--admin needs sockets: it cannot be combined with --clock virtual");
    if (cfg->metrics)
      return error(err, errlen, "--metrics needs sockets: it cannot be combined with --clock virtual");
    /* A sweep's ends may be swept: lbsim_sweep_validate checked every run's. */
    if (cfg->sweep.naxes == 0 && cfg->rounds == 0 && cfg->duration_s == 0 && cfg->requests == 0)
      return error(err, errlen, "--clock virtual needs an end: give --rounds, --duration or --requests");
  }
  if ((r = check_run_length(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if ((r = check_environment(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if (cfg->role == LBSIM_ROLE_CLIENT && cfg->nservers == 0)
    return error(err, errlen, "--client-only needs at least one --server URL");
  if (cfg->role != LBSIM_ROLE_CLIENT && cfg->nservers > 0)
    return error(err, errlen, "--server is only for --client-only (the demo drives its own backends)");
  if (cfg->compare && cfg->role != LBSIM_ROLE_DEMO)
    return error(err, errlen, "--compare runs its own copies of the backends: it cannot be combined with %s",
                 cfg->role == LBSIM_ROLE_CLIENT ? "--client-only" : "--backends-only");
  if (cfg->subset_mode_given && cfg->subset == 0)
    return error(err, errlen, "--subset-mode needs --subset K");
  if (cfg->role == LBSIM_ROLE_BACKENDS && (cfg->clients > 1 || cfg->subset > 0))
    return error(err, errlen, "--%s is for the client side: it cannot be combined with --backends-only",
                 cfg->clients > 1 ? "clients" : "subset");
  uint32_t backends = cfg->role == LBSIM_ROLE_CLIENT ? cfg->nservers : cfg->backends;
  if (cfg->subset > backends)
    return error(err, errlen, "--subset %u is more than the %u backend%s", cfg->subset, backends,
                 backends == 1 ? "" : "s");
  if ((r = validate_loads(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if ((r = check_tools(cfg, err, errlen)) != LBSIM_PARSE_RUN)
    return r;
  if (cfg->warmup_s > 0 && cfg->duration_s > 0 && cfg->warmup_s >= cfg->duration_s)
    return error(err, errlen, "--warmup (%g s) must be shorter than --duration (%g s)", cfg->warmup_s,
                 cfg->duration_s);
  uint32_t copies = cfg->compare ? cfg->npolicies : 1;
  if (cfg->role != LBSIM_ROLE_CLIENT && cfg->port_base != 0 &&
      cfg->port_base + copies * cfg->backends - 1 > 65535)
    return error(err, errlen, "--port-base %u with %u backends%s goes past port 65535", cfg->port_base,
                 copies * cfg->backends, cfg->compare ? " (a copy per compared policy)" : "");
  return LBSIM_PARSE_RUN;
}

/* ---- replays ------------------------------------------------------------------------ */

/* A replay is a published experiment, written as the options and the
 * scenario that reproduce it; its options take its place on the command
 * line (parse_state_t). */
typedef struct replay_s {
  const char *name;
  const char *const *args;
  const char *scenario;
} replay_t;

/* Linkerd, "Beyond Round Robin: Load Balancing for Latency" (2016): 11
 * backends, 1000 req/s open loop for 60 s, one backend stuck at 2 s from
 * t=15 s to t=45 s, 1 s timeout. The healthy backends' latency is not
 * published: they answer in 10 ms plus exponential noise of mean 10 ms. */
static const char *const linkerd_args[] = {
    "--backends", "11", "--latency", "10", "--jitter", "exp:10", "--drift-period", "0", "--rate", "1000",
    "--duration", "60", "--timeout", "1", "--interval", "5", "--choices", "2", "-q",
    "--compare", "round-robin,least-outstanding,p2c-peak-ewma", NULL};
static const char linkerd_scenario[] = "at 15s backend 1 latency 2000ms\n"
                                       "at 45s backend 1 latency 10ms\n";

/* tower's balance example (tower-balance/examples/demo.rs, 2019): 10
 * endpoints whose latency is uniform in [0, max) with max 1, 10, 10, 10, 10,
 * 100, 100, 100, 100, 1000 ms; 50,000 requests at concurrency 50. */
static const char *const tower_args[] = {
    "--backends", "10", "--latency", "1", "--jitter", "uniform:1", "--drift-period", "0", "--concurrency", "50",
    "--requests", "50000", "--interval", "5", "--choices", "2", "--decay", "10", "-q",
    "--compare", "p2c-peak-ewma,least-outstanding,round-robin", NULL};
static const char tower_scenario[] = "at 0s backend 1 latency 0.5ms\n"
                                     "at 0s backend 2 latency 5ms\n"
                                     "at 0s backend 3 latency 5ms\n"
                                     "at 0s backend 4 latency 5ms\n"
                                     "at 0s backend 5 latency 5ms\n"
                                     "at 0s backend 6 latency 50ms\n"
                                     "at 0s backend 7 latency 50ms\n"
                                     "at 0s backend 8 latency 50ms\n"
                                     "at 0s backend 9 latency 50ms\n"
                                     "at 0s backend 10 latency 500ms\n";

/* A retry storm that outlives its trigger (Bronson et al., "Metastable
 * Failures in Distributed Systems", HotOS 2021): 20 clients, 10 backends of
 * 10 servers that take 10 ms each (10,000 requests/s in all), offered 65 %
 * of that; each attempt times out after 50 ms (five service times) and is
 * retried up to 3 times. From 20 s to 30 s every backend is 3 times slower.
 * docs/metastable.md has what follows, with and without a retry budget. */
static const char *const metastable_args[] = {
    "--backends", "10", "--clients", "20", "--capacity", "10", "--latency", "10", "--drift-period", "0",
    "--rate", "6500", "--timeout", "0.05", "--retries", "3", "--duration", "120", "--interval", "1", "-q",
    "--policy", "round-robin", NULL};
static const char metastable_scenario[] = "at 20s all latency 30ms\n"
                                          "at 30s all latency 10ms\n";

static const replay_t replays[] = {
    {"linkerd", linkerd_args, linkerd_scenario},
    {"tower", tower_args, tower_scenario},
    {"metastable", metastable_args, metastable_scenario},
};

static const replay_t *find_replay(const char *name) {
  for (size_t i = 0; i < sizeof(replays) / sizeof(replays[0]); i++)
    if (strcmp(replays[i].name, name) == 0)
      return &replays[i];
  return NULL;
}

/* ---- the command line ---------------------------------------------------------------- */

/* getopt_long's tables; `plus`: stop at the first operand (no reordering). */
static void getopt_tables(struct option *longopts, char *shortopts, bool plus) {
  size_t ns = 0;
  if (plus)
    shortopts[ns++] = '+';
  shortopts[ns++] = ':'; /* report a missing argument as ':' */
  for (size_t i = 0; i < NOPTIONS; i++) {
    longopts[i] = (struct option){options[i].name, options[i].metavar ? required_argument : no_argument,
                                  NULL, (int)(256 + i)};
    if (options[i].short_name) {
      shortopts[ns++] = (char)options[i].short_name;
      if (options[i].metavar)
        shortopts[ns++] = ':';
    }
  }
  shortopts[ns] = '\0';
  longopts[NOPTIONS] = (struct option){0, 0, 0, 0};
}

#define REPLAY_INDEX ((int)(256 + (find_option("replay") - options)))

/* Where --replay is on the command line (argv[*from .. *to)), as getopt
 * reads it (abbreviated, with = or not, and never the value of another
 * option); *from = *to = argc when there is none. Errors are left to the
 * parse itself, but for a second --replay. */
static lbsim_parse_result_t locate_replay(int argc, char **argv, int *from, int *to, const char **name, char *err,
                                          size_t errlen) {
  struct option longopts[NOPTIONS + 1];
  char shortopts[2 * NOPTIONS + 3];
  getopt_tables(longopts, shortopts, true);
  char **copy = malloc(((size_t)argc + 1) * sizeof(*copy));
  if (copy == NULL)
    return error(err, errlen, "out of memory");
  memcpy(copy, argv, (size_t)argc * sizeof(*copy));
  copy[argc] = NULL;
  *from = *to = argc;
  *name = NULL;
  opterr = 0;
  optind = 0;
  lbsim_parse_result_t r = LBSIM_PARSE_RUN;
  for (;;) {
    int at = optind > 0 ? optind : 1;
    int c = getopt_long(argc, copy, shortopts, longopts, NULL);
    if (c == -1)
      break;
    if (c != REPLAY_INDEX)
      continue;
    if (*name != NULL) {
      r = error(err, errlen, "--replay given twice");
      break;
    }
    *name = optarg;
    *from = at;
    *to = optind;
  }
  free(copy);
  return r;
}

/* An unknown long option, or an abbreviation of several. */
static lbsim_parse_result_t unknown_long(const char *what, char *err, size_t errlen) {
  const char *name = what + 2;
  size_t len = strcspn(name, "=");
  char list[512] = "";
  unsigned matches = 0;
  for (size_t i = 0; i < NOPTIONS && len > 0; i++) {
    if (strncmp(options[i].name, name, len) != 0)
      continue;
    size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, "%s--%s", matches ? ", " : "", options[i].name);
    matches++;
  }
  if (matches > 1)
    return error(err, errlen, "ambiguous option '--%s': it abbreviates %s", lbsim_token_n(name, len), list);
  return error(err, errlen, "unknown option '%s' (see --help)", lbsim_token(what));
}

/* Reads argv[0..argc) as options (from whoever ps->now says). */
static lbsim_parse_result_t parse_args(lbsim_config_t *cfg, parse_state_t *ps, int argc, char **argv, char *err,
                                       size_t errlen) {
  struct option longopts[NOPTIONS + 1];
  char shortopts[2 * NOPTIONS + 3];
  getopt_tables(longopts, shortopts, false);
  opterr = 0;
  optind = 0; /* glibc: full reinitialisation, so tests can parse repeatedly */
  lbsim_parse_result_t result = LBSIM_PARSE_RUN;
  for (;;) {
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == -1)
      break;
    if (c == '?' || c == ':') {
      const char *what = argv[optind - 1];
      if (optopt != 0 && optopt < 256) {
        char letter = (char)optopt;
        return error(err, errlen, c == ':' ? "option '-%s' needs a value" : "unknown option '-%s' (see --help)",
                     lbsim_token_n(&letter, 1));
      }
      if (optopt >= 256 && (size_t)(optopt - 256) < NOPTIONS) /* a known long option */
        return error(err, errlen, c == ':' ? "option '--%s' needs a value" : "option '--%s' takes no value",
                     options[optopt - 256].name);
      if (c == ':')
        return error(err, errlen, "option '%s' needs a value", lbsim_token(what));
      if (strncmp(what, "--", 2) == 0)
        return unknown_long(what, err, errlen);
      return error(err, errlen, "unknown option '%s' (see --help)", lbsim_token(what));
    }
    const opt_t *o = NULL;
    if (c >= 256)
      o = &options[c - 256];
    else
      for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].short_name == c)
          o = &options[i];
    if (o == NULL)
      return error(err, errlen, "unknown option (see --help)");
    lbsim_parse_result_t r = apply(cfg, ps, o, optarg, err, errlen);
    if (r == LBSIM_PARSE_ERROR)
      return r;
    if (r != LBSIM_PARSE_RUN && result == LBSIM_PARSE_RUN)
      result = r; /* --help / --version / --policy help win, but later options are still checked */
  }
  if (optind < argc)
    return error(err, errlen, "unexpected argument '%s' (see --help)", lbsim_token(argv[optind]));
  return result;
}

/* argv[from .. to), after the program's name, as options of `who`. */
static lbsim_parse_result_t parse_part(lbsim_config_t *cfg, parse_state_t *ps, source_t who, char *program,
                                       char *const *args, int nargs, char *err, size_t errlen) {
  char **argv = malloc(((size_t)nargs + 2) * sizeof(*argv));
  if (argv == NULL)
    return error(err, errlen, "out of memory");
  argv[0] = program;
  memcpy(argv + 1, args, (size_t)nargs * sizeof(*argv));
  argv[nargs + 1] = NULL;
  ps->now = who;
  lbsim_parse_result_t r = parse_args(cfg, ps, nargs + 1, argv, err, errlen);
  free(argv);
  return r;
}

lbsim_parse_result_t lbsim_config_parse(lbsim_config_t *cfg, int argc, char **argv, char *err, size_t errlen) {
  lbsim_config_defaults(cfg);
  parse_state_t ps = {0};
  int from, to;
  const char *name;
  lbsim_parse_result_t r = locate_replay(argc, argv, &from, &to, &name, err, errlen);
  if (r != LBSIM_PARSE_RUN)
    return r;
  const replay_t *replay = name ? find_replay(name) : NULL;
  if (name != NULL && replay == NULL)
    return error(err, errlen, "unknown --replay '%s' (linkerd, tower or metastable)", lbsim_token(name));
  lbsim_parse_result_t result = parse_part(cfg, &ps, FROM_USER, argv[0], argv + 1, from - 1, err, errlen);
  if (result == LBSIM_PARSE_ERROR)
    return result;
  if (replay != NULL) {
    int n = 0;
    while (replay->args[n])
      n++;
    cfg->scenario_path[0] = '\0'; /* the replay's script replaces a file given before it */
    ps.replay = replay->name;
    if (parse_part(cfg, &ps, FROM_REPLAY, argv[0], (char *const *)replay->args, n, err, errlen) != LBSIM_PARSE_RUN)
      return error(err, errlen, "internal error in replay %s: %s", replay->name, err);
    snprintf(cfg->replay, sizeof(cfg->replay), "%s", replay->name);
    r = parse_part(cfg, &ps, FROM_USER, argv[0], argv + to, argc - to, err, errlen);
    if (r == LBSIM_PARSE_ERROR)
      return r;
    if (result == LBSIM_PARSE_RUN)
      result = r;
  }
  if (result != LBSIM_PARSE_RUN)
    return result;
  if (replay && cfg->scenario_path[0] == '\0') {
    char what[64];
    snprintf(what, sizeof(what), "replay %s", replay->name);
    if (lbsim_scenario_parse(&cfg->scenario, replay->scenario, what, cfg->backends, err, errlen) != 0)
      return LBSIM_PARSE_ERROR;
  }
  return validate(cfg, &ps, err, errlen);
}

void lbsim_config_usage(FILE *out) {
  char max[40];
  fprintf(out,
          "Usage: lbsim [--backends-only | --client-only] [OPTIONS]\n"
          "       lbsim merge [--format FMT] [--report FILE.svg] [--sweep-metric METRIC] FILE...\n"
          "\n"
          "Simulates an adaptive HTTP load balancer on real sockets: N HTTP/1.1 backends\n"
          "whose latency drifts, and a client that keeps an EMA of each backend's latency\n"
          "and sends each burst to the lowest EMA (1-P) or a random other backend (P),\n"
          "all on one event loop. Round summaries go to stdout, logs to stderr.\n");
  for (size_t i = 0; i < NOPTIONS; i++) {
    const opt_t *o = &options[i];
    char left[64];
    if (o->section)
      fprintf(out, "\n%s:\n", o->section);
    if (o->short_name)
      snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
               o->metavar ? o->metavar : "");
    else
      snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->metavar ? " " : "",
               o->metavar ? o->metavar : "");
    /* A left column too long for its field keeps two spaces before the help. */
    fprintf(out, strlen(left) < 28 ? "  %-28s %s" : "  %s  %s", left, o->help);
    const char *range = range_text(o);
    if (range && o->default_text)
      fprintf(out, " (%s; default: %s)", range, o->default_text);
    else if (range)
      fprintf(out, " (%s)", range);
    else if (o->default_text)
      fprintf(out, " (default: %s)", o->default_text);
    fputc('\n', out);
  }
  fprintf(out,
          "\nWith --clock virtual nothing is bound or connected: --backends-only, --client-only,\n"
          "--server, --admin and --metrics are refused, and the tuning of the HTTP layer\n"
          "(--pool-size, --max-*, --header-timeout, --idle-timeout) is accepted and has no\n"
          "effect. A virtual run needs --rounds, --duration or --requests.\n"
          "\nNumbers are decimal, with an optional exponent (0.25, 1e3); an integer is a\n"
          "whole number. Ranges are in parentheses, units: s seconds, ms milliseconds.\n"
          "A run lasts at most %s s (365 days). Exit status: 0 done (or stopped by\n"
          "SIGINT/SIGTERM), 1 runtime failure (or a --client-only run in which no request\n"
          "succeeded), 2 bad command line, 130 second SIGINT.\n"
          "\nExamples:\n"
          "  lbsim                                   the demo: 5 drifting backends on 5001-5005\n"
          "  lbsim --rounds 3 --sleep 0 --latency 1:20 --seed 7\n"
          "  lbsim --backends-only --latency 0 --drift-period 0\n"
          "  lbsim --client-only --server http://127.0.0.1:8080/ --burst 50   any HTTP server on 8080\n"
          "  lbsim --clock virtual --rounds 100000 -q   the demo's loop in simulated time\n"
          "  lbsim --sweep alpha=0.1:0.9:0.1 --rounds 500 --seed 1 --shard 0/4 > part.0\n"
          "  lbsim merge part.0 part.1 part.2 part.3    the four shards' table, as one sweep's\n",
          lbsim_number_text(LBSIM_RUN_MAX_S, max, sizeof(max)));
}

void lbsim_config_list_policies(FILE *out) {
  fprintf(out, "Policies (--policy NAME, or --compare NAME1,NAME2,...):\n");
  for (const lbsim_policy_ops_t *const *p = lbsim_policy_all(); *p; p++)
    fprintf(out, "  %-20s %s\n", (*p)->name, (*p)->summary);
}
