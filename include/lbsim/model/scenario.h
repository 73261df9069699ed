/* Scripted changes to the backends: a small line-based file format.
 *
 *   # comments run to the end of the line
 *   at 15s backend 3 latency 2000ms
 *   at 20s backend 2 error-rate 0.5
 *   at 30s backend 4 down
 *   at 45s backend 4 up slow-start 10s
 *   at 0s all capacity 50
 *
 * Times take ms, s or m, on a number of lbsim/base/number.h's grammar;
 * "backend N" is 1-based, "all" is every backend.
 * Actions: latency DURATION, error-rate P, down, up [slow-start DURATION
 * [xFACTOR]], stall, resume, capacity N (0: unlimited), jitter DIST.
 * Pure code: parsing and validation only; the simulation applies events. */
#ifndef LBSIM_SCENARIO_H
#define LBSIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "lbsim/base/buf.h"
#include "lbsim/model/service.h"

typedef enum lbsim_action_e {
  LBSIM_ACTION_LATENCY = 0,
  LBSIM_ACTION_ERROR_RATE,
  LBSIM_ACTION_DOWN,
  LBSIM_ACTION_UP,
  LBSIM_ACTION_STALL,
  LBSIM_ACTION_RESUME,
  LBSIM_ACTION_CAPACITY,
  LBSIM_ACTION_JITTER
} lbsim_action_t;

#define LBSIM_ALL_BACKENDS (-1)

typedef enum lbsim_origin_e {
  LBSIM_ORIGIN_SCENARIO = 0,
  LBSIM_ORIGIN_DRIFT,
  LBSIM_ORIGIN_ADMIN
} lbsim_origin_t;

typedef struct lbsim_event_s {
  double at_s;              /* since the start, before --time-scale */
  lbsim_origin_t origin;
  int32_t backend;          /* 0-based, or LBSIM_ALL_BACKENDS */
  lbsim_action_t action;
  double value;             /* latency ms, error rate, capacity */
  double slow_start_s;      /* up: length of the slow start (0: none) */
  double slow_start_factor; /* up: latency multiplier when it comes back */
  lbsim_jitter_t jitter;
  uint32_t line;
} lbsim_event_t;

typedef struct lbsim_scenario_s {
  lbsim_event_t *events;    /* sorted by time, then by line */
  uint32_t nevents;
} lbsim_scenario_t;

/* Parses `text`; `name` is used in messages ("name:line: reason"). Backend
 * numbers are checked against nbackends. 0, or a negative error code
 * (LBSIM_EINVAL, LBSIM_ENOMEM; from reading a file, -errno) with err set. */
int lbsim_scenario_parse(lbsim_scenario_t *scenario, const char *text, const char *name, uint32_t nbackends,
                         char *err, size_t errlen);
/* The largest scenario file. */
#define LBSIM_SCENARIO_MAX_BYTES (8u << 20)
/* Reads and parses a file (a byte-order mark at its start is skipped; a
 * directory, a file larger than LBSIM_SCENARIO_MAX_BYTES or with a NUL
 * byte is refused). */
int lbsim_scenario_load(lbsim_scenario_t *scenario, const char *path, uint32_t nbackends, char *err, size_t errlen);
/* Parses one action with its arguments ("latency 2000ms"), as the admin
 * endpoint and the scenario lines use it: words[0..nwords). */
int lbsim_action_parse(lbsim_event_t *event, char **words, int nwords, char *err, size_t errlen);
const char *lbsim_action_name(lbsim_action_t action);
/* The script as lines of this format, in the order the events run, every
 * number exact ("at 15s backend 3 latency 2000ms"): what a sweep's
 * description holds, so that two scripts that act alike read alike. */
void lbsim_scenario_format(const lbsim_scenario_t *scenario, lbsim_buf_t *out);
void lbsim_scenario_free(lbsim_scenario_t *scenario);

#endif
