/* The status line and common headers of an answer. See lbsim/net/http/hreply.h. */
#include "lbsim/net/http/hreply.h"

#include <time.h>

#include "lbsim/base/buf.h"
#include "lbsim_version.h"

const char *lbsim_hreply_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 421: return "Misdirected Request";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

const char *lbsim_hreply_date_line(void) {
  static time_t cached_sec = -1;
  static char line[64];
  time_t now = time(NULL);
  if (now != cached_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cached_sec = now;
  }
  return line;
}

void lbsim_hreply_head(lbsim_buf_t *out, const lbsim_hentry_t *entry, int status) {
  static const char server[] = "Server: lbsim/" LBSIM_VERSION "\r\n";
  if (status == 200) {
    static const char ok[] = "HTTP/1.1 200 OK\r\n";
    lbsim_buf_append(out, ok, sizeof(ok) - 1);
  } else {
    lbsim_buf_printf(out, "HTTP/1.1 %d %s\r\n", status, lbsim_hreply_reason(status));
  }
  lbsim_buf_append(out, server, sizeof(server) - 1);
  lbsim_buf_append_str(out, lbsim_hreply_date_line());
  if (!(entry->flags & LBSIM_HENTRY_KEEP_ALIVE))
    lbsim_buf_append_str(out, "Connection: close\r\n");
  else if (entry->flags & LBSIM_HENTRY_HTTP10)
    lbsim_buf_append_str(out, "Connection: keep-alive\r\n");
}

void lbsim_hreply_simple(lbsim_buf_t *out, const lbsim_hentry_t *entry, int status,
                         const char *content_type, const char *extra_headers, const char *body, size_t body_len) {
  lbsim_hreply_head(out, entry, status);
  if (extra_headers)
    lbsim_buf_append_str(out, extra_headers);
  lbsim_buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type, body_len);
  if (!(entry->flags & LBSIM_HENTRY_HEAD))
    lbsim_buf_append(out, body, body_len);
}
