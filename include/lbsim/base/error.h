/* One error convention: 0, or a negative error code. The codes are negated
 * errno values, which is what libuv's UV_E* codes are on Unix, so a code
 * from a pure module and one from libuv read the same (uv_strerror, or
 * lbsim_strerror where libuv is not linked). */
#ifndef LBSIM_ERROR_H
#define LBSIM_ERROR_H

#include <errno.h>

#define LBSIM_ENOMEM (-ENOMEM)
#define LBSIM_EINVAL (-EINVAL)
#define LBSIM_ENOENT (-ENOENT)
#define LBSIM_EIO (-EIO)

/* The text of a negative error code. */
const char *lbsim_strerror(int err);

#endif
