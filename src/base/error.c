#include "lbsim/base/error.h"

#include <string.h>

const char *lbsim_strerror(int err) {
  return strerror(-err);
}
