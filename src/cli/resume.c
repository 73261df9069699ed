/* --resume FILE. See lbsim/cli/resume.h. */
#include "lbsim/cli/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lbsim/base/error.h"
#include "lbsim/base/file.h"
#include "lbsim/base/log.h"
#include "lbsim/cli/sweepfile.h"

int lbsim_resume_append(void *data, const char *line, size_t len) {
  lbsim_resume_t *rf = data;
  int err = lbsim_write_all(rf->fd, line, len);
  /* Written is enough if lbsim is killed; synced, if the machine goes away. */
  if (err == 0 && fdatasync(rf->fd) != 0)
    err = -errno;
  if (err != 0)
    lbsim_log_error("cannot write to %s: %s", rf->path, lbsim_strerror(err));
  return err;
}

/* This sweep's start line, as read back from a file. */
static json_t *expected_start(const lbsim_vsweep_t *sw, lbsim_buf_t *line, lbsim_sweepstart_t *start) {
  lbsim_vsweep_start_line(sw, line);
  json_t *obj = NULL;
  char err[128];
  if (!lbsim_buf_ok(line) || lbsim_sweepline_parse(line->data, line->len, &obj) != LBSIM_LINE_START ||
      lbsim_sweepstart_read(obj, start, err, sizeof(err)) != 0) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

/* The file's first line against this sweep's. */
static int check_start(lbsim_resume_t *rf, const lbsim_vsweep_t *sw, json_t *obj, const lbsim_sweepstart_t *mine,
                       char *err, size_t errlen) {
  lbsim_sweepstart_t start;
  char why[400];
  if (lbsim_sweepstart_read(obj, &start, why, sizeof(why)) != 0)
    return lbsim_refuse(err, errlen, "--resume %s is not a sweep's file: %s", rf->path, why);
  if (!lbsim_sweepstart_same(&start, rf->path, mine, "this command line", why, sizeof(why)))
    return lbsim_refuse(err, errlen, "--resume %s holds another sweep: %s", rf->path, why);
  if (start.shard != sw->shard || start.shards != sw->shards)
    return lbsim_refuse(err, errlen, "--resume %s holds shard %u/%u of this sweep, not %u/%u", rf->path, start.shard,
                        start.shards, sw->shard, sw->shards);
  return 0;
}

/* Reads the file: its start line, then its runs into sw. *good: where the
 * last whole line ends. */
static int read_file(lbsim_resume_t *rf, lbsim_vsweep_t *sw, FILE *in, const lbsim_sweepstart_t *mine, off_t *good,
                     char *err, size_t errlen) {
  char *text = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned lineno = 0;
  int status = 0;
  while (status == 0 && (len = getline(&text, &cap, in)) > 0) {
    lineno++;
    if (text[len - 1] != '\n')
      break; /* cut in half by a kill: dropped, its run is done again */
    json_t *obj;
    lbsim_sweepline_t kind = lbsim_sweepline_parse(text, (size_t)len, &obj);
    char why[300];
    uint64_t r;
    lbsim_figures_t figures;
    if (lineno == 1 && kind != LBSIM_LINE_START)
      status = lbsim_refuse(err, errlen, "--resume %s is not a sweep's file: its first line is not a start line",
                            rf->path);
    else if (lineno == 1)
      status = check_start(rf, sw, obj, mine, err, errlen);
    else if (kind != LBSIM_LINE_RUN)
      status = lbsim_refuse(err, errlen, "--resume %s:%u is not a run's line", rf->path, lineno);
    else if (lbsim_sweeprun_read(sw, obj, &r, &figures, why, sizeof(why)) != 0)
      status = lbsim_refuse(err, errlen, "--resume %s:%u: %s", rf->path, lineno, why);
    else if (lbsim_vsweep_known(sw, r, &figures) != 0)
      status = lbsim_refuse(err, errlen, "--resume %s:%u: run %llu is %s", rf->path, lineno, (unsigned long long)r,
                            lbsim_vsweep_mine(sw, r) ? "there twice" : "not one of this shard's");
    json_decref(obj);
    if (status == 0)
      *good += len;
  }
  if (status == 0 && ferror(in))
    status = -EIO;
  free(text);
  return status;
}

/* A failure of the system, not of the input: said, and never taken for a refusal. */
static int cannot(char *err, size_t errlen, const char *path, int code) {
  snprintf(err, errlen, "cannot resume from %s: %s", path, lbsim_strerror(code));
  return code == LBSIM_EINVAL ? LBSIM_EIO : code;
}

int lbsim_resume_open(lbsim_resume_t *rf, lbsim_vsweep_t *sw, const char *path, char *err, size_t errlen) {
  memset(rf, 0, sizeof(*rf));
  rf->path = path;
  struct stat st;
  /* Before opening: a FIFO would block the open, a directory fail it. */
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return lbsim_refuse(err, errlen, "--resume %s is not a regular file: it is read back when the sweep resumes", path);
  rf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (rf->fd < 0 || fstat(rf->fd, &st) != 0)
    return cannot(err, errlen, path, -errno);
  if (!S_ISREG(st.st_mode))
    return lbsim_refuse(err, errlen, "--resume %s is not a regular file: it is read back when the sweep resumes", path);
  if (flock(rf->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return cannot(err, errlen, path, -errno);
    snprintf(err, errlen, "--resume %s is being written by another lbsim", path);
    return LBSIM_EIO;
  }

  lbsim_buf_t line = LBSIM_BUF_INIT;
  lbsim_sweepstart_t mine;
  json_t *expected = expected_start(sw, &line, &mine);
  int copy = dup(rf->fd);
  FILE *in = copy >= 0 ? fdopen(copy, "r") : NULL;
  off_t good = 0;
  int status = expected == NULL ? LBSIM_ENOMEM : in == NULL ? -errno : 0;
  if (in == NULL && copy >= 0)
    close(copy);
  if (status == 0)
    status = read_file(rf, sw, in, &mine, &good, err, errlen);
  if (in)
    fclose(in);
  if (status == 0 && good < st.st_size) {
    rf->dropped = (size_t)(st.st_size - good);
    if (ftruncate(rf->fd, good) != 0)
      status = -errno;
  }
  if (status == 0 && lseek(rf->fd, 0, SEEK_END) < 0)
    status = -errno;
  if (status == 0 && good == 0)
    status = lbsim_write_all(rf->fd, line.data, line.len);
  if (status == 0 && fdatasync(rf->fd) != 0)
    status = -errno;
  json_decref(expected);
  lbsim_buf_free(&line);
  if (status != 0 && status != LBSIM_EINVAL)
    return cannot(err, errlen, path, status);
  return status;
}

void lbsim_resume_close(lbsim_resume_t *rf) {
  if (rf->fd >= 0)
    close(rf->fd); /* the lock goes with it */
  rf->fd = -1;
}
