/* The admin endpoint's POST bodies: JSON only, every field checked and
 * named in the refusal, nothing applied unless all of it is good. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "lbsim/base/error.h"
#include "lbsim/base/common.h"
#include "lbsim/control/admin.h"

static int parse(const char *body, lbsim_event_t *events, char *err) {
  return lbsim_admin_parse_body(body, strlen(body), events, 8, err, 256);
}

TEST(settings_become_events_in_order) {
  lbsim_event_t ev[8];
  char err[256];
  int n = parse("{\"latency_ms\": 2000, \"error_rate\": 0.5, \"down\": true, \"stalled\": false, \"capacity\": 10, "
                "\"jitter\": \"exp:20\"}",
                ev, err);
  CHECK_MSG(n == 6, "%d: %s", n, err);
  CHECK(ev[0].action == LBSIM_ACTION_LATENCY && ev[0].value == 2000);
  CHECK(ev[1].action == LBSIM_ACTION_ERROR_RATE && ev[1].value == 0.5);
  CHECK(ev[2].action == LBSIM_ACTION_DOWN);
  CHECK(ev[3].action == LBSIM_ACTION_RESUME);
  CHECK(ev[4].action == LBSIM_ACTION_CAPACITY && ev[4].value == 10);
  CHECK(ev[5].action == LBSIM_ACTION_JITTER && ev[5].jitter.kind == LBSIM_JITTER_EXP);
  for (int k = 0; k < n; k++)
    CHECK(ev[k].origin == LBSIM_ORIGIN_ADMIN);
  CHECK(parse("{\"down\": false}", ev, err) == 1 && ev[0].action == LBSIM_ACTION_UP && ev[0].slow_start_s == 0);
  CHECK(parse("{\"stalled\": true}", ev, err) == 1 && ev[0].action == LBSIM_ACTION_STALL);
  CHECK(parse(" {\"latency_ms\": 250.5}\n", ev, err) == 1 && ev[0].value == 250.5);
}

TEST(actions_have_a_json_shape) {
  lbsim_event_t ev[8];
  char err[256];
  CHECK_MSG(parse("{\"action\": \"up\", \"slow_start_s\": 5, \"factor\": 3}", ev, err) == 1, "%s", err);
  CHECK(ev[0].action == LBSIM_ACTION_UP && ev[0].slow_start_s == 5 && ev[0].slow_start_factor == 3);
  CHECK(parse("{\"action\": \"up\", \"slow_start_s\": 10}", ev, err) == 1 && ev[0].slow_start_factor == 5);
  CHECK(parse("{\"action\": \"up\"}", ev, err) == 1 && ev[0].slow_start_s == 0);
  CHECK(parse("{\"action\": \"latency\", \"ms\": 2000}", ev, err) == 1 && ev[0].value == 2000);
  CHECK(parse("{\"action\": \"error-rate\", \"rate\": 0.25}", ev, err) == 1 && ev[0].value == 0.25);
  CHECK(parse("{\"action\": \"capacity\", \"n\": 0}", ev, err) == 1 && ev[0].value == 0);
  CHECK(parse("{\"action\": \"jitter\", \"dist\": \"none\"}", ev, err) == 1 &&
        ev[0].action == LBSIM_ACTION_JITTER && ev[0].jitter.kind == LBSIM_JITTER_NONE);
  static const struct {
    const char *body;
    lbsim_action_t action;
  } bare[] = {{"{\"action\": \"down\"}", LBSIM_ACTION_DOWN},
              {"{\"action\": \"stall\"}", LBSIM_ACTION_STALL},
              {"{\"action\": \"resume\"}", LBSIM_ACTION_RESUME}};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(bare); k++)
    CHECK(parse(bare[k].body, ev, err) == 1 && ev[0].action == bare[k].action);
}

/* Each refusal says what is wrong and names the field. */
TEST(bad_bodies_are_refused_naming_the_field) {
  static const struct {
    const char *body;
    const char *reason;
  } cases[] = {
      {"", "the body is empty"},
      {"down=true", "malformed JSON at line 1"},
      {"up slow-start 5s", "malformed JSON"},
      {"{\"latency_ms\": 2000", "malformed JSON"},
      {"{\"latency_ms\": 2000} x", "malformed JSON"},
      {"{\"latency_ms\": 1, \"latency_ms\": 2}", "duplicate"},
      {"[1, 2]", "must be a JSON object"},
      {"2000", "must be a JSON object"},
      {"{}", "nothing to change"},
      {"{\"latency_ms\": \"2000\"}", "field 'latency_ms' must be a number"},
      {"{\"latency_ms\": -1}", "field 'latency_ms' must be a number in 0..3.6e+06"},
      {"{\"latency_ms\": 1e300}", "field 'latency_ms'"},
      {"{\"error_rate\": 1.5}", "field 'error_rate' must be a number in 0..1"},
      {"{\"error_rate\": null}", "field 'error_rate' must be a number"},
      {"{\"capacity\": 2.5}", "field 'capacity' must be a whole number"},
      {"{\"down\": \"true\"}", "field 'down' must be true or false"},
      {"{\"down\": 1}", "field 'down' must be true or false"},
      {"{\"stalled\": \"yes\"}", "field 'stalled' must be true or false"},
      {"{\"jitter\": 20}", "field 'jitter' must be a string"},
      {"{\"jitter\": \"exp:-1\"}", "field 'jitter'"},
      {"{\"colour\": \"red\"}", "unknown field 'colour'"},
      {"{\"latency_ms\": 100, \"colour\": \"red\"}", "unknown field 'colour'"},
      {"{\"action\": 3}", "field 'action' must be a string"},
      {"{\"action\": \"explode\"}", "unknown action 'explode'"},
      {"{\"action\": \"latency\"}", "action 'latency' needs field 'ms'"},
      {"{\"action\": \"latency\", \"ms\": \"fast\"}", "field 'ms' must be a number"},
      {"{\"action\": \"error-rate\", \"rate\": 2}", "field 'rate' must be a number in 0..1"},
      {"{\"action\": \"capacity\", \"n\": -3}", "field 'n'"},
      {"{\"action\": \"jitter\"}", "action 'jitter' needs field 'dist'"},
      {"{\"action\": \"up\", \"slow_start_s\": \"5s\"}", "field 'slow_start_s' must be a number"},
      {"{\"action\": \"up\", \"factor\": 3}", "field 'factor' needs 'slow_start_s'"},
      {"{\"action\": \"up\", \"slow_start_s\": 5, \"factor\": 0.5}", "field 'factor' must be a number in 1..1000"},
      {"{\"action\": \"down\", \"latency_ms\": 5}", "unknown field 'latency_ms': action 'down' takes no other field"},
      {"{\"action\": \"up\", \"slow\": 5}", "unknown field 'slow' for action 'up' (slow_start_s, factor)"},
  };
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(cases); k++) {
    lbsim_event_t ev[8];
    char err[256] = "";
    int n = parse(cases[k].body, ev, err);
    CHECK_MSG(n == LBSIM_EINVAL && strstr(err, cases[k].reason) != NULL, "%s -> %d '%s', want '%s'", cases[k].body, n, err,
              cases[k].reason);
  }
}

TEST(a_body_of_more_fields_than_room_is_refused) {
  lbsim_event_t ev[2];
  char err[256];
  const char *body = "{\"latency_ms\": 1, \"error_rate\": 0, \"capacity\": 3}";
  CHECK(lbsim_admin_parse_body(body, strlen(body), ev, 2, err, sizeof(err)) == LBSIM_EINVAL);
  CHECK(strstr(err, "too many fields") != NULL);
  /* Bytes after a NUL are part of the body, not its end. */
  static const char nul[] = "{\"down\": true}\0garbage";
  CHECK(lbsim_admin_parse_body(nul, sizeof(nul) - 1, ev, 2, err, sizeof(err)) == LBSIM_EINVAL);
}
