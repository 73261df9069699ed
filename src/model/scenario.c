/* Scenario files. See lbsim/model/scenario.h. */
#include "lbsim/model/scenario.h"

#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

#define MAX_WORDS 16
#define DEFAULT_SLOW_START_FACTOR 5.0

static const char *const action_names[] = {"latency", "error-rate", "down", "up",
                                           "stall",   "resume",     "capacity", "jitter"};

const char *lbsim_action_name(lbsim_action_t action) {
  return (unsigned)action < sizeof(action_names) / sizeof(action_names[0]) ? action_names[action] : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, const char *word) {
  snprintf(err, errlen, fmt, word);
  return LBSIM_EINVAL;
}

static int parse_number(const char *s, double *out) {
  char *end;
  errno = 0;
  if (*s == '\0' || *s == '+' || *s == ' ')
    return -1;
  double v = strtod(s, &end);
  if (errno || !isfinite(v) || end == s)
    return -1;
  *out = v;
  return (int)(end - s);
}

/* "1500ms", "15s", "1.5s", "2m" -> seconds; a unit is required. */
static int parse_duration_s(const char *s, double *out) {
  double v;
  int n = parse_number(s, &v);
  if (n <= 0 || v < 0)
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
    if (parse_duration_s(w[1], &v) != 0 || v > 3600)
      return fail(err, errlen, "bad latency '%s' (e.g. 250ms or 2s, at most 3600s)", w[1]);
    ev->value = v * 1000.0;
    break;
  case LBSIM_ACTION_ERROR_RATE:
    if (parse_number(w[1], &v) != (int)strlen(w[1]) || v < 0 || v > 1)
      return fail(err, errlen, "bad error rate '%s' (a probability in [0, 1])", w[1]);
    ev->value = v;
    break;
  case LBSIM_ACTION_CAPACITY:
    if (parse_number(w[1], &v) != (int)strlen(w[1]) || v < 0 || v > 1000000 || v != floor(v))
      return fail(err, errlen, "bad capacity '%s' (an integer in 0..1000000, 0: unlimited)", w[1]);
    ev->value = v;
    break;
  case LBSIM_ACTION_JITTER: {
    char why[160];
    if (lbsim_jitter_parse(w[1], &ev->jitter, why, sizeof(why)) != 0)
      return fail(err, errlen, "%s", why);
    break;
  }
  case LBSIM_ACTION_UP:
    if (n >= 2) {
      if (strcmp(w[1], "slow-start") != 0)
        return fail(err, errlen, "unexpected '%s' after up (slow-start DURATION [xFACTOR])", w[1]);
      if (n < 3 || parse_duration_s(w[2], &ev->slow_start_s) != 0 || ev->slow_start_s <= 0)
        return fail(err, errlen, "bad slow-start duration '%s'", n >= 3 ? w[2] : "");
      ev->slow_start_factor = DEFAULT_SLOW_START_FACTOR;
      if (n >= 4) {
        if (w[3][0] != 'x' || parse_number(w[3] + 1, &v) != (int)strlen(w[3] + 1) || v < 1 || v > 1000)
          return fail(err, errlen, "bad slow-start factor '%s' (x2 .. x1000)", w[3]);
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
  if (n < 2 || parse_duration_s(w[1], &ev->at_s) != 0)
    return fail(err, errlen, "bad time '%s' (e.g. 15s, 1500ms, 2m)", n >= 2 ? w[1] : "");
  if (n < 3)
    return fail(err, errlen, "missing target (backend N or all)%s", "");
  int next;
  if (strcmp(w[2], "all") == 0) {
    ev->backend = LBSIM_ALL_BACKENDS;
    next = 3;
  } else if (strcmp(w[2], "backend") == 0) {
    double v = 0;
    if (n < 4 || parse_number(w[3], &v) != (int)strlen(w[3]) || v != floor(v) || v < 1)
      return fail(err, errlen, "bad backend number '%s'", n >= 4 ? w[3] : "");
    if (v > nbackends) {
      snprintf(err, errlen, "backend %s does not exist (there are %u)", w[3], nbackends);
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
  while (*p) {
    lineno++;
    size_t len = strcspn(p, "\n");
    char line[512];
    if (len >= sizeof(line)) {
      snprintf(err, errlen, "%s:%u: line too long", name, lineno);
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
    char why[200];
    int bad = parse_line(ev, line, nbackends, why, sizeof(why));
    if (bad != 0) {
      snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
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
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    int code = -errno;
    snprintf(err, errlen, "cannot read scenario %s: %s", path, strerror(errno));
    return code;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *grown = realloc(text, cap);
      if (grown == NULL || cap > (16u << 20)) {
        free(grown ? grown : text);
        fclose(f);
        snprintf(err, errlen, "%s: too large", path);
        return grown ? LBSIM_EINVAL : LBSIM_ENOMEM;
      }
      text = grown;
    }
    memcpy(text + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (text == NULL) {
    memset(sc, 0, sizeof(*sc));
    return 0;
  }
  text[len] = '\0';
  if (memchr(text, '\0', len) != NULL) {
    free(text);
    snprintf(err, errlen, "%s: not a text file", path);
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
