/* The commands. See lbsim/cli/run.h. */
#include "lbsim/cli/run.h"

#include <stdio.h>

#include "lbsim/base/common.h"
#include "lbsim/base/log.h"
#include "lbsim/cli/resume.h"
#include "lbsim/cli/signals.h"
#include "lbsim/net/sim.h"
#include "lbsim/virtual/vsim.h"
#include "lbsim/virtual/vsweep.h"
#include "lbsim_version.h"

static uint64_t seed_of(const lbsim_config_t *cfg) {
  return cfg->seed_given ? cfg->seed : lbsim_rng_clock_seed();
}

/* `lbsim --clock virtual`: stdout is a function of the options and the
 * seed; one line on stderr tells how long the run took in wall time. */
static int run_virtual(const lbsim_config_t *cfg) {
  uint64_t seed = seed_of(cfg);
  lbsim_log("lbsim %s seed=%llu clock=virtual", LBSIM_VERSION, (unsigned long long)seed);
  lbsim_vsim_t v;
  double t0 = lbsim_wall_s();
  int code = LBSIM_EXIT_OK;
  if (lbsim_vsim_init(&v, cfg, seed, stdout) != 0) {
    lbsim_vsim_free(&v);
    return LBSIM_EXIT_RUNTIME;
  }
  lbsim_vsim_execute(&v, lbsim_signals_catch());
  lbsim_signals_release();
  double wall = lbsim_wall_s() - t0;
  /* A run stopped early (time stood still, no memory) ends where the engine is. */
  uint64_t end_ns = v.run.runner.finished ? v.run.runner.end_ns : v.engine.now_ns;
  double simulated = (double)(end_ns - v.run.runner.start_ns) / LBSIM_NS_PER_S;
  uint64_t requests = lbsim_assembly_requests(&v.run);
  lbsim_log("simulated %.2f s in %.2f s (%.0fx real time; %llu requests, %.2f M/s)", simulated, wall,
            wall > 0 ? simulated / wall : 0.0, (unsigned long long)requests,
            wall > 0 ? (double)requests / wall / 1e6 : 0.0);
  if (!v.finished || v.run.report.failed || v.run.runner.report_failed)
    code = LBSIM_EXIT_RUNTIME;
  lbsim_vsim_free(&v);
  return code;
}

/* `lbsim --sweep ...`: the runs of the sweep (or of its shard), with
 * --resume those its file does not hold yet. */
static int run_sweep(const lbsim_config_t *cfg) {
  lbsim_vsweep_t sw;
  lbsim_resume_t resume = {.fd = -1};
  int code = LBSIM_EXIT_OK;
  if (lbsim_vsweep_init(&sw, cfg, seed_of(cfg), stdout) != 0) {
    code = LBSIM_EXIT_RUNTIME;
    goto done;
  }
  if (cfg->resume_path[0] != '\0') {
    char err[600];
    int rc = lbsim_resume_open(&resume, &sw, cfg->resume_path, err, sizeof(err));
    if (rc != 0) {
      fprintf(stderr, "lbsim: %s\n", err);
      code = rc == LBSIM_EINVAL ? LBSIM_EXIT_USAGE : LBSIM_EXIT_RUNTIME;
      goto done;
    }
    sw.on_run = lbsim_resume_append;
    sw.on_run_data = &resume;
  }
  lbsim_vsweep_start(&sw);
  if (cfg->resume_path[0] != '\0')
    lbsim_log("resuming %s: %llu of %llu run%s done%s", cfg->resume_path, (unsigned long long)sw.loaded,
              (unsigned long long)sw.mine, sw.mine == 1 ? "" : "s",
              resume.dropped ? ", a last line cut in half dropped" : "");
  double t0 = lbsim_wall_s();
  volatile int *interrupt = lbsim_signals_catch();
  lbsim_vsweep_execute(&sw, interrupt);
  lbsim_signals_release();
  double wall = lbsim_wall_s() - t0;
  if (*interrupt)
    lbsim_log("interrupted: %llu of %llu runs done", (unsigned long long)(sw.runs + sw.loaded),
              (unsigned long long)sw.mine);
  lbsim_log("swept %llu run%s in %.2f s (simulated %.2f s; %llu requests, %.2f M/s)", (unsigned long long)sw.runs,
            sw.runs == 1 ? "" : "s", wall, sw.simulated_s, (unsigned long long)sw.requests,
            wall > 0 ? (double)sw.requests / wall / 1e6 : 0.0);
  code = lbsim_vsweep_finish(&sw) == 0 ? LBSIM_EXIT_OK : LBSIM_EXIT_RUNTIME;
done:
  lbsim_resume_close(&resume);
  lbsim_vsweep_free(&sw);
  return code;
}

int lbsim_run(const lbsim_config_t *cfg) {
  lbsim_report_on_output_closed(lbsim_signals_pipe_closed);
  if (cfg->sweep.naxes > 0)
    return run_sweep(cfg);
  return cfg->clock == LBSIM_CLOCK_VIRTUAL ? run_virtual(cfg) : lbsim_sim_run(cfg);
}
