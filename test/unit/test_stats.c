/* Counting a client's requests (lbsim/balancer/stats.h): what each record
 * adds to the run, the round and the backend; herding from the rounds'
 * picks; the time it takes traffic to follow a new fastest backend. */
#include "harness.h"
#include "lbsim/balancer/result.h"
#include "lbsim/balancer/stats.h"

#define NO_ORACLE (-1.0)

TEST(a_record_counts_in_the_run_the_round_and_its_backend) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 3), 0);
  lbsim_stats_record(&s, 1, LBSIM_RESULT_OK, 10, 10, NO_ORACLE, false, 3);
  lbsim_stats_record(&s, 0, LBSIM_RESULT_TIMEOUT, 5000, 5000, NO_ORACLE, false, 1);
  const lbsim_counts_t *where[] = {&s.total, &s.round};
  for (int k = 0; k < 2; k++) {
    CHECK_EQ(where[k]->requests, 4);
    CHECK_EQ(where[k]->ok, 3);
    CHECK_EQ(where[k]->failed, 1);
    CHECK_EQ(where[k]->by_result[LBSIM_RESULT_OK], 3);
    CHECK_EQ(where[k]->by_result[LBSIM_RESULT_TIMEOUT], 1);
  }
  CHECK_EQ(s.backend[0].requests, 1);
  CHECK_EQ(s.backend[0].failed, 1);
  CHECK_EQ(s.backend[1].ok, 3);
  CHECK_EQ(s.backend[2].requests, 0);
  lbsim_stats_free(&s);
}

TEST(only_answered_requests_have_a_latency) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 2), 0);
  lbsim_stats_record(&s, 0, LBSIM_RESULT_OK, 10, 10, NO_ORACLE, false, 9);
  lbsim_stats_record(&s, 0, LBSIM_RESULT_OK, 40, 40, NO_ORACLE, false, 1);
  /* A failure's latency would be the worst of all: it is not a latency. */
  lbsim_stats_record(&s, 1, LBSIM_RESULT_STATUS, 9000, 9000, NO_ORACLE, false, 5);
  CHECK_EQ(s.total.latency.count, 10);
  CHECK_NEAR(lbsim_counts_quantile_ms(&s.total, 0.5), 10, 0.1);
  CHECK_NEAR(lbsim_counts_quantile_ms(&s.total, 1.0), 40, 0.4);
  CHECK_NEAR(lbsim_counts_quantile_ms(&s.backend[1], 0.5), 0, 0); /* no answer: 0, not a bucket */
  lbsim_stats_free(&s);
}

TEST(regret_and_hits_are_counted_only_where_the_truth_was_known) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 2), 0);
  lbsim_stats_record(&s, 0, LBSIM_RESULT_OK, 12, 12, NO_ORACLE, true, 4);
  CHECK_EQ(s.total.judged, 0);
  CHECK_EQ(s.total.to_fastest, 0);
  lbsim_stats_record(&s, 0, LBSIM_RESULT_OK, 12, 12, 10, true, 2);
  lbsim_stats_record(&s, 1, LBSIM_RESULT_OK, 30, 30, 10, false, 1);
  CHECK_EQ(s.total.judged, 3);
  CHECK_EQ(s.total.to_fastest, 2);
  CHECK_NEAR(s.total.regret_sum_ms, 2 * 2 + 20, 1e-9);
  /* A failure is judged by the sample the estimator got (its penalty). */
  lbsim_stats_record(&s, 1, LBSIM_RESULT_RESET, 0, 1000, 10, false, 1);
  CHECK_NEAR(s.total.regret_sum_ms, 24 + 990, 1e-9);
  lbsim_stats_free(&s);
}

TEST(a_new_round_starts_from_zero_but_the_run_goes_on) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 2), 0);
  lbsim_stats_pick(&s, 1);
  lbsim_stats_pick(&s, 1);
  lbsim_stats_record(&s, 1, LBSIM_RESULT_OK, 5, 5, NO_ORACLE, false, 2);
  CHECK_EQ(s.launched, 2);
  CHECK_EQ(s.round_picks[1], 2);
  lbsim_stats_new_round(&s);
  CHECK_EQ(s.round.requests, 0);
  CHECK_EQ(s.round.latency.count, 0);
  CHECK_EQ(s.round_picks[1], 0);
  CHECK_EQ(s.total.requests, 2);
  CHECK_EQ(s.backend[1].ok, 2);
  CHECK_EQ(s.launched, 2);
  lbsim_stats_free(&s);
}

TEST(a_round_without_its_latencies_still_counts) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 1), 0);
  s.round_latency = false; /* no report reads them: the histogram is spared */
  lbsim_stats_record(&s, 0, LBSIM_RESULT_OK, 5, 5, NO_ORACLE, false, 3);
  CHECK_EQ(s.round.ok, 3);
  CHECK_EQ(s.round.latency.count, 0);
  CHECK_EQ(s.total.latency.count, 3);
  lbsim_stats_free(&s);
}

static void round_of(lbsim_stats_t *s, const uint32_t *picks) {
  lbsim_stats_new_round(s);
  for (uint32_t i = 0; i < s->n; i++)
    for (uint32_t k = 0; k < picks[i]; k++)
      lbsim_stats_pick(s, i);
  lbsim_stats_end_round(s);
}

TEST(rounds_track_the_majority_and_how_often_it_flaps) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 3), 0);
  round_of(&s, (const uint32_t[]){8, 1, 1});
  CHECK_EQ(s.majority, 0);
  CHECK_EQ(s.majority_switches, 0); /* the first majority is no switch */
  round_of(&s, (const uint32_t[]){1, 8, 1});
  CHECK_EQ(s.majority, 1);
  CHECK_EQ(s.majority_switches, 1);
  round_of(&s, (const uint32_t[]){4, 3, 3}); /* no majority: the holder stays */
  CHECK_EQ(s.majority, 1);
  CHECK_EQ(s.majority_switches, 1);
  round_of(&s, (const uint32_t[]){0, 0, 0}); /* nothing sent: not a round */
  CHECK_EQ(s.rounds, 3);
  CHECK_NEAR(s.top_share_sum, 0.8 + 0.8 + 0.4, 1e-12);
  lbsim_stats_free(&s);
}

TEST(traffic_follows_the_new_fastest_once_a_window_has_a_majority_for_it) {
  lbsim_stats_t s;
  CHECK_EQ(lbsim_stats_init(&s, 3), 0);
  lbsim_stats_divert_window(&s, 10, 10, 500000000); /* nothing changed yet: nothing to follow */
  CHECK_EQ(s.diverts, 0);
  lbsim_stats_fastest_changed(&s, 2, 1000000000);
  lbsim_stats_divert_window(&s, 10, 5, 1200000000); /* half is not a majority */
  lbsim_stats_divert_window(&s, 0, 0, 1300000000);
  CHECK_EQ(s.diverts, 0);
  lbsim_stats_divert_window(&s, 10, 6, 1500000000);
  CHECK_EQ(s.changes, 1);
  CHECK_EQ(s.diverts, 1);
  CHECK_NEAR(s.divert_sum_s, 0.5, 1e-9);
  lbsim_stats_divert_window(&s, 10, 10, 1700000000); /* already followed */
  CHECK_EQ(s.diverts, 1);
  lbsim_stats_fastest_changed(&s, 0, 2000000000);
  lbsim_stats_divert_window(&s, 4, 3, 2100000000);
  CHECK_EQ(s.changes, 2);
  CHECK_EQ(s.diverts, 2);
  CHECK_NEAR(s.divert_sum_s, 0.6, 1e-9);
  CHECK_NEAR(s.divert_max_s, 0.5, 1e-9);
  lbsim_stats_free(&s);
}

TEST(results_have_the_names_the_outputs_print) {
  CHECK_STR_EQ(lbsim_result_name(LBSIM_RESULT_OK), "ok");
  CHECK_STR_EQ(lbsim_result_name(LBSIM_RESULT_BAD_RESPONSE), "bad_response");
  CHECK_STR_EQ(lbsim_result_name(LBSIM_RESULT_CANCELLED), "cancelled");
  CHECK_STR_EQ(lbsim_result_name(LBSIM_RESULT_COUNT), "unknown");
}
