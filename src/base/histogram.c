/* Log-linear histogram. See lbsim/base/histogram.h. */
#include "lbsim/base/histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

/* Buckets are numbered across octaves: 0 .. 2*SUB-1 are the exact values
 * of octave 0; octave k >= 1 ([SUB << k, SUB << (k+1)), buckets of width
 * 2^k) has the SUB numbers from (k+1)*SUB on. The numbering is monotone in
 * the value, so the samples of [min, max] lie between the numbers of min
 * and max, and memory is a window of consecutive blocks of SUB buckets. */
static inline uint32_t bucket_of(uint64_t v) {
  return lbsim_hist_bucket(v);
}

/* The value a bucket stands for: exact in octave 0, else its middle. */
static double bucket_value(uint32_t i) {
  if (i < 2u * LBSIM_HIST_SUB)
    return (double)i;
  unsigned k = (i >> LBSIM_HIST_SUB_BITS) - 1;
  double lo = (double)((uint64_t)(LBSIM_HIST_SUB + (i & (LBSIM_HIST_SUB - 1))) << k);
  return lo + (double)((uint64_t)1 << k) / 2.0;
}

/* Widens the window to hold bucket i. 0, or -1 without memory. */
static int cover(lbsim_hist_t *h, uint32_t i) {
  uint32_t block = i / LBSIM_HIST_SUB;
  uint32_t lo = h->len ? h->first / LBSIM_HIST_SUB : block;
  uint32_t hi = h->len ? (h->first + h->len) / LBSIM_HIST_SUB : block + 1;
  if (block < lo)
    lo = block;
  if (block >= hi)
    hi = block + 1;
  uint32_t first = lo * LBSIM_HIST_SUB, len = (hi - lo) * LBSIM_HIST_SUB;
  uint64_t *b = calloc(len, sizeof(*b));
  if (b == NULL)
    return LBSIM_ENOMEM;
  if (h->len)
    memcpy(b + (h->first - first), h->buckets, h->len * sizeof(*b));
  free(h->buckets);
  h->buckets = b;
  h->first = first;
  h->len = len;
  return 0;
}

void lbsim_hist_init(lbsim_hist_t *h) {
  memset(h, 0, sizeof(*h));
}

int lbsim_hist_record(lbsim_hist_t *h, uint64_t value_us) {
  return lbsim_hist_record_n(h, value_us, 1);
}

int lbsim_hist_record_grow(lbsim_hist_t *h, uint64_t value_us, uint64_t count) {
  if (count == 0)
    return 0;
  lbsim_hist_note(h, value_us, count);
  uint32_t i = bucket_of(value_us);
  if (i - h->first >= h->len && cover(h, i) != 0)
    return LBSIM_ENOMEM;
  h->buckets[i - h->first] += count;
  return 0;
}

double lbsim_hist_quantile(const lbsim_hist_t *h, double q) {
  if (h->count == 0)
    return 0.0;
  if (q <= 0)
    return (double)h->min_us;
  if (q >= 1)
    return (double)h->max_us;
  uint64_t rank = (uint64_t)ceil(q * (double)h->count);
  if (rank == 0)
    rank = 1;
  uint64_t seen = 0;
  for (uint32_t j = 0; j < h->len; j++) {
    seen += h->buckets[j];
    if (seen >= rank) {
      /* Never report outside what was seen. */
      double v = bucket_value(h->first + j);
      if (v < (double)h->min_us)
        v = (double)h->min_us;
      if (v > (double)h->max_us)
        v = (double)h->max_us;
      return v;
    }
  }
  return (double)h->max_us; /* samples that found no memory */
}

uint64_t lbsim_hist_count_le(const lbsim_hist_t *h, double value_us) {
  uint64_t n = 0;
  for (uint32_t j = 0; j < h->len; j++) {
    if (bucket_value(h->first + j) > value_us)
      return n;
    n += h->buckets[j];
  }
  return n;
}

double lbsim_hist_mean(const lbsim_hist_t *h) {
  return h->count ? h->sum_us / (double)h->count : 0.0;
}

int lbsim_hist_merge(lbsim_hist_t *dst, const lbsim_hist_t *src) {
  if (src->count == 0)
    return 0;
  if (dst->count == 0 || src->min_us < dst->min_us)
    dst->min_us = src->min_us;
  if (src->max_us > dst->max_us)
    dst->max_us = src->max_us;
  dst->count += src->count;
  dst->sum_us += src->sum_us;
  if (src->len == 0)
    return 0;
  if ((src->first - dst->first >= dst->len && cover(dst, src->first) != 0) ||
      (src->first + src->len - 1 - dst->first >= dst->len && cover(dst, src->first + src->len - 1) != 0))
    return LBSIM_ENOMEM;
  uint64_t *d = dst->buckets + (src->first - dst->first);
  for (uint32_t j = 0; j < src->len; j++)
    d[j] += src->buckets[j];
  return 0;
}

void lbsim_hist_reset(lbsim_hist_t *h) {
  if (h->count > 0 && h->len > 0) {
    /* Only the buckets between min and max can hold anything. */
    uint32_t lo = bucket_of(h->min_us), hi = bucket_of(h->max_us);
    lo = lo < h->first ? 0 : lo - h->first;
    hi = hi - h->first >= h->len ? h->len - 1 : hi - h->first;
    if (lo <= hi)
      memset(h->buckets + lo, 0, (hi - lo + 1) * sizeof(*h->buckets));
  }
  h->count = 0;
  h->min_us = h->max_us = 0;
  h->sum_us = 0;
}

void lbsim_hist_free(lbsim_hist_t *h) {
  free(h->buckets);
  h->buckets = NULL;
  h->first = h->len = 0;
  h->count = 0;
}
