/* Allocations that fail, on purpose (support/failalloc.h).
 *
 * Set-up: lbsim_run, the entry point of main(), runs in a child process
 * once for every allocation it makes, with that allocation failing (and once
 * more with every allocation from that one on failing), until a run makes
 * fewer allocations than the one chosen. Every run must end as a normal run
 * (a failure at run time costs requests or connections, and says so at most
 * once) or with exit 1 and one line saying why; never with a crash, a
 * sanitizer or valgrind report, a leak, or a loop left with open handles.
 *
 * Accept: a backend whose allocations fail while a connection arrives loses
 * that connection (closed, never half an answer), and accepts the next. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#include <string.h>
#include <stdio.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

#include "cmdline.h"
#include "failalloc.h"
#include "harness.h"
#include "lbsim/base/buf.h"
#include "lbsim/base/common.h"
#include "lbsim/cli/config.h"
#include "lbsim/cli/run.h"
#include "lbsim/net/http/hreply.h"
#include "backend_fixture.h"
#include "tnet.h"

/* A run takes milliseconds; valgrind makes that seconds. */
#define CHILD_WAIT_MS 120000
#define WAIT_MS 5000

/* ---- one run of lbsim in a child process ------------------------------------ */

typedef struct child_report_s {
  uint64_t calls;
  uint64_t failures;
  int64_t leaked;            /* blocks allocated by the run and not freed */
  uint64_t valgrind_errors;  /* under valgrind: errors, and bytes definitely lost */
  uint64_t valgrind_lost;
} child_report_t;

typedef struct outcome_s {
  int exit_code;             /* -1 when killed by a signal */
  int signal;
  bool hung;
  bool reported;             /* lbsim_sim_run returned */
  child_report_t report;
  char err[16384];           /* its stderr (the start of it) */
  size_t err_len;
} outcome_t;

static void run_in_child(const char *const *args, uint64_t nth, bool and_later, int err_fd, int report_fd) {
  int devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  close(devnull);
  close(err_fd);
  lbsim_config_t cfg;
  char why[512];
  if (cmdline_parse_argv(&cfg, why, sizeof(why), args) != LBSIM_PARSE_RUN) {
    fprintf(stderr, "test: bad arguments: %s\n", why);
    _exit(99);
  }
  int64_t live = failalloc_live();
  failalloc_arm(nth, and_later);
  int code = lbsim_run(&cfg);
  failalloc_disarm();
  child_report_t r = {failalloc_calls(), failalloc_failures(), failalloc_live() - live, 0, 0};
  lbsim_config_free(&cfg);
#ifdef HAVE_VALGRIND_H
  /* Valgrind reports a child's errors on the test's own stderr and turns
   * them into exit 1: count them here instead. */
  if (RUNNING_ON_VALGRIND) {
    unsigned long lost = 0, dubious = 0, reachable = 0, suppressed = 0;
    VALGRIND_DO_QUICK_LEAK_CHECK;
    VALGRIND_COUNT_LEAKS(lost, dubious, reachable, suppressed);
    (void)dubious, (void)reachable, (void)suppressed;
    r.valgrind_errors = (uint64_t)VALGRIND_COUNT_ERRORS;
    r.valgrind_lost = lost;
  }
#endif
  if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
    _exit(98);
  exit(code); /* not _exit: LeakSanitizer looks at the child here */
}

/* Runs lbsim with `args` and the nth allocation failing. With `stop_at`,
 * sends SIGTERM once stderr shows that text (a role that runs until told
 * to stop). Waits for the child's exit, at most CHILD_WAIT_MS. */
static void run_lbsim(const char *const *args, uint64_t nth, bool and_later, const char *stop_at, outcome_t *o) {
  memset(o, 0, sizeof(*o));
  int errp[2], repp[2];
  if (pipe(errp) != 0 || pipe(repp) != 0)
    abort();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    abort();
  if (pid == 0) {
    close(errp[0]);
    close(repp[0]);
    run_in_child(args, nth, and_later, errp[1], repp[1]);
  }
  close(errp[1]);
  close(repp[1]);
  bool stop_sent = false;
  uint64_t deadline = uv_hrtime() + (uint64_t)CHILD_WAIT_MS * 1000000u;
  for (;;) {
    uint64_t now = uv_hrtime();
    if (now >= deadline) {
      kill(pid, SIGKILL);
      o->hung = true;
      break;
    }
    struct pollfd p = {.fd = errp[0], .events = POLLIN};
    int r = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
    if (r < 0 && errno != EINTR)
      abort();
    if (r <= 0)
      continue;
    char chunk[4096];
    ssize_t n = read(errp[0], chunk, sizeof(chunk));
    if (n <= 0)
      break; /* the child has exited */
    size_t room = sizeof(o->err) - 1 - o->err_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(o->err + o->err_len, chunk, take);
    o->err_len += take;
    o->err[o->err_len] = '\0';
    if (stop_at != NULL && !stop_sent && strstr(o->err, stop_at) != NULL) {
      kill(pid, SIGTERM);
      stop_sent = true;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o->reported = read(repp[0], &o->report, sizeof(o->report)) == (ssize_t)sizeof(o->report);
  close(errp[0]);
  close(repp[0]);
  o->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Lines of stderr that start with `prefix` (and, with `lacking`, do not
 * contain that). */
static int lines_starting(const char *text, const char *prefix, const char *lacking) {
  int n = 0;
  size_t len = strlen(prefix);
  for (const char *line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
    size_t line_len = strcspn(line, "\n");
    n += strncmp(line, prefix, len) == 0 && (lacking == NULL || !memmem(line, line_len, lacking, strlen(lacking)));
  }
  return n;
}

/* Checks one run; on a problem, fails the test with what the run printed. */
static bool acceptable(const char *what, uint64_t nth, bool and_later, const outcome_t *o) {
  const char *problem = NULL;
  int errors = lines_starting(o->err, "lbsim: ", NULL);
  if (o->hung)
    problem = "no exit within the bound";
  else if (o->signal != 0)
    problem = "killed by a signal";
  else if (strstr(o->err, "Sanitizer") || strstr(o->err, "runtime error") || lines_starting(o->err, "==", NULL) > 0)
    problem = "a sanitizer or valgrind report";
  else if (!o->reported)
    problem = "the process ended before lbsim_sim_run returned";
  else if (o->report.leaked != 0 || o->report.valgrind_lost != 0)
    problem = "memory leaked";
  else if (o->report.valgrind_errors != 0)
    problem = "valgrind found errors (above, on the test's stderr)";
  else if (strstr(o->err, "internal error") != NULL)
    problem = "an internal error";
  else if (o->report.failures == 0 && (o->exit_code != 0 || errors != 0))
    problem = "a run without a failed allocation did not end normally";
  else if (o->exit_code != 0 && o->exit_code != 1)
    problem = "an exit code other than 0 and 1";
  else if (o->exit_code == 1 && errors == 0)
    problem = "exit 1 without a 'lbsim: ' line";
  else if (!and_later && errors > 1)
    problem = "one failed allocation, more than one 'lbsim: ' line";
  else if (lines_starting(o->err, "lbsim: ", "memory") > 0)
    problem = "a 'lbsim: ' line that does not name the cause (memory)";
  if (problem == NULL)
    return true;
  lbsim_test_fail(__FILE__, __LINE__,
                  "%s, allocation %llu failing%s: %s (exit %d, signal %d, %lld blocks leaked)\n"
                  "--- stderr ---\n%s--------------",
                  what, (unsigned long long)nth, and_later ? " and every one after it" : "", problem,
                  o->exit_code, o->signal, (long long)o->report.leaked, o->err);
  return false;
}

typedef struct tally_s {
  uint64_t allocations;      /* made by a run in which none failed */
  uint64_t runs, exit1, exit0;
} tally_t;

/* Fails allocation 1, 2, 3, ... of a run in turn, until a run makes fewer. */
static bool every_allocation_fails_in_turn(const char *what, const char *const *args, const char *stop_at,
                                           bool and_later, tally_t *tally) {
  memset(tally, 0, sizeof(*tally));
  for (uint64_t nth = 1;; nth++) {
    outcome_t *o = malloc(sizeof(*o));
    if (o == NULL)
      abort();
    run_lbsim(args, nth, and_later, stop_at, o);
    bool ok = acceptable(what, nth, and_later, o);
    if (getenv("LBSIM_TEST_VERBOSE") != NULL) { /* what each run did, to look at by hand */
      const char *line = strstr(o->err, "lbsim: ");
      printf("%s %llu%s: exit %d %.*s\n", what, (unsigned long long)nth, and_later ? "+" : "", o->exit_code,
             line ? (int)strcspn(line, "\n") : 0, line ? line : "");
    }
    bool past_the_end = o->report.failures == 0;
    tally->runs++;
    tally->exit0 += o->exit_code == 0 && !past_the_end;
    tally->exit1 += o->exit_code == 1;
    if (past_the_end)
      tally->allocations = o->report.calls;
    free(o);
    if (!ok)
      return false;
    if (past_the_end)
      break;
    if (nth > 100000) {
      lbsim_test_fail(__FILE__, __LINE__, "%s: no end to the allocations", what);
      return false;
    }
  }
  printf("%s%s: %llu allocations, each failed in turn; %llu runs ended with exit 1, %llu went on normally\n", what,
         and_later ? " (and every later one)" : "", (unsigned long long)tally->allocations,
         (unsigned long long)tally->exit1, (unsigned long long)tally->exit0);
  return true;
}

static void survive_every_failure_how(const char *what, const char *const *args, const char *stop_at,
                                      bool and_later_too) {
  for (int and_later = 0; and_later <= (int)and_later_too; and_later++) {
    tally_t t;
    if (!every_allocation_fails_in_turn(what, args, stop_at, and_later, &t))
      return;
    /* The loop tried something, and set-up failures were among it. */
    CHECK(t.allocations >= 5);
    CHECK(t.runs > t.allocations);
    CHECK(t.exit1 > 0);
  }
}

static void survive_every_failure(const char *what, const char *const *args, const char *stop_at) {
  survive_every_failure_how(what, args, stop_at, true);
}

/* A loopback port on which nothing listens (bound, not listening: a
 * connection is refused) for as long as the returned socket is open. */
static int closed_port(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    abort();
  *port = ntohs(a.sin_port);
  return fd;
}

static char scratch_dir[] = "/tmp/lbsim-allocXXXXXX";

static const char *temp_path(const char *name, char *buf, size_t len) {
  if (scratch_dir[sizeof(scratch_dir) - 2] == 'X' && mkdtemp(scratch_dir) == NULL)
    abort();
  snprintf(buf, len, "%s/%s", scratch_dir, name);
  return buf;
}

static void remove_temp(const char *path) {
  unlink(path);
  rmdir(scratch_dir);
}

TEST(demo_setup_survives_every_failed_allocation) {
  const char *args[] = {"lbsim", "--backends", "3", "--latency", "1", "--burst", "6", "--rounds", "2", "--sleep", "0",
                        "--port-base", "0", "--seed", "1", "--timeout", "2", NULL};
  survive_every_failure("demo", args, NULL);
}

TEST(compare_setup_survives_every_failed_allocation) {
  /* Every policy, a capacity queue set by a scenario line at 0 s, and the
   * report: each has allocations of its own. */
  char scenario[256], report[256];
  temp_path("scenario.txt", scenario, sizeof(scenario));
  temp_path("report.svg", report, sizeof(report));
  FILE *f = fopen(scenario, "w");
  CHECK(f != NULL);
  fputs("at 0s all capacity 2\nat 0s backend 1 latency 2ms\n", f);
  CHECK(fclose(f) == 0);
  const char *args[] = {"lbsim", "--compare", "ema-greedy,ema-softmax,p2c-peak-ewma,least-outstanding,round-robin,random",
                        "--backends", "2", "--latency", "1", "--burst", "4", "--rounds", "1", "--sleep", "0",
                        "--port-base", "0", "--seed", "1", "--timeout", "2", "--scenario", scenario, "--report", report,
                        "--format", "json", NULL};
  survive_every_failure("compare", args, NULL);
  unlink(report);
  remove_temp(scenario);
}

TEST(backends_only_setup_survives_every_failed_allocation) {
  /* Runs until SIGTERM, sent once the last part (the admin endpoint) has
   * started. */
  const char *args[] = {"lbsim", "--backends-only", "--backends", "3", "--capacity", "4", "--latency", "1",
                        "--port-base", "0", "--seed", "1", "--admin", "0", NULL};
  survive_every_failure("backends-only", args, "admin listening on");
}

TEST(virtual_run_survives_every_failed_allocation) {
  /* The same models under the virtual clock: the engine, its network of
   * copies, batches of requests, and the report. */
  char report[256];
  temp_path("virtual.svg", report, sizeof(report));
  const char *args[] = {"lbsim", "--clock", "virtual", "--compare", "ema-greedy,p2c-peak-ewma,least-outstanding",
                        "--backends", "3", "--rounds", "3", "--capacity", "2", "--jitter", "exp:5", "--seed", "1",
                        "--report", report, "--format", "json", NULL};
  survive_every_failure("virtual", args, NULL);
  remove_temp(report);
}

TEST(closed_loop_survives_every_failed_allocation) {
  /* One request in flight, four in all: when the only one cannot be
   * launched, it is tried again at the next interval rather than leave
   * nothing in flight and no end. (With every later allocation failing as
   * well, it would go on trying for ever, as it should.) */
  const char *args[] = {"lbsim", "--backends", "2", "--latency", "1", "--concurrency", "1", "--requests", "4",
                        "--interval", "0.05", "--port-base", "0", "--seed", "1", "--timeout", "2", NULL};
  survive_every_failure_how("closed loop", args, NULL, false);
}

/* lbsim's backends in a child process of their own, on a loopback port,
 * until the returned process is sent SIGTERM; none of its allocations fail. */
static pid_t backends_process(uint16_t *port) {
  int held = closed_port(port);
  close(held); /* free again, for the backends to take */
  char base[16];
  snprintf(base, sizeof(base), "%u", *port);
  const char *args[] = {"lbsim", "--backends-only", "-n", "1", "--port-base", base, "--latency", "1",
                        "--drift-period", "0", "-q", NULL};
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    abort();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    lbsim_config_t cfg;
    char why[256];
    if (lbsim_config_parse(&cfg, 11, (char **)args, why, sizeof(why)) != LBSIM_PARSE_RUN)
      _exit(99);
    _exit(lbsim_run(&cfg));
  }
  /* Listening once a connect succeeds (bounded). */
  for (int tries = 0; tries < WAIT_MS / 10; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    if (up)
      return pid;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

TEST(client_only_setup_survives_every_failed_allocation) {
  /* A name to resolve, and a server elsewhere that answers. */
  uint16_t port;
  pid_t backends = backends_process(&port);
  CHECK(backends > 0);
  char url[64];
  snprintf(url, sizeof(url), "http://localhost:%u/ping", port);
  const char *args[] = {"lbsim", "--client-only", "--server", url, "--burst", "4", "--rounds", "1", "--sleep", "0",
                        "--seed", "1", "--timeout", "2", NULL};
  survive_every_failure("client-only", args, NULL);
  kill(backends, SIGTERM);
  waitpid(backends, NULL, 0);
}

TEST(client_only_with_no_answer_ends_with_exit_1_and_one_line_under_failed_allocations) {
  /* A server that refuses: not one request succeeds, which is exit 1 with
   * one line, whether memory also ran out or not. */
  uint16_t port;
  int held = closed_port(&port);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/ping", port);
  const char *args[] = {"lbsim", "--client-only", "--server", url, "--burst", "4", "--rounds", "1", "--sleep", "0",
                        "--seed", "1", "--timeout", "2", NULL};
  outcome_t *o = malloc(sizeof(*o));
  CHECK(o != NULL);
  run_lbsim(args, 0, false, NULL, o);
  CHECK_MSG(o->exit_code == 1 && lines_starting(o->err, "lbsim: ", NULL) == 1 &&
                strstr(o->err, "lbsim: not one request succeeded") != NULL,
            "exit %d: %s", o->exit_code, o->err);
  for (uint64_t nth = 1; nth < 400; nth++) {
    run_lbsim(args, nth, false, NULL, o);
    bool past_the_end = o->report.failures == 0;
    CHECK_MSG(o->exit_code == 1 && lines_starting(o->err, "lbsim: ", NULL) == 1 && o->report.leaked == 0,
              "allocation %llu failing: exit %d: %s", (unsigned long long)nth, o->exit_code, o->err);
    if (past_the_end)
      break;
  }
  free(o);
  close(held);
}

/* ---- accept ------------------------------------------------------------------ */

/* A server under test: its loop, its listener, what to ask and what the
 * answer must hold. */
typedef struct target_s {
  const char *name;
  uv_loop_t *loop;
  lbsim_httpd_t *httpd;
  uint16_t port;
  const char *request;
  const char *answer;        /* in the body of a whole 200 answer */
} target_t;

/* A plain blocking client: the kernel completes the connection from the
 * listen queue and holds the request, with nothing allocated in-process. */
typedef struct plain_s {
  int fd;
  char in[4096];
  size_t len;
  bool closed;               /* EOF or reset */
} plain_t;

static int plain_open(plain_t *c, const target_t *t) {
  memset(c, 0, sizeof(*c));
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(t->port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  size_t len = strlen(t->request);
  REQUIRE(c->fd >= 0);
  REQUIRE(connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
  REQUIRE(send(c->fd, t->request, len, 0) == (ssize_t)len);
  REQUIRE(fcntl(c->fd, F_SETFL, O_NONBLOCK) == 0);
  return 0;
}

/* A whole answer: the head, and a body of its Content-Length. */
static bool plain_answered(const plain_t *c) {
  const char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
  if (end == NULL)
    return false;
  const char *cl = memmem(c->in, (size_t)(end - c->in), "Content-Length: ", 16);
  size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
  return c->len >= (size_t)(end + 4 - c->in) + body;
}

static bool plain_done(void *arg) {
  plain_t *c = arg;
  while (!c->closed && c->len < sizeof(c->in)) {
    ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
    if (n > 0)
      c->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      c->closed = true;
    else
      break;
  }
  return c->closed || plain_answered(c);
}

static void plain_close(plain_t *c) {
  close(c->fd);
}

static bool served(const plain_t *c, const target_t *t) {
  const char *body = memmem(c->in, c->len, "\r\n\r\n", 4);
  return plain_answered(c) && strncmp(c->in, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
         memmem(body, c->len - (size_t)(body - c->in), t->answer, strlen(t->answer)) != NULL;
}

static bool no_connections(void *arg) {
  return ((target_t *)arg)->httpd->nconns == 0;
}

/* A fresh connection is answered in full. */
static int next_client_is_served(target_t *t) {
  plain_t c;
  REQUIRE(plain_open(&c, t) == 0);
  bool done = tnet_run_until(t->loop, plain_done, &c, WAIT_MS);
  bool ok = served(&c, t);
  plain_close(&c);
  REQUIRE(done && ok);
  REQUIRE(tnet_run_until(t->loop, no_connections, t, WAIT_MS));
  return 0;
}

/* Allocation 1, 2, ... of a connection's life fails (alone, then with
 * every later one): the connection gets its whole answer, a whole 500, or
 * nothing, and the next connection is served. 0 or -1. */
typedef struct fates_s {
  int dropped;               /* got nothing */
  int errors;                /* got a 500 */
} fates_t;

static int every_allocation_of_a_connection_fails(target_t *t, fates_t *fates) {
  memset(fates, 0, sizeof(*fates));
  REQUIRE(next_client_is_served(t) == 0);
  for (int and_later = 0; and_later <= 1; and_later++) {
    for (uint64_t nth = 1;; nth++) {
      plain_t c;
      REQUIRE(plain_open(&c, t) == 0);
      failalloc_arm(nth, and_later);
      bool done = tnet_run_until(t->loop, plain_done, &c, WAIT_MS);
      failalloc_disarm();
      uint64_t failures = failalloc_failures();
      bool whole = served(&c, t), none = c.closed && c.len == 0;
      bool error = plain_answered(&c) && strncmp(c.in, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0;
      fates->dropped += none;
      fates->errors += error;
      plain_close(&c);
      if (!done || !(whole || error || none)) {
        lbsim_test_fail(__FILE__, __LINE__, "%s: allocation %llu failing%s: %s after %zu bytes:\n%.*s", t->name,
                        (unsigned long long)nth, and_later ? " (and later ones)" : "",
                        done ? "neither the whole answer, a 500, nor nothing" : "no end", c.len, (int)c.len, c.in);
        return -1;
      }
      REQUIRE(tnet_run_until(t->loop, no_connections, t, WAIT_MS));
      REQUIRE(next_client_is_served(t) == 0);
      if (failures == 0)
        break;
      REQUIRE(nth < 1000);
    }
  }
  return 0;
}

TEST(failed_allocation_costs_one_connection_and_accepting_goes_on) {
  backend_fixture_t b;
  bfx_defaults(&b);
  CHECK_EQ(bfx_start(&b, 1), 0);
  target_t t = {"GET /ping", &b.loop, &b.backend.httpd, b.port, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", "\"status\":\"ok\""};
  fates_t fates;
  CHECK_EQ(every_allocation_of_a_connection_fails(&t, &fates), 0);
  CHECK(fates.dropped > 0);
  CHECK(b.backend.httpd.accept_errors > 0);
  CHECK_EQ(bfx_stop(&b), 0);
}

/* ---- a server that keeps request bodies (as the admin endpoint does) ------------ */

static void echo_route(void *app, const lbsim_hrequest_t *req, uint64_t now_ns, lbsim_hentry_t *e) {
  e->kind = 1;
  e->status = 200;
  e->due_ns = now_ns;
  e->arg = (uint32_t)req->body_len;
}

static void echo_render(void *app, const lbsim_hentry_t *e, lbsim_buf_t *out) {
  char body[64];
  int n = snprintf(body, sizeof(body), "body of %u bytes\n", e->arg);
  lbsim_hreply_simple(out, e, 200, "text/plain", NULL, body, (size_t)n);
}

static const lbsim_happ_t echo_app = {.route = echo_route, .render = echo_render};

typedef struct echo_server_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_httpd_t httpd;
  uint16_t port;
  bool closed;
} echo_server_t;

static void on_echo_closed(lbsim_httpd_t *server) {
  LBSIM_CONTAINER_OF(server, echo_server_t, httpd)->closed = true;
}

TEST(failed_allocation_never_loses_a_request_body) {
  /* A request whose body could not be kept is not answered as if it had
   * none: the connection closes. */
  echo_server_t e;
  memset(&e, 0, sizeof(e));
  CHECK_EQ(uv_loop_init(&e.loop), 0);
  CHECK_EQ(lbsim_sched_init(&e.sched, &e.loop), 0);
  lbsim_httpd_init(&e.httpd, &e.loop, &e.sched, &echo_app, &e);
  e.httpd.limits.capture_body = true;
  CHECK_EQ(lbsim_httpd_listen(&e.httpd, "127.0.0.1", 0, &e.port), 0);
  target_t t = {"POST with a body", &e.loop, &e.httpd, e.port,
                "POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
                "body of 5 bytes"};
  fates_t fates;
  CHECK_EQ(every_allocation_of_a_connection_fails(&t, &fates), 0);
  CHECK(fates.dropped > 0);
  CHECK(fates.errors > 0);
  lbsim_httpd_close(&e.httpd, on_echo_closed);
  lbsim_sched_close(&e.sched, NULL);
  uv_run(&e.loop, UV_RUN_DEFAULT);
  CHECK(e.closed);
  CHECK_EQ(uv_loop_close(&e.loop), 0);
}

TEST(connections_arriving_while_allocations_fail_are_dropped_then_service_resumes) {
  /* Several at once: each is taken off the listen queue and closed, though
   * nothing can be allocated for any of them. */
  enum { N = 8 };
  backend_fixture_t b;
  bfx_defaults(&b);
  CHECK_EQ(bfx_start(&b, 1), 0);
  target_t t = {"GET /ping", &b.loop, &b.backend.httpd, b.port, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n", "\"status\":\"ok\""};
  plain_t c[N];
  for (int i = 0; i < N; i++)
    CHECK_EQ(plain_open(&c[i], &t), 0);
  failalloc_arm(1, true);
  int closed = 0;
  for (int i = 0; i < N; i++) {
    tnet_run_until(&b.loop, plain_done, &c[i], WAIT_MS);
    closed += c[i].closed && c[i].len == 0;
  }
  failalloc_disarm();
  for (int i = 0; i < N; i++)
    plain_close(&c[i]);
  CHECK_EQ(closed, N);
  CHECK(failalloc_failures() >= N);
  CHECK(tnet_run_until(&b.loop, no_connections, &t, WAIT_MS));
  CHECK_EQ(next_client_is_served(&t), 0);
  CHECK_EQ(b.backend.httpd.accept_errors, N);
  CHECK_EQ(bfx_stop(&b), 0);
}

