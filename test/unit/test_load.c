/* What a backend is doing (lbsim/model/load.h): requests in flight and
 * waiting as arrivals and answers come, in time order even when recorded
 * ahead; the order of one instant (answers, the board, arrivals; an answer
 * at its own arrival never in flight); the last
 * second's answers and busy servers; tags told with the state after every
 * answer of their instant; a stall's requests leaving, a crash, a new
 * capacity; the board's snapshots. */
#include <math.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "lbsim/model/load.h"

#define MS UINT64_C(1000000)
#define S UINT64_C(1000000000)

static lbsim_load_report_t at(lbsim_load_t *l, uint64_t t) {
  lbsim_load_report_t r;
  lbsim_load_advance(l, t, NULL, NULL);
  lbsim_load_report(l, &r);
  return r;
}

TEST(requests_in_flight_and_waiting_follow_arrivals_and_answers) {
  lbsim_load_t l;
  lbsim_load_init(&l, 1, 0);
  /* Three at once on one server: answered at 10, 20 and 30 ms. */
  for (int k = 1; k <= 3; k++) {
    lbsim_load_admit(&l, 0, (uint64_t)k * 10 * MS, 1, LBSIM_LOAD_UNTAGGED);
  }
  lbsim_load_report_t r = at(&l, 5 * MS);
  CHECK_EQ(r.rif, 3);
  CHECK_EQ(r.queue, 2);
  CHECK(r.has & LBSIM_LOAD_CPU);
  r = at(&l, 10 * MS); /* the answer of the instant is gone */
  CHECK_EQ(r.rif, 2);
  CHECK_EQ(r.queue, 1);
  r = at(&l, 25 * MS);
  CHECK_EQ(r.rif, 1);
  CHECK_EQ(r.queue, 0);
  r = at(&l, 30 * MS);
  CHECK_EQ(r.rif, 0);
  /* Asking for an instant already passed changes nothing. */
  r = at(&l, 1 * MS);
  CHECK_EQ(r.rif, 0);
  lbsim_load_free(&l);
}

TEST(without_a_capacity_nothing_waits_and_no_utilisation_is_reported) {
  lbsim_load_t l;
  lbsim_load_init(&l, 0, 0);
  lbsim_load_admit(&l, 0, 10 * MS, 5, LBSIM_LOAD_UNTAGGED);
  lbsim_load_report_t r = at(&l, 1 * MS);
  CHECK_EQ(r.rif, 5);
  CHECK_EQ(r.queue, 0);
  CHECK(!(r.has & LBSIM_LOAD_CPU));
  CHECK(r.has & LBSIM_LOAD_RIF && r.has & LBSIM_LOAD_QUEUE && r.has & LBSIM_LOAD_RPS);
  lbsim_load_free(&l);
}

TEST(events_recorded_ahead_are_taken_in_time_order) {
  lbsim_load_t l;
  lbsim_load_init(&l, 0, 0);
  /* The virtual network knows arrivals and answers when a request is sent. */
  lbsim_load_admit(&l, 2 * MS, 9 * MS, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&l, 3 * MS, 5 * MS, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&l, 3 * MS, 7 * MS, 2, LBSIM_LOAD_UNTAGGED); /* the same instant: one run */
  CHECK_EQ(at(&l, 1 * MS).rif, 0);
  CHECK_EQ(at(&l, 2 * MS).rif, 1);
  CHECK_EQ(at(&l, 4 * MS).rif, 4);
  CHECK_EQ(at(&l, 6 * MS).rif, 3);
  CHECK_EQ(at(&l, 8 * MS).rif, 1);
  CHECK_EQ(at(&l, 9 * MS).rif, 0);
  lbsim_load_free(&l);
}

typedef struct told_s {
  uint32_t tags[8];
  lbsim_load_report_t reports[8];
  int n;
} told_t;

static void on_answered(void *data, uint32_t tag, const lbsim_load_report_t *report) {
  told_t *t = data;
  t->tags[t->n] = tag;
  t->reports[t->n++] = *report;
}

TEST(a_tag_hears_the_state_after_every_answer_of_its_instant_before_its_arrivals) {
  lbsim_load_t l;
  lbsim_load_init(&l, 0, 0);
  lbsim_load_admit(&l, 0, 10 * MS, 1, 7);
  lbsim_load_admit(&l, 0, 10 * MS, 1, 8);
  lbsim_load_admit(&l, 0, 20 * MS, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&l, 10 * MS, 30 * MS, 1, 9); /* arrives at the instant of the answers: after them */
  told_t t = {0};
  lbsim_load_advance(&l, 25 * MS, on_answered, &t);
  CHECK_EQ(t.n, 2);
  CHECK(t.tags[0] + t.tags[1] == 15);
  /* Both written at 10 ms: the third still in flight, the newcomer not yet. */
  CHECK_EQ(t.reports[0].rif, 1);
  CHECK_EQ(t.reports[1].rif, 1);
  lbsim_load_advance(&l, 30 * MS, on_answered, &t);
  CHECK_EQ(t.n, 3);
  CHECK_EQ(t.tags[2], 9);
  CHECK_EQ(t.reports[2].rif, 0);
  lbsim_load_free(&l);
}

TEST(answers_per_second_and_utilisation_over_the_last_second) {
  lbsim_load_t l;
  lbsim_load_init(&l, 2, 0);
  /* In the first second: one server busy 0.5 s, ten answers. */
  lbsim_load_admit(&l, 0, S / 2, 1, LBSIM_LOAD_UNTAGGED);
  for (int k = 0; k < 9; k++) {
    lbsim_load_admit(&l, S / 2 + (uint64_t)k * MS, S / 2 + (uint64_t)k * MS, 1, LBSIM_LOAD_UNTAGGED);
  }
  lbsim_load_report_t r = at(&l, S);
  CHECK_EQ(r.rif, 0);
  CHECK(fabs(r.rps - 10) < 1e-9);
  CHECK(fabs(r.cpu - 0.25) < 1e-9); /* 0.5 server-seconds over 2 servers and a second */
  /* Half a second later, half of the first second is still in the window. */
  r = at(&l, S + S / 2);
  CHECK(fabs(r.rps - 5) < 1e-9);
  CHECK(fabs(r.cpu - 0.125) < 1e-9);
  /* Both servers busy from 1.5 s to 3.5 s. */
  lbsim_load_admit(&l, S + S / 2, 3 * S + S / 2, 2, LBSIM_LOAD_UNTAGGED);
  r = at(&l, 3 * S);
  CHECK_EQ(r.rif, 2);
  CHECK(fabs(r.cpu - 1) < 1e-9);
  CHECK(fabs(r.rps - 0) < 1e-9);
  /* Long after: idle whole seconds in between. */
  r = at(&l, 100 * S + S / 4);
  CHECK(fabs(r.cpu) < 1e-9 && fabs(r.rps) < 1e-9);
  lbsim_load_free(&l);
}

TEST(values_are_to_four_decimals) {
  lbsim_load_t l;
  lbsim_load_init(&l, 3, 0);
  lbsim_load_admit(&l, 0, S / 3, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_report_t r = at(&l, S);
  CHECK(r.cpu == 0.1111);
  lbsim_load_free(&l);
}

TEST(a_stall_a_crash_and_a_new_capacity) {
  lbsim_load_t l;
  lbsim_load_init(&l, 1, 0);
  /* Never answered: they leave when their connections go. */
  lbsim_load_admit(&l, 0, LBSIM_NEVER, 3, LBSIM_LOAD_UNTAGGED);
  CHECK_EQ(at(&l, 1 * MS).rif, 3);
  lbsim_load_leave(&l, 2 * MS, 2);
  CHECK_EQ(at(&l, 2 * MS).rif, 1);
  lbsim_load_leave(&l, 3 * MS, 5); /* never below zero */
  CHECK_EQ(at(&l, 3 * MS).rif, 0);
  /* A crash takes what is in flight and on its way. */
  lbsim_load_admit(&l, 4 * MS, 50 * MS, 2, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&l, 6 * MS, LBSIM_NEVER, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_clear(&l, 5 * MS);
  CHECK_EQ(l.outages, 1);
  CHECK_EQ(at(&l, 60 * MS).rif, 0);
  /* A new capacity changes what waits. */
  lbsim_load_admit(&l, 70 * MS, 90 * MS, 4, LBSIM_LOAD_UNTAGGED);
  CHECK_EQ(at(&l, 71 * MS).queue, 3);
  lbsim_load_set_capacity(&l, 72 * MS, 3);
  CHECK_EQ(at(&l, 72 * MS).queue, 1);
  lbsim_load_free(&l);
}

TEST(the_board_shows_the_state_of_its_last_refresh) {
  lbsim_load_t l;
  lbsim_load_init(&l, 0, 0);
  lbsim_load_board(&l, 10 * MS);
  lbsim_load_report_t r;
  uint64_t when;
  lbsim_load_admit(&l, 3 * MS, 20 * MS, 1, LBSIM_LOAD_UNTAGGED); /* an answer at a refresh counts */
  lbsim_load_admit(&l, 3 * MS, 25 * MS, 1, LBSIM_LOAD_UNTAGGED);
  lbsim_load_admit(&l, 30 * MS, 41 * MS, 1, LBSIM_LOAD_UNTAGGED); /* an arrival at a refresh does not */
  lbsim_load_board_read(&l, 9 * MS, &r, &when);
  CHECK_EQ(when, 0);
  CHECK_EQ(r.rif, 0);
  lbsim_load_board_read(&l, 19 * MS, &r, &when);
  CHECK_EQ(when, 10 * MS);
  CHECK_EQ(r.rif, 2);
  lbsim_load_board_read(&l, 20 * MS, &r, &when);
  CHECK_EQ(when, 20 * MS);
  CHECK_EQ(r.rif, 1);
  lbsim_load_board_read(&l, 35 * MS, &r, &when);
  CHECK_EQ(when, 30 * MS);
  CHECK_EQ(r.rif, 0);
  /* Much later, after many refreshes that saw nothing new. */
  lbsim_load_board_read(&l, 1000 * MS + 5 * MS, &r, &when);
  CHECK_EQ(when, 1000 * MS);
  CHECK_EQ(r.rif, 0);
  /* Read again at the same instant: the same. */
  lbsim_load_board_read(&l, 1000 * MS + 5 * MS, &r, &when);
  CHECK_EQ(when, 1000 * MS);
  lbsim_load_free(&l);
}

TEST(many_events_in_random_order_agree_with_counting) {
  /* Arrivals in time order, answers after a random service: the state at
   * each instant is arrivals before it minus answers at or before it. */
  enum { N = 2000 };
  static uint64_t arr[N], due[N];
  uint64_t x = 12345;
  lbsim_load_t l;
  lbsim_load_init(&l, 4, 0);
  for (int k = 0; k < N; k++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    arr[k] = (uint64_t)k * 100;
    due[k] = arr[k] + (x >> 33) % 5000;
    lbsim_load_admit(&l, arr[k], due[k], 1, LBSIM_LOAD_UNTAGGED);
  }
  for (uint64_t t = 0; t < N * 100 + 6000; t += 37) {
    uint64_t expect = 0;
    for (int k = 0; k < N; k++)
      expect += arr[k] < t && due[k] > t;
    /* Arrivals exactly at t come after the instant's answers and refresh,
     * but before anything later: the state at t counts them (and never
     * one answered as it arrived). */
    for (int k = 0; k < N; k++)
      expect += arr[k] == t && due[k] > t;
    lbsim_load_report_t r = at(&l, t);
    CHECK_MSG(r.rif == expect, "at %llu: %u != %llu", (unsigned long long)t, r.rif, (unsigned long long)expect);
    if (r.rif != expect)
      break;
  }
  lbsim_load_free(&l);
}
