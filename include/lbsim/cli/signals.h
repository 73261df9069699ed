/* What the virtual clock's commands (run.h) need from the process and the
 * machine, kept out of the pure drivers: SIGINT and SIGTERM, and the wall
 * clock. (The real clock's loop handles its signals itself, sim.h.) */
#ifndef LBSIM_SIGNALS_H
#define LBSIM_SIGNALS_H

/* SIGINT and SIGTERM set the returned flag until released; a second SIGINT
 * ends the process at once. */
volatile int *lbsim_signals_catch(void);
void lbsim_signals_release(void);

/* Standard output's reader has gone (lbsim | head): ends the process at
 * once and quietly, killed by SIGPIPE, on either clock. For
 * lbsim_report_on_output_closed. */
void lbsim_signals_pipe_closed(void);

/* Seconds on the monotonic clock, for the "simulated ... in ... s" lines. */
double lbsim_wall_s(void);

#endif
