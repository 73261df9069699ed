/* Signals and the wall clock for the virtual clock's commands. See lbsim/cli/signals.h. */
#include "lbsim/cli/signals.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "lbsim/base/file.h"

static volatile int interrupted;

static void on_signal(int signum) {
  if (interrupted) {
    /* A second Ctrl-C: leave at once, leaving no temporary file behind. */
    lbsim_file_remove_temps();
    signal(signum, SIG_DFL);
    raise(signum);
  }
  interrupted = 1;
}

volatile int *lbsim_signals_catch(void) {
  interrupted = 0;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  return &interrupted;
}

void lbsim_signals_release(void) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

double lbsim_wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lbsim_signals_pipe_closed(void) {
  /* As yes(1) ends in `yes | head`: killed by SIGPIPE, quietly, whatever
   * disposition the process inherited (the real clock ignores it for its
   * sockets). */
  sigset_t set;
  signal(SIGPIPE, SIG_DFL);
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  lbsim_file_remove_temps();
  raise(SIGPIPE);
  _exit(128 + SIGPIPE);
}
