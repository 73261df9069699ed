/* A heap of deadlines woken by one timerfd. See lbsim/sched.h. */
#include "lbsim/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/timerfd.h>
#endif

#include "lbsim/heap.h"

/* A wake-up from epoll arrives tens to hundreds of microseconds after the
 * timer expires (more under virtualisation). The timerfd is therefore set
 * SPIN_NS early and the rest is waited out on the clock: at most SPIN_NS of
 * CPU per wake-up, and at most MAX_SPIN_NS per pass, so that a steady stream
 * of deadlines cannot hold the loop away from its sockets. */
#define SPIN_NS 200000u
#define MAX_SPIN_NS 400000u

/* ---- heap --------------------------------------------------------------- */

#define ENTRY_LESS(ctx, a, b) ((a)->due_ns < (b)->due_ns)
#define ENTRY_MOVED(ctx, e, i) ((e)->slot = (i) + 1)
LBSIM_HEAP_DEFINE(static inline, entry_heap, lbsim_sched_entry_t *, 4, ENTRY_LESS, ENTRY_MOVED)

static void heap_remove(lbsim_sched_t *s, lbsim_sched_entry_t *e) {
  uint32_t i = e->slot - 1;
  e->slot = 0;
  entry_heap_remove(NULL, s->heap, &s->len, i);
}

/* ---- wake-up ------------------------------------------------------------ */

static void on_timer(uv_timer_t *timer);

static void arm(lbsim_sched_t *s) {
  uint64_t due = s->len ? s->heap[0]->due_ns : UINT64_MAX;
  if (due == s->armed_ns)
    return;
#ifdef __linux__
  if (s->tfd >= 0) {
    /* Disarming costs a system call and saves nothing: a stale wake-up
     * finds an empty heap. Only an earlier deadline needs a new setting. */
    if (due == UINT64_MAX || (due > s->armed_ns && s->armed_ns != UINT64_MAX))
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
  if (due == UINT64_MAX) {
    uv_timer_stop(&s->timer);
    s->armed_ns = UINT64_MAX;
    return;
  }
  uint64_t due_ms = (due + 999999) / 1000000;
  uint64_t now_ms = uv_now(s->loop);
  uv_timer_start(&s->timer, on_timer, due_ms > now_ms ? due_ms - now_ms : 0, 0);
  s->armed_ns = due;
}

static void run_due(lbsim_sched_t *s) {
  s->armed_ns = UINT64_MAX;
  s->wakeups++;
  uint64_t start = uv_hrtime();
  uint64_t now = start;
  while (s->len > 0) {
    lbsim_sched_entry_t *e = s->heap[0];
    if (e->due_ns > now) {
      if (s->tfd < 0 || e->due_ns - now > SPIN_NS || e->due_ns - start > MAX_SPIN_NS)
        break;
      while ((now = uv_hrtime()) < e->due_ns) {
      }
    }
    heap_remove(s, e);
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

int lbsim_sched_init(lbsim_sched_t *s, uv_loop_t *loop) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->armed_ns = UINT64_MAX;
  s->tfd = -1;
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
  if (due_ns == UINT64_MAX) {
    lbsim_sched_cancel(s, e);
    return 0;
  }
  e->cb = cb;
  if (e->slot) {
    uint64_t old = e->due_ns;
    if (old == due_ns)
      return 0;
    e->due_ns = due_ns;
    if (due_ns < old)
      entry_heap_up(NULL, s->heap, e->slot - 1);
    else
      entry_heap_down(NULL, s->heap, s->len, e->slot - 1);
  } else {
    if (s->len == s->cap) {
      uint32_t cap = s->cap ? s->cap * 2 : 64;
      lbsim_sched_entry_t **heap = realloc(s->heap, cap * sizeof(*heap));
      if (heap == NULL)
        return UV_ENOMEM;
      s->heap = heap;
      s->cap = cap;
    }
    e->due_ns = due_ns;
    entry_heap_push(NULL, s->heap, &s->len, e);
  }
  if (s->heap[0] == e)
    arm(s);
  return 0;
}

int lbsim_sched_no_later(lbsim_sched_t *s, lbsim_sched_entry_t *e, uint64_t due_ns, lbsim_sched_cb cb) {
  if (e->slot && e->due_ns <= due_ns)
    return 0;
  return lbsim_sched_set(s, e, due_ns, cb);
}

void lbsim_sched_cancel(lbsim_sched_t *s, lbsim_sched_entry_t *e) {
  if (e->slot)
    heap_remove(s, e);
}

void lbsim_sched_close(lbsim_sched_t *s, uv_close_cb closed) {
  for (uint32_t i = 0; i < s->len; i++)
    s->heap[i]->slot = 0;
  s->len = 0;
  free(s->heap);
  s->heap = NULL;
  s->cap = 0;
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
