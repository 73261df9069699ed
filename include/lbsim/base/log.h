/* stderr logging: one line per call, prefixed with nothing (the header and
 * drift lines of DESIGN.md) or "lbsim: " for errors; and the one way a
 * parser states why it refused its input. */
#ifndef LBSIM_LOG_H
#define LBSIM_LOG_H

#include <stddef.h>

void lbsim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lbsim_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How many error lines the process has written: a run that fails for a
 * reason already told need not tell another. */
unsigned long lbsim_log_errors(void);

/* Writes a refusal's reason into err (one line, no prefix) and returns
 * LBSIM_EINVAL: `return lbsim_refuse(err, errlen, "bad %s", what);`. */
int lbsim_refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
