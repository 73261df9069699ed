/* Files written whole. See lbsim/base/file.h. */
#define _GNU_SOURCE /* fopencookie */
#include "lbsim/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lbsim/base/error.h"

/* The temporary files open now, for lbsim_file_remove_temps: a fixed table
 * that a signal handler may read (a run writes one report). */
#define TEMPS 4
static char temps[TEMPS][PATH_MAX];
static volatile int temp_used[TEMPS];

static void temp_register(const char *path) {
  for (int i = 0; i < TEMPS; i++)
    if (!temp_used[i] && strlen(path) < PATH_MAX) {
      strcpy(temps[i], path);
      temp_used[i] = 1;
      return;
    }
}

static void temp_forget(const char *path) {
  for (int i = 0; i < TEMPS; i++)
    if (temp_used[i] && strcmp(temps[i], path) == 0)
      temp_used[i] = 0;
}

void lbsim_file_remove_temps(void) {
  for (int i = 0; i < TEMPS; i++)
    if (temp_used[i]) {
      unlink(temps[i]);
      temp_used[i] = 0;
    }
}

/* A name for an open descriptor (/dev/stdout, /dev/fd/1, ...): a file a
 * caller already holds open, whatever it is, is written where it stands. */
static bool names_a_descriptor(const char *path) {
  static const char *const prefixes[] = {"/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/"};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  return false;
}

/* Forgets the file; for one never opened, all zero, it frees nothing. */
/* A copy of s in memory of our own allocator (strdup's and realpath's come
 * from the C library's, which a test of failed allocations cannot see). */
static char *copy_of(const char *s) {
  size_t len = strlen(s) + 1;
  char *copy = malloc(len);
  if (copy != NULL)
    memcpy(copy, s, len);
  return copy;
}

static void clear(lbsim_file_t *f) {
  free(f->target);
  free(f->temp);
  f->target = f->temp = NULL;
  f->fd = -1;
  f->open = false;
}

/* A temporary file beside target, created now (so that the umask applies
 * to its mode), with the target's mode and owner when it exists. */
static int open_temp(lbsim_file_t *f, const struct stat *existing) {
  const char *slash = strrchr(f->target, '/');
  size_t dirlen = slash ? (size_t)(slash - f->target) + 1 : 0;
  const char *base = f->target + dirlen;
  size_t len = strlen(f->target) + 64;
  f->temp = malloc(len);
  if (f->temp == NULL)
    return LBSIM_ENOMEM;
  static unsigned serial;
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(f->temp, len, "%.*s.%s.lbsim-%ld-%u", (int)dirlen, f->target, base, (long)getpid(), serial++);
    f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd >= 0 || errno != EEXIST)
      break;
  }
  if (f->fd < 0)
    return -errno;
  f->open = true;
  temp_register(f->temp);
  if (existing != NULL) {
    if (fchmod(f->fd, existing->st_mode & 07777) != 0) {
      int err = -errno;
      lbsim_file_abandon(f);
      return err;
    }
    if (geteuid() == 0)
      (void)!fchown(f->fd, existing->st_uid, existing->st_gid); /* best effort: a new owner is no error */
  }
  return 0;
}

int lbsim_file_open(lbsim_file_t *f, const char *path) {
  clear(f);
  f->regular = false;
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (!exists && errno != ENOENT)
    return -errno;
  bool direct = names_a_descriptor(path) || (exists && !S_ISREG(st.st_mode));
  /* Through a symbolic link, the file it points to is replaced, not the link. */
  char resolved[PATH_MAX];
  if (exists && !direct && realpath(path, resolved) == NULL)
    return -errno;
  f->target = copy_of(exists && !direct ? resolved : path);
  if (f->target == NULL)
    return LBSIM_ENOMEM;
  int err = 0;
  if (direct) {
    f->regular = exists && S_ISREG(st.st_mode);
    /* A descriptor's file that is regular (stdout to a file) is added to. */
    f->fd = open(f->target, O_WRONLY | O_CLOEXEC | (f->regular ? O_APPEND : O_CREAT), 0666);
    if (f->fd < 0)
      err = -errno;
    f->open = f->fd >= 0;
  } else {
    f->regular = true;
    err = open_temp(f, exists ? &st : NULL);
  }
  if (err != 0)
    clear(f);
  return err;
}

int lbsim_write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Syncs the directory, so that the rename outlives a crash. */
static void sync_directory(const char *target) {
  const char *slash = strrchr(target, '/');
  char dir[PATH_MAX];
  if (slash == NULL)
    strcpy(dir, ".");
  else if ((size_t)(slash - target) < sizeof(dir))
    snprintf(dir, sizeof(dir), "%.*s", slash == target ? 1 : (int)(slash - target), target);
  else
    return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* A stream onto the file whose first write error is kept with its own
 * errno (ENOSPC, EFBIG, ...): a stream's error flag says only that one
 * happened. */
typedef struct sink_s {
  int fd;
  int err;
} sink_t;

static ssize_t sink_write(void *cookie, const char *data, size_t len) {
  sink_t *sink = cookie;
  if (sink->err == 0)
    sink->err = lbsim_write_all(sink->fd, data, len);
  return sink->err == 0 ? (ssize_t)len : -1;
}

int lbsim_file_commit(lbsim_file_t *f, int (*write_cb)(FILE *out, const void *arg), const void *arg) {
  if (!f->open)
    return LBSIM_EIO;
  sink_t sink = {f->fd, 0};
  FILE *out = fopencookie(&sink, "w", (cookie_io_functions_t){.write = sink_write});
  int err = out ? write_cb(out, arg) : LBSIM_ENOMEM;
  if (out != NULL && fclose(out) != 0 && err == 0)
    err = sink.err != 0 ? sink.err : LBSIM_EIO;
  if (sink.err != 0)
    err = sink.err; /* what the file said, before what the writer made of it */
  if (err == 0 && f->regular && fsync(f->fd) != 0)
    err = -errno;
  if (close(f->fd) != 0 && err == 0)
    err = -errno;
  f->fd = -1;
  if (err == 0 && f->temp != NULL) {
    if (rename(f->temp, f->target) != 0)
      err = -errno;
    else
      sync_directory(f->target);
  }
  if (f->temp != NULL) {
    if (err != 0)
      unlink(f->temp);
    temp_forget(f->temp);
  }
  clear(f);
  return err;
}

void lbsim_file_abandon(lbsim_file_t *f) {
  if (f->open)
    close(f->fd);
  if (f->temp != NULL) {
    unlink(f->temp);
    temp_forget(f->temp);
  }
  clear(f);
}

bool lbsim_file_same(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
