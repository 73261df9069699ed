/* A fleet of clients. See lbsim/balancer/fleet.h. */
#include "lbsim/balancer/fleet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/balancer/subset.h"
#include "lbsim/balancer/tools.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

int lbsim_fleet_init(lbsim_fleet_t *f, const lbsim_config_t *cfg, uint64_t seed, uint32_t index,
                     const char **names, uint32_t n, lbsim_oracle_t *oracle) {
  memset(f, 0, sizeof(*f));
  f->cfg = cfg;
  f->seed = seed;
  f->index = index;
  f->policy_name = cfg->policies[index];
  f->n = n;
  f->names = names;
  f->oracle = oracle;
  uint32_t nclients = cfg->clients ? cfg->clients : 1;
  f->measuring = nclients > 1 || cfg->subset > 0;
  f->subset_size = cfg->subset ? cfg->subset : n;
  f->board.period_ns = lbsim_ms_to_ns(cfg->load_board_s * 1000.0);
  if (lbsim_stats_init(&f->stats, n) != 0)
    goto nomem;
  if (cfg->subset > 0) {
    f->subsets = malloc((size_t)nclients * f->subset_size * sizeof(*f->subsets));
    if (f->subsets == NULL ||
        lbsim_subset_make(f->subsets, nclients, n, f->subset_size, cfg->subset_mode, seed) != 0)
      goto nomem;
  }
  f->clients = calloc(nclients, sizeof(*f->clients));
  if (f->clients == NULL)
    goto nomem;
  if (lbsim_config_tools(cfg)) {
    f->tools = calloc(1, sizeof(*f->tools));
    if (f->tools == NULL || lbsim_fleet_tools_init(f->tools, f, nclients) != 0)
      goto nomem;
  }
  for (uint32_t c = 0; c < nclients; c++) {
    /* Counted as soon as it is tried: freeing handles a client that
     * stopped half-way. */
    f->nclients = c + 1;
    const uint32_t *subset = f->subsets ? f->subsets + (size_t)c * f->subset_size : NULL;
    int err = lbsim_balancer_init(&f->clients[c], f, c, subset, f->subset_size);
    if (err == LBSIM_ENOMEM)
      goto nomem;
    if (err != 0) {
      lbsim_log_error("cannot set up the balancer for %s: %s", f->policy_name, lbsim_strerror(err));
      return err;
    }
  }
  if (oracle != NULL)
    f->judge_cost_ms = malloc(n * sizeof(*f->judge_cost_ms)); /* without it, the oracle is asked each time */
  if (!f->measuring) {
    /* One client with every backend: its counts are the fleet's. */
    f->in_flight_to = f->clients[0].in_flight_to;
    return 0;
  }
  f->in_flight_to = calloc(n, sizeof(*f->in_flight_to));
  f->load_area = calloc(n, sizeof(*f->load_area));
  f->run_area = calloc(n, sizeof(*f->run_area));
  f->load_since_ns = calloc(n, sizeof(*f->load_since_ns));
  f->last_picks = calloc(n, sizeof(*f->last_picks));
  f->clients_of = calloc(n, sizeof(*f->clients_of));
  f->period = calloc(nclients, sizeof(*f->period));
  f->heard = malloc(nclients * sizeof(*f->heard));
  f->scratch = malloc((nclients > n ? nclients : n) * sizeof(*f->scratch));
  f->conns_out = calloc(n, sizeof(*f->conns_out));
  if (f->in_flight_to == NULL || f->load_area == NULL || f->run_area == NULL || f->load_since_ns == NULL || f->last_picks == NULL ||
      f->clients_of == NULL || f->period == NULL || f->heard == NULL || f->scratch == NULL || f->conns_out == NULL)
    goto nomem;
  for (uint32_t c = 0; c < nclients; c++) {
    lbsim_counts_init(&f->period[c]);
    for (uint32_t k = 0; k < f->subset_size; k++)
      f->clients_of[lbsim_balancer_backend(&f->clients[c], k)]++;
  }
  return 0;
nomem:
  lbsim_log_error("out of memory for %u clients of %s over %u backends", nclients, f->policy_name, n);
  return LBSIM_ENOMEM;
}

void lbsim_fleet_attach(lbsim_fleet_t *f, lbsim_transport_t *transports, bool shared) {
  for (uint32_t c = 0; c < f->nclients; c++)
    lbsim_balancer_attach(&f->clients[c], shared ? transports : &transports[c]);
}

void lbsim_fleet_free(lbsim_fleet_t *f) {
  if (f->measuring) {
    free(f->in_flight_to);
    if (f->period != NULL)
      for (uint32_t c = 0; c < f->nclients; c++)
        lbsim_counts_free(&f->period[c]);
  }
  f->in_flight_to = NULL;
  for (uint32_t c = 0; c < f->nclients; c++)
    lbsim_balancer_free(&f->clients[c]);
  if (f->tools != NULL)
    lbsim_fleet_tools_free(f->tools);
  free(f->tools);
  f->tools = NULL;
  free(f->clients);
  f->clients = NULL;
  f->nclients = 0;
  free(f->subsets);
  free(f->judge_cost_ms);
  free(f->load_area);
  free(f->run_area);
  f->run_area = NULL;
  free(f->load_since_ns);
  free(f->last_picks);
  free(f->clients_of);
  free(f->period);
  free(f->heard);
  f->heard = NULL;
  f->nheard = 0;
  free(f->scratch);
  free(f->conns_out);
  f->conns_out = NULL;
  f->subsets = f->last_picks = f->clients_of = NULL;
  f->judge_cost_ms = f->load_area = f->scratch = NULL;
  f->load_since_ns = NULL;
  f->period = NULL;
  lbsim_stats_free(&f->stats);
}

uint64_t lbsim_fleet_resent(const lbsim_fleet_t *f) {
  uint64_t n = 0;
  for (uint32_t c = 0; c < f->nclients; c++) {
    const lbsim_transport_t *t = f->clients[c].transport;
    /* Clients that share a transport (the virtual network) count it once. */
    if (t != NULL && (c == 0 || t != f->clients[c - 1].transport))
      n += t->resent;
  }
  return n;
}

double lbsim_fleet_ema_ms(const lbsim_fleet_t *f, uint32_t i) {
  if (f->nclients == 1 && f->subsets == NULL)
    return f->clients[0].ema.value_ms[i];
  double sum = 0;
  uint32_t measured = 0;
  for (uint32_t c = 0; c < f->nclients; c++) {
    const lbsim_balancer_t *b = &f->clients[c];
    uint32_t k = lbsim_balancer_local(b, i);
    if (k != UINT32_MAX && b->ema.measured[k]) {
      sum += b->ema.value_ms[k];
      measured++;
    }
  }
  return measured ? sum / measured : NAN;
}

/* Backend i's requests in flight, integrated up to now. */
static void load_until(lbsim_fleet_t *f, uint32_t i, uint64_t now_ns) {
  double area = (double)f->in_flight_to[i] * (double)(now_ns - f->load_since_ns[i]);
  f->load_area[i] += area;
  f->run_area[i] += area;
  f->load_since_ns[i] = now_ns;
}

/* The busiest backend's area over the mean of them all (0: none). */
static double imbalance_of(const double *area, uint32_t n) {
  double top = 0, sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    sum += area[i];
    top = area[i] > top ? area[i] : top;
  }
  return sum > 0 ? top / (sum / n) : 0;
}

double lbsim_fleet_run_imbalance(lbsim_fleet_t *f, uint64_t now_ns) {
  if (!f->measuring)
    return 0;
  for (uint32_t i = 0; i < f->n; i++)
    load_until(f, i, now_ns);
  return imbalance_of(f->run_area, f->n);
}

void lbsim_fleet_sent(lbsim_fleet_t *f, lbsim_balancer_t *client, uint32_t backend, uint64_t now_ns) {
  load_until(f, backend, now_ns);
  f->in_flight_to[backend]++;
  if (client->last_pick != backend) {
    if (client->last_pick != UINT32_MAX)
      f->last_picks[client->last_pick]--;
    f->last_picks[backend]++;
    client->last_pick = backend;
  }
}

void lbsim_fleet_ended(lbsim_fleet_t *f, uint32_t backend, uint32_t count, uint64_t now_ns) {
  load_until(f, backend, now_ns);
  f->in_flight_to[backend] -= count;
}

void lbsim_fleet_heard(lbsim_fleet_t *f, uint32_t client, lbsim_result_t result, double measured_ms, uint32_t count) {
  lbsim_counts_t *period = &f->period[client];
  if (period->requests == 0)
    f->heard[f->nheard++] = client;
  lbsim_counts_add(period, result, measured_ms, count);
}

/* The interval's counts of the clients heard in it, cleared. */
static void forget_period(lbsim_fleet_t *f) {
  for (uint32_t k = 0; k < f->nheard; k++)
    lbsim_counts_reset(&f->period[f->heard[k]]);
  f->nheard = 0;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The least, median, mean and greatest of v[0..n) (sorted in place). */
static lbsim_spread_t spread_of(double *v, uint32_t n) {
  if (n == 0)
    return (lbsim_spread_t){NAN, NAN, NAN, NAN};
  qsort(v, n, sizeof(*v), by_value);
  double sum = 0;
  for (uint32_t k = 0; k < n; k++)
    sum += v[k];
  double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return (lbsim_spread_t){v[0], median, sum / n, v[n - 1]};
}

void lbsim_fleet_measure(lbsim_fleet_t *f, uint64_t now_ns, lbsim_fleet_measures_t *out) {
  memset(out, 0, sizeof(*out));
  if (!f->measuring)
    return;
  uint32_t herd = 0;
  for (uint32_t i = 0; i < f->n; i++) {
    load_until(f, i, now_ns);
    herd = f->last_picks[i] > herd ? f->last_picks[i] : herd;
  }
  out->imbalance = imbalance_of(f->load_area, f->n);
  memset(f->load_area, 0, f->n * sizeof(*f->load_area));
  out->herd = (double)herd / f->nclients;
  uint32_t with_ok = 0;
  for (uint32_t k = 0; k < f->nheard; k++) {
    const lbsim_counts_t *period = &f->period[f->heard[k]];
    f->scratch[k] = 100.0 * (double)period->ok / (double)period->requests;
  }
  out->clients_heard = f->nheard;
  out->success = spread_of(f->scratch, f->nheard);
  for (uint32_t k = 0; k < f->nheard; k++) {
    const lbsim_counts_t *period = &f->period[f->heard[k]];
    if (period->ok > 0)
      f->scratch[with_ok++] = lbsim_counts_quantile_ms(period, 0.99);
  }
  out->p99_ms = spread_of(f->scratch, with_ok);
  forget_period(f);
  out->conns = (lbsim_spread_t){NAN, NAN, NAN, NAN};
  if (f->conns != NULL) {
    f->conns(f, f->conns_data, f->conns_out);
    for (uint32_t i = 0; i < f->n; i++)
      f->scratch[i] = (double)f->conns_out[i];
    out->conns = spread_of(f->scratch, f->n);
  }
  for (uint32_t i = 0; i < f->n; i++)
    f->scratch[i] = (double)f->clients_of[i];
  out->clients = spread_of(f->scratch, f->n);
  f->period_start_ns = now_ns;
}

void lbsim_fleet_reset(lbsim_fleet_t *f, uint64_t now_ns, bool forget) {
  if (forget) {
    lbsim_stats_reset(&f->stats);
    f->resent_before = lbsim_fleet_resent(f);
  }
  if (!f->measuring)
    return;
  for (uint32_t i = 0; i < f->n; i++) {
    f->load_area[i] = 0;
    if (forget)
      f->run_area[i] = 0;
    f->load_since_ns[i] = now_ns;
  }
  forget_period(f);
  f->period_start_ns = now_ns;
}
