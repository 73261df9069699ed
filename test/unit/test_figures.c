/* Unit tests of a run's figures and their estimate over seeds
 * (lbsim/report/figures.h): the Student t quantiles, the mean and the
 * interval computed by hand, unknown figures, and one run passed through
 * to the bit. */
#include <math.h>

#include "harness.h"
#include "lbsim/report/figures.h"

TEST(student_t_quantiles_are_the_tables) {
  /* Two-sided 95 %, from any statistics table (here to 9 digits). */
  static const struct {
    uint32_t df;
    double t;
  } known[] = {{1, 12.706204736}, {2, 4.302652730}, {4, 2.776445105}, {9, 2.262157163},
               {30, 2.042272456}, {31, 2.039513446}, {40, 2.021075390}, {60, 2.000297822},
               {120, 1.979930405}, {1000, 1.962339081}};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    CHECK_NEAR(lbsim_student_t95(known[i].df), known[i].t, 1e-7);
  CHECK(isnan(lbsim_student_t95(0)));
  /* Decreasing towards the normal quantile, across the end of the table. */
  for (uint32_t df = 1; df < 500; df++)
    CHECK(lbsim_student_t95(df + 1) < lbsim_student_t95(df));
  CHECK(lbsim_student_t95(100000) > 1.959963984);
}

static lbsim_figures_t run_with(double p50, double success) {
  lbsim_figures_t f;
  for (int k = 0; k < LBSIM_FIGURES; k++)
    f.v[k] = k;
  f.v[LBSIM_FIG_P50] = p50;
  f.v[LBSIM_FIG_SUCCESS] = success;
  return f;
}

TEST(the_estimate_of_three_seeds_is_computed_by_hand) {
  lbsim_figures_t runs[3] = {run_with(10, 1), run_with(12, NAN), run_with(17, 0.5)};
  lbsim_estimate_t e;
  lbsim_estimate(&e, runs, 3, 3);
  CHECK_EQ(e.seeds, 3);
  /* mean 13, sample variance ((-3)^2 + (-1)^2 + 4^2) / 2 = 13 */
  CHECK_NEAR(e.mean[LBSIM_FIG_P50], 13, 1e-12);
  CHECK_NEAR(e.half[LBSIM_FIG_P50], 4.302652729749464 * sqrt(13.0 / 3), 1e-9);
  /* A figure one seed does not know: over the two that do. */
  CHECK_NEAR(e.mean[LBSIM_FIG_SUCCESS], 0.75, 1e-12);
  CHECK_NEAR(e.half[LBSIM_FIG_SUCCESS], 12.706204736174704 * sqrt(0.125) / sqrt(2.0), 1e-9);
  /* The same in every seed: no width. */
  CHECK_EQ(e.mean[LBSIM_FIG_ROUNDS], LBSIM_FIG_ROUNDS);
  CHECK_EQ(e.half[LBSIM_FIG_ROUNDS], 0);
}

TEST(one_seed_has_no_interval_and_unknown_stays_unknown) {
  lbsim_figures_t runs[2] = {run_with(NAN, 0.1), run_with(NAN, NAN)};
  lbsim_estimate_t e;
  lbsim_estimate(&e, runs, 1, 1);
  CHECK(isnan(e.half[LBSIM_FIG_SUCCESS]));
  CHECK_EQ(e.mean[LBSIM_FIG_SUCCESS], 0.1);
  CHECK(isnan(e.mean[LBSIM_FIG_P50]));
  lbsim_estimate(&e, runs, 2, 2);
  CHECK(isnan(e.half[LBSIM_FIG_SUCCESS])); /* one seed knows it */
  CHECK(isnan(e.mean[LBSIM_FIG_P50]) && isnan(e.half[LBSIM_FIG_P50]));
}

TEST(a_single_run_is_its_own_row_to_the_bit) {
  lbsim_figures_t run = run_with(1.0 / 3, 0.1 + 0.2);
  run.v[LBSIM_FIG_REGRET] = -0.0;
  lbsim_estimate_t e;
  lbsim_estimate(&e, &run, 1, 0);
  CHECK_EQ(e.seeds, 0);
  for (int k = 0; k < LBSIM_FIGURES; k++)
    CHECK(memcmp(&e.mean[k], &run.v[k], sizeof(double)) == 0);
}

TEST(figures_have_names_that_read_back) {
  for (int k = 0; k < LBSIM_FIGURES; k++)
    CHECK_EQ(lbsim_figure_find(lbsim_figure_name((lbsim_figure_t)k)), k);
  CHECK_EQ(lbsim_figure_find("p42_ms"), -1);
  CHECK(lbsim_figure_is_count(LBSIM_FIG_REQUESTS) && !lbsim_figure_is_count(LBSIM_FIG_P99));
}
