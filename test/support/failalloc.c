/* See failalloc.h. The --wrap linker option makes every reference to
 * malloc in the linked objects resolve to __wrap_malloc, and
 * __real_malloc to the allocator in force. */
#include "failalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include <uv.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

static atomic_uint_fast64_t calls;
static atomic_uint_fast64_t failures;
static atomic_int_fast64_t live;
static _Atomic uint64_t fail_at;   /* 0: never */
static _Atomic bool fail_later;

/* Counts the call; true when this one is to fail. Calls that may not fail
 * are not counted: the nth call is always one that can. */
static bool next_fails(void) {
  uint64_t n = atomic_fetch_add(&calls, 1) + 1;
  uint64_t at = atomic_load(&fail_at);
  if (at == 0 || n < at || (n > at && !atomic_load(&fail_later)))
    return false;
  atomic_fetch_add(&failures, 1);
  errno = ENOMEM;
  return true;
}

static void *counted(void *p) {
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

void *__wrap_malloc(size_t size) {
  return next_fails() ? NULL : counted(__real_malloc(size));
}

void *__wrap_calloc(size_t n, size_t size) {
  return next_fails() ? NULL : counted(__real_calloc(n, size));
}

static void *resize(void *p, size_t size, bool may_fail) {
  if (may_fail && next_fails())
    return NULL;
  void *q = __real_realloc(p, size);
  if (p == NULL)
    counted(q);
  else if (size == 0 && q == NULL)
    atomic_fetch_sub(&live, 1); /* glibc frees the block */
  return q;
}

void *__wrap_realloc(void *p, size_t size) {
  return resize(p, size, true);
}

void __wrap_free(void *p) {
  if (p != NULL)
    atomic_fetch_sub(&live, 1);
  __real_free(p);
}

static void *uv_realloc_counted(void *p, size_t size) {
  return resize(p, size, false);
}

__attribute__((constructor)) static void install(void) {
  /* Before anything of libuv allocates. */
  uv_replace_allocator(__wrap_malloc, uv_realloc_counted, __wrap_calloc, __wrap_free);
}

void failalloc_arm(uint64_t nth, bool and_later) {
  atomic_store(&fail_at, 0);
  atomic_store(&calls, 0);
  atomic_store(&failures, 0);
  atomic_store(&fail_later, and_later);
  atomic_store(&fail_at, nth);
}

void failalloc_disarm(void) {
  atomic_store(&fail_at, 0);
}

uint64_t failalloc_calls(void) {
  return atomic_load(&calls);
}

uint64_t failalloc_failures(void) {
  return atomic_load(&failures);
}

int64_t failalloc_live(void) {
  return atomic_load(&live);
}
