/* The number grammar, the ranges and how messages quote the user's input
 * (lbsim/base/number.h, lbsim/base/log.h): pure code. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/log.h"
#include "lbsim/base/number.h"

static bool parses(const char *text, double want) {
  double v = NAN;
  return lbsim_number_parse(text, &v) == 0 && v == want;
}

static bool refused(const char *text) {
  double v = 42;
  return lbsim_number_parse(text, &v) == LBSIM_EINVAL && v == 42;
}

TEST(decimal_with_an_optional_exponent) {
  CHECK(parses("0", 0));
  CHECK(parses("5", 5));
  CHECK(parses("+5", 5));
  CHECK(parses("-2.5", -2.5));
  CHECK(parses(".5", 0.5));
  CHECK(parses("5.", 5));
  CHECK(parses("1e3", 1000));
  CHECK(parses("1E+3", 1000));
  CHECK(parses("25e-1", 2.5));
  CHECK(parses("0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
               "00000000000000000000000000000000000000000000000000000000000007", 7));
}

TEST(no_hex_inf_nan_blanks_or_trailing_text) {
  const char *bad[] = {"", " ", " 5", "5 ", "\t5", "0x14", "0X1p3", "inf", "-inf", "infinity", "nan", "NAN(1)", "e5",
                       "1e", "1e+", ".", "+", "-", "1,5", "5ms", "1..2", "--5", "5\v", "\xef\xbb\xbf" "5"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_MSG(refused(bad[i]), "'%s' was read as a number", bad[i]);
}

TEST(too_large_is_refused_too_small_is_its_nearest_double) {
  CHECK(refused("1e309"));
  CHECK(refused("-1e400"));
  double v;
  CHECK_EQ(lbsim_number_parse("1e-320", &v), 0);
  CHECK(v > 0 && v < 1e-300); /* a subnormal */
  CHECK_EQ(lbsim_number_parse("1e-400", &v), 0);
  CHECK(v == 0);
}

TEST(a_scan_stops_where_the_number_does) {
  double v;
  CHECK_EQ(lbsim_number_scan("1500ms", &v), 4);
  CHECK(v == 1500);
  CHECK_EQ(lbsim_number_scan("1.5e3s", &v), 5);
  CHECK(v == 1500);
  CHECK_EQ(lbsim_number_scan("2m", &v), 1);
  CHECK_EQ(lbsim_number_scan("2em", &v), 1); /* an "e" without digits is the unit's */
  CHECK_EQ(lbsim_number_scan("0x20ms", &v), 1); /* "x20ms" is then no unit */
  CHECK_EQ(lbsim_number_scan("ms", &v), LBSIM_EINVAL);
  CHECK_EQ(lbsim_number_scan("1e999s", &v), LBSIM_EINVAL);
}

TEST(ranges_hold_their_edges_and_zero_when_it_means_off) {
  const lbsim_range_t period = {0.001, 86400, false, true, false, "s"};
  CHECK(lbsim_range_has(&period, 0));
  CHECK(lbsim_range_has(&period, 0.001));
  CHECK(lbsim_range_has(&period, 86400));
  CHECK(!lbsim_range_has(&period, 0.0009));
  CHECK(!lbsim_range_has(&period, 1e-300));
  CHECK(!lbsim_range_has(&period, 86400.0001));
  CHECK(!lbsim_range_has(&period, -0.5));
  CHECK(!lbsim_range_has(&period, NAN));
  const lbsim_range_t open = {0, 1, true, false, false, NULL};
  CHECK(!lbsim_range_has(&open, 0));
  CHECK(lbsim_range_has(&open, 1e-320));
  CHECK(lbsim_range_has(&open, 1));
  const lbsim_range_t count = {1, 4096, false, false, true, NULL};
  CHECK(lbsim_range_has(&count, 4096));
  CHECK(!lbsim_range_has(&count, 2.5));
  double v;
  CHECK_EQ(lbsim_number_read(&count, "1e3", &v), 0);
  CHECK(v == 1000);
  CHECK_EQ(lbsim_number_read(&count, "4097", &v), LBSIM_EINVAL);
  CHECK(v == 4097); /* a number, out of range */
}

TEST(a_range_is_written_in_plain_decimals) {
  char buf[64];
  const lbsim_range_t period = {0.001, 86400, false, true, false, "s"};
  CHECK_STR_EQ(lbsim_range_text(&period, buf, sizeof(buf)), "0 or 0.001..86400 s");
  const lbsim_range_t duration = {0.000000001, LBSIM_RUN_MAX_S, false, true, false, "s"};
  CHECK_STR_EQ(lbsim_range_text(&duration, buf, sizeof(buf)), "0 or 0.000000001..31536000 s");
  const lbsim_range_t open = {0, 1, true, false, false, NULL};
  CHECK_STR_EQ(lbsim_range_text(&open, buf, sizeof(buf)), "(0, 1]");
  const lbsim_range_t rounds = {0, 1e15, false, false, true, NULL};
  CHECK_STR_EQ(lbsim_range_text(&rounds, buf, sizeof(buf)), "0..1000000000000000");
  CHECK_STR_EQ(lbsim_range_kind(&rounds), "an integer");
  CHECK_STR_EQ(lbsim_range_kind(&open), "a number");
  CHECK_STR_EQ(lbsim_number_text(0.000001, buf, sizeof(buf)), "0.000001");
}

/* Every time lbsim reads is far below what 64-bit nanoseconds hold; what
 * it computes beyond (a latency times a large lognormal draw) saturates
 * instead of wrapping (or being undefined). */
TEST(milliseconds_to_nanoseconds_never_overflow) {
  CHECK_EQ(lbsim_ms_to_ns(0), 0);
  CHECK_EQ(lbsim_ms_to_ns(-5), 0);
  CHECK_EQ(lbsim_ms_to_ns(NAN), 0);
  CHECK_EQ(lbsim_ms_to_ns(0.0000004), 0);
  CHECK_EQ(lbsim_ms_to_ns(0.000001), 1);
  CHECK_EQ(lbsim_ms_to_ns(1.5), 1500000);
  CHECK(lbsim_ms_to_ns(LBSIM_RUN_MAX_S * 1000.0) == (uint64_t)(LBSIM_RUN_MAX_S * 1e9));
  CHECK(lbsim_ms_to_ns(1e15) == LBSIM_NS_MAX); /* 1e21 ns: beyond 2^62 */
  CHECK(lbsim_ms_to_ns(1e300) == LBSIM_NS_MAX);
  CHECK(lbsim_ms_to_ns(INFINITY) == LBSIM_NS_MAX);
  /* The longest run, a day's deadline and the longest conversion still add up. */
  CHECK(lbsim_ms_to_ns(LBSIM_RUN_MAX_S * 1000.0) + lbsim_ms_to_ns(86400e3) + LBSIM_NS_MAX > LBSIM_NS_MAX);
}

TEST(messages_quote_the_input_escaped_and_cut) {
  CHECK_STR_EQ(lbsim_token("plain 5"), "plain 5");
  CHECK_STR_EQ(lbsim_token("\v5\t\n\r\f"), "\\v5\\t\\n\\r\\f");
  CHECK_STR_EQ(lbsim_token("\x01\x7f"), "\\x01\\x7f");
  CHECK_STR_EQ(lbsim_token("\xef\xbb\xbf" "5"), "\\xef\\xbb\\xbf5"); /* a byte-order mark */
  CHECK_STR_EQ(lbsim_token("\xe2\x80\x8b"), "\\xe2\\x80\\x8b");     /* a zero-width space */
  CHECK_STR_EQ(lbsim_token("caf\xc3\xa9"), "caf\xc3\xa9");          /* visible UTF-8 stays */
  CHECK_STR_EQ(lbsim_token("\xc3"), "\\xc3");                       /* cut short: invalid */
  CHECK_STR_EQ(lbsim_token("\xc0\xaf"), "\\xc0\\xaf");              /* overlong */
  char longer[300];
  memset(longer, 'a', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = '\0';
  const char *t = lbsim_token(longer);
  CHECK_EQ(strlen(t), LBSIM_TOKEN_MAX + 3);
  CHECK(strcmp(t + LBSIM_TOKEN_MAX, "...") == 0);
  /* Escaping what is escaped changes nothing. */
  char once[64], twice[64];
  lbsim_escape(once, sizeof(once), "\v\x01", 2);
  lbsim_escape(twice, sizeof(twice), once, strlen(once));
  CHECK_STR_EQ(once, twice);
}
