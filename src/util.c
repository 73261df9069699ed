#include "internal.h"

int lbsim_buf_reserve(lbsim_buf_t *buf, size_t extra) {
  if (buf->err != 0)
    return buf->err;
  if (buf->cap - buf->len >= extra)
    return 0;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap - buf->len < extra) {
    if (cap > SIZE_MAX / 2) {
      buf->err = UV_ENOMEM;
      return buf->err;
    }
    cap *= 2;
  }
  char *data = realloc(buf->data, cap);
  if (data == NULL) {
    buf->err = UV_ENOMEM;
    return buf->err;
  }
  buf->data = data;
  buf->cap = cap;
  return 0;
}

int lbsim_buf_append(lbsim_buf_t *buf, const void *data, size_t len) {
  int err = lbsim_buf_reserve(buf, len);
  if (err != 0)
    return err;
  if (len > 0)
    memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  return 0;
}

int lbsim_buf_printf(lbsim_buf_t *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 && buf->err == 0)
    buf->err = UV_EINVAL; /* an encoding error: the text cannot be written */
  int err = buf->err != 0 ? buf->err : lbsim_buf_reserve(buf, (size_t)n + 1);
  if (err != 0)
    return err;
  va_start(ap, fmt);
  vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  buf->len += (size_t)n;
  return 0;
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

static void vlog(const char *prefix, const char *fmt, va_list ap) {
  /* Build the whole line first so concurrent writers never interleave it. */
  char line[1024];
  size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);
  int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  if (m < 0)
    m = 0;
  n += (size_t)m;
  if (n > sizeof(line) - 2)
    n = sizeof(line) - 2;
  line[n++] = '\n';
  fwrite(line, 1, n, stderr);
}

void lbsim_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("", fmt, ap);
  va_end(ap);
}

void lbsim_log_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("lbsim: ", fmt, ap);
  va_end(ap);
}
