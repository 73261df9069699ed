/* ORCA's load report in an HTTP header, TEXT format, without any I/O: what
 * a backend writes with each answer under --load-reports, and what the
 * client reads from any server.
 *
 *   endpoint-load-metrics: TEXT named_metrics.rif=3, named_metrics.queue=1, rps_fractional=812.3, cpu_utilization=0.97
 *
 * The value is "TEXT " and a comma-separated list of NAME=VALUE. Writers
 * differ on the separator — the ORCA design document, vLLM and Envoy
 * Gateway's docs write '=', Envoy's parser (source/common/orca/
 * orca_parser.cc) splits on ':' — so lbsim writes '=' and reads either.
 * As Envoy does, a name is one of OrcaLoadReport's (cpu_utilization,
 * mem_utilization, application_utilization, rps_fractional, eps) or
 * named_metrics.KEY, each at most once, each value a finite number;
 * anything else makes the whole header malformed. lbsim reads
 * named_metrics.rif, named_metrics.queue, rps_fractional and
 * cpu_utilization, and accepts the others. */
#ifndef LBSIM_ORCA_H
#define LBSIM_ORCA_H

#include <stddef.h>

#include "lbsim/model/load.h"
#include "lbsim/net/http/hresp.h"

#define LBSIM_ORCA_HEADER "endpoint-load-metrics"

/* The header line, "endpoint-load-metrics: TEXT ...\r\n", into buf (at
 * least 160 bytes); returns its length. */
size_t lbsim_orca_header(const lbsim_load_report_t *report, char *buf, size_t len);
/* A header's value (without the name). 0, or LBSIM_EINVAL with *why set
 * to a static text. */
int lbsim_orca_parse(const char *value, size_t len, lbsim_load_report_t *out, const char **why);
/* The report of a response whose parser kept the header
 * (lbsim_hresp_t.capture_load): 0, or LBSIM_EINVAL with *why ("missing",
 * given twice, too long, or what lbsim_orca_parse says). */
int lbsim_orca_from_response(const lbsim_hresp_t *resp, lbsim_load_report_t *out, const char **why);

#endif
