#include "lbsim/base/error.h"

#include <errno.h>
#include <string.h>

const char *lbsim_strerror(int err) {
  return strerror(-err);
}

int lbsim_write_file(const char *path, int (*write)(FILE *out, const void *arg), const void *arg) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -errno;
  int err = write(f, arg);
  if (err == 0 && ferror(f))
    err = LBSIM_EIO;
  if (fclose(f) != 0 && err == 0)
    err = -errno;
  return err;
}
