/* Chained reports: one call from the runner feeds every report of the
 * chain (stdout in the user's format, the dashboard in JSON), changes are
 * logged on stderr once, and the dashboard's ticks. */
#include <jansson.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "harness.h"
#include "lbsim/base/buf.h"
#include "lbsim/report/report.h"

typedef struct sink_s {
  lbsim_buf_t got;
  int blocks;
} sink_t;

static void on_emit(void *data, const char *bytes, size_t len) {
  sink_t *s = data;
  lbsim_buf_append(&s->got, bytes, len);
  s->blocks++;
}

/* Counts the lines of `text` that are exactly `line`. */
static int lines_equal(const char *text, const char *line) {
  int n = 0;
  size_t len = strlen(line);
  for (const char *p = text; (p = strstr(p, line)) != NULL; p += len)
    if ((p == text || p[-1] == '\n') && p[len] == '\n')
      n++;
  return n;
}

static char *read_all(FILE *f) {
  fflush(f);
  long size = ftell(f);
  char *text = calloc(1, (size_t)size + 1);
  rewind(f);
  if (text && fread(text, 1, (size_t)size, f) != (size_t)size)
    text[0] = '\0';
  return text;
}

TEST(a_change_goes_down_the_chain_and_to_stderr_once) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  cfg.backends = 2;
  lbsim_model_t models[2];
  for (uint32_t i = 0; i < 2; i++)
    lbsim_model_init(&models[i], &cfg, 1, i);
  const char *names[] = {"http://127.0.0.1:1/ping", "http://127.0.0.1:2/ping"};
  FILE *out = tmpfile(), *err = tmpfile();
  CHECK(out && err);
  int saved_stderr = dup(2);
  dup2(fileno(err), 2);

  lbsim_report_t text, json;
  sink_t sink = {LBSIM_BUF_INIT, 0};
  lbsim_report_init(&text, &cfg, 1, out, 0);
  lbsim_report_init_emit(&json, &cfg, 1, lbsim_format_find("json"), on_emit, &sink);
  text.next = &json;
  lbsim_report_bind(&text, NULL, 0, names, 2, NULL, 1000);
  lbsim_report_start(&text, 1000);
  lbsim_event_t ev = {.origin = LBSIM_ORIGIN_ADMIN, .backend = 1, .action = LBSIM_ACTION_LATENCY, .value = 300};
  double old = lbsim_model_apply(&models[1], &ev, 2000);
  lbsim_report_change(&text, &models[1], &ev, old, 2000);
  lbsim_report_tick(&text, 3000); /* text has no tick: nothing, and not passed on */

  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  char *logged = read_all(err);
  char line[96];
  snprintf(line, sizeof(line), "backend 2 latency %.2f -> 300.00 ms (admin)", old);
  CHECK_MSG(logged && lines_equal(logged, line) == 1, "stderr: %s", logged);
  free(logged);
  CHECK_EQ(sink.blocks, 2); /* the start, the change: one block each, as they happen */
  lbsim_buf_append(&sink.got, "", 1);
  const char *second = strchr(sink.got.data, '\n') + 1;
  json_t *start = json_loadb(sink.got.data, (size_t)(second - sink.got.data), 0, NULL);
  json_t *change = json_loads(second, 0, NULL);
  CHECK(start && strcmp(json_string_value(json_object_get(start, "type")), "start") == 0);
  CHECK(json_array_size(json_object_get(start, "backends")) == 2);
  CHECK_MSG(change && strcmp(json_string_value(json_object_get(change, "type")), "change") == 0, "%s", second);
  CHECK(json_integer_value(json_object_get(change, "backend")) == 2);
  CHECK(json_number_value(json_object_get(change, "to")) == 300);
  CHECK(strcmp(json_string_value(json_object_get(change, "source")), "admin") == 0);
  json_decref(start);
  json_decref(change);
  lbsim_report_free(&text);
  lbsim_report_free(&json);
  lbsim_buf_free(&sink.got);
  fclose(out);
  fclose(err);
}

TEST(a_tick_carries_the_estimates_and_what_is_in_flight) {
  lbsim_config_t cfg;
  lbsim_config_defaults(&cfg);
  const char *names[] = {"http://127.0.0.1:1/ping", "http://127.0.0.1:2/ping", "http://127.0.0.1:3/ping"};
  lbsim_fleet_t b;
  CHECK(lbsim_fleet_init(&b, &cfg, 1, 0, names, 3, NULL) == 0);
  b.clients[0].ema.value_ms[1] = 812.4;
  b.in_flight_to[2] = 7;
  b.clients[0].in_flight = 7;
  sink_t sink = {LBSIM_BUF_INIT, 0};
  lbsim_report_t json;
  lbsim_report_init_emit(&json, &cfg, 1, lbsim_format_find("json"), on_emit, &sink);
  lbsim_report_bind(&json, &b, 1, names, 3, NULL, 0);
  lbsim_report_tick(&json, 1500000000);
  CHECK_EQ(sink.blocks, 1);
  lbsim_buf_append(&sink.got, "", 1);
  CHECK_MSG(strcmp(sink.got.data, "{\"type\":\"tick\",\"t\":1.500,\"true_ms\":null,\"policies\":[{\"policy\":\"ema-greedy\","
                                  "\"launched\":0,\"ok\":0,\"failed\":0,\"in_flight\":7,\"ema_ms\":[0.000,812.400,0.000],"
                                  "\"backend_in_flight\":[0,0,7],\"backend_done\":[0,0,0]}]}\n") == 0,
            "%s", sink.got.data);
  lbsim_report_free(&json);
  lbsim_buf_free(&sink.got);
  lbsim_fleet_free(&b);
}
