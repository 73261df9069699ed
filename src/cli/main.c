/* lbsim: command line in, exit code out. Everything else is in lbsim_cli (run.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <llhttp.h>
#include <uv.h>

#include "lbsim/base/file.h"
#include "lbsim/base/log.h"
#include "lbsim/cli/config.h"
#include "lbsim/cli/merge.h"
#include "lbsim/cli/run.h"
#include "lbsim_version.h"

int main(int argc, char **argv) {
  lbsim_config_t cfg;
  char err[1024];
  int code;

  if (argc > 1 && strcmp(argv[1], "merge") == 0)
    return lbsim_merge_main(argc - 1, argv + 1);

  switch (lbsim_config_parse(&cfg, argc, argv, err, sizeof(err))) {
  case LBSIM_PARSE_HELP:
    lbsim_config_usage(stdout);
    code = LBSIM_EXIT_OK;
    break;
  case LBSIM_PARSE_VERSION:
    printf("lbsim %s (libuv %s, llhttp %d.%d.%d)\n", LBSIM_VERSION, uv_version_string(), LLHTTP_VERSION_MAJOR,
           LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    code = LBSIM_EXIT_OK;
    break;
  case LBSIM_PARSE_POLICIES:
    lbsim_config_list_policies(stdout);
    code = LBSIM_EXIT_OK;
    break;
  case LBSIM_PARSE_SWEEPABLE:
    lbsim_config_list_sweepables(stdout);
    code = LBSIM_EXIT_OK;
    break;
  case LBSIM_PARSE_ERROR:
    lbsim_log_error("%s", err); /* one line of visible text, whatever it quotes */
    code = LBSIM_EXIT_USAGE;
    break;
  case LBSIM_PARSE_RUN:
  default:
    code = lbsim_run(&cfg);
    break;
  }
  lbsim_config_free(&cfg);
  if (code == LBSIM_EXIT_INTERRUPTED) {
    /* A second Ctrl-C: the user asked to leave now, not to tidy up, but
     * not to find half a report either. */
    lbsim_file_remove_temps();
    fflush(stdout);
    _exit(code);
  }
  return code;
}
