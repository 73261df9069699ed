/* A small test harness: one TEST() = one function = one ctest entry.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ(a, b); CHECK_NEAR(x, 0.5, 0.01); }
 *
 * The test binary runs the test named on its command line, or every test
 * of the file without one, and ends with a plain "N passed, N failed" line.
 * A failed check prints file:line and the expression, and fails the test
 * (the test function returns at once). */
#ifndef LBSIM_TEST_HARNESS_H
#define LBSIM_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*lbsim_test_fn)(void);
void lbsim_test_register(const char *name, lbsim_test_fn fn);
void lbsim_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool lbsim_test_failed(void);

#define TEST(name)                                                                   \
  static void test_##name(void);                                                     \
  __attribute__((constructor)) static void register_##name(void) {                   \
    lbsim_test_register(#name, test_##name);                                         \
  }                                                                                  \
  static void test_##name(void)

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      lbsim_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                       \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define CHECK_MSG(cond, ...)                                                         \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      lbsim_test_fail(__FILE__, __LINE__, __VA_ARGS__);                              \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define CHECK_EQ(a, b)                                                               \
  do {                                                                               \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                  \
    if (check_a_ != check_b_) {                                                      \
      lbsim_test_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b,  \
                      check_a_, check_b_);                                           \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double check_a_ = (double)(a), check_b_ = (double)(b);                           \
    if (!(check_a_ >= check_b_ - (tol) && check_a_ <= check_b_ + (tol))) {           \
      lbsim_test_fail(__FILE__, __LINE__, "CHECK_NEAR(%s, %s, %s): %.6g vs %.6g",    \
                      #a, #b, #tol, check_a_, check_b_);                             \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define CHECK_STR_EQ(a, b)                                                           \
  do {                                                                               \
    const char *check_a_ = (a), *check_b_ = (b);                                     \
    if (strcmp(check_a_, check_b_) != 0) {                                           \
      lbsim_test_fail(__FILE__, __LINE__, "CHECK_STR_EQ(%s, %s): \"%s\" != \"%s\"",  \
                      #a, #b, check_a_, check_b_);                                   \
      return;                                                                        \
    }                                                                                \
  } while (0)

/* A check on elapsed time. Under valgrind (LBSIM_TEST_NO_TIMING=1 in the
 * environment) everything runs many times slower and only the memory is
 * checked: timing checks are then skipped, every other check still runs. */
bool lbsim_test_timing(void);
#define CHECK_TIME(cond, ...)                                                        \
  do {                                                                               \
    if (lbsim_test_timing() && !(cond)) {                                            \
      lbsim_test_fail(__FILE__, __LINE__, __VA_ARGS__);                              \
      return;                                                                        \
    }                                                                                \
  } while (0)

/* Like CHECK, for helper functions that return int: returns -1. */
#define REQUIRE(cond)                                                                \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      lbsim_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                     \
      return -1;                                                                     \
    }                                                                                \
  } while (0)

#endif
