#include "cmdline.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64

typedef struct cmdline_s {
  int argc;
  char *argv[MAX_WORDS + 1];
  char *owned[MAX_WORDS];  /* argv as built, before getopt_long reorders it */
} cmdline_t;

static void add(cmdline_t *c, const char *word, size_t len) {
  if (c->argc == MAX_WORDS)
    abort(); /* a test's command line, never this long */
  char *copy = strndup(word, len);
  if (copy == NULL)
    abort();
  c->argv[c->argc] = c->owned[c->argc] = copy;
  c->argv[++c->argc] = NULL;
}

static lbsim_parse_result_t parse(cmdline_t *c, lbsim_config_t *cfg, char *err, size_t errlen) {
  if (errlen > 0)
    err[0] = '\0';
  lbsim_parse_result_t r = lbsim_config_parse(cfg, c->argc, c->argv, err, errlen);
  for (int i = 0; i < c->argc; i++)
    free(c->owned[i]);
  return r;
}

lbsim_parse_result_t cmdline_parse(lbsim_config_t *cfg, char *err, size_t errlen, const char *first, ...) {
  cmdline_t c = {0};
  add(&c, "lbsim", 5);
  va_list ap;
  va_start(ap, first);
  for (const char *w = first; w != NULL; w = va_arg(ap, const char *))
    add(&c, w, strlen(w));
  va_end(ap);
  return parse(&c, cfg, err, errlen);
}

lbsim_parse_result_t cmdline_parse_line(lbsim_config_t *cfg, char *err, size_t errlen, const char *line) {
  cmdline_t c = {0};
  add(&c, "lbsim", 5);
  for (const char *p = line; *p != '\0';) {
    size_t n = strcspn(p, " ");
    if (n > 0)
      add(&c, p, n);
    p += n + (p[n] == ' ');
  }
  return parse(&c, cfg, err, errlen);
}

lbsim_parse_result_t cmdline_parse_argv(lbsim_config_t *cfg, char *err, size_t errlen, const char *const *argv) {
  cmdline_t c = {0};
  for (int i = 0; argv[i] != NULL; i++)
    add(&c, argv[i], strlen(argv[i]));
  return parse(&c, cfg, err, errlen);
}
