/* Reading back a sweep's JSON Lines. See lbsim/cli/sweepfile.h. */
#include "lbsim/cli/sweepfile.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lbsim/base/error.h"
#include "lbsim/base/log.h"

lbsim_sweepline_t lbsim_sweepline_parse(const char *text, size_t len, json_t **obj) {
  *obj = NULL;
  if (len > 0 && text[len - 1] == '\n')
    len--;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  if (o == NULL || !json_is_object(o)) {
    json_decref(o);
    return LBSIM_LINE_NOT_JSON;
  }
  *obj = o;
  const char *type = json_string_value(json_object_get(o, "type"));
  if (type && strcmp(type, "start") == 0)
    return LBSIM_LINE_START;
  if (type && strcmp(type, "run") == 0)
    return LBSIM_LINE_RUN;
  return LBSIM_LINE_FOREIGN;
}

/* A whole number at key, at most max. */
static bool count_at(json_t *obj, const char *key, uint64_t max, uint64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
    return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

int lbsim_sweepstart_read(json_t *obj, lbsim_sweepstart_t *start, char *err, size_t errlen) {
  memset(start, 0, sizeof(*start));
  start->version = json_string_value(json_object_get(obj, "version"));
  const char *shard = json_string_value(json_object_get(obj, "shard"));
  start->sweep = json_object_get(obj, "sweep");
  unsigned k, n;
  char end;
  if (start->version == NULL || shard == NULL || sscanf(shard, "%u/%u%c", &k, &n, &end) != 2 || n == 0 || k >= n ||
      !count_at(obj, "runs", LBSIM_SWEEP_MAX_RUNS, &start->runs) || !json_is_array(start->sweep))
    return lbsim_refuse(err, errlen, "a start line that is not a shard's (the output of --shard or --resume)");
  for (size_t i = 0; i < json_array_size(start->sweep); i++)
    if (!json_is_string(json_array_get(start->sweep, i)))
      return lbsim_refuse(err, errlen, "a start line whose sweep is not a list of options");
  start->shard = k;
  start->shards = n;
  return 0;
}

static const char *arg_at(const lbsim_sweepstart_t *s, size_t i) {
  return json_string_value(json_array_get(s->sweep, i));
}

/* Whether the description has an option of the name of `arg` ("--alpha" of "--alpha=0.3"). */
static bool has_option(const lbsim_sweepstart_t *s, const char *arg) {
  size_t len = strcspn(arg, "=");
  for (size_t i = 0; i < json_array_size(s->sweep); i++)
    if (strncmp(arg_at(s, i), arg, len) == 0 && arg_at(s, i)[len] == '=')
      return true;
  return false;
}

/* An option as messages show it: its first line (a scenario has several). */
static int shown(const char *arg) {
  int len = (int)strcspn(arg, "\n");
  return len > 200 ? 200 : len;
}

bool lbsim_sweepstart_same(const lbsim_sweepstart_t *a, const char *a_name, const lbsim_sweepstart_t *b,
                           const char *b_name, char *why, size_t whylen) {
  if (strcmp(a->version, b->version) != 0) {
    snprintf(why, whylen, "lbsim %s made %s, lbsim %s made %s", a->version, a_name, b->version, b_name);
    return false;
  }
  size_t na = json_array_size(a->sweep), nb = json_array_size(b->sweep);
  for (size_t i = 0; i < na || i < nb; i++) {
    const char *x = i < na ? arg_at(a, i) : NULL, *y = i < nb ? arg_at(b, i) : NULL;
    if (x && y && strcmp(x, y) == 0)
      continue;
    size_t xl = x ? strcspn(x, "=") : 0, yl = y ? strcspn(y, "=") : 0;
    if (x && y && xl == yl && strncmp(x, y, xl) == 0)
      snprintf(why, whylen, "%.*s in %s, %.*s in %s", shown(x), x, a_name, shown(y), y, b_name);
    else if (x && (y == NULL || !has_option(b, x)))
      snprintf(why, whylen, "%.*s in %s, no %.*s in %s", shown(x), x, a_name, (int)xl, x, b_name);
    else
      snprintf(why, whylen, "%.*s in %s, no %.*s in %s", shown(y), y, b_name, (int)yl, y, a_name);
    return false;
  }
  return true;
}

int lbsim_sweepstart_config(const lbsim_sweepstart_t *start, lbsim_config_t *cfg, char *err, size_t errlen) {
  lbsim_config_defaults(cfg);
  cfg->clock = LBSIM_CLOCK_VIRTUAL;
  char why[256];
  for (size_t i = 0; i < json_array_size(start->sweep); i++)
    if (lbsim_config_set(cfg, arg_at(start, i), why, sizeof(why)) != 0)
      return lbsim_refuse(err, errlen, "the sweep's description does not read back: %s", why);
  if (cfg->sweep.naxes == 0 || !cfg->seed_given)
    return lbsim_refuse(err, errlen, "the sweep's description has no --sweep or no --seed");
  return 0;
}

int lbsim_sweeprun_read(const lbsim_vsweep_t *sw, json_t *obj, uint64_t *index, lbsim_figures_t *figures, char *err,
                        size_t errlen) {
  uint64_t r, combination;
  if (!count_at(obj, "index", UINT64_MAX, &r) || !count_at(obj, "combination", UINT32_MAX, &combination))
    return lbsim_refuse(err, errlen, "a run line without its index or combination");
  if (r >= sw->planned)
    return lbsim_refuse(err, errlen, "run %llu: the sweep has %llu runs", (unsigned long long)r,
                        (unsigned long long)sw->planned);
  uint32_t s;
  const lbsim_vsweep_row_t *row = &sw->rows[lbsim_vsweep_row_of(sw, r, &s)];
  const char *policy = json_string_value(json_object_get(obj, "policy"));
  const char *seed = json_string_value(json_object_get(obj, "seed"));
  char expected[32];
  snprintf(expected, sizeof(expected), "%llu", (unsigned long long)(sw->seed + s));
  if (combination != row->combination + 1 || policy == NULL || strcmp(policy, sw->policies[row->policy]) != 0 ||
      seed == NULL || strcmp(seed, expected) != 0)
    return lbsim_refuse(err, errlen, "run %llu is not the sweep's (combination %u, policy %s, seed %s)",
                        (unsigned long long)r, row->combination + 1, sw->policies[row->policy], expected);
  for (int f = 0; f < LBSIM_FIGURES; f++) {
    json_t *v = json_object_get(obj, lbsim_figure_name((lbsim_figure_t)f));
    if (json_is_null(v))
      figures->v[f] = NAN;
    else if (json_is_number(v))
      figures->v[f] = json_number_value(v);
    else
      return lbsim_refuse(err, errlen, "run %llu has no figure %s", (unsigned long long)r,
                          lbsim_figure_name((lbsim_figure_t)f));
  }
  *index = r;
  return 0;
}
