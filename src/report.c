#include "lbsim/report.h"

void lbsim_report_round(FILE *out, uint64_t round, const char *const *names, const lbsim_ema_t *ema,
                        const uint64_t *picks, uint32_t n) {
  fprintf(out, "\n=== Traffic Round %llu Summary ===\n", (unsigned long long)round);
  for (uint32_t i = 0; i < n; i++)
    fprintf(out, "%s: avg=%.2f ms, requests=%llu\n", names[i], ema->value_ms[i], (unsigned long long)picks[i]);
  fflush(out);
}

void lbsim_report_run(FILE *out, const lbsim_stats_t *stats, const char *const *names, const lbsim_ema_t *ema,
                      double elapsed_s) {
  const lbsim_counts_t *t = &stats->total;
  fprintf(out, "\n=== Run Summary ===\n");
  fprintf(out, "requests=%llu ok=%llu failed=%llu elapsed=%.2f s rate=%.2f req/s\n", (unsigned long long)t->requests,
          (unsigned long long)t->ok, (unsigned long long)t->failed, elapsed_s,
          elapsed_s > 0 ? (double)t->requests / elapsed_s : 0.0);
  if (t->failed > 0) {
    fprintf(out, "failures:");
    for (int r = LBSIM_RESULT_OK + 1; r < LBSIM_RESULT_COUNT; r++)
      fprintf(out, " %s=%llu", lbsim_result_name((lbsim_result_t)r), (unsigned long long)t->by_result[r]);
    fputc('\n', out);
  }
  for (uint32_t i = 0; i < stats->n; i++) {
    const lbsim_counts_t *b = &stats->backend[i];
    fprintf(out, "%s: requests=%llu ok=%llu failed=%llu p50=%.2f ms p99=%.2f ms ema=%.2f ms\n", names[i],
            (unsigned long long)b->requests, (unsigned long long)b->ok, (unsigned long long)b->failed,
            lbsim_counts_quantile_ms(b, 0.50), lbsim_counts_quantile_ms(b, 0.99), ema->value_ms[i]);
  }
  fflush(out);
}
