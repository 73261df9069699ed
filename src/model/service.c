/* How a simulated backend serves a request. See lbsim/model/service.h. */
#include "lbsim/model/service.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/heap.h"
#include "lbsim/base/error.h"

int lbsim_jitter_parse(const char *text, lbsim_jitter_t *j, char *err, size_t errlen) {
  static const struct {
    const char *name;
    lbsim_jitter_kind_t kind;
    double max;
  } kinds[] = {{"exp", LBSIM_JITTER_EXP, 3600000}, {"lognormal", LBSIM_JITTER_LOGNORMAL, 5},
               {"uniform", LBSIM_JITTER_UNIFORM, 1}};
  if (strcmp(text, "none") == 0) {
    *j = (lbsim_jitter_t){LBSIM_JITTER_NONE, 0};
    return 0;
  }
  const char *colon = strchr(text, ':');
  for (size_t i = 0; colon && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strlen(kinds[i].name) != (size_t)(colon - text) || strncmp(text, kinds[i].name, (size_t)(colon - text)) != 0)
      continue;
    char *end;
    errno = 0;
    double v = strtod(colon + 1, &end);
    if (colon[1] == '\0' || *end != '\0' || errno || !isfinite(v) || v <= 0 || v > kinds[i].max) {
      snprintf(err, errlen, "bad %s parameter '%s' (a number in (0, %g])", kinds[i].name, colon + 1, kinds[i].max);
      return LBSIM_EINVAL;
    }
    *j = (lbsim_jitter_t){kinds[i].kind, v};
    return 0;
  }
  snprintf(err, errlen, "unknown jitter '%s' (none, exp:MS, lognormal:SIGMA, uniform:WIDTH)", text);
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
  s->capacity = 0;
  return lbsim_servers_resize(s, capacity, 0);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int lbsim_servers_resize(lbsim_servers_t *s, uint32_t capacity, uint64_t now_ns) {
  if (capacity == s->capacity)
    return 0;
  if (capacity == 0) {
    lbsim_servers_free(s);
    return 0;
  }
  uint64_t *h = malloc(capacity * sizeof(*h));
  if (h == NULL)
    return LBSIM_ENOMEM;
  uint32_t keep = s->capacity < capacity ? s->capacity : capacity;
  if (s->capacity > 0) {
    /* A sorted array is a heap; keep the servers that free up first. */
    qsort(s->free_at, s->capacity, sizeof(*h), cmp_u64);
    memcpy(h, s->free_at, keep * sizeof(*h));
  }
  for (uint32_t i = keep; i < capacity; i++)
    h[i] = now_ns;
  qsort(h, capacity, sizeof(*h), cmp_u64);
  free(s->free_at);
  s->free_at = h;
  s->capacity = capacity;
  return 0;
}

uint64_t lbsim_servers_schedule(lbsim_servers_t *s, uint64_t now_ns, uint64_t service_ns) {
  if (s->capacity == 0)
    return now_ns + service_ns;
  uint64_t start = s->free_at[0] > now_ns ? s->free_at[0] : now_ns;
  s->free_at[0] = start + service_ns;
  free_heap_down(NULL, s->free_at, s->capacity, 0);
  return start + service_ns;
}

void lbsim_servers_free(lbsim_servers_t *s) {
  free(s->free_at);
  s->free_at = NULL;
  s->capacity = 0;
}
