/* --resume FILE: the sweep's runs kept in a file of lbsim's own, as JSON
 * Lines (vsweep.h), so that a sweep stopped at any instant goes on where
 * it was. FILE is opened, locked and checked before the first run: given
 * an existing FILE, it must hold this sweep (or this shard of it); a last
 * line cut in half by a kill is dropped, the runs it holds are not run
 * again, and the rest are appended, each written out and synced as it
 * ends, so that the file always ends as whole lines of the sweep. */
#ifndef LBSIM_RESUME_H
#define LBSIM_RESUME_H

#include <stddef.h>

#include "lbsim/virtual/vsweep.h"

typedef struct lbsim_resume_s {
  int fd;                     /* -1: closed */
  const char *path;
  size_t dropped;             /* bytes of a cut last line, dropped */
} lbsim_resume_t;

/* Opens path, checks it and hands sw the runs it holds. 0; LBSIM_EINVAL
 * with err set when the file is another sweep's or not a sweep's (exit 2:
 * the file is left as it was); another negative code with err set when it
 * cannot be opened, locked, read or written (exit 1). Close it either way. */
int lbsim_resume_open(lbsim_resume_t *rf, lbsim_vsweep_t *sw, const char *path, char *err, size_t errlen);
/* An lbsim_vsweep_run_cb: appends a run's line and syncs it. */
int lbsim_resume_append(void *rf, const char *line, size_t len);
void lbsim_resume_close(lbsim_resume_t *rf);

#endif
