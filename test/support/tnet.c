#include "tnet.h"

#include "harness.h"

static void on_deadline(uv_timer_t *timer) {
  *(bool *)timer->data = true;
}

bool tnet_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms) {
  bool expired = false;
  uv_timer_t deadline;
  uv_timer_init(loop, &deadline);
  deadline.data = &expired;
  uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
  while (!(done && done(arg)) && !expired)
    uv_run(loop, UV_RUN_ONCE);
  /* The timer lives on this stack: one more pass runs its close. */
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return done ? done(arg) : true;
}

void tnet_sleep(uv_loop_t *loop, unsigned ms) {
  tnet_run_until(loop, NULL, NULL, ms);
}

int tnet_close_loop(uv_loop_t *loop) {
  for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++)
    uv_sleep(1);
  int err = uv_loop_close(loop);
  if (err != 0) {
    lbsim_test_fail(__FILE__, __LINE__, "uv_loop_close: %s", uv_strerror(err));
    return -1;
  }
  return 0;
}
