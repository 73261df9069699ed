/* Command lines for lbsim_config_parse, built in a test: "lbsim" and the
 * words given. The words are copied (getopt_long permutes argv) and freed
 * once parsed. Each returns what lbsim_config_parse returns; err is emptied
 * first and gets the reason of a refusal. */
#ifndef LBSIM_TEST_CMDLINE_H
#define LBSIM_TEST_CMDLINE_H

#include <stddef.h>

#include "lbsim/cli/config.h"

/* The words one by one, ending with NULL. */
lbsim_parse_result_t cmdline_parse(lbsim_config_t *cfg, char *err, size_t errlen, const char *first, ...);
/* The words of `line`, separated by spaces. */
lbsim_parse_result_t cmdline_parse_line(lbsim_config_t *cfg, char *err, size_t errlen, const char *line);
/* A whole argv, its program name included, ending with NULL. */
lbsim_parse_result_t cmdline_parse_argv(lbsim_config_t *cfg, char *err, size_t errlen, const char *const *argv);

#endif
