/* Log-linear histogram. See lbsim/histogram.h. */
#include "lbsim/histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Octave 0 holds the exact values [0, 2*SUB); octave k >= 1 holds
 * [SUB << k, SUB << (k+1)) in SUB buckets of width 2^k. */
static void locate(uint64_t v, unsigned *octave, unsigned *bucket) {
  if (v < 2u * LBSIM_HIST_SUB) {
    *octave = 0;
    *bucket = (unsigned)v;
    return;
  }
  unsigned msb = 63u - (unsigned)__builtin_clzll(v);   /* >= SUB_BITS + 1 */
  unsigned k = msb - LBSIM_HIST_SUB_BITS;             /* >= 1 */
  if (k >= LBSIM_HIST_OCTAVES) {
    *octave = LBSIM_HIST_OCTAVES - 1;
    *bucket = LBSIM_HIST_SUB - 1;
    return;
  }
  *octave = k;
  *bucket = (unsigned)((v >> k) - LBSIM_HIST_SUB);
}

static unsigned octave_size(unsigned octave) {
  return octave == 0 ? 2u * LBSIM_HIST_SUB : LBSIM_HIST_SUB;
}

/* The value a bucket stands for: exact in octave 0, else its middle. */
static double bucket_value(unsigned octave, unsigned bucket) {
  if (octave == 0)
    return (double)bucket;
  double lo = (double)(((uint64_t)LBSIM_HIST_SUB + bucket) << octave);
  return lo + (double)((uint64_t)1 << octave) / 2.0;
}

void lbsim_hist_init(lbsim_hist_t *h) {
  memset(h, 0, sizeof(*h));
}

int lbsim_hist_record(lbsim_hist_t *h, uint64_t value_us) {
  return lbsim_hist_record_n(h, value_us, 1);
}

int lbsim_hist_record_n(lbsim_hist_t *h, uint64_t value_us, uint64_t count) {
  if (count == 0)
    return 0;
  if (h->count == 0 || value_us < h->min_us)
    h->min_us = value_us;
  if (value_us > h->max_us)
    h->max_us = value_us;
  h->count += count;
  h->sum_us += (double)value_us * (double)count;
  unsigned o, b;
  locate(value_us, &o, &b);
  if (h->octaves[o] == NULL) {
    h->octaves[o] = calloc(octave_size(o), sizeof(uint64_t));
    if (h->octaves[o] == NULL)
      return -1;
  }
  h->octaves[o][b] += count;
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
  for (unsigned o = 0; o < LBSIM_HIST_OCTAVES; o++) {
    if (h->octaves[o] == NULL)
      continue;
    for (unsigned b = 0; b < octave_size(o); b++) {
      seen += h->octaves[o][b];
      if (seen >= rank) {
        /* Never report outside what was seen. */
        double v = bucket_value(o, b);
        if (v < (double)h->min_us)
          v = (double)h->min_us;
        if (v > (double)h->max_us)
          v = (double)h->max_us;
        return v;
      }
    }
  }
  return (double)h->max_us; /* samples that found no memory */
}

uint64_t lbsim_hist_count_le(const lbsim_hist_t *h, double value_us) {
  uint64_t n = 0;
  for (unsigned o = 0; o < LBSIM_HIST_OCTAVES; o++) {
    if (h->octaves[o] == NULL)
      continue;
    for (unsigned b = 0; b < octave_size(o); b++) {
      if (bucket_value(o, b) > value_us)
        return n;
      n += h->octaves[o][b];
    }
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
  for (unsigned o = 0; o < LBSIM_HIST_OCTAVES; o++) {
    if (src->octaves[o] == NULL)
      continue;
    if (dst->octaves[o] == NULL) {
      dst->octaves[o] = calloc(octave_size(o), sizeof(uint64_t));
      if (dst->octaves[o] == NULL)
        return -1;
    }
    for (unsigned b = 0; b < octave_size(o); b++)
      dst->octaves[o][b] += src->octaves[o][b];
  }
  return 0;
}

void lbsim_hist_reset(lbsim_hist_t *h) {
  for (unsigned o = 0; o < LBSIM_HIST_OCTAVES; o++)
    if (h->octaves[o])
      memset(h->octaves[o], 0, octave_size(o) * sizeof(uint64_t));
  h->count = 0;
  h->min_us = h->max_us = 0;
  h->sum_us = 0;
}

void lbsim_hist_free(lbsim_hist_t *h) {
  for (unsigned o = 0; o < LBSIM_HIST_OCTAVES; o++) {
    free(h->octaves[o]);
    h->octaves[o] = NULL;
  }
  h->count = 0;
}
