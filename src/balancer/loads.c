/* What a client knows of the backends' load. See lbsim/balancer/loads.h. */
#include "lbsim/balancer/loads.h"

#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"

int lbsim_loads_init(lbsim_loads_t *l, uint32_t n, const uint32_t *subset, bool reports, const lbsim_board_t *board) {
  memset(l, 0, sizeof(*l));
  l->subset = subset;
  l->board = board;
  l->on = reports || board != NULL;
  if (!reports)
    return 0;
  l->views = malloc(n * sizeof(*l->views));
  if (l->views == NULL)
    return LBSIM_ENOMEM;
  for (uint32_t k = 0; k < n; k++)
    l->views[k] = (lbsim_view_t){LBSIM_NEVER, 0, 0};
  return 0;
}

void lbsim_loads_free(lbsim_loads_t *l) {
  free(l->views);
  l->views = NULL;
  l->board = NULL;
  l->on = false;
}

uint64_t lbsim_loads_get(const lbsim_loads_t *l, uint32_t k, uint64_t now_ns, uint64_t *at_ns) {
  if (l->views != NULL) {
    const lbsim_view_t *v = &l->views[k];
    *at_ns = v->at_ns;
    return (uint64_t)v->rif + v->sent;
  }
  if (l->board != NULL) {
    const lbsim_board_t *b = l->board;
    lbsim_load_report_t report;
    lbsim_load_board_read(b->load_of(b->data, l->subset ? l->subset[k] : k), now_ns, &report, at_ns);
    return report.rif;
  }
  *at_ns = LBSIM_NEVER;
  return 0;
}

void lbsim_loads_picked(lbsim_loads_t *l, uint32_t k, uint64_t now_ns, lbsim_stats_t *stats) {
  uint64_t at;
  lbsim_loads_get(l, k, now_ns, &at);
  if (at != LBSIM_NEVER && at <= now_ns) {
    stats->view_age_sum_ms += (double)(now_ns - at) / LBSIM_NS_PER_MS;
    stats->view_age_picks++;
  }
  if (l->views != NULL)
    l->views[k].sent++;
}

const char *lbsim_loads_heard(lbsim_loads_t *l, uint32_t k, const lbsim_load_report_t *report, const char *why,
                              uint64_t now_ns) {
  if (l->views == NULL)
    return NULL;
  if (report == NULL)
    return why ? why : "missing";
  if (!(report->has & LBSIM_LOAD_RIF))
    return "without named_metrics.rif";
  l->views[k] = (lbsim_view_t){now_ns, report->rif, 0};
  return NULL;
}
