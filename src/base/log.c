/* One line on stderr per message. See lbsim/base/log.h. */
#include "lbsim/base/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "lbsim/base/error.h"

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

static unsigned long errors_logged;

unsigned long lbsim_log_errors(void) {
  return errors_logged;
}

void lbsim_log_error(const char *fmt, ...) {
  errors_logged++;
  va_list ap;
  va_start(ap, fmt);
  vlog("lbsim: ", fmt, ap);
  va_end(ap);
}

int lbsim_refuse(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return LBSIM_EINVAL;
}
