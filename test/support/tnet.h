/* Running a real loop in a test: until a condition holds or a bounded wait
 * is over, for a while, or to its end with the uv_loop_close() check. */
#ifndef LBSIM_TEST_TNET_H
#define LBSIM_TEST_TNET_H

#include <stdbool.h>

#include <uv.h>

/* Runs `loop` until done(arg) is true or timeout_ms have passed; returns
 * done(arg). done may be NULL: then it simply runs for timeout_ms. It
 * allocates nothing (the failed-allocation tests use it too). */
bool tnet_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms);
void tnet_sleep(uv_loop_t *loop, unsigned ms);
/* Lets the callbacks of what the test closed run, then closes the loop:
 * 0, or -1 (a test failure) when a handle is still open. */
int tnet_close_loop(uv_loop_t *loop);

#endif
