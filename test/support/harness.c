#include "harness.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 512

static struct {
  const char *name;
  lbsim_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static bool current_failed;

void lbsim_test_register(const char *name, lbsim_test_fn fn) {
  if (ntests == MAX_TESTS) {
    fprintf(stderr, "harness: too many tests\n");
    abort();
  }
  tests[ntests].name = name;
  tests[ntests].fn = fn;
  ntests++;
}

void lbsim_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  current_failed = true;
}

bool lbsim_test_timing(void) {
  const char *v = getenv("LBSIM_TEST_NO_TIMING");
  return v == NULL || strcmp(v, "1") != 0;
}

bool lbsim_test_failed(void) {
  return current_failed;
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0, ran = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* As lbsim itself does: a write to a connection the peer closed is an
   * error to handle, not a signal. */
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < ntests; i++) {
    if (argc > 1) {
      bool wanted = false;
      for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], tests[i].name) == 0)
          wanted = true;
      if (!wanted)
        continue;
    }
    ran++;
    current_failed = false;
    tests[i].fn();
    printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tests[i].name);
    if (current_failed)
      failed++;
    else
      passed++;
  }
  if (argc > 1 && ran != argc - 1) {
    fprintf(stderr, "harness: unknown test name among the arguments\n");
    failed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
