/* Growable buffers with a sticky error. See lbsim/base/buf.h. */
#include "lbsim/base/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lbsim/base/error.h"

int lbsim_buf_reserve(lbsim_buf_t *buf, size_t extra) {
  if (buf->err)
    return buf->err;
  if (buf->cap - buf->len >= extra)
    return 0;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap - buf->len < extra) {
    if (cap > SIZE_MAX / 2) {
      buf->err = LBSIM_ENOMEM;
      return buf->err;
    }
    cap *= 2;
  }
  char *data = realloc(buf->data, cap);
  if (data == NULL) {
    buf->err = LBSIM_ENOMEM;
    return buf->err;
  }
  buf->data = data;
  buf->cap = cap;
  return 0;
}

int lbsim_buf_printf(lbsim_buf_t *buf, const char *fmt, ...) {
  if (buf->err)
    return buf->err;
  va_list ap;
  /* Most lines fit in what is already there: one pass. */
  size_t room = buf->cap - buf->len;
  va_start(ap, fmt);
  int n = vsnprintf(room ? buf->data + buf->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n < 0) {
    buf->err = LBSIM_EINVAL;
    return buf->err;
  }
  if ((size_t)n >= room) {
    int err = lbsim_buf_reserve(buf, (size_t)n + 1);
    if (err != 0)
      return err;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  buf->len += (size_t)n;
  return 0;
}

int lbsim_buf_u64(lbsim_buf_t *buf, uint64_t v) {
  char tmp[24];
  char *p = tmp + sizeof(tmp);
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return lbsim_buf_append(buf, p, (size_t)(tmp + sizeof(tmp) - p));
}

int lbsim_buf_fixed(lbsim_buf_t *buf, double v, int decimals) {
  static const double scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  if (decimals < 0 || decimals > 6 || !isfinite(v) || fabs(v) >= 1e12)
    return lbsim_buf_printf(buf, "%.*f", decimals, v);
  double scaled = fabs(v) * scale[decimals];
  double whole = floor(scaled);
  double frac = scaled - whole;
  /* Near a tie, the product above may have rounded across it: printf
   * decides from the exact binary value. */
  if (fabs(frac - 0.5) < 1e-6)
    return lbsim_buf_printf(buf, "%.*f", decimals, v);
  uint64_t units = (uint64_t)whole + (frac > 0.5);
  uint64_t ip = units / (uint64_t)scale[decimals];
  uint64_t fp = units % (uint64_t)scale[decimals];
  char tmp[48];
  char *p = tmp + sizeof(tmp);
  for (int d = 0; d < decimals; d++) {
    *--p = (char)('0' + fp % 10);
    fp /= 10;
  }
  if (decimals > 0)
    *--p = '.';
  do {
    *--p = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  if (signbit(v))
    *--p = '-'; /* as printf does, for -0.00 too */
  return lbsim_buf_append(buf, p, (size_t)(tmp + sizeof(tmp) - p));
}

int lbsim_buf_exact(lbsim_buf_t *buf, double v) {
  char text[32];
  for (int digits = 15; digits < 17; digits++) {
    snprintf(text, sizeof(text), "%.*g", digits, v);
    if (strtod(text, NULL) == v)
      return lbsim_buf_append_str(buf, text);
  }
  return lbsim_buf_printf(buf, "%.17g", v);
}

void lbsim_buf_consume(lbsim_buf_t *buf, size_t n) {
  if (n >= buf->len) {
    buf->len = 0;
    return;
  }
  memmove(buf->data, buf->data + n, buf->len - n);
  buf->len -= n;
}

void lbsim_buf_free(lbsim_buf_t *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
  buf->err = 0;
}
