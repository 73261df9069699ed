/* Command-line configuration: one table of options, parsed with getopt_long
 * and validated up front. Pure code: nothing here touches the loop. */
#ifndef LBSIM_CONFIG_H
#define LBSIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lbsim/balancer/outlier.h"
#include "lbsim/balancer/retry.h"
#include "lbsim/balancer/subset.h"
#include "lbsim/balancer/weights.h"
#include "lbsim/model/latency.h"
#include "lbsim/model/scenario.h"
#include "lbsim/model/service.h"
#include "lbsim/cli/sweep.h"
#include "lbsim/base/url.h"

#define LBSIM_MAX_BACKENDS 4096
#define LBSIM_MAX_POLICIES 16
#define LBSIM_MAX_CLIENTS 100000
/* --memory's default: 16 million batches of requests in flight at 128
 * bytes (docs/limits.md). */
#define LBSIM_MEMORY_MIB 2048

/* Process exit codes (DESIGN.md). */
enum {
  LBSIM_EXIT_OK = 0,
  LBSIM_EXIT_RUNTIME = 1,   /* port in use, cannot resolve, ... */
  LBSIM_EXIT_USAGE = 2,     /* bad command line */
  LBSIM_EXIT_INTERRUPTED = 130
};

typedef enum lbsim_role_e {
  LBSIM_ROLE_DEMO = 0,      /* backends and client on one loop */
  LBSIM_ROLE_BACKENDS,
  LBSIM_ROLE_CLIENT
} lbsim_role_t;

typedef enum lbsim_shape_e {
  LBSIM_SHAPE_BURST = 0,    /* rounds of --burst requests (the seed) */
  LBSIM_SHAPE_RATE,         /* open loop: Poisson arrivals at --rate */
  LBSIM_SHAPE_CONCURRENCY   /* closed loop: --concurrency always in flight */
} lbsim_shape_t;

typedef enum lbsim_clock_kind_e {
  LBSIM_CLOCK_REAL = 0,     /* sockets, timers, the wall clock */
  LBSIM_CLOCK_VIRTUAL       /* a discrete-event engine on simulated time */
} lbsim_clock_kind_t;

struct lbsim_format_s;      /* an output format (report.h) */

/* The options that --time-scale multiplies, as they were given. */
typedef struct lbsim_time_scaled_s {
  double duration_s;
  double warmup_s;
  double interval_s;
  uint64_t requests;
} lbsim_time_scaled_t;

typedef struct lbsim_config_s {
  lbsim_role_t role;

  /* backends */
  uint32_t backends;
  char host[256];
  uint32_t port_base;             /* 0: ports chosen by the OS */
  lbsim_latency_spec_t latency;
  double drift_period_s;          /* 0: no drift */
  uint32_t max_conns;             /* connections per backend */
  uint32_t max_header_bytes;      /* request line + headers -> 431 */
  uint32_t max_url_bytes;         /* -> 414 */
  uint32_t max_body_bytes;        /* -> 413 */
  uint32_t max_pipeline;          /* queued requests per connection */
  uint32_t max_output_bytes;      /* unsent output before reading stops */
  double header_timeout_s;        /* whole header section (slowloris) */
  double idle_timeout_s;          /* keep-alive idle */

  /* client */
  lbsim_url_t *servers;           /* --server, in order */
  uint32_t nservers;
  double alpha;
  double explore;
  uint32_t burst;
  double sleep_s;
  uint64_t rounds;                /* 0: until a signal */
  uint64_t requests;              /* stop launching after this many per policy (its clients' total); 0: no limit */
  double duration_s;              /* 0: no limit */
  double timeout_s;
  double failure_latency_ms;
  uint32_t pool_size;             /* connections per backend; 0: as many as can be in flight */
  double client_idle_s;           /* idle keep-alive connections closed after this */

  /* fleet */
  uint32_t clients;               /* independent balancers per policy */
  uint32_t subset;                /* backends each client uses; 0: all */
  lbsim_subset_mode_t subset_mode;
  bool subset_mode_given;
  double warmup_s;                /* run but not counted */
  bool load_reports;              /* backends write ORCA load reports; clients read them */
  double load_board_s;            /* Mitzenmacher's board: refreshed every S seconds; 0: none */

  /* around the pick: attempts, retries, ejection, slow start */
  lbsim_retry_config_t retry;     /* --deadline, --retries, --retry-* */
  lbsim_outlier_config_t outlier; /* --outlier-ejection, --outlier-* */
  lbsim_slow_start_config_t slow_start; /* --lb-slow-start* */
  double *weights;                /* --weights, one per backend, or NULL: all 1 */
  uint32_t nweights;
  char needs_retries[32];         /* the first option given that needs --retries (for the message) */
  char needs_outlier[40];         /* ... --outlier-ejection */
  char needs_slow_start[40];      /* ... --lb-slow-start */

  /* policies and traffic shapes */
  char policies[LBSIM_MAX_POLICIES][32]; /* --policy, or each of --compare */
  uint32_t npolicies;
  bool compare;
  double decay_s;                 /* p2c-peak-ewma time constant */
  uint32_t choices;               /* least-outstanding, least-loaded: 0 = full scan, k = best of k */
  double temperature_ms;          /* ema-softmax */
  lbsim_shape_t shape;
  double rate;                    /* requests per second, --rate */
  uint32_t concurrency;           /* --concurrency */
  double interval_s;              /* summary period for rate/concurrency */
  const struct lbsim_format_s *format; /* --format: text or json */

  /* load, faults, scenarios, observability */
  uint32_t capacity;              /* requests served at once per backend; 0: unlimited */
  lbsim_jitter_t jitter;          /* per-request noise */
  double error_rate;              /* probability of a 503 */
  char scenario_path[1024];
  lbsim_scenario_t scenario;      /* scripted changes (--scenario or a replay) */
  double time_scale;              /* scenario times and --duration are multiplied by it */
  char replay[16];                /* a published experiment, or "" */
  bool admin;
  uint32_t admin_port;            /* --admin PORT (0: chosen by the OS) */
  bool metrics;
  char metrics_host[64];          /* --metrics ADDR:PORT: any address, read-only */
  uint32_t metrics_port;
  size_t events_history;          /* $LBSIM_EVENTS_HISTORY, checked (0: the admin's default) */
  char report_path[1024];         /* --report FILE.svg, or "" */

  /* clock */
  lbsim_clock_kind_t clock;
  bool clock_given;               /* --clock was on the command line */
  double net_delay_ms;            /* virtual clock: network and HTTP cost of one request */
  uint32_t memory_mib;            /* virtual clock: the budget of the requests in flight (engine.h) */
  lbsim_sweep_t sweep;            /* --sweep, --sweep-metric, --seeds, --shard (naxes 0: no sweep) */
  lbsim_time_scaled_t given;      /* --duration, --warmup, --interval, --requests before --time-scale */
  char resume_path[1024];         /* --resume FILE, or "" */

  /* run */
  uint64_t seed;
  bool seed_given;
  bool quiet;
} lbsim_config_t;

typedef enum lbsim_parse_result_e {
  LBSIM_PARSE_RUN = 0,      /* configuration valid: run */
  LBSIM_PARSE_HELP,         /* --help: print usage, exit 0 */
  LBSIM_PARSE_VERSION,      /* --version: print version, exit 0 */
  LBSIM_PARSE_POLICIES,     /* --policy help: list the policies, exit 0 */
  LBSIM_PARSE_SWEEPABLE,    /* --sweep help: list what a sweep can vary, exit 0 */
  LBSIM_PARSE_ERROR         /* err holds the one-line reason: exit 2 */
} lbsim_parse_result_t;

void lbsim_config_defaults(lbsim_config_t *cfg);
/* Parses argv into cfg (defaults first). On LBSIM_PARSE_ERROR, err holds a
 * message without the "lbsim: " prefix and without a newline. */
lbsim_parse_result_t lbsim_config_parse(lbsim_config_t *cfg, int argc, char **argv,
                                        char *err, size_t errlen);
void lbsim_config_free(lbsim_config_t *cfg);
void lbsim_config_usage(FILE *out);
/* --policy help */
void lbsim_config_list_policies(FILE *out);
/* --sweep help */
void lbsim_config_list_sweepables(FILE *out);

/* ---- what a sweep varies: the option table's own options ---------------------
 * Every option that changes what a run does (not the sockets alone, not the
 * output, not which runs a sweep has) and takes one number can be swept;
 * --latency as one latency for every backend. Options are named by their
 * index in the table. */

/* The index of the sweepable option `name`, or -1 with *why set (why it
 * cannot be swept, for a message). */
int lbsim_config_sweepable(const char *name, const char **why);
/* Their names in the table's order, at most max of them: how many. */
uint32_t lbsim_config_sweepables(const char **names, uint32_t max);
const char *lbsim_config_option_name(int option);
/* What a plot's axis says of it in parentheses: its --help when that is a
 * short plain phrase ("EMA weight of the newest latency sample"), else the
 * unit of its value ("ms", "s", "requests/s"); NULL: neither. */
const char *lbsim_config_option_meaning(int option);
/* The traffic shape (lbsim_shape_t) that sweeping it chooses, or -1. */
int lbsim_config_option_shape(int option);
/* Sets it to v as the command line would: the traffic shape it chooses,
 * what --time-scale multiplies multiplied by it. */
void lbsim_config_set_number(lbsim_config_t *cfg, int option, double v);

/* A value of a numeric option (by its long name), read and checked as the
 * command line reads and checks it (lbsim/base/number.h): its range, and a
 * whole number for an integer option. 0, or LBSIM_EINVAL; either way
 * *expected is what the error messages say a value must be ("an integer
 * 1..1000000"). For values given elsewhere than after their option
 * (sweeps). */
int lbsim_config_number(const char *option, const char *text, double *value, const char **expected);
int lbsim_config_check_number(const char *option, double value, const char **expected);

/* What decides a virtual run's outcome (not its output): every option that
 * affects one, in the option table's order, each as "--name=value" with
 * every number exact, the scenario as its script (lbsim_scenario_format),
 * one --sweep per swept parameter with its values listed, and --seed.
 * Options at their defaults are there too, so that two descriptions are
 * alike exactly when the runs are. A sweep's shards and resume files start
 * with it. arg(data, "--alpha=0.3") is called once per option given. */
void lbsim_config_describe(const lbsim_config_t *cfg, void (*arg)(void *data, const char *text), void *data);
/* Applies one "--name=value" of a description as the command line would,
 * without the checks of the line as a whole. A described scenario is
 * skipped: a merge runs nothing. 0, or LBSIM_EINVAL with err set. */
int lbsim_config_set(lbsim_config_t *cfg, const char *text, char *err, size_t errlen);

/* Whether any tool around the pick is on (a deadline, retries, outlier
 * ejection, weights or slow start): the run then counts user requests apart
 * from their attempts, and says so in its output. */
bool lbsim_config_tools(const lbsim_config_t *cfg);

#endif
