/* The admin endpoint on a real loop, port 0, over models and backend copies
 * that do not listen (the admin only reads them), driven by a raw client. */
#include <stdlib.h>

#include "harness.h"
#include "internal.h"
#include "lbsim/admin.h"
#include "lbsim/sched.h"
#include "rawclient.h"

typedef struct admin_fixture_s {
  uv_loop_t loop;
  lbsim_sched_t sched;
  lbsim_config_t cfg;
  lbsim_model_t *models;
  lbsim_backend_t *copies;    /* world-major, as in compare mode */
  lbsim_admin_t admin;
} admin_fixture_t;

static const char *const policies[] = {"ema-greedy", "round-robin"};

/* nmodels backends, one copy of each per policy (npolicies 1: the demo). */
static int afx_start(admin_fixture_t *f, uint32_t nmodels, uint32_t npolicies) {
  memset(f, 0, sizeof(*f));
  lbsim_config_defaults(&f->cfg);
  f->cfg.drift_period_s = 0;
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(lbsim_sched_init(&f->sched, &f->loop) == 0);
  f->models = calloc(nmodels, sizeof(*f->models));
  f->copies = calloc((size_t)nmodels * npolicies, sizeof(*f->copies));
  REQUIRE(f->models != NULL && f->copies != NULL);
  for (uint32_t i = 0; i < nmodels; i++) {
    lbsim_model_init(&f->models[i], &f->loop, &f->cfg, 1, i);
    f->models[i].latency.latency_ms = 10;
  }
  for (uint32_t k = 0; k < nmodels * npolicies; k++) {
    lbsim_backend_t *b = &f->copies[k];
    b->model = &f->models[k % nmodels];
    b->policy = npolicies > 1 ? policies[k / nmodels] : NULL;
    snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%u/ping", 7000 + k);
  }
  f->admin.models = f->models;
  f->admin.nmodels = nmodels;
  f->admin.backends = f->copies;
  f->admin.nbackends = nmodels * npolicies;
  REQUIRE(lbsim_admin_start(&f->admin, &f->loop, &f->sched, 0) == 0);
  REQUIRE(f->admin.port != 0);
  return 0;
}

static void no_close_cb(uv_handle_t *h) {
  (void)h;
}

static int afx_stop(admin_fixture_t *f) {
  lbsim_admin_close(&f->admin, NULL);
  for (uint32_t i = 0; i < f->admin.nmodels; i++)
    lbsim_model_close(&f->models[i], no_close_cb);
  for (int i = 0; i < 50 && f->admin.httpd.nhandles > 0; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  REQUIRE(f->admin.httpd.nhandles == 0);
  lbsim_sched_close(&f->sched, NULL);
  int rc = close_loop(&f->loop);
  free(f->models);
  free(f->copies);
  return rc;
}

static void afx_exchange(admin_fixture_t *f, const char *req, int want, raw_result_t *r) {
  raw_opts_t o = {.want_responses = want, .wait_ms = 5000};
  raw_exchange(&f->loop, f->admin.port, req, strlen(req), &o, r);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Compare mode: every copy of every backend, well past 4,096 copies. */
TEST(metrics_cover_every_copy_in_compare_mode) {
  enum { N = 2100 };
  admin_fixture_t f;
  CHECK(afx_start(&f, N, 2) == 0);
  f.copies[2 * N - 1].answered_200 = 7;
  raw_result_t r;
  afx_exchange(&f, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1, &r);
  const char *text = raw_text(&r);
  CHECK(strncmp(text, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK_EQ(count(text, "\nlbsim_backend_up{"), 2 * N);
  CHECK_EQ(count(text, "\nlbsim_backend_latency_seconds{"), 2 * N);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"1\",policy=\"ema-greedy\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_up{backend=\"2100\",policy=\"round-robin\"} 1\n") != NULL);
  CHECK(strstr(text, "\nlbsim_backend_requests_total{backend=\"2100\",policy=\"round-robin\",code=\"200\"} 7\n") !=
        NULL);
  raw_result_free(&r);
  CHECK(afx_stop(&f) == 0);
}
