/* Balancing policies behind one small interface.
 *
 * A policy is pure: no sockets, no clock reads. Time and randomness come in
 * as arguments (now_ns) and through the policy's own seeded stream, so unit
 * tests can drive thousands of picks in microseconds.
 *
 * Protocol: select() picks a backend for one request; every pick is later
 * matched by exactly one observe() with its outcome, or by an end without
 * one (lbsim_policy_end) when its client cancelled it. The balancer counts
 * each backend's requests in flight, once, in the array params.in_flight
 * (lbsim_policy_select and lbsim_policy_observe below keep it: a pick
 * counts before the next select, an outcome stops counting before its
 * observe); policies read it there, and a policy that keeps an order by it
 * is told of every change (sent, ended). The client's EMA (lbsim_ema_t) is
 * updated *before* observe() is called, so EMA-based policies read it
 * instead of keeping their own.
 * Requests to one backend that end together with the same outcome (a
 * burst, under the virtual clock) are observed together: the EMA takes in
 * every one of them first, then observe_n() (or observe(), once for each).
 *
 * Adding a policy: one file in src/balancer/policy/ defining a lbsim_policy_ops_t,
 * and one line in the registry (src/balancer/policy/registry.c). */
#ifndef LBSIM_POLICY_H
#define LBSIM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbsim/balancer/ema.h"
#include "lbsim/base/error.h"
#include "lbsim/base/rng.h"

typedef struct lbsim_policy_s lbsim_policy_t;
struct lbsim_loads_s;

/* The backends one pick may go to, when not all of them may: the balancer
 * leaves out the backends it has ejected, a retry the one that failed it.
 * A policy picks among them as it would among all, its state over every
 * backend kept as it is. */
typedef struct lbsim_eligible_s {
  const uint32_t *list;        /* the eligible backends, ascending; n >= 1 of them */
  uint32_t n;
  const uint8_t *member;       /* member[i] != 0: backend i is one of them (params.n entries) */
} lbsim_eligible_t;

/* The backends' weights, for the policies that weigh them (round-robin,
 * least-outstanding, p2c-peak-ewma): --weights, scaled down while a backend
 * is in slow start (weights.h). The balancer changes them between picks. */
typedef struct lbsim_policy_weights_s {
  const double *value;         /* per backend (params.n), > 0 */
  bool uniform;                /* all alike: the policy picks as it does unweighted */
} lbsim_policy_weights_t;

/* What a policy may be configured with. */
typedef struct lbsim_policy_params_s {
  uint32_t n;                  /* backends, >= 1 */
  uint64_t seed;               /* the run's seed */
  uint64_t stream;             /* rng stream id (LBSIM_STREAM_POLICY + client index) */
  const lbsim_ema_t *ema;      /* the client's EMA, updated before observe() */
  uint64_t *in_flight;         /* the balancer's requests in flight, per backend (n) */
  double explore;              /* --explore */
  double failure_latency_ms;   /* --failure-latency */
  double decay_s;              /* --decay: peak-EWMA time constant */
  uint32_t choices;            /* --choices: least-outstanding sample size; 0 = full scan */
  double temperature_ms;       /* --temperature: ema-softmax */
  const struct lbsim_loads_s *loads; /* the backends' load as the client knows it (loads.h) */
  const lbsim_policy_weights_t *weights; /* NULL: every backend weighs the same, always */
} lbsim_policy_params_t;

/* What a backend that has never answered costs while it has requests in
 * flight, for the policies that price backends by latency x load: above
 * any measured cost, so that an unmeasured backend gets one probe at a
 * time, not a whole burst (plus its in-flight count, so that several are
 * probed in turn). */
#define LBSIM_POLICY_UNMEASURED_PENALTY 1e12

/* The settings of lbsim_policy_params_t a policy reads, as a bitmask in
 * lbsim_policy_ops_t.uses; reading the client's EMA counts as using
 * --alpha. A sweep (sweep.h) runs a policy once across the values of a
 * setting it does not use. */
enum {
  LBSIM_POLICY_USES_ALPHA = 1u << 0,       /* --alpha, through the client's EMA */
  LBSIM_POLICY_USES_EXPLORE = 1u << 1,     /* --explore */
  LBSIM_POLICY_USES_TEMPERATURE = 1u << 2, /* --temperature */
  LBSIM_POLICY_USES_DECAY = 1u << 3,       /* --decay */
  LBSIM_POLICY_USES_CHOICES = 1u << 4,     /* --choices */
  LBSIM_POLICY_USES_LOADS = 1u << 5,       /* the backends' reported load: --load-reports or --load-board */
  LBSIM_POLICY_USES_WEIGHTS = 1u << 6      /* --weights and --lb-slow-start */
};

typedef struct lbsim_policy_ops_s {
  const char *name;
  const char *summary;         /* one line for --policy help */
  uint32_t uses;               /* LBSIM_POLICY_USES_* */
  /* Allocates state into p->state; returns 0 or a negative errno. */
  int (*create)(lbsim_policy_t *p, const lbsim_policy_params_t *params);
  /* Picks a backend in [0, n) for one request: among all of them
   * (eligible NULL), or among the eligible ones. */
  uint32_t (*select)(lbsim_policy_t *p, uint64_t now_ns, const lbsim_eligible_t *eligible);
  /* Optional: params.in_flight[backend] just went up by one (a pick), or
   * down by `count` (outcomes), for a policy that keeps an order by it. */
  void (*sent)(lbsim_policy_t *p, uint32_t backend);
  void (*ended)(lbsim_policy_t *p, uint32_t backend, uint32_t count);
  /* The outcome of one earlier pick of `backend`: latency in ms (for a
   * failure: the failure latency) and whether it succeeded. */
  void (*observe)(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns);
  /* Optional: `count` such outcomes at once, as `count` calls of observe()
   * would leave the policy (for the picks it makes afterwards). */
  void (*observe_n)(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok, uint64_t now_ns,
                    uint32_t count);
  /* Optional: the answer to a probe the policy asked for (lbsim_policy_probe):
   * its round trip in ms, and whether the backend answered it (200 in time). */
  void (*probed)(lbsim_policy_t *p, uint32_t backend, double rtt_ms, bool ok, uint64_t now_ns);
  void (*destroy)(lbsim_policy_t *p);
} lbsim_policy_ops_t;

struct lbsim_policy_s {
  const lbsim_policy_ops_t *ops;
  uint64_t *in_flight;         /* params.in_flight, beside ops for the picks' sake */
  void (*sent)(lbsim_policy_t *p, uint32_t backend); /* ops->sent, the same */
  /* How the policy's balancer sends a probe (set by the balancer; NULL: it cannot). */
  void (*probe)(void *data, uint32_t backend);
  void *probe_data;
  lbsim_policy_params_t params;
  lbsim_rng_t rng;
  void *state;
};

/* The LBSIM_POLICY_USES_* flag of an option by name ("alpha"); 0 for the
 * options every policy depends on (the backends, the traffic, the clock). */
uint32_t lbsim_policy_uses_option(const char *option);

/* The registry. */
const lbsim_policy_ops_t *lbsim_policy_find(const char *name);
/* Every policy, NULL-terminated, in registry order. */
const lbsim_policy_ops_t *const *lbsim_policy_all(void);

/* Creates a policy by ops (params->in_flight is required); returns 0 or a
 * negative errno. */
int lbsim_policy_init(lbsim_policy_t *p, const lbsim_policy_ops_t *ops, const lbsim_policy_params_t *params);
void lbsim_policy_free(lbsim_policy_t *p);

/* A pick among the eligible backends (NULL: all), counted in flight. */
static inline uint32_t lbsim_policy_select_among(lbsim_policy_t *p, uint64_t now_ns,
                                                 const lbsim_eligible_t *eligible) {
  uint32_t backend = p->ops->select(p, now_ns, eligible);
  p->in_flight[backend]++;
  if (p->sent != NULL)
    p->sent(p, backend);
  return backend;
}

/* A pick among every backend, counted in flight. */
static inline uint32_t lbsim_policy_select(lbsim_policy_t *p, uint64_t now_ns) {
  return lbsim_policy_select_among(p, now_ns, NULL);
}

/* `count` requests to `backend` are no longer in flight, with nothing to
 * learn from them: cancelled by their client (a shutdown, a deadline, a
 * hedge that lost). */
static inline void lbsim_policy_end(lbsim_policy_t *p, uint32_t backend, uint32_t count) {
  p->in_flight[backend] -= count;
  if (p->ops->ended != NULL)
    p->ops->ended(p, backend, count);
}

static inline void lbsim_policy_observe(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok,
                                        uint64_t now_ns) {
  lbsim_policy_end(p, backend, 1);
  p->ops->observe(p, backend, latency_ms, ok, now_ns);
}

/* Asks the balancer for a probe of `backend`: a GET /probe on sockets, a
 * round trip of the network in virtual time, answered through
 * ops->probed. The policy stays pure: the balancer sends it once the
 * policy has returned (from select or observe). */
static inline void lbsim_policy_probe(lbsim_policy_t *p, uint32_t backend) {
  if (p->probe != NULL)
    p->probe(p->probe_data, backend);
}

/* `count` outcomes alike, observed together (see the protocol above). */
static inline void lbsim_policy_observe_n(lbsim_policy_t *p, uint32_t backend, double latency_ms, bool ok,
                                          uint64_t now_ns, uint32_t count) {
  lbsim_policy_end(p, backend, count);
  if (p->ops->observe_n != NULL) {
    p->ops->observe_n(p, backend, latency_ms, ok, now_ns, count);
    return;
  }
  for (uint32_t k = 0; k < count; k++)
    p->ops->observe(p, backend, latency_ms, ok, now_ns);
}

#endif
