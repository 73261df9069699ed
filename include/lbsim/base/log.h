/* stderr logging: one line per call, prefixed with nothing (the header and
 * drift lines of DESIGN.md) or "lbsim: " for errors; the one way a parser
 * states why it refused its input; and how a message quotes the user's
 * input. */
#ifndef LBSIM_LOG_H
#define LBSIM_LOG_H

#include <stddef.h>

/* Every line is shown through lbsim_escape: one line of visible text. */
void lbsim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lbsim_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How many error lines the process has written: a run that fails for a
 * reason already told need not tell another. */
unsigned long lbsim_log_errors(void);

/* Writes a refusal's reason into err (one line, no prefix) and returns
 * LBSIM_EINVAL: `return lbsim_refuse(err, errlen, "bad %s", what);`. */
int lbsim_refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* in[0..inlen) as visible text into out (NUL-terminated, cut to fit):
 * printable ASCII and valid, visible UTF-8 as they are; \t, \n, \r, \v, \f
 * by name; every other byte (controls, invalid UTF-8, the bytes of a
 * byte-order mark or of another invisible mark) as \xHH. Returns the length
 * written. A backslash stays as it is, so that escaping twice changes
 * nothing. */
size_t lbsim_escape(char *out, size_t outlen, const char *in, size_t inlen);

/* A token of the user's input, as a message quotes it: escaped, and cut to
 * LBSIM_TOKEN_MAX bytes with "..." so that the reason after it is never
 * lost. The text lives in one of a few static buffers reused in turn: for
 * building one message at a time. */
#define LBSIM_TOKEN_MAX 80
const char *lbsim_token(const char *text);
const char *lbsim_token_n(const char *text, size_t len);

#endif
