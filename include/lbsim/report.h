/* Output: the seed's round block and the run summary (text). */
#ifndef LBSIM_REPORT_H
#define LBSIM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "lbsim/ema.h"
#include "lbsim/stats.h"

/* The seed's block, byte for byte: a blank line, the title, one line per
 * backend in order ("URL: avg=X.XX ms, requests=N"). */
void lbsim_report_round(FILE *out, uint64_t round, const char *const *names, const lbsim_ema_t *ema,
                        const uint64_t *picks, uint32_t n);
/* "=== Run Summary ===": totals, rate, failures by kind, and per backend
 * requests/ok/failed/p50/p99/ema. */
void lbsim_report_run(FILE *out, const lbsim_stats_t *stats, const char *const *names, const lbsim_ema_t *ema,
                      double elapsed_s);

#endif
