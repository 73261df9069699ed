/* Shared by the fuzz harnesses: the libFuzzer entry point and a check that
 * aborts (so that libFuzzer and the replay runner both report it) whatever
 * NDEBUG says. */
#ifndef LBSIM_FUZZ_H
#define LBSIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);      \
      abort();                                                                           \
    }                                                                                    \
  } while (0)

/* The size of the next piece of input, from one control byte: 1..128, or
 * with the high bit set 1..8129 in steps of 64. */
static inline size_t fuzz_piece(uint8_t c) {
  return c & 0x80 ? (size_t)(c & 0x7f) * 64 + 1 : (size_t)(c & 0x7f) + 1;
}

#endif
