/* Shared but private helpers: growable byte buffers, logging, time units. */
#ifndef LBSIM_INTERNAL_H
#define LBSIM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

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

/* A growable byte buffer. Memory is released with lbsim_buf_free.
 *
 * Its error is sticky: once room could not be found, every later append
 * does nothing and returns the error, so that whoever composes a message
 * need not check each piece, and whoever sends it checks `err` once
 * (an answer cut short must not go out). lbsim_buf_free clears it. */
typedef struct lbsim_buf_s {
  char *data;
  size_t len;
  size_t cap;
  int err;        /* 0, or UV_ENOMEM once an append has failed */
} lbsim_buf_t;

/* Ensures room for `extra` more bytes; returns 0 or UV_ENOMEM. */
int lbsim_buf_reserve(lbsim_buf_t *buf, size_t extra);
int lbsim_buf_append(lbsim_buf_t *buf, const void *data, size_t len);
int lbsim_buf_printf(lbsim_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lbsim_buf_consume(lbsim_buf_t *buf, size_t n);
void lbsim_buf_free(lbsim_buf_t *buf);
/* Empties the buffer, keeping its memory, and clears its error. */
static inline void lbsim_buf_clear(lbsim_buf_t *buf) {
  buf->len = 0;
  buf->err = 0;
}
/* Passes src's error on to dst: a message built from pieces composed
 * apart fails as a whole. */
static inline void lbsim_buf_take_error(lbsim_buf_t *dst, const lbsim_buf_t *src) {
  if (src->err != 0 && dst->err == 0)
    dst->err = src->err;
}

static inline int lbsim_buf_append_str(lbsim_buf_t *buf, const char *s) {
  return lbsim_buf_append(buf, s, strlen(s));
}

/* stderr logging: one line per call, prefixed with nothing (the header and
 * drift lines of DESIGN.md) or "lbsim: " for errors. */
void lbsim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lbsim_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
