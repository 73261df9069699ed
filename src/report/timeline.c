/* The visual report's timeline. See lbsim/report/timeline.h. */
#include "lbsim/report/timeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/report/svg.h"

/* ---- the store ------------------------------------------------------------ */

/* How many entries of `bytes` each a series may keep: an even number (the
 * thinning halves it), at least 64. */
static uint32_t series_cap(size_t bytes) {
  size_t cap = LBSIM_TIMELINE_BYTES / bytes;
  if (cap > LBSIM_TIMELINE_MAX)
    cap = LBSIM_TIMELINE_MAX;
  if (cap < 64)
    cap = 64;
  return (uint32_t)cap & ~1u;
}

int lbsim_timeline_init(lbsim_timeline_t *tl, uint32_t nbalancers, uint32_t n) {
  memset(tl, 0, sizeof(*tl));
  tl->nbalancers = nbalancers;
  tl->n = n;
  size_t per = (size_t)nbalancers * n;
  tl->sample_stride = 1;
  tl->sample_cap = series_cap(sizeof(double) + (2 * n + per) * sizeof(float));
  tl->sample_t = malloc(tl->sample_cap * sizeof(*tl->sample_t));
  tl->true_ms = malloc(tl->sample_cap * (size_t)n * sizeof(*tl->true_ms));
  tl->cost_ms = malloc(tl->sample_cap * (size_t)n * sizeof(*tl->cost_ms));
  tl->ema_ms = malloc(tl->sample_cap * per * sizeof(*tl->ema_ms));
  tl->block_stride = 1;
  tl->block_cap = series_cap(sizeof(double) + (per + 7 * (size_t)nbalancers) * sizeof(uint32_t));
  tl->block_end = malloc(tl->block_cap * sizeof(*tl->block_end));
  tl->picks = malloc(tl->block_cap * per * sizeof(*tl->picks));
  tl->answered = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->answered));
  tl->failed = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->failed));
  tl->herd = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->herd));
  tl->imbalance = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->imbalance));
  tl->offered = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->offered));
  tl->sent = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->sent));
  tl->good = malloc((size_t)tl->block_cap * nbalancers * sizeof(*tl->good));
  if (!tl->sample_t || !tl->true_ms || !tl->cost_ms || !tl->ema_ms || !tl->block_end || !tl->picks ||
      !tl->answered || !tl->failed || !tl->herd || !tl->imbalance || !tl->offered || !tl->sent || !tl->good) {
    lbsim_timeline_free(tl);
    return LBSIM_ENOMEM;
  }
  return 0;
}

int lbsim_timeline_open(lbsim_timeline_t *tl, const char *path) {
  return lbsim_file_open(&tl->file, path);
}

void lbsim_timeline_free(lbsim_timeline_t *tl) {
  lbsim_file_abandon(&tl->file); /* not written: the run did not end */
  free(tl->sample_t);
  free(tl->true_ms);
  free(tl->cost_ms);
  free(tl->ema_ms);
  free(tl->block_end);
  free(tl->picks);
  free(tl->answered);
  free(tl->failed);
  free(tl->herd);
  free(tl->imbalance);
  free(tl->offered);
  free(tl->sent);
  free(tl->good);
  free(tl->marks);
  memset(tl, 0, sizeof(*tl));
}

/* Keeps every other sample: the samples cover the whole run at half the
 * resolution. */
static void thin_samples(lbsim_timeline_t *tl) {
  size_t n = tl->n, per = (size_t)tl->nbalancers * tl->n;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < tl->nsamples; i += 2, kept++) {
    tl->sample_t[kept] = tl->sample_t[i];
    memmove(&tl->true_ms[kept * n], &tl->true_ms[i * n], n * sizeof(float));
    memmove(&tl->cost_ms[kept * n], &tl->cost_ms[i * n], n * sizeof(float));
    memmove(&tl->ema_ms[kept * per], &tl->ema_ms[i * per], per * sizeof(float));
  }
  tl->nsamples = kept;
  tl->sample_stride *= 2;
}

int lbsim_timeline_sample(lbsim_timeline_t *tl, double t_s, bool keep) {
  if (tl->sample_t == NULL)
    return -1;
  bool due = tl->samples_seen++ % tl->sample_stride == 0;
  if ((!due && !keep) || (tl->nsamples > 0 && t_s < tl->sample_t[tl->nsamples - 1]))
    return -1;
  if (tl->nsamples == tl->sample_cap)
    thin_samples(tl);
  tl->sample_t[tl->nsamples] = t_s;
  return (int)tl->nsamples++;
}

/* Adds each pair of blocks into one: the blocks still cover the whole run,
 * at half the resolution, and later ones gather twice as many. */
static void merge_blocks(lbsim_timeline_t *tl) {
  size_t per = (size_t)tl->nbalancers * tl->n, nw = tl->nbalancers;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < tl->nblocks; i += 2, kept++) {
    uint32_t j = i + 1 < tl->nblocks ? i + 1 : i;
    tl->block_end[kept] = tl->block_end[j];
    for (size_t k = 0; k < per; k++)
      tl->picks[kept * per + k] = tl->picks[i * per + k] + (j != i ? tl->picks[j * per + k] : 0);
    uint32_t *series[] = {tl->answered, tl->failed, tl->offered, tl->sent, tl->good};
    for (size_t k = 0; k < LBSIM_ARRAY_SIZE(series); k++)
      for (size_t w = 0; w < nw; w++)
        series[k][kept * nw + w] = series[k][i * nw + w] + (j != i ? series[k][j * nw + w] : 0);
    for (size_t w = 0; w < nw; w++) {
      tl->herd[kept * nw + w] = tl->herd[j * nw + w]; /* as at the merged block's end */
      tl->imbalance[kept * nw + w] = tl->imbalance[j * nw + w];
    }
  }
  tl->nblocks = kept;
  tl->block_stride *= 2;
  tl->block_members = tl->block_stride; /* the last one is full */
}

int lbsim_timeline_block(lbsim_timeline_t *tl, double t_s) {
  if (tl->block_end == NULL)
    return -1;
  if (tl->nblocks > 0 && tl->block_members < tl->block_stride) {
    tl->block_members++;
    tl->block_end[tl->nblocks - 1] = t_s;
    return (int)tl->nblocks - 1;
  }
  if (tl->nblocks == tl->block_cap)
    merge_blocks(tl);
  uint32_t at = tl->nblocks++;
  size_t per = (size_t)tl->nbalancers * tl->n;
  tl->block_end[at] = t_s;
  memset(&tl->picks[at * per], 0, per * sizeof(*tl->picks));
  uint32_t *series[] = {tl->answered, tl->failed, tl->offered, tl->sent, tl->good};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(series); k++)
    memset(&series[k][(size_t)at * tl->nbalancers], 0, tl->nbalancers * sizeof(*series[k]));
  for (uint32_t w = 0; w < tl->nbalancers; w++)
    tl->herd[(size_t)at * tl->nbalancers + w] = tl->imbalance[(size_t)at * tl->nbalancers + w] = NAN;
  tl->block_members = 1;
  return (int)at;
}

/* ---- recording a run ------------------------------------------------------ */

int lbsim_timeline_record(lbsim_timeline_t *tl, lbsim_clock_t *clock, const lbsim_fleet_t *fleets, uint32_t nfleets,
                          const lbsim_oracle_t *oracle) {
  int err = lbsim_timeline_init(tl, nfleets, fleets[0].n);
  if (err != 0)
    return err;
  tl->clock = clock;
  tl->fleets = fleets;
  tl->oracle = oracle;
  tl->tools = fleets[0].tools != NULL;
  lbsim_timer_init(&tl->sample, LBSIM_ORDER_REPORT);
  return 0;
}

static double since_start_s(const lbsim_timeline_t *tl, uint64_t now_ns) {
  return (double)(now_ns - tl->start_ns) / LBSIM_NS_PER_S;
}

/* The truth and every fleet's estimates now: its first client's (the
 * mean of a thousand clients' would cost a thousand times more, each
 * sample). */
static void record_sample(lbsim_timeline_t *tl, uint64_t now_ns, bool keep) {
  int at = lbsim_timeline_sample(tl, since_start_s(tl, now_ns), keep);
  if (at < 0)
    return;
  float *truth = lbsim_timeline_true(tl, (uint32_t)at);
  float *cost = lbsim_timeline_cost(tl, (uint32_t)at);
  for (uint32_t i = 0; i < tl->n; i++) {
    truth[i] = tl->oracle ? (float)lbsim_oracle_true_ms(tl->oracle, i, now_ns) : NAN;
    cost[i] = tl->oracle ? (float)lbsim_oracle_cost_ms(tl->oracle, i, now_ns) : NAN;
  }
  for (uint32_t w = 0; w < tl->nbalancers; w++) {
    const lbsim_balancer_t *b = &tl->fleets[w].clients[0];
    float *ema = lbsim_timeline_ema(tl, (uint32_t)at, w);
    for (uint32_t i = 0; i < tl->n; i++)
      ema[i] = NAN;
    for (uint32_t k = 0; k < b->n; k++)
      if (b->ema.measured[k])
        ema[lbsim_balancer_backend(b, k)] = (float)b->ema.value_ms[k];
  }
}

static void on_sample(lbsim_timer_t *timer, uint64_t now_ns) {
  lbsim_timeline_t *tl = LBSIM_CONTAINER_OF(timer, lbsim_timeline_t, sample);
  record_sample(tl, now_ns, false);
  /* Every LBSIM_SAMPLE_MS of the run's clock; a late wake-up skips ahead. */
  uint64_t period = lbsim_ms_to_ns(LBSIM_SAMPLE_MS);
  uint64_t next = timer->due_ns + period;
  lbsim_clock_set(tl->clock, timer, next > now_ns ? next : now_ns + period, on_sample);
}

void lbsim_timeline_start(lbsim_timeline_t *tl, uint64_t now_ns) {
  if (tl->clock == NULL)
    return;
  tl->started = true;
  tl->start_ns = now_ns;
  record_sample(tl, now_ns, true);
  lbsim_clock_set(tl->clock, &tl->sample, now_ns + lbsim_ms_to_ns(LBSIM_SAMPLE_MS), on_sample);
}

void lbsim_timeline_round(lbsim_timeline_t *tl, uint64_t now_ns) {
  if (tl->clock == NULL)
    return;
  int at = lbsim_timeline_block(tl, since_start_s(tl, now_ns));
  if (at < 0)
    return;
  for (uint32_t w = 0; w < tl->nbalancers; w++) {
    const lbsim_stats_t *s = &tl->fleets[w].stats;
    uint32_t *picks = lbsim_timeline_picks(tl, (uint32_t)at, w);
    for (uint32_t i = 0; i < tl->n; i++)
      picks[i] += (uint32_t)s->round_picks[i];
    size_t k = (size_t)at * tl->nbalancers + w;
    tl->answered[k] += (uint32_t)s->round.requests;
    tl->failed[k] += (uint32_t)s->round.failed;
    tl->offered[k] += (uint32_t)s->round_tally.users;
    tl->sent[k] += (uint32_t)s->round_tally.attempts;
    tl->good[k] += (uint32_t)s->round.ok;
    if (tl->fleets[w].measuring) {
      tl->herd[k] = (float)tl->fleets[w].measures.herd;
      tl->imbalance[k] = (float)tl->fleets[w].measures.imbalance;
    }
  }
}

void lbsim_timeline_ejection(lbsim_timeline_t *tl, uint32_t w, const lbsim_ejection_t *e, uint64_t now_ns) {
  if (tl->clock == NULL)
    return;
  if (tl->marks == NULL && (tl->marks = malloc(LBSIM_TIMELINE_MARKS * sizeof(*tl->marks))) == NULL) {
    tl->marks_dropped++;
    return;
  }
  if (tl->nmarks == LBSIM_TIMELINE_MARKS) {
    tl->marks_dropped++;
    return;
  }
  tl->marks[tl->nmarks++] = (lbsim_timeline_mark_t){since_start_s(tl, now_ns), w, e->backend, e->client, e->ejected};
}

void lbsim_timeline_stop(lbsim_timeline_t *tl) {
  if (tl->clock != NULL)
    lbsim_clock_cancel(tl->clock, &tl->sample);
}

typedef struct draw_args_s {
  const lbsim_timeline_t *tl;
  const char *const *const *names;
  const char *const *policies;
  const char *title;
} draw_args_t;

static int draw(FILE *out, const void *arg) {
  const draw_args_t *a = arg;
  return lbsim_svg_write(out, a->tl, a->names, a->policies, a->title);
}

/* "lbsim: 5 backends, policy ema-greedy, seed 7"; a replay is named. */
static void make_title(const lbsim_timeline_t *tl, const lbsim_config_t *cfg, uint64_t seed, char *title,
                       size_t len) {
  int at = snprintf(title, len, "lbsim: ");
  if (cfg->replay[0] != '\0') {
    at += snprintf(title + at, len - (size_t)at, "replay %s", cfg->replay);
    if (cfg->time_scale != 1)
      at += snprintf(title + at, len - (size_t)at, " at time scale %g", cfg->time_scale);
    at += snprintf(title + at, len - (size_t)at, ", ");
  }
  snprintf(title + at, len - (size_t)at, "%u backends, %s%s, seed %llu", tl->n,
           tl->nbalancers > 1 ? "compare " : "policy ", tl->nbalancers > 1 ? "mode" : tl->fleets[0].policy_name,
           (unsigned long long)seed);
}

int lbsim_timeline_finish(lbsim_timeline_t *tl, uint64_t now_ns, const lbsim_config_t *cfg, uint64_t seed) {
  if (tl->clock == NULL)
    return 0;
  lbsim_timeline_stop(tl);
  if (tl->started)
    record_sample(tl, now_ns, true); /* the truth as the run ends */
  const char *policies[LBSIM_MAX_POLICIES];
  const char *const *names[LBSIM_MAX_POLICIES];
  for (uint32_t w = 0; w < tl->nbalancers; w++) {
    policies[w] = tl->fleets[w].policy_name;
    names[w] = tl->fleets[w].names;
  }
  char title[200];
  make_title(tl, cfg, seed, title, sizeof(title));
  draw_args_t args = {tl, names, policies, title};
  const char *path = cfg->report_path;
  /* Opened before the run (lbsim_timeline_open), or now. */
  int err = tl->file.open ? 0 : lbsim_file_open(&tl->file, path);
  if (err == 0)
    err = lbsim_file_commit(&tl->file, draw, &args);
  if (err != 0)
    lbsim_log_error("cannot write the report %s: %s", path, lbsim_strerror(err));
  else
    lbsim_log("report written to %s", path);
  return err;
}
