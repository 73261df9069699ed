/* Reading back a sweep's JSON Lines (vsweep.h): the output of --shard and
 * the file of --resume, a start line and then one line per run. What
 * 'lbsim merge' and --resume share: reading a line, telling whether two
 * start lines are of the same sweep (and if not, where they first
 * differ), and checking a run's line against the sweep before its figures
 * are taken. */
#ifndef LBSIM_SWEEPFILE_H
#define LBSIM_SWEEPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lbsim/cli/config.h"
#include "lbsim/virtual/vsweep.h"

typedef enum lbsim_sweepline_e {
  LBSIM_LINE_NOT_JSON = 0,   /* not a JSON object: someone else's line */
  LBSIM_LINE_START,
  LBSIM_LINE_RUN,
  LBSIM_LINE_FOREIGN         /* a JSON object of another kind */
} lbsim_sweepline_t;

/* Parses text[0..len) (a trailing newline allowed) into *obj (a new
 * reference, NULL when not JSON) and says what it is. */
lbsim_sweepline_t lbsim_sweepline_parse(const char *text, size_t len, json_t **obj);

typedef struct lbsim_sweepstart_s {
  const char *version;
  uint32_t shard, shards;
  uint64_t runs;
  json_t *sweep;              /* the description: an array of "--name=value" (borrowed from the object) */
} lbsim_sweepstart_t;

/* The fields of a start line. 0, or LBSIM_EINVAL with err set. */
int lbsim_sweepstart_read(json_t *obj, lbsim_sweepstart_t *start, char *err, size_t errlen);
/* Whether a and b are of the same sweep (same version, same description);
 * if not, why, naming them as a_name and b_name ("--alpha=0.3 in a.jsonl,
 * --alpha=0.5 in b.jsonl"). */
bool lbsim_sweepstart_same(const lbsim_sweepstart_t *a, const char *a_name, const lbsim_sweepstart_t *b,
                           const char *b_name, char *why, size_t whylen);
/* A configuration from a description: the defaults, then each option of
 * start->sweep. 0, or LBSIM_EINVAL with err set. lbsim_config_free after. */
int lbsim_sweepstart_config(const lbsim_sweepstart_t *start, lbsim_config_t *cfg, char *err, size_t errlen);

/* A run's line: its number and figures, checked against the sweep (the
 * number is one of its runs, with that run's combination, policy and
 * seed). 0, or LBSIM_EINVAL with err set. */
int lbsim_sweeprun_read(const lbsim_vsweep_t *sw, json_t *obj, uint64_t *index, lbsim_figures_t *figures, char *err,
                        size_t errlen);

#endif
