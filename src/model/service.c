/* How a simulated backend serves a request. See lbsim/model/service.h. */
#include "lbsim/model/service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/heap.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"

int lbsim_jitter_parse(const char *text, lbsim_jitter_t *j, char *err, size_t errlen) {
  /* exp's mean is a latency (1 ns to an hour); the factors' widths are plain numbers. */
  static const struct {
    const char *name;
    lbsim_jitter_kind_t kind;
    lbsim_range_t range;
  } kinds[] = {{"exp", LBSIM_JITTER_EXP, {0.000001, 3600000, false, false, false, "ms"}},
               {"lognormal", LBSIM_JITTER_LOGNORMAL, {0, 5, true, false, false, NULL}},
               {"uniform", LBSIM_JITTER_UNIFORM, {0, 1, true, false, false, NULL}}};
  if (strcmp(text, "none") == 0) {
    *j = (lbsim_jitter_t){LBSIM_JITTER_NONE, 0};
    return 0;
  }
  const char *colon = strchr(text, ':');
  for (size_t i = 0; colon && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strlen(kinds[i].name) != (size_t)(colon - text) || strncmp(text, kinds[i].name, (size_t)(colon - text)) != 0)
      continue;
    double v;
    if (lbsim_number_read(&kinds[i].range, colon + 1, &v) != 0) {
      char range[64];
      snprintf(err, errlen, "bad %s parameter '%s': expected a number: %s", kinds[i].name, lbsim_token(colon + 1),
               lbsim_range_text(&kinds[i].range, range, sizeof(range)));
      return LBSIM_EINVAL;
    }
    *j = (lbsim_jitter_t){kinds[i].kind, v};
    return 0;
  }
  snprintf(err, errlen, "unknown jitter '%s' (none, exp:MS, lognormal:SIGMA, uniform:WIDTH)", lbsim_token(text));
  return LBSIM_EINVAL;
}

const char *lbsim_jitter_name(lbsim_jitter_kind_t kind) {
  static const char *const names[] = {"none", "exp", "lognormal", "uniform"};
  return names[kind];
}

void lbsim_jitter_format(const lbsim_jitter_t *j, char *buf, size_t len) {
  if (j->kind == LBSIM_JITTER_NONE)
    snprintf(buf, len, "none");
  else
    snprintf(buf, len, "%s:%g", lbsim_jitter_name(j->kind), j->param);
}

double lbsim_jitter_apply(const lbsim_jitter_t *j, double base_ms, lbsim_rng_t *rng) {
  switch (j->kind) {
  case LBSIM_JITTER_EXP:
    return base_ms + lbsim_rng_exponential(rng, j->param);
  case LBSIM_JITTER_LOGNORMAL:
    /* exp(N(-s^2/2, s^2)) has mean 1: the base stays the mean latency. */
    return base_ms * exp(j->param * lbsim_rng_normal(rng) - j->param * j->param / 2.0);
  case LBSIM_JITTER_UNIFORM:
    return base_ms * lbsim_rng_uniform(rng, 1.0 - j->param, 1.0 + j->param);
  case LBSIM_JITTER_NONE:
  default:
    return base_ms;
  }
}

#define U64_LESS(ctx, a, b) ((a) < (b))
LBSIM_HEAP_DEFINE(static inline, free_heap, uint64_t, 2, U64_LESS, LBSIM_HEAP_NOT_INDEXED)

int lbsim_servers_init(lbsim_servers_t *s, uint32_t capacity) {
  s->free_at = NULL;
  s->used = s->slots = 0;
  s->capacity = capacity;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int lbsim_servers_resize(lbsim_servers_t *s, uint32_t capacity, uint64_t now_ns) {
  (void)now_ns; /* the servers not in the heap are free whenever asked */
  if (capacity == 0) {
    lbsim_servers_free(s);
    return 0;
  }
  /* Shrinking drops the servers busy the longest: first those of the heap
   * (idle ones stay), the latest to free up first. A sorted array is a heap. */
  uint32_t idle = s->capacity - s->used;
  uint32_t keep = capacity > idle ? capacity - idle : 0;
  if (keep < s->used) {
    qsort(s->free_at, s->used, sizeof(*s->free_at), cmp_u64);
    s->used = keep;
  }
  s->capacity = capacity;
  return 0;
}

uint64_t lbsim_servers_schedule(lbsim_servers_t *s, uint64_t now_ns, uint64_t service_ns) {
  if (s->capacity == 0)
    return now_ns + service_ns;
  if (s->used > 0 && s->free_at[0] <= now_ns) {
    /* A server that has been used and is idle now. */
    s->free_at[0] = now_ns + service_ns;
    free_heap_down(NULL, s->free_at, s->used, 0);
    return now_ns + service_ns;
  }
  if (s->used < s->capacity) {
    /* One never used yet: the heap grows with the servers busy at once, not
     * with --capacity (a million servers a backend cost nothing idle). */
    if (s->used == s->slots) {
      uint32_t slots = s->slots ? (s->slots > s->capacity / 2 ? s->capacity : 2 * s->slots) : 8;
      uint64_t *grown = realloc(s->free_at, (size_t)slots * sizeof(*grown));
      if (grown == NULL)
        return now_ns + service_ns; /* served at once, not remembered: the queue is a little short */
      s->free_at = grown;
      s->slots = slots;
    }
    free_heap_push(NULL, s->free_at, &s->used, now_ns + service_ns);
    return now_ns + service_ns;
  }
  /* Every server busy: the one free soonest, first come first served. */
  uint64_t start = s->free_at[0];
  s->free_at[0] = start + service_ns;
  free_heap_down(NULL, s->free_at, s->used, 0);
  return start + service_ns;
}

void lbsim_servers_free(lbsim_servers_t *s) {
  free(s->free_at);
  s->free_at = NULL;
  s->used = s->slots = 0;
  s->capacity = 0;
}
