/* What every module may need: the container-of idiom, array sizes, and the
 * units of time (every time inside lbsim is nanoseconds in 64 bits;
 * LBSIM_NEVER is "not at all"). */
#ifndef LBSIM_COMMON_H
#define LBSIM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define LBSIM_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define LBSIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LBSIM_NEVER UINT64_MAX
#define LBSIM_NS_PER_MS 1000000.0
#define LBSIM_NS_PER_S 1000000000.0

/* The longest time a conversion gives, about 146 years. Every time a run
 * sets is checked far below it (lbsim/base/number.h: a run lasts at most a
 * year, a deadline a day, a latency an hour), so only a computed one can
 * get here (a latency slowed by a large lognormal draw), and it answers
 * after every deadline anyway. Far enough from 2^64 ns that adding it to
 * any instant of a run does not wrap. */
#define LBSIM_NS_MAX (UINT64_C(1) << 62)

/* Milliseconds to nanoseconds, rounded; below half a nanosecond (or NaN)
 * is 0, beyond LBSIM_NS_MAX is LBSIM_NS_MAX: the conversion to an integer
 * never sees a value it cannot represent. */
static inline uint64_t lbsim_ms_to_ns(double ms) {
  double ns = ms * LBSIM_NS_PER_MS + 0.5;
  if (!(ns >= 1.0))
    return 0;
  if (ns >= (double)LBSIM_NS_MAX)
    return LBSIM_NS_MAX;
  return (uint64_t)ns;
}

#endif
