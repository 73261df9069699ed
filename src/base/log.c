/* One line on stderr per message. See lbsim/base/log.h. */
#include "lbsim/base/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lbsim/base/error.h"

/* The length of the UTF-8 sequence at s (at most n bytes) when it is valid
 * and visible, else 0. Invisible marks that would make a quoted token look
 * like another (a byte-order mark, zero-width spaces, the bidirectional
 * controls, C1 controls) count as not visible. */
static size_t visible_utf8(const unsigned char *s, size_t n) {
  size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
  if (len == 0 || len > n)
    return 0;
  uint32_t cp = s[0] & (0x7f >> len);
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[k] & 0x3f);
  }
  bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  bool invisible = cp < 0xa0 || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
                   (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
  if (overlong || invisible || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return len;
}

size_t lbsim_escape(char *out, size_t outlen, const char *in, size_t inlen) {
  static const char names[] = "\tt\nn\rr\vv\ff";
  size_t o = 0;
  if (outlen == 0)
    return 0;
  for (size_t i = 0; i < inlen;) {
    unsigned char c = (unsigned char)in[i];
    char piece[8];
    size_t n;
    const char *name = c != 0 ? memchr(names, c, sizeof(names) - 1) : NULL;
    size_t keep = c >= 0x80 ? visible_utf8((const unsigned char *)in + i, inlen - i) : 0;
    if (c >= 0x20 && c < 0x7f) {
      piece[0] = (char)c;
      n = 1;
    } else if (keep > 0) {
      memcpy(piece, in + i, keep);
      n = keep;
    } else if (name != NULL && (name - names) % 2 == 0) {
      piece[0] = '\\';
      piece[1] = name[1];
      n = 2;
    } else {
      n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
    }
    if (o + n >= outlen)
      break;
    memcpy(out + o, piece, n);
    o += n;
    i += keep > 0 ? keep : 1;
  }
  out[o] = '\0';
  return o;
}

#define TOKENS 8
#define TOKEN_BYTES (4 * LBSIM_TOKEN_MAX + 8)

const char *lbsim_token_n(const char *text, size_t len) {
  static char buffers[TOKENS][TOKEN_BYTES];
  static unsigned next;
  char *buf = buffers[next++ % TOKENS];
  bool cut = len > LBSIM_TOKEN_MAX;
  size_t n = lbsim_escape(buf, TOKEN_BYTES - 4, text, cut ? LBSIM_TOKEN_MAX : len);
  if (cut)
    memcpy(buf + n, "...", 4);
  return buf;
}

const char *lbsim_token(const char *text) {
  return lbsim_token_n(text, strlen(text));
}

static void vlog(const char *prefix, const char *fmt, va_list ap) {
  /* Build the whole line first so concurrent writers never interleave it;
   * whatever it quotes, it stays one line of visible text. */
  char line[1024], shown[4096];
  size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);
  int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  if (m < 0)
    m = 0;
  n += (size_t)m;
  if (n > sizeof(line) - 1)
    n = sizeof(line) - 1;
  n = lbsim_escape(shown, sizeof(shown) - 1, line, n);
  shown[n++] = '\n';
  fwrite(shown, 1, n, stderr);
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
