/* What a backend is doing. See lbsim/model/load.h. */
#include "lbsim/model/load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/heap.h"
#include "lbsim/base/log.h"

#define DUE_LESS(ctx, a, b) ((a).due_ns < (b).due_ns)
LBSIM_HEAP_DEFINE(static inline, due_heap, lbsim_load_departure_t, 2, DUE_LESS, LBSIM_HEAP_NOT_INDEXED)

void lbsim_load_init(lbsim_load_t *l, uint32_t capacity, uint64_t origin_ns) {
  memset(l, 0, sizeof(*l));
  l->capacity = capacity;
  l->at_ns = l->window_ns = origin_ns;
  l->board_at_ns = origin_ns;
  l->board_next_ns = LBSIM_NEVER;
}

void lbsim_load_free(lbsim_load_t *l) {
  free(l->arrivals);
  free(l->departures);
  free(l->tags);
  l->arrivals = NULL;
  l->departures = NULL;
  l->tags = NULL;
  l->tags_cap = 0;
  l->narrivals = l->ndepartures = l->arrivals_cap = l->departures_cap = 0;
}

void lbsim_load_board(lbsim_load_t *l, uint64_t period_ns) {
  l->board_period_ns = period_ns;
  /* The first refresh is at the origin: the board starts out showing idle
   * backends. */
  l->board_at_ns = l->window_ns;
  l->board_next_ns = period_ns > 0 ? l->window_ns + period_ns : LBSIM_NEVER;
  lbsim_load_report(l, &l->board);
}

static void out_of_memory(lbsim_load_t *l) {
  if (!l->nomem)
    lbsim_log_error("out of memory for a backend's requests in flight: its reported load is off from now on");
  l->nomem = true;
}

static uint64_t busy_servers(const lbsim_load_t *l) {
  return l->capacity > 0 && l->in_flight > l->capacity ? l->capacity : l->in_flight;
}

/* The state stays as it is from at_ns to t: the busy servers are counted
 * into the seconds it covers. */
static void integrate(lbsim_load_t *l, uint64_t t) {
  if (t <= l->at_ns)
    return;
  double busy = (double)busy_servers(l);
  uint64_t end = l->window_ns + LBSIM_LOAD_WINDOW_NS;
  if (t >= end) {
    l->busy_before = l->busy_now + busy * (double)(end - l->at_ns);
    l->done_before = l->done_now;
    l->busy_now = 0;
    l->done_now = 0;
    uint64_t skipped = (t - end) / LBSIM_LOAD_WINDOW_NS; /* whole seconds in which nothing changed */
    l->window_ns = end + skipped * LBSIM_LOAD_WINDOW_NS;
    if (skipped > 0) {
      l->busy_before = busy * (double)LBSIM_LOAD_WINDOW_NS;
      l->done_before = 0;
    }
    l->at_ns = l->window_ns;
  }
  l->busy_now += busy * (double)(t - l->at_ns);
  l->at_ns = t;
}

/* v >= 0 to the nearest 1e-4 (ties away from zero, as round() does),
 * without a call to libm on every report. */
static double to_1e4(double v) {
  double scaled = v * 1e4 + 0.5;
  return scaled < 9e15 ? (double)(uint64_t)scaled / 1e4 : round(v * 1e4) / 1e4;
}

void lbsim_load_report(const lbsim_load_t *l, lbsim_load_report_t *out) {
  double left = 1.0 - (double)(l->at_ns - l->window_ns) / (double)LBSIM_LOAD_WINDOW_NS;
  double busy = (l->busy_before * left + l->busy_now) / (double)LBSIM_LOAD_WINDOW_NS;
  out->rif = l->in_flight > UINT32_MAX ? UINT32_MAX : (uint32_t)l->in_flight;
  uint64_t waiting = l->in_flight - busy_servers(l);
  out->queue = waiting > UINT32_MAX ? UINT32_MAX : (uint32_t)waiting;
  out->rps = to_1e4((double)l->done_before * left + (double)l->done_now);
  out->cpu = l->capacity > 0 ? to_1e4(busy / l->capacity) : 0;
  out->has = LBSIM_LOAD_RIF | LBSIM_LOAD_QUEUE | LBSIM_LOAD_RPS | (l->capacity > 0 ? LBSIM_LOAD_CPU : 0);
}

static void arrive(lbsim_load_t *l, uint64_t at_ns, uint32_t count) {
  if (l->narrivals > 0) {
    lbsim_load_arrival_t *last = &l->arrivals[(l->first + l->narrivals - 1) & (l->arrivals_cap - 1)];
    if (last->at_ns == at_ns) {
      last->count += count;
      return;
    }
  }
  if (l->narrivals == l->arrivals_cap) {
    uint32_t cap = l->arrivals_cap ? 2 * l->arrivals_cap : 8;
    lbsim_load_arrival_t *ring = malloc(cap * sizeof(*ring));
    if (ring == NULL) {
      out_of_memory(l);
      return;
    }
    for (uint32_t k = 0; k < l->narrivals; k++)
      ring[k] = l->arrivals[(l->first + k) & (l->arrivals_cap - 1)];
    free(l->arrivals);
    l->arrivals = ring;
    l->arrivals_cap = cap;
    l->first = 0;
  }
  l->arrivals[(l->first + l->narrivals++) & (l->arrivals_cap - 1)] = (lbsim_load_arrival_t){at_ns, count};
}

static void depart(lbsim_load_t *l, uint64_t due_ns, uint32_t count, bool at_once, uint32_t tag) {
  if (l->ndepartures == l->departures_cap) {
    uint32_t cap = l->departures_cap ? 2 * l->departures_cap : 8;
    lbsim_load_departure_t *heap = realloc(l->departures, cap * sizeof(*heap));
    if (heap == NULL) {
      out_of_memory(l);
      return;
    }
    l->departures = heap;
    l->departures_cap = cap;
  }
  due_heap_push(NULL, l->departures, &l->ndepartures, (lbsim_load_departure_t){due_ns, count, at_once, tag});
}

void lbsim_load_admit(lbsim_load_t *l, uint64_t at_ns, uint64_t due_ns, uint32_t count, uint32_t tag) {
  if (at_ns < l->at_ns)
    at_ns = l->at_ns;
  if (due_ns < at_ns)
    due_ns = at_ns;
  bool at_once = due_ns == at_ns;
  if (!at_once)
    arrive(l, at_ns, count);
  if (due_ns != LBSIM_NEVER)
    depart(l, due_ns, count, at_once, tag);
}

/* Every answer of the first instant among them, then the tags told, all
 * with the state after the last of them. */
static void depart_first(lbsim_load_t *l, lbsim_load_answered_cb answered, void *data) {
  uint64_t due = l->departures[0].due_ns;
  integrate(l, due);
  uint32_t ntags = 0;
  uint64_t total = 0, left = 0;
  while (l->ndepartures > 0 && l->departures[0].due_ns == due) {
    lbsim_load_departure_t d = due_heap_pop(NULL, l->departures, &l->ndepartures);
    total += d.count;
    left += d.at_once ? 0 : d.count;
    if (d.tag == LBSIM_LOAD_UNTAGGED || answered == NULL)
      continue;
    if (ntags == l->tags_cap) {
      uint32_t cap = l->tags_cap ? 2 * l->tags_cap : 8;
      uint32_t *tags = realloc(l->tags, cap * sizeof(*tags));
      if (tags == NULL) {
        out_of_memory(l); /* that answer's client hears nothing */
        continue;
      }
      l->tags = tags;
      l->tags_cap = cap;
    }
    l->tags[ntags++] = d.tag;
  }
  l->in_flight = l->in_flight > left ? l->in_flight - left : 0;
  l->done_now += total;
  if (ntags == 0)
    return;
  lbsim_load_report_t report;
  lbsim_load_report(l, &report);
  for (uint32_t k = 0; k < ntags; k++)
    answered(data, l->tags[k], &report);
}

void lbsim_load_advance(lbsim_load_t *l, uint64_t t, lbsim_load_answered_cb answered, void *data) {
  for (;;) {
    uint64_t d = l->ndepartures ? l->departures[0].due_ns : LBSIM_NEVER;
    uint64_t a = l->narrivals ? l->arrivals[l->first].at_ns : LBSIM_NEVER;
    uint64_t b = l->board_next_ns;
    /* At one instant: answers, the board, arrivals. */
    if (d <= t && d <= b && d <= a) {
      depart_first(l, answered, data);
    } else if (b <= t && b < d && b <= a) {
      /* Nothing changes between refreshes before the next event: only the
       * last of them is seen. */
      uint64_t last = t;
      if (d != LBSIM_NEVER && d - 1 < last)
        last = d - 1;
      if (a < last)
        last = a;
      last = b + (last - b) / l->board_period_ns * l->board_period_ns;
      integrate(l, last);
      lbsim_load_report(l, &l->board);
      l->board_at_ns = last;
      l->board_next_ns = last + l->board_period_ns;
    } else if (a <= t && a < d && a < b) {
      integrate(l, a);
      l->in_flight += l->arrivals[l->first].count;
      l->first = (l->first + 1) & (l->arrivals_cap - 1);
      l->narrivals--;
    } else {
      break;
    }
  }
  integrate(l, t);
}

void lbsim_load_leave(lbsim_load_t *l, uint64_t now_ns, uint32_t count) {
  lbsim_load_advance(l, now_ns, NULL, NULL);
  l->in_flight = l->in_flight > count ? l->in_flight - count : 0;
}

void lbsim_load_clear(lbsim_load_t *l, uint64_t now_ns) {
  lbsim_load_advance(l, now_ns, NULL, NULL);
  l->in_flight = 0;
  l->narrivals = 0;
  l->first = 0;
  l->ndepartures = 0;
  l->outages++;
}

void lbsim_load_set_capacity(lbsim_load_t *l, uint64_t now_ns, uint32_t capacity) {
  lbsim_load_advance(l, now_ns, NULL, NULL);
  l->capacity = capacity;
}

void lbsim_load_board_read(lbsim_load_t *l, uint64_t now_ns, lbsim_load_report_t *out, uint64_t *at_ns) {
  if (l->board_next_ns <= now_ns)
    lbsim_load_advance(l, now_ns, NULL, NULL);
  *out = l->board;
  *at_ns = l->board_at_ns;
}
