/* Scenario files. See lbsim/model/scenario.h. */
#include "lbsim/model/scenario.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"

#define MAX_WORDS 16
#define DEFAULT_SLOW_START_FACTOR 5.0

static const char *const action_names[] = {"latency", "error-rate", "down", "up",
                                           "stall",   "resume",     "capacity", "jitter"};

const char *lbsim_action_name(lbsim_action_t action) {
  return (unsigned)action < sizeof(action_names) / sizeof(action_names[0]) ? action_names[action] : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, const char *word) {
  snprintf(err, errlen, fmt, word == NULL ? "" : lbsim_token(word));
  return LBSIM_EINVAL;
}

/* The ranges of a scenario's values (lbsim/base/number.h); a latency, an
 * error rate and a capacity have their options' ranges. */
static const lbsim_range_t at_range = {0, LBSIM_RUN_MAX_S, false, false, false, "s"};
static const lbsim_range_t slow_start_range = {0.000000001, LBSIM_RUN_MAX_S, false, false, false, "s"};
static const lbsim_range_t factor_range = {1, 1000, false, false, false, NULL};

/* "1500ms", "15s", "1.5s", "2m" -> seconds; a unit is required. */
static int parse_duration_s(const char *s, double *out) {
  double v;
  int n = lbsim_number_scan(s, &v);
  if (n <= 0)
    return -1;
  const char *unit = s + n;
  if (strcmp(unit, "ms") == 0)
    *out = v / 1000.0;
  else if (strcmp(unit, "s") == 0)
    *out = v;
  else if (strcmp(unit, "m") == 0)
    *out = v * 60.0;
  else
    return -1;
  return 0;
}

/* A refusal that names the word and the range: "bad latency '5000s':
 * expected a duration such as 250ms or 2s: 0 or 0.000001..3600000 ms". */
static int refuse_value(char *err, size_t errlen, const char *what, const char *word, const char *expected,
                        const lbsim_range_t *range) {
  char text[64];
  snprintf(err, errlen, "bad %s '%s': expected %s: %s", what, lbsim_token(word), expected,
           lbsim_range_text(range, text, sizeof(text)));
  return LBSIM_EINVAL;
}

int lbsim_action_parse(lbsim_event_t *ev, char **w, int n, char *err, size_t errlen) {
  if (n == 0)
    return fail(err, errlen, "missing action%s", "");
  int action = -1;
  for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
    if (strcmp(w[0], action_names[i]) == 0)
      action = (int)i;
  if (action < 0)
    return fail(err, errlen, "unknown action '%s' (latency, error-rate, down, up, stall, resume, capacity, jitter)",
                w[0]);
  ev->action = (lbsim_action_t)action;
  ev->slow_start_s = 0;
  ev->slow_start_factor = 1;
  bool takes_value = action == LBSIM_ACTION_LATENCY || action == LBSIM_ACTION_ERROR_RATE ||
                     action == LBSIM_ACTION_CAPACITY || action == LBSIM_ACTION_JITTER;
  if (takes_value && n < 2)
    return fail(err, errlen, "'%s' needs a value", w[0]);
  double v = 0;
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    if (parse_duration_s(w[1], &v) != 0 || !lbsim_range_has(&lbsim_range_latency_ms, v * 1000.0))
      return refuse_value(err, errlen, "latency", w[1], "a duration such as 250ms or 2s", &lbsim_range_latency_ms);
    ev->value = v * 1000.0;
    break;
  case LBSIM_ACTION_ERROR_RATE:
    if (lbsim_number_read(&lbsim_range_probability, w[1], &v) != 0)
      return refuse_value(err, errlen, "error rate", w[1], "a probability", &lbsim_range_probability);
    ev->value = v;
    break;
  case LBSIM_ACTION_CAPACITY:
    if (lbsim_number_read(&lbsim_range_capacity, w[1], &v) != 0)
      return refuse_value(err, errlen, "capacity", w[1], "an integer, 0: unlimited", &lbsim_range_capacity);
    ev->value = v;
    break;
  case LBSIM_ACTION_JITTER: {
    char why[256];
    if (lbsim_jitter_parse(w[1], &ev->jitter, why, sizeof(why)) != 0) {
      snprintf(err, errlen, "%s", why);
      return LBSIM_EINVAL;
    }
    break;
  }
  case LBSIM_ACTION_UP:
    if (n >= 2) {
      if (strcmp(w[1], "slow-start") != 0)
        return fail(err, errlen, "unexpected '%s' after up (slow-start DURATION [xFACTOR])", w[1]);
      if (n < 3 || parse_duration_s(w[2], &ev->slow_start_s) != 0 ||
          !lbsim_range_has(&slow_start_range, ev->slow_start_s))
        return refuse_value(err, errlen, "slow-start duration", n >= 3 ? w[2] : "", "a duration such as 10s",
                            &slow_start_range);
      ev->slow_start_factor = DEFAULT_SLOW_START_FACTOR;
      if (n >= 4) {
        if (w[3][0] != 'x' || lbsim_number_read(&factor_range, w[3] + 1, &v) != 0)
          return refuse_value(err, errlen, "slow-start factor", w[3], "x and a factor such as x3", &factor_range);
        ev->slow_start_factor = v;
      }
      if (n > 4)
        return fail(err, errlen, "unexpected '%s'", w[4]);
    }
    return 0;
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    if (n > 1)
      return fail(err, errlen, "unexpected '%s'", w[1]);
    return 0;
  }
  if (n > 2)
    return fail(err, errlen, "unexpected '%s'", w[2]);
  return 0;
}

void lbsim_scenario_format(const lbsim_scenario_t *sc, lbsim_buf_t *out) {
  for (uint32_t e = 0; e < sc->nevents; e++) {
    const lbsim_event_t *ev = &sc->events[e];
    lbsim_buf_append_str(out, "at ");
    lbsim_buf_exact(out, ev->at_s);
    if (ev->backend == LBSIM_ALL_BACKENDS)
      lbsim_buf_append_str(out, "s all ");
    else
      lbsim_buf_printf(out, "s backend %d ", ev->backend + 1);
    lbsim_buf_append_str(out, lbsim_action_name(ev->action));
    switch (ev->action) {
    case LBSIM_ACTION_LATENCY:
      lbsim_buf_append_str(out, " ");
      lbsim_buf_exact(out, ev->value);
      lbsim_buf_append_str(out, "ms");
      break;
    case LBSIM_ACTION_ERROR_RATE:
    case LBSIM_ACTION_CAPACITY:
      lbsim_buf_append_str(out, " ");
      lbsim_buf_exact(out, ev->value);
      break;
    case LBSIM_ACTION_JITTER:
      lbsim_buf_printf(out, " %s", lbsim_jitter_name(ev->jitter.kind));
      if (ev->jitter.kind != LBSIM_JITTER_NONE) {
        lbsim_buf_append_str(out, ":");
        lbsim_buf_exact(out, ev->jitter.param);
      }
      break;
    case LBSIM_ACTION_UP:
      if (ev->slow_start_s > 0) {
        lbsim_buf_append_str(out, " slow-start ");
        lbsim_buf_exact(out, ev->slow_start_s);
        lbsim_buf_append_str(out, "s x");
        lbsim_buf_exact(out, ev->slow_start_factor);
      }
      break;
    case LBSIM_ACTION_DOWN:
    case LBSIM_ACTION_STALL:
    case LBSIM_ACTION_RESUME:
      break;
    }
    lbsim_buf_append_str(out, "\n");
  }
}

static int parse_line(lbsim_event_t *ev, char *line, uint32_t nbackends, char *err, size_t errlen) {
  char *w[MAX_WORDS] = {NULL};
  int n = 0;
  for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
    if (n == MAX_WORDS)
      return fail(err, errlen, "too many words%s", "");
    w[n++] = tok;
  }
  if (n == 0)
    return fail(err, errlen, "empty line%s", "");
  if (strcmp(w[0], "at") != 0)
    return fail(err, errlen, "expected 'at TIME ...', got '%s'", w[0]);
  if (n < 2 || parse_duration_s(w[1], &ev->at_s) != 0 || !lbsim_range_has(&at_range, ev->at_s))
    return refuse_value(err, errlen, "time", n >= 2 ? w[1] : "", "a duration such as 15s, 1500ms or 2m", &at_range);
  if (n < 3)
    return fail(err, errlen, "missing target (backend N or all)%s", "");
  int next;
  if (strcmp(w[2], "all") == 0) {
    ev->backend = LBSIM_ALL_BACKENDS;
    next = 3;
  } else if (strcmp(w[2], "backend") == 0) {
    double v = 0;
    const lbsim_range_t backend_range = {1, 4096, false, false, true, NULL};
    if (n < 4 || lbsim_number_read(&backend_range, w[3], &v) != 0)
      return refuse_value(err, errlen, "backend number", n >= 4 ? w[3] : "", "an integer", &backend_range);
    if (v > nbackends) {
      snprintf(err, errlen, "backend %s does not exist (there are %u)", lbsim_token(w[3]), nbackends);
      return LBSIM_EINVAL;
    }
    ev->backend = (int32_t)v - 1;
    next = 4;
  } else {
    return fail(err, errlen, "bad target '%s' (backend N or all)", w[2]);
  }
  return lbsim_action_parse(ev, w + next, n - next, err, errlen);
}

static int by_time(const void *a, const void *b) {
  const lbsim_event_t *x = a, *y = b;
  if (x->at_s != y->at_s)
    return x->at_s < y->at_s ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

int lbsim_scenario_parse(lbsim_scenario_t *sc, const char *text, const char *name, uint32_t nbackends, char *err,
                         size_t errlen) {
  memset(sc, 0, sizeof(*sc));
  uint32_t cap = 0;
  uint32_t lineno = 0;
  const char *p = text;
  if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
    p += 3; /* a byte-order mark, as some editors write one: not part of the first line */
  while (*p) {
    lineno++;
    size_t len = strcspn(p, "\n");
    char line[512];
    if (len >= sizeof(line)) {
      snprintf(err, errlen, "%s:%u: line too long (at most 511 bytes)", lbsim_token(name), lineno);
      lbsim_scenario_free(sc);
      return LBSIM_EINVAL;
    }
    memcpy(line, p, len);
    line[len] = '\0';
    p += len + (p[len] == '\n');
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    if (line[strspn(line, " \t\r")] == '\0')
      continue;
    if (sc->nevents == cap) {
      cap = cap ? 2 * cap : 16;
      lbsim_event_t *grown = realloc(sc->events, cap * sizeof(*grown));
      if (grown == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        lbsim_scenario_free(sc);
        return LBSIM_ENOMEM;
      }
      sc->events = grown;
    }
    lbsim_event_t *ev = &sc->events[sc->nevents];
    memset(ev, 0, sizeof(*ev));
    ev->line = lineno;
    char why[512];
    int bad = parse_line(ev, line, nbackends, why, sizeof(why));
    if (bad != 0) {
      snprintf(err, errlen, "%s:%u: %s", lbsim_token(name), lineno, why);
      lbsim_scenario_free(sc);
      return bad;
    }
    sc->nevents++;
  }
  if (sc->nevents > 1)
    qsort(sc->events, sc->nevents, sizeof(*sc->events), by_time);
  return 0;
}

int lbsim_scenario_load(lbsim_scenario_t *sc, const char *path, uint32_t nbackends, char *err, size_t errlen) {
  memset(sc, 0, sizeof(*sc));
  FILE *f = fopen(path, "r");
  struct stat st;
  if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    f = NULL;
    errno = EISDIR; /* opened for reading on Linux, and read as nothing */
  }
  if (f == NULL) {
    int code = -errno;
    snprintf(err, errlen, "cannot read scenario %s: %s", lbsim_token(path), strerror(errno));
    return code;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  char chunk[4096];
  size_t n;
  int code = 0;
  while (code == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (len + n > LBSIM_SCENARIO_MAX_BYTES) {
      snprintf(err, errlen, "%s: larger than %u bytes (8 MiB), the most a scenario file may hold", lbsim_token(path),
               LBSIM_SCENARIO_MAX_BYTES);
      code = LBSIM_EINVAL;
    } else if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *grown = realloc(text, cap);
      if (grown == NULL) {
        snprintf(err, errlen, "%s: out of memory", lbsim_token(path));
        code = LBSIM_ENOMEM;
      } else {
        text = grown;
      }
    }
    if (code == 0) {
      memcpy(text + len, chunk, n);
      len += n;
    }
  }
  if (code == 0 && ferror(f)) {
    code = errno ? -errno : LBSIM_EIO;
    snprintf(err, errlen, "cannot read scenario %s: %s", lbsim_token(path), lbsim_strerror(code));
  }
  fclose(f);
  if (code != 0 || text == NULL) {
    free(text);
    return code; /* an empty file is an empty scenario */
  }
  text[len] = '\0';
  if (memchr(text, '\0', len) != NULL) {
    free(text);
    snprintf(err, errlen, "%s: not a text file", lbsim_token(path));
    return LBSIM_EINVAL;
  }
  int r = lbsim_scenario_parse(sc, text, path, nbackends, err, errlen);
  free(text);
  return r;
}

void lbsim_scenario_free(lbsim_scenario_t *sc) {
  free(sc->events);
  sc->events = NULL;
  sc->nevents = 0;
}
