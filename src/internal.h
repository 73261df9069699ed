/* Shared but private helpers: logging, time units. */
#ifndef LBSIM_INTERNAL_H
#define LBSIM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/buf.h"
#include "lbsim/error.h"

#define LBSIM_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define LBSIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LBSIM_NS_PER_MS 1000000.0
#define LBSIM_NS_PER_S 1000000000.0

static inline uint64_t lbsim_ms_to_ns(double ms) {
  return ms <= 0 ? 0 : (uint64_t)(ms * LBSIM_NS_PER_MS + 0.5);
}

static inline uint64_t lbsim_s_to_ms(double s) {
  return s <= 0 ? 0 : (uint64_t)(s * 1000.0 + 0.5);
}

/* stderr logging: one line per call, prefixed with nothing (the header and
 * drift lines of DESIGN.md) or "lbsim: " for errors. */
void lbsim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lbsim_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a refusal's reason into err (one line, no prefix) and returns
 * LBSIM_EINVAL: `return lbsim_refuse(err, errlen, "bad %s", what);`. */
int lbsim_refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The virtual clock's drivers (vsim.c, vsweep.c): the wall clock in
 * seconds, for the line on stderr; SIGINT and SIGTERM setting the returned
 * flag (a second SIGINT leaves at once) until released. */
double lbsim_wall_s(void);
volatile int *lbsim_vsim_catch_signals(void);
void lbsim_vsim_release_signals(void);

#endif
