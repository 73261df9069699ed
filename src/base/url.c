/* URLs: parsed from the command line, printed for simulated backends. See lbsim/base/url.h. */
#include "lbsim/base/url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lbsim/base/error.h"

static int fail(char *err, size_t errlen, const char *why) {
  snprintf(err, errlen, "%s", why);
  return LBSIM_EINVAL;
}

static int is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_';
}

static int is_ipv6_char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
         c == ':' || c == '.';
}

/* Visible ASCII only: no spaces, controls, or bytes that need encoding. */
static int is_target_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '#';
}

int lbsim_url_parse(lbsim_url_t *url, const char *text, char *err, size_t errlen) {
  memset(url, 0, sizeof(*url));
  size_t len = strlen(text);
  if (len == 0)
    return fail(err, errlen, "empty URL");
  if (len > LBSIM_URL_MAX)
    return fail(err, errlen, "URL longer than 2048 bytes");
  if (strncasecmp(text, "https://", 8) == 0)
    return fail(err, errlen, "https:// is not supported (plain http:// only)");
  if (strncasecmp(text, "http://", 7) != 0)
    return fail(err, errlen, "expected http://host:port/path");
  memcpy(url->text, text, len + 1);

  const char *p = text + 7;
  const char *auth_end = p + strcspn(p, "/?#");
  if (*auth_end == '#' || strchr(p, '#') != NULL)
    return fail(err, errlen, "URL fragments (#) are not allowed");
  if (memchr(p, '@', (size_t)(auth_end - p)) != NULL)
    return fail(err, errlen, "user info (user@host) is not supported");

  const char *host_begin, *host_end, *port_begin = NULL;
  if (*p == '[') {
    host_begin = p + 1;
    host_end = memchr(host_begin, ']', (size_t)(auth_end - host_begin));
    if (host_end == NULL)
      return fail(err, errlen, "unterminated [IPv6] address");
    for (const char *c = host_begin; c < host_end; c++)
      if (!is_ipv6_char(*c))
        return fail(err, errlen, "invalid character in [IPv6] address");
    if (host_end + 1 < auth_end) {
      if (host_end[1] != ':')
        return fail(err, errlen, "expected ':' after [IPv6] address");
      port_begin = host_end + 2;
    }
  } else {
    host_begin = p;
    host_end = memchr(p, ':', (size_t)(auth_end - p));
    if (host_end == NULL)
      host_end = auth_end;
    else
      port_begin = host_end + 1;
    for (const char *c = host_begin; c < host_end; c++)
      if (!is_host_char(*c))
        return fail(err, errlen, "invalid character in host name");
  }
  size_t host_len = (size_t)(host_end - host_begin);
  if (host_len == 0)
    return fail(err, errlen, "missing host");
  if (host_len >= sizeof(url->host))
    return fail(err, errlen, "host name too long");
  memcpy(url->host, host_begin, host_len);

  url->port = 80;
  if (port_begin != NULL) {
    if (port_begin == auth_end)
      return fail(err, errlen, "empty port");
    unsigned long port = 0;
    for (const char *c = port_begin; c < auth_end; c++) {
      if (*c < '0' || *c > '9')
        return fail(err, errlen, "port is not a number");
      port = port * 10 + (unsigned long)(*c - '0');
      if (port > 65535)
        return fail(err, errlen, "port out of range 1..65535");
    }
    if (port == 0)
      return fail(err, errlen, "port out of range 1..65535");
    url->port = (uint16_t)port;
  }
  size_t auth_len = (size_t)(auth_end - p);
  if (auth_len >= sizeof(url->authority))
    return fail(err, errlen, "host name too long");
  memcpy(url->authority, p, auth_len);

  const char *target = auth_end;
  for (const char *c = target; *c; c++)
    if (!is_target_char((unsigned char)*c))
      return fail(err, errlen, "invalid character in path (spaces and control bytes must be %-encoded)");
  if (*target == '\0')
    strcpy(url->path, "/");
  else if (*target == '?')
    snprintf(url->path, sizeof(url->path), "/%s", target);
  else
    memcpy(url->path, target, strlen(target) + 1);
  return 0;
}

void lbsim_url_backend(char *out, size_t len, const char *host, unsigned port) {
  bool v6 = strchr(host, ':') != NULL;
  snprintf(out, len, v6 ? "http://[%s]:%u/ping" : "http://%s:%u/ping", host, port);
}
