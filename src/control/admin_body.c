/* The admin endpoint's request bodies: JSON, parsed with Jansson, checked
 * field by field. See lbsim/control/admin.h. */
#include "lbsim/control/admin.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "lbsim/base/error.h"
#include "lbsim/base/common.h"
#include "lbsim/base/log.h"

#define MAX_LATENCY_MS 3600000.0  /* an hour, as in scenario files */
#define MAX_CAPACITY 1000000.0
#define MAX_SLOW_START_S 3600.0
#define DEFAULT_SLOW_START_FACTOR 5.0

static void event_init(lbsim_event_t *ev, lbsim_action_t action) {
  memset(ev, 0, sizeof(*ev));
  ev->origin = LBSIM_ORIGIN_ADMIN;
  ev->action = action;
  ev->slow_start_factor = 1;
}

/* A number field within [lo, hi] (whole when `whole`). */
static int number(const json_t *v, const char *field, double lo, double hi, bool whole, double *out, char *err,
                  size_t errlen) {
  if (!json_is_number(v))
    return lbsim_refuse(err, errlen, "field '%s' must be a number", field);
  double x = json_number_value(v);
  if (!isfinite(x) || x < lo || x > hi || (whole && x != floor(x)))
    return lbsim_refuse(err, errlen, "field '%s' must be %s in %g..%g", field, whole ? "a whole number" : "a number", lo,
                hi);
  *out = x;
  return 0;
}

static int boolean(const json_t *v, const char *field, bool *out, char *err, size_t errlen) {
  if (!json_is_boolean(v))
    return lbsim_refuse(err, errlen, "field '%s' must be true or false", field);
  *out = json_is_true(v);
  return 0;
}

static int jitter(const json_t *v, const char *field, lbsim_event_t *ev, char *err, size_t errlen) {
  if (!json_is_string(v))
    return lbsim_refuse(err, errlen, "field '%s' must be a string such as \"exp:20\" or \"none\"", field);
  char why[160];
  if (lbsim_jitter_parse(json_string_value(v), &ev->jitter, why, sizeof(why)) != 0)
    return lbsim_refuse(err, errlen, "field '%s': %s", field, why);
  return 0;
}

/* {"latency_ms": 2000, "down": true, ...}: one event per field, in order. */
static int parse_settings(json_t *root, lbsim_event_t *events, int max, char *err, size_t errlen) {
  const char *key;
  json_t *v;
  int n = 0;
  json_object_foreach(root, key, v) {
    if (n == max)
      return lbsim_refuse(err, errlen, "too many fields (at most %d)", max);
    lbsim_event_t *ev = &events[n++];
    bool yes = false;
    if (strcmp(key, "latency_ms") == 0) {
      event_init(ev, LBSIM_ACTION_LATENCY);
      if (number(v, key, 0, MAX_LATENCY_MS, false, &ev->value, err, errlen) != 0)
        return LBSIM_EINVAL;
    } else if (strcmp(key, "error_rate") == 0) {
      event_init(ev, LBSIM_ACTION_ERROR_RATE);
      if (number(v, key, 0, 1, false, &ev->value, err, errlen) != 0)
        return LBSIM_EINVAL;
    } else if (strcmp(key, "capacity") == 0) {
      event_init(ev, LBSIM_ACTION_CAPACITY);
      if (number(v, key, 0, MAX_CAPACITY, true, &ev->value, err, errlen) != 0)
        return LBSIM_EINVAL;
    } else if (strcmp(key, "jitter") == 0) {
      event_init(ev, LBSIM_ACTION_JITTER);
      if (jitter(v, key, ev, err, errlen) != 0)
        return LBSIM_EINVAL;
    } else if (strcmp(key, "down") == 0) {
      if (boolean(v, key, &yes, err, errlen) != 0)
        return LBSIM_EINVAL;
      event_init(ev, yes ? LBSIM_ACTION_DOWN : LBSIM_ACTION_UP);
    } else if (strcmp(key, "stalled") == 0) {
      if (boolean(v, key, &yes, err, errlen) != 0)
        return LBSIM_EINVAL;
      event_init(ev, yes ? LBSIM_ACTION_STALL : LBSIM_ACTION_RESUME);
    } else {
      return lbsim_refuse(err, errlen,
                  "unknown field '%s' (latency_ms, error_rate, down, stalled, capacity, jitter; or an action)", key);
    }
  }
  if (n == 0)
    return lbsim_refuse(err, errlen, "nothing to change: the object is empty");
  return n;
}

/* The fields an action takes besides "action" itself. */
static const struct {
  const char *name;
  lbsim_action_t action;
  const char *fields[3];
} actions[] = {
    {"latency", LBSIM_ACTION_LATENCY, {"ms"}},
    {"error-rate", LBSIM_ACTION_ERROR_RATE, {"rate"}},
    {"down", LBSIM_ACTION_DOWN, {NULL}},
    {"up", LBSIM_ACTION_UP, {"slow_start_s", "factor"}},
    {"stall", LBSIM_ACTION_STALL, {NULL}},
    {"resume", LBSIM_ACTION_RESUME, {NULL}},
    {"capacity", LBSIM_ACTION_CAPACITY, {"n"}},
    {"jitter", LBSIM_ACTION_JITTER, {"dist"}},
};

/* {"action": "up", "slow_start_s": 5, "factor": 3}: one event. */
static int parse_action(json_t *root, lbsim_event_t *ev, char *err, size_t errlen) {
  json_t *name = json_object_get(root, "action");
  if (!json_is_string(name))
    return lbsim_refuse(err, errlen, "field 'action' must be a string (latency, error-rate, down, up, stall, resume, "
                             "capacity, jitter)");
  const char *a = json_string_value(name);
  size_t k = 0;
  while (k < LBSIM_ARRAY_SIZE(actions) && strcmp(actions[k].name, a) != 0)
    k++;
  if (k == LBSIM_ARRAY_SIZE(actions))
    return lbsim_refuse(err, errlen,
                "unknown action '%.40s' (latency, error-rate, down, up, stall, resume, capacity, jitter)", a);
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    bool known = strcmp(key, "action") == 0;
    for (size_t f = 0; f < 2 && actions[k].fields[f] && !known; f++)
      known = strcmp(key, actions[k].fields[f]) == 0;
    if (!known) {
      if (actions[k].fields[0] == NULL)
        return lbsim_refuse(err, errlen, "unknown field '%s': action '%s' takes no other field", key, a);
      return lbsim_refuse(err, errlen, "unknown field '%s' for action '%s' (%s%s%s)", key, a, actions[k].fields[0],
                  actions[k].fields[1] ? ", " : "", actions[k].fields[1] ? actions[k].fields[1] : "");
    }
  }
  event_init(ev, actions[k].action);
  const char *field = actions[k].fields[0];
  json_t *value = field ? json_object_get(root, field) : NULL;
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
  case LBSIM_ACTION_ERROR_RATE:
  case LBSIM_ACTION_CAPACITY:
  case LBSIM_ACTION_JITTER:
    if (value == NULL)
      return lbsim_refuse(err, errlen, "action '%s' needs field '%s'", a, field);
    break;
  case LBSIM_ACTION_UP:
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    break;
  }
  switch (ev->action) {
  case LBSIM_ACTION_LATENCY:
    return number(value, field, 0, MAX_LATENCY_MS, false, &ev->value, err, errlen);
  case LBSIM_ACTION_ERROR_RATE:
    return number(value, field, 0, 1, false, &ev->value, err, errlen);
  case LBSIM_ACTION_CAPACITY:
    return number(value, field, 0, MAX_CAPACITY, true, &ev->value, err, errlen);
  case LBSIM_ACTION_JITTER:
    return jitter(value, field, ev, err, errlen);
  case LBSIM_ACTION_UP: {
    json_t *slow = json_object_get(root, "slow_start_s");
    json_t *factor = json_object_get(root, "factor");
    if (slow == NULL && factor != NULL)
      return lbsim_refuse(err, errlen, "field 'factor' needs 'slow_start_s'");
    if (slow != NULL) {
      if (number(slow, "slow_start_s", 0, MAX_SLOW_START_S, false, &ev->slow_start_s, err, errlen) != 0)
        return LBSIM_EINVAL;
      ev->slow_start_factor = DEFAULT_SLOW_START_FACTOR;
      if (factor != NULL && number(factor, "factor", 1, 1000, false, &ev->slow_start_factor, err, errlen) != 0)
        return LBSIM_EINVAL;
      if (ev->slow_start_s == 0)
        ev->slow_start_factor = 1; /* no slow start */
    }
    return 0;
  }
  case LBSIM_ACTION_DOWN:
  case LBSIM_ACTION_STALL:
  case LBSIM_ACTION_RESUME:
    return 0;
  }
  return 0;
}

int lbsim_admin_parse_body(const char *body, size_t len, lbsim_event_t *events, int max, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (root == NULL) {
    if (len == 0)
      return lbsim_refuse(err, errlen, "the body is empty: send a JSON object such as {\"latency_ms\": 2000}");
    return lbsim_refuse(err, errlen, "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
  }
  int n;
  if (!json_is_object(root))
    n = lbsim_refuse(err, errlen, "the body must be a JSON object such as {\"latency_ms\": 2000} or {\"action\": \"down\"}");
  else if (json_object_get(root, "action") != NULL)
    n = parse_action(root, &events[0], err, errlen) == 0 ? 1 : LBSIM_EINVAL;
  else
    n = parse_settings(root, events, max, err, errlen);
  json_decref(root);
  return n;
}
