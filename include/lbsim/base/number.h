/* The one grammar of the numbers lbsim reads (options, scenario files,
 * --jitter, --sweep values and steps, environment variables) and the ranges
 * they are checked against:
 *
 *   number = [+|-] (DIGITS [. [DIGITS]] | . DIGITS) [(e|E) [+|-] DIGITS]
 *
 * Decimal only: no hexadecimal, no inf or nan, no blanks. A number too large
 * for a double is refused; one too small is its nearest double (1e-320, a
 * subnormal, is above 0; 1e-400 is 0). An integer is a number whose value is
 * whole: 1e3 is 1000.
 *
 * A range is written the same way in --help, in the manual and in every
 * error ("1..4096", "0 or 0.001..86400 s", "(0, 1]" where 0 is out):
 * lbsim_range_text.
 * Every time, duration and rate has a range that the simulator represents
 * in 64-bit nanoseconds without overflow: nothing longer than the longest
 * run (LBSIM_RUN_MAX_S), and nothing below 1 ns but 0 where 0 means "none"
 * or "off" (docs/limits.md). */
#ifndef LBSIM_NUMBER_H
#define LBSIM_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* The longest run, on either clock: a year of 365 days. Every time an option
 * or a scenario sets is at most this, and a run ends by it. */
#define LBSIM_RUN_MAX_S 31536000.0

typedef struct lbsim_range_s {
  double min, max;
  bool above_min;   /* (min, max]: min itself is out */
  bool or_zero;     /* 0 is in too, below min ("0 or min..max"): 0 means none or off */
  bool integer;     /* whole values only */
  const char *unit; /* "s", "ms", "req/s", "bytes", or NULL */
} lbsim_range_t;

/* Reads a number at the start of text: the count of characters it takes
 * (> 0), or LBSIM_EINVAL (not a number there, or too large). */
int lbsim_number_scan(const char *text, double *value);
/* The whole text as a number: 0, or LBSIM_EINVAL. */
int lbsim_number_parse(const char *text, double *value);
bool lbsim_range_has(const lbsim_range_t *range, double value);
/* The whole text as a number in the range: 0, or LBSIM_EINVAL (not a
 * number, or out of the range; *value is set when it is a number). */
int lbsim_number_read(const lbsim_range_t *range, const char *text, double *value);
/* The range as it is written everywhere: "1..4096", "0 or 0.001..86400 s",
 * "(0, 1]". Returns buf. */
const char *lbsim_range_text(const lbsim_range_t *range, char *buf, size_t len);
/* What a value of the range is: "an integer" or "a number". */
const char *lbsim_range_kind(const lbsim_range_t *range);
/* A limit as lbsim_range_text writes it: plain decimal, no exponent
 * (0.000000001, 31536000). Returns buf. */
const char *lbsim_number_text(double value, char *buf, size_t len);

/* ---- the ranges shared by more than one reader ---- */

/* Seconds: a time that may be 0 ("none"), else at least 1 ns, at most a day. */
extern const lbsim_range_t lbsim_range_s_or_zero;
/* Seconds of a deadline or a time constant: 1 ns to a day. */
extern const lbsim_range_t lbsim_range_s;
/* A period that writes output or changes every backend (--interval,
 * --drift-period): at least a millisecond. */
extern const lbsim_range_t lbsim_range_period_s;
/* A latency in milliseconds: 0, or 1 ns to an hour. */
extern const lbsim_range_t lbsim_range_latency_ms;
/* A probability. */
extern const lbsim_range_t lbsim_range_probability;
/* Requests a backend serves at once; 0: unlimited. */
extern const lbsim_range_t lbsim_range_capacity;

#endif
