/* The files lbsim writes (--report): whole, or not at all.
 *
 * A regular file (or one that does not exist yet) is written as a
 * temporary file in the same directory, synced, and renamed over the
 * target, which keeps its mode (and, as root, its owner): a reader sees the
 * old file or the new one, and a full disk leaves the old one as it was.
 * Anything else (a FIFO, a terminal, /dev/stdout, /dev/fd/N) is written
 * directly, as a stream. The temporary file is created when the file is
 * opened, before the run: a directory that cannot take it is found out
 * before any work is done.
 *
 * Streams written as they go (JSON Lines on stdout) are not whole files: a
 * reader must tolerate a cut last line. */
#ifndef LBSIM_FILE_H
#define LBSIM_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* All zero: not open (lbsim_file_abandon does nothing). */
typedef struct lbsim_file_s {
  char *target;   /* where the file goes, symbolic links followed */
  char *temp;     /* the temporary file beside it; NULL: written directly */
  int fd;
  bool open;
  bool regular;   /* fsync applies */
} lbsim_file_t;

/* Opens the way to `path`. 0, or a negative error code (-errno): the
 * directory does not exist or cannot be written, the target is a
 * directory, ... Either way lbsim_file_commit or lbsim_file_abandon
 * follows (after an error they do nothing). */
int lbsim_file_open(lbsim_file_t *file, const char *path);
/* Writes what `write` puts into its stream, whole: 0, or a negative error
 * code (-ENOSPC for a full disk; or from `write`, which returns the same
 * kind). On an error the target is as it was. Closes the file. */
int lbsim_file_commit(lbsim_file_t *file, int (*write)(FILE *out, const void *arg), const void *arg);
/* Leaves the target as it was: the temporary file is removed. */
void lbsim_file_abandon(lbsim_file_t *file);
/* Removes every temporary file still open: for a process about to end at
 * once (a second SIGINT). Async-signal-safe. */
void lbsim_file_remove_temps(void);

/* Writes all of data[0..len) to `fd`, again after a signal or a short
 * write: 0, or -errno. */
int lbsim_write_all(int fd, const char *data, size_t len);

/* Whether two paths name the same file (device and inode); false when
 * either does not exist. */
bool lbsim_file_same(const char *a, const char *b);

#endif
