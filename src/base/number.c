/* The number grammar and the ranges. See lbsim/base/number.h. */
#include "lbsim/base/number.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

#define NS_S 0.000000001  /* 1 ns, in seconds */
#define NS_MS 0.000001    /* 1 ns, in milliseconds */
#define DAY_S 86400.0

const lbsim_range_t lbsim_range_s_or_zero = {NS_S, DAY_S, false, true, false, "s"};
const lbsim_range_t lbsim_range_s = {NS_S, DAY_S, false, false, false, "s"};
const lbsim_range_t lbsim_range_period_s = {0.001, DAY_S, false, false, false, "s"};
const lbsim_range_t lbsim_range_latency_ms = {NS_MS, 3600000, false, true, false, "ms"};
const lbsim_range_t lbsim_range_probability = {0, 1, false, false, false, NULL};
const lbsim_range_t lbsim_range_capacity = {0, 1000000, false, false, true, NULL};

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int lbsim_number_scan(const char *text, double *value) {
  /* The grammar is checked here, so that strtod, which also reads hex,
   * inf, nan and leading blanks, only ever sees a decimal number. */
  const char *p = text;
  if (*p == '+' || *p == '-')
    p++;
  size_t digits = 0;
  while (is_digit(*p)) {
    p++;
    digits++;
  }
  if (*p == '.') {
    p++;
    while (is_digit(*p)) {
      p++;
      digits++;
    }
  }
  if (digits == 0)
    return LBSIM_EINVAL;
  if (*p == 'e' || *p == 'E') {
    const char *e = p + 1;
    if (*e == '+' || *e == '-')
      e++;
    if (is_digit(*e)) {
      while (is_digit(*e))
        e++;
      p = e;
    }
    /* else "2e" or "5ms": the number ends before the e, and what follows
     * is the caller's (a unit, or trailing text). */
  }
  size_t len = (size_t)(p - text);
  char buf[128];
  char *copy = len < sizeof(buf) ? buf : malloc(len + 1);
  if (copy == NULL)
    return LBSIM_ENOMEM;
  memcpy(copy, text, len);
  copy[len] = '\0';
  errno = 0;
  double v = strtod(copy, NULL);
  int err = errno;
  if (copy != buf)
    free(copy);
  /* Underflow is its nearest double (ERANGE with a tiny result); overflow
   * is refused. */
  if (!isfinite(v) || (err == ERANGE && fabs(v) > 1.0))
    return LBSIM_EINVAL;
  *value = v;
  return len > (size_t)INT_MAX ? LBSIM_EINVAL : (int)len;
}

int lbsim_number_parse(const char *text, double *value) {
  double v;
  int n = lbsim_number_scan(text, &v);
  if (n < 0 || text[n] != '\0')
    return LBSIM_EINVAL;
  *value = v;
  return 0;
}

bool lbsim_range_has(const lbsim_range_t *r, double v) {
  if (isnan(v))
    return false;
  if (r->integer && v != floor(v))
    return false;
  if (r->or_zero && v == 0)
    return true;
  return (r->above_min ? v > r->min : v >= r->min) && v <= r->max;
}

int lbsim_number_read(const lbsim_range_t *r, const char *text, double *value) {
  if (lbsim_number_parse(text, value) != 0)
    return LBSIM_EINVAL;
  return lbsim_range_has(r, *value) ? 0 : LBSIM_EINVAL;
}

const char *lbsim_number_text(double v, char *buf, size_t len) {
  if (v == floor(v) && fabs(v) < 1e17) {
    snprintf(buf, len, "%.0f", v);
    return buf;
  }
  /* Enough decimals for a nanosecond in seconds, no exponent, no trailing 0. */
  snprintf(buf, len, "%.12f", v);
  char *dot = strchr(buf, '.');
  if (dot != NULL) {
    char *end = buf + strlen(buf);
    while (end > dot + 1 && end[-1] == '0')
      *--end = '\0';
  }
  return buf;
}

const char *lbsim_range_text(const lbsim_range_t *r, char *buf, size_t len) {
  char lo[40], hi[40];
  lbsim_number_text(r->min, lo, sizeof(lo));
  lbsim_number_text(r->max, hi, sizeof(hi));
  snprintf(buf, len, r->above_min ? "%s(%s, %s]%s%s" : "%s%s..%s%s%s", r->or_zero ? "0 or " : "", lo, hi,
           r->unit ? " " : "", r->unit ? r->unit : "");
  return buf;
}

const char *lbsim_range_kind(const lbsim_range_t *r) {
  return r->integer ? "an integer" : "a number";
}
