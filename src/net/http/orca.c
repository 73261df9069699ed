/* ORCA's load report, TEXT format. See lbsim/net/http/orca.h. */
#include "lbsim/net/http/orca.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

/* A number to 1e-4, as short as it reads back: "812.3", "0.97", "0". */
static int put_fixed(char *buf, size_t len, double v) {
  int n = snprintf(buf, len, "%.4f", v);
  if (n <= 0 || (size_t)n >= len)
    return n;
  while (n > 1 && buf[n - 1] == '0')
    n--;
  if (buf[n - 1] == '.')
    n--;
  buf[n] = '\0';
  return n;
}

size_t lbsim_orca_header(const lbsim_load_report_t *r, char *buf, size_t len) {
  char rps[48], cpu[48];
  put_fixed(rps, sizeof(rps), r->rps);
  put_fixed(cpu, sizeof(cpu), r->cpu);
  int n;
  if (r->has & LBSIM_LOAD_CPU)
    n = snprintf(buf, len,
                 LBSIM_ORCA_HEADER ": TEXT named_metrics.rif=%u, named_metrics.queue=%u, rps_fractional=%s, "
                                   "cpu_utilization=%s\r\n",
                 r->rif, r->queue, rps, cpu);
  else
    n = snprintf(buf, len, LBSIM_ORCA_HEADER ": TEXT named_metrics.rif=%u, named_metrics.queue=%u, rps_fractional=%s\r\n",
                 r->rif, r->queue, rps);
  return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

static bool blank(char c) {
  return c == ' ' || c == '\t';
}

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

/* A whole token as a finite decimal number. */
static bool number(const char *s, size_t len, double *out) {
  char text[64];
  if (len == 0 || len >= sizeof(text))
    return false;
  for (size_t k = 0; k < len; k++)
    if (strchr("0123456789.eE+-", s[k]) == NULL)
      return false; /* no hex, no "inf", no "nan", no blanks inside */
  memcpy(text, s, len);
  text[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (*end != '\0' || errno == ERANGE || !isfinite(v))
    return false;
  *out = v;
  return true;
}

static bool is(const char *name, size_t len, const char *literal) {
  return strlen(literal) == len && memcmp(name, literal, len) == 0;
}

#define MAX_ENTRIES 64

int lbsim_orca_parse(const char *value, size_t len, lbsim_load_report_t *out, const char **why) {
  static const char prefix[] = "TEXT ";
  static const char named[] = "named_metrics.";
  static const char *const known[] = {"cpu_utilization", "mem_utilization", "application_utilization",
                                      "rps_fractional", "eps"};
  memset(out, 0, sizeof(*out));
  while (len > 0 && blank(value[0])) {
    value++;
    len--;
  }
  while (len > 0 && blank(value[len - 1]))
    len--;
  if (len == sizeof(prefix) - 2 && memcmp(value, prefix, len) == 0)
    return 0; /* "TEXT " and nothing: a report of nothing */
  if (len < sizeof(prefix) - 1 || memcmp(value, prefix, sizeof(prefix) - 1) != 0) {
    *why = "not the TEXT format";
    return LBSIM_EINVAL;
  }
  const char *names[MAX_ENTRIES];
  size_t name_lens[MAX_ENTRIES];
  uint32_t nentries = 0;
  const char *p = value + sizeof(prefix) - 1, *end = value + len;
  while (p < end && blank(*p))
    p++;
  if (p == end)
    return 0; /* no metrics at all: a report of nothing */
  for (;;) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    const char *a = p, *b = stop;
    while (a < b && blank(*a))
      a++;
    while (b > a && blank(b[-1]))
      b--;
    if (a == b) {
      *why = "an empty metric";
      return LBSIM_EINVAL;
    }
    const char *sep = a;
    while (sep < b && *sep != '=' && *sep != ':')
      sep++;
    if (sep == b) {
      *why = "a metric without a value";
      return LBSIM_EINVAL;
    }
    const char *name = a;
    size_t name_len = (size_t)(sep - a);
    while (name_len > 0 && blank(name[name_len - 1]))
      name_len--;
    const char *v = sep + 1;
    while (v < b && blank(*v))
      v++;
    if (name_len == 0) {
      *why = "a metric without a name";
      return LBSIM_EINVAL;
    }
    for (size_t k = 0; k < name_len; k++)
      if (!name_char(name[k])) {
        *why = "a metric name with a character other than letters, digits, '_', '.' and '-'";
        return LBSIM_EINVAL;
      }
    double x;
    if (!number(v, (size_t)(b - v), &x)) {
      *why = "a metric whose value is not a finite number";
      return LBSIM_EINVAL;
    }
    bool is_named = name_len > sizeof(named) - 1 && memcmp(name, named, sizeof(named) - 1) == 0;
    bool ok = is_named;
    for (size_t k = 0; !ok && k < sizeof(known) / sizeof(known[0]); k++)
      ok = is(name, name_len, known[k]);
    if (!ok) {
      *why = name_len >= sizeof(named) - 1 && memcmp(name, named, sizeof(named) - 1) == 0
                 ? "a named metric without a key"
                 : "a metric name ORCA does not have";
      return LBSIM_EINVAL;
    }
    for (uint32_t k = 0; k < nentries; k++)
      if (name_lens[k] == name_len && memcmp(names[k], name, name_len) == 0) {
        *why = "a metric given twice";
        return LBSIM_EINVAL;
      }
    if (nentries == MAX_ENTRIES) {
      *why = "more than 64 metrics";
      return LBSIM_EINVAL;
    }
    names[nentries] = name;
    name_lens[nentries++] = name_len;
    bool rif = is(name, name_len, "named_metrics.rif"), queue = is(name, name_len, "named_metrics.queue");
    if ((rif || queue) && (x < 0 || x > UINT32_MAX)) {
      *why = "a count of requests below 0 or above 4294967295";
      return LBSIM_EINVAL;
    }
    if (rif) {
      out->rif = (uint32_t)llround(x);
      out->has |= LBSIM_LOAD_RIF;
    } else if (queue) {
      out->queue = (uint32_t)llround(x);
      out->has |= LBSIM_LOAD_QUEUE;
    } else if (is(name, name_len, "rps_fractional")) {
      out->rps = x;
      out->has |= LBSIM_LOAD_RPS;
    } else if (is(name, name_len, "cpu_utilization")) {
      if (x < 0) {
        *why = "a utilization below 0";
        return LBSIM_EINVAL;
      }
      out->cpu = x;
      out->has |= LBSIM_LOAD_CPU;
    }
    if (comma == NULL)
      return 0;
    p = comma + 1;
  }
}

int lbsim_orca_from_response(const lbsim_hresp_t *r, lbsim_load_report_t *out, const char **why) {
  memset(out, 0, sizeof(*out));
  if (r->load_count == 0) {
    *why = "missing";
    return LBSIM_EINVAL;
  }
  if (r->load_count > 1) {
    *why = "given more than once";
    return LBSIM_EINVAL;
  }
  if (r->load_too_long) {
    *why = "longer than the client keeps (256 bytes)";
    return LBSIM_EINVAL;
  }
  return lbsim_orca_parse(r->load, r->load_len, out, why);
}
