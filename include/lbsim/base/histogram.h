/* A log-linear latency histogram (HDR-style) with bounded memory and at most
 * 1 % relative error on every quantile.
 *
 * Values are recorded in microseconds. Values below 2 * SUB are exact; above,
 * each power of two is cut into SUB equal buckets and a quantile reports the
 * middle of its bucket, so the error is at most 1 / (2 * SUB) < 0.4 %: a
 * quarter of a millisecond at 100 ms.
 * Memory is one window of buckets, from the lowest to the highest octave
 * touched, grown when a sample falls outside: a backend whose latency stays
 * within one octave costs about 1 KiB, and a sample costs one bucket that
 * follows no pointer but the window's. */
#ifndef LBSIM_HISTOGRAM_H
#define LBSIM_HISTOGRAM_H

#include <stdint.h>

#define LBSIM_HIST_SUB_BITS 7                      /* 128 buckets per octave */
#define LBSIM_HIST_SUB (1u << LBSIM_HIST_SUB_BITS)
#define LBSIM_HIST_OCTAVES 40                      /* up to 2^45 us: beyond a year */

typedef struct lbsim_hist_s {
  uint64_t count;
  uint64_t min_us, max_us;
  double sum_us;
  uint64_t *buckets;                               /* the window; NULL until a sample */
  uint32_t first, len;                             /* its first bucket number, its length */
} lbsim_hist_t;

void lbsim_hist_init(lbsim_hist_t *h);
/* Returns 0, or LBSIM_ENOMEM if memory for a new octave could not be had (the sample
 * is then counted in count/min/max/sum but not in the quantiles). */
int lbsim_hist_record(lbsim_hist_t *h, uint64_t value_us);
/* The number of the bucket of a value (see histogram.c). */
static inline uint32_t lbsim_hist_bucket(uint64_t value_us) {
  if (value_us < 2u * LBSIM_HIST_SUB)
    return (uint32_t)value_us;
  unsigned msb = 63u - (unsigned)__builtin_clzll(value_us); /* >= SUB_BITS + 1 */
  unsigned k = msb - LBSIM_HIST_SUB_BITS;                   /* >= 1 */
  if (k >= LBSIM_HIST_OCTAVES)
    return (LBSIM_HIST_OCTAVES + 1) * LBSIM_HIST_SUB - 1; /* beyond the last octave: its last bucket */
  return k * LBSIM_HIST_SUB + (uint32_t)(value_us >> k);
}

/* lbsim_hist_record_n for a bucket outside the window: grows it. */
int lbsim_hist_record_grow(lbsim_hist_t *h, uint64_t value_us, uint64_t count);

/* The count, sum and extremes of `count` samples of one value (not its bucket). */
static inline void lbsim_hist_note(lbsim_hist_t *h, uint64_t value_us, uint64_t count) {
  if (h->count == 0 || value_us < h->min_us)
    h->min_us = value_us;
  if (value_us > h->max_us)
    h->max_us = value_us;
  h->count += count;
  h->sum_us += (double)value_us * (double)count;
}

/* Records `count` samples of the same value. Inline: a statistics record
 * makes two or three, of one value (its bucket is found once). */
static inline int lbsim_hist_record_n(lbsim_hist_t *h, uint64_t value_us, uint64_t count) {
  uint32_t i = lbsim_hist_bucket(value_us);
  if (count == 0 || i - h->first >= h->len)
    return lbsim_hist_record_grow(h, value_us, count);
  lbsim_hist_note(h, value_us, count);
  h->buckets[i - h->first] += count;
  return 0;
}
/* The value at quantile q in [0, 1] (0.5 = median), in microseconds; 0 when empty. */
double lbsim_hist_quantile(const lbsim_hist_t *h, double q);
double lbsim_hist_mean(const lbsim_hist_t *h);
/* How many samples are at most value_us (to the histogram's resolution). */
uint64_t lbsim_hist_count_le(const lbsim_hist_t *h, double value_us);
/* Adds src's samples to dst. */
int lbsim_hist_merge(lbsim_hist_t *dst, const lbsim_hist_t *src);
/* Forgets every sample, keeping the memory for reuse. */
void lbsim_hist_reset(lbsim_hist_t *h);
void lbsim_hist_free(lbsim_hist_t *h);

#endif
