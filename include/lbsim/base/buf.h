/* A growable byte buffer with a sticky error.
 *
 * Appends never fail loudly: when memory runs out the buffer remembers it
 * (err = LBSIM_ENOMEM) and every later append is a no-op, so a sequence of
 * appends is checked once, where the result is used. Whoever sends a buffer
 * checks lbsim_buf_ok() first, so that an answer whose body was cut short
 * can never go out with a Content-Length that does not match it. */
#ifndef LBSIM_BUF_H
#define LBSIM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct lbsim_buf_s {
  char *data;
  size_t len;
  size_t cap;
  int err;                  /* 0, or the first error (LBSIM_ENOMEM); sticky */
} lbsim_buf_t;

#define LBSIM_BUF_INIT {0, 0, 0, 0}

/* Room for `extra` more bytes. 0, or the sticky error. */
int lbsim_buf_reserve(lbsim_buf_t *buf, size_t extra);
/* Inline: the virtual clock writes a hundred thousand round blocks a second. */
static inline int lbsim_buf_append(lbsim_buf_t *buf, const void *data, size_t len) {
  if (buf->err || buf->cap - buf->len < len) {
    int err = lbsim_buf_reserve(buf, len);
    if (err != 0)
      return err;
  }
  if (len > 0)
    memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  return 0;
}
int lbsim_buf_printf(lbsim_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A number with `decimals` (0 to 6) digits after the point, exactly as
 * printf's "%.*f" writes it, without printf on the common path. */
int lbsim_buf_fixed(lbsim_buf_t *buf, double v, int decimals);
int lbsim_buf_u64(lbsim_buf_t *buf, uint64_t v);
/* A finite number in the fewest digits (15, 16 or 17) that read back as
 * exactly v: 0.1 stays 0.1, and no bit is lost. */
int lbsim_buf_exact(lbsim_buf_t *buf, double v);
/* Drops the first n bytes. */
void lbsim_buf_consume(lbsim_buf_t *buf, size_t n);
void lbsim_buf_free(lbsim_buf_t *buf);

/* Empties the buffer and clears its error, keeping the memory. */
static inline void lbsim_buf_clear(lbsim_buf_t *buf) {
  buf->len = 0;
  buf->err = 0;
}

static inline bool lbsim_buf_ok(const lbsim_buf_t *buf) {
  return buf->err == 0;
}

/* Passes src's error on to dst: a message built from pieces composed apart
 * fails as a whole. */
static inline void lbsim_buf_take_error(lbsim_buf_t *dst, const lbsim_buf_t *src) {
  if (src->err != 0 && dst->err == 0)
    dst->err = src->err;
}

static inline int lbsim_buf_append_str(lbsim_buf_t *buf, const char *s) {
  return lbsim_buf_append(buf, s, strlen(s));
}

#endif
