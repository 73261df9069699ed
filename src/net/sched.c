/* A heap of deadlines woken by one timerfd. See lbsim/net/sched.h. */
#include "lbsim/net/sched.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/timerfd.h>
#endif

#include "lbsim/base/common.h"

/* A wake-up from epoll arrives tens to hundreds of microseconds after the
 * timer expires (more under virtualisation). The timerfd is therefore set
 * SPIN_NS early and the rest is waited out on the clock: at most SPIN_NS of
 * CPU per wake-up, and at most MAX_SPIN_NS per pass, so that a steady stream
 * of deadlines cannot hold the loop away from its sockets. */
#define SPIN_NS 200000u
#define MAX_SPIN_NS 400000u

/* ---- wake-up ------------------------------------------------------------ */

static void on_timer(uv_timer_t *timer);

static void arm(lbsim_sched_t *s) {
  lbsim_timer_t *next = lbsim_timers_peek(&s->timers);
  uint64_t due = next ? next->due_ns : LBSIM_NEVER;
  if (due == s->armed_ns)
    return;
#ifdef __linux__
  if (s->tfd >= 0) {
    /* Disarming costs a system call and saves nothing: a stale wake-up
     * finds an empty heap. Only an earlier deadline needs a new setting. */
    if (due == LBSIM_NEVER || (due > s->armed_ns && s->armed_ns != LBSIM_NEVER))
      return;
    struct itimerspec its = {0};
    uint64_t at = due > SPIN_NS ? due - SPIN_NS : 1; /* zero would disarm */
    its.it_value.tv_sec = (time_t)(at / 1000000000u);
    its.it_value.tv_nsec = (long)(at % 1000000000u);
    timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    s->armed_ns = due;
    return;
  }
#endif
  if (due == LBSIM_NEVER) {
    uv_timer_stop(&s->timer);
    s->armed_ns = LBSIM_NEVER;
    return;
  }
  uint64_t due_ms = (due + 999999) / 1000000;
  uint64_t now_ms = uv_now(s->loop);
  uv_timer_start(&s->timer, on_timer, due_ms > now_ms ? due_ms - now_ms : 0, 0);
  s->armed_ns = due;
}

static void run_due(lbsim_sched_t *s) {
  s->armed_ns = LBSIM_NEVER;
  s->wakeups++;
  uint64_t start = uv_hrtime();
  uint64_t now = start;
  lbsim_timer_t *e;
  while ((e = lbsim_timers_peek(&s->timers)) != NULL) {
    if (e->due_ns > now) {
      if (s->tfd < 0 || e->due_ns - now > SPIN_NS || e->due_ns - start > MAX_SPIN_NS)
        break;
      while ((now = uv_hrtime()) < e->due_ns) {
      }
    }
    lbsim_timers_pop(&s->timers);
    e->cb(e, now); /* may schedule entries, this one included */
    now = uv_hrtime();
  }
  arm(s);
}

static void on_timer(uv_timer_t *timer) {
  run_due(timer->data);
}

#ifdef __linux__
static void on_poll(uv_poll_t *poll, int status, int events) {
  lbsim_sched_t *s = poll->data;
  uint64_t expirations;
  (void)status;
  (void)events;
  while (read(s->tfd, &expirations, sizeof(expirations)) < 0 && errno == EINTR) {
  }
  run_due(s);
}
#endif

/* ---- public ------------------------------------------------------------- */

static int clock_set(lbsim_clock_t *clock, lbsim_timer_t *timer, uint64_t due_ns, lbsim_timer_cb cb) {
  return lbsim_sched_set(LBSIM_CONTAINER_OF(clock, lbsim_sched_t, clock), timer, due_ns, cb);
}

static void clock_cancel(lbsim_clock_t *clock, lbsim_timer_t *timer) {
  lbsim_sched_cancel(LBSIM_CONTAINER_OF(clock, lbsim_sched_t, clock), timer);
}

int lbsim_sched_init(lbsim_sched_t *s, uv_loop_t *loop) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->armed_ns = LBSIM_NEVER;
  s->tfd = -1;
  lbsim_timers_init(&s->timers);
  s->clock.set = clock_set;
  s->clock.cancel = clock_cancel;
#ifdef __linux__
  s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (s->tfd >= 0) {
    int err = uv_poll_init(loop, &s->poll, s->tfd);
    if (err == 0)
      err = uv_poll_start(&s->poll, UV_READABLE, on_poll);
    if (err != 0) {
      close(s->tfd);
      return err;
    }
    s->poll.data = s;
    return 0;
  }
#endif
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  return 0;
}

int lbsim_sched_set(lbsim_sched_t *s, lbsim_sched_entry_t *e, uint64_t due_ns, lbsim_sched_cb cb) {
  int err = lbsim_timers_set(&s->timers, e, due_ns, cb);
  if (err == 0 && lbsim_timers_peek(&s->timers) == e)
    arm(s);
  return err;
}

int lbsim_sched_no_later(lbsim_sched_t *s, lbsim_sched_entry_t *e, uint64_t due_ns, lbsim_sched_cb cb) {
  if (e->slot && e->due_ns <= due_ns)
    return 0;
  return lbsim_sched_set(s, e, due_ns, cb);
}

void lbsim_sched_cancel(lbsim_sched_t *s, lbsim_sched_entry_t *e) {
  lbsim_timers_cancel(&s->timers, e);
}

void lbsim_sched_close(lbsim_sched_t *s, uv_close_cb closed) {
  lbsim_timers_free(&s->timers);
#ifdef __linux__
  if (s->tfd >= 0) {
    uv_close((uv_handle_t *)&s->poll, closed);
    close(s->tfd); /* libuv has stopped watching it: uv_close stops the poll at once */
    s->tfd = -1;
    return;
  }
#endif
  uv_close((uv_handle_t *)&s->timer, closed);
}
