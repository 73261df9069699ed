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

static inline uint64_t lbsim_ms_to_ns(double ms) {
  return ms <= 0 ? 0 : (uint64_t)(ms * LBSIM_NS_PER_MS + 0.5);
}

static inline uint64_t lbsim_s_to_ms(double s) {
  return s <= 0 ? 0 : (uint64_t)(s * 1000.0 + 0.5);
}

#endif
