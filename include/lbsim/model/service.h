/* How a simulated backend serves a request, as pure functions: per-request
 * noise (--jitter) and a FIFO queue in front of --capacity servers. */
#ifndef LBSIM_SERVICE_H
#define LBSIM_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "lbsim/base/rng.h"

typedef enum lbsim_jitter_kind_e {
  LBSIM_JITTER_NONE = 0,
  LBSIM_JITTER_EXP,        /* exp:MS      adds an exponential delay of mean MS */
  LBSIM_JITTER_LOGNORMAL,  /* lognormal:S multiplies by a lognormal factor of mean 1, sigma S */
  LBSIM_JITTER_UNIFORM     /* uniform:W   multiplies by a factor uniform in [1-W, 1+W], W <= 1 */
} lbsim_jitter_kind_t;

typedef struct lbsim_jitter_s {
  lbsim_jitter_kind_t kind;
  double param;
} lbsim_jitter_t;

/* "none", "exp:20", "lognormal:0.3", "uniform:1". 0, or LBSIM_EINVAL with a reason. */
int lbsim_jitter_parse(const char *text, lbsim_jitter_t *jitter, char *err, size_t errlen);
/* "none", "exp", "lognormal" or "uniform". */
const char *lbsim_jitter_name(lbsim_jitter_kind_t kind);
/* Writes the text ("lognormal:0.3", six digits) into buf. */
void lbsim_jitter_format(const lbsim_jitter_t *jitter, char *buf, size_t len);
/* One request's service time for a base latency. */
double lbsim_jitter_apply(const lbsim_jitter_t *jitter, double base_ms, lbsim_rng_t *rng);

/* capacity servers, each free from some instant: a request arriving at t
 * starts on the server free soonest, at max(t, free), and holds it for its
 * service time. Requests are thus served first come, first served. Only
 * the servers used so far are kept (a server never used is free whenever
 * asked), so the memory follows the requests served at once, not
 * --capacity. */
typedef struct lbsim_servers_s {
  uint64_t *free_at;       /* min-heap of the servers used so far */
  uint32_t used, slots;    /* in the heap, and its room */
  uint32_t capacity;       /* 0: unlimited, no queue */
} lbsim_servers_t;

/* 0 (it allocates nothing until a server is used). */
int lbsim_servers_init(lbsim_servers_t *servers, uint32_t capacity);
/* Changes the number of servers: new ones are free now; when shrinking,
 * the servers busy the longest are dropped (their requests still finish).
 * 0. */
int lbsim_servers_resize(lbsim_servers_t *servers, uint32_t capacity, uint64_t now_ns);
/* When a request arriving at now_ns with this service time finishes. */
uint64_t lbsim_servers_schedule(lbsim_servers_t *servers, uint64_t now_ns, uint64_t service_ns);
void lbsim_servers_free(lbsim_servers_t *servers);

#endif
