/* Allocation failures on purpose.
 *
 * A test binary built with failalloc.c and linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * sends every allocation made by its own objects and by lbsim_core through
 * the counters below, and libuv's too (uv_replace_allocator, installed
 * before main). Nothing else changes: the real allocator (or the
 * sanitizers' and valgrind's, which replace it) does the work.
 *
 * Once armed, the nth allocation call from then on returns NULL with errno
 * ENOMEM, and with `and_later` every call after it as well. libuv's reallocs
 * never fail (nor count as calls): libuv aborts by design when its table of
 * watched descriptors cannot grow (maybe_resize in src/unix/core.c). */
#ifndef LBSIM_TEST_FAILALLOC_H
#define LBSIM_TEST_FAILALLOC_H

#include <stdbool.h>
#include <stdint.h>

void failalloc_arm(uint64_t nth, bool and_later);
void failalloc_disarm(void);
/* Allocation calls that could fail since the last arm, and how many did. */
uint64_t failalloc_calls(void);
uint64_t failalloc_failures(void);
/* Blocks allocated and not yet freed, from the start of the process: equal
 * before and after a piece of work that leaks nothing. */
int64_t failalloc_live(void);

#endif
