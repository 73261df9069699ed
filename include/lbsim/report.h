/* Output on stdout: text (the seed's round block, the run summary, compare
 * tables) or JSON Lines (--format json; the schema is in the README). */
#ifndef LBSIM_REPORT_H
#define LBSIM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "lbsim/config.h"
#include "lbsim/oracle.h"
#include "lbsim/traffic.h"

/* JSON: a "start" object (seed, shape, policies, backends). Text: nothing. */
void lbsim_report_start(FILE *out, const lbsim_config_t *cfg, uint64_t seed, lbsim_traffic_t *worlds,
                        uint32_t nworlds, lbsim_oracle_t *oracle);
/* The same for --backends-only: no policies, shape null. */
void lbsim_report_start_backends(FILE *out, const lbsim_config_t *cfg, uint64_t seed,
                                 const lbsim_backend_t *backends, uint32_t n, lbsim_oracle_t *oracle);
/* A round (bursts) or interval (--rate, --concurrency) of every balancer.
 * Text with one balancer: the seed's block, byte for byte. */
void lbsim_report_round(FILE *out, const lbsim_config_t *cfg, uint64_t round, double t_s, lbsim_traffic_t *worlds,
                        uint32_t nworlds, lbsim_oracle_t *oracle);
/* The run summary, or the comparison table. */
void lbsim_report_run(FILE *out, const lbsim_config_t *cfg, lbsim_traffic_t *worlds, uint32_t nworlds,
                      lbsim_oracle_t *oracle, double elapsed_s);
/* JSON only: a drift step ("drift") or a scripted or admin change
 * ("change") of a backend. */
void lbsim_report_change(FILE *out, const lbsim_config_t *cfg, double t_s, uint32_t backend, const lbsim_event_t *event,
                         double from, double to, const char *jitter);

#endif
