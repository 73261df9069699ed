/* lbsim merge. See lbsim/cli/merge.h. */
#include "lbsim/cli/merge.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"
#include "lbsim/base/file.h"
#include "lbsim/base/log.h"
#include "lbsim/cli/sweepfile.h"
#include "lbsim/report/report.h"
#include "lbsim_version.h"

#define MISSING_NAMED 6 /* missing runs named per shard; the rest are counted */

typedef struct merge_s {
  const char *format, *report, *metric; /* the merge's own options, or NULL */
  char **inputs;
  int ninputs;
  json_t *first;                 /* the first start line read */
  lbsim_sweepstart_t start;      /* ... its fields */
  char first_at[300];            /* ... where it was */
  lbsim_config_t cfg;            /* the sweep it describes, with the options above */
  bool cfg_ready;
  lbsim_vsweep_t sw;             /* every run known: prints what the sweep printed */
  bool sw_ready;
  uint32_t *from_input;          /* [run]: the input it was read from, 1-based; 0: none yet */
  uint32_t *from_line;           /* [run] */
  bool *seen;                    /* [shard]: some input has its start line */
} merge_t;

static const char *input_name(const merge_t *m, uint32_t i) {
  return strcmp(m->inputs[i], "-") == 0 ? "stdin" : m->inputs[i];
}

static void usage(FILE *out) {
  fprintf(out,
          "Usage: lbsim merge [--format FMT] [--report FILE.svg] [--sweep-metric METRIC] FILE...\n"
          "\n"
          "Reads the outputs of a sweep's shards (lbsim --sweep ... --shard K/N, or their\n"
          "--resume files; '-' reads stdin) and prints what the whole sweep prints: its\n"
          "table (or --format json), and with --report its plot, to the byte. Lines that\n"
          "are not JSON are skipped and counted on stderr. Shards of different sweeps,\n"
          "and runs missing or given twice, are refused with the reason (exit 2).\n");
}

/* The merge's own options. 0; 1 after --help; LBSIM_EINVAL with err set. */
static int parse_options(merge_t *m, int argc, char **argv, char *err, size_t errlen) {
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                           {"report", required_argument, NULL, 'R'},
                                           {"sweep-metric", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:f:h", longopts, NULL)) != -1;) {
    lbsim_sweep_t probe = {0};
    switch (c) {
    case 'f':
      if (lbsim_format_find(optarg) == NULL)
        return lbsim_refuse(err, errlen, "invalid --format '%s': expected text or json", lbsim_token(optarg));
      m->format = optarg;
      break;
    case 'R':
      if (*optarg == '\0' || strlen(optarg) >= sizeof(m->cfg.report_path))
        return lbsim_refuse(err, errlen, "invalid --report: expected a file name");
      m->report = optarg;
      break;
    case 'm':
      if (lbsim_sweep_set_metric(&probe, optarg, err, errlen) != 0)
        return LBSIM_EINVAL;
      m->metric = optarg;
      break;
    case 'h':
      return 1;
    case ':':
      return lbsim_refuse(err, errlen, "merge: option '%s' needs a value", lbsim_token(argv[optind - 1]));
    default:
      return lbsim_refuse(err, errlen, "merge: unknown option '%s' (see lbsim merge --help)", lbsim_token(argv[optind - 1]));
    }
  }
  if (m->metric && m->report == NULL)
    return lbsim_refuse(err, errlen, "--sweep-metric chooses what --report plots: give --report FILE.svg too");
  m->inputs = argv + optind;
  m->ninputs = argc - optind;
  if (m->ninputs == 0)
    return lbsim_refuse(err, errlen, "merge: no files (the outputs of --shard, or - for stdin)");
  for (int i = 0; m->report && i < m->ninputs; i++)
    if (lbsim_file_same(m->report, m->inputs[i]))
      return lbsim_refuse(err, errlen, "merge: --report %s is the input %s: lbsim does not write over its input",
                          lbsim_token(m->report), lbsim_token(m->inputs[i]));
  return 0;
}

/* The first start line: the sweep to rebuild, and where to keep track of its runs. */
static int adopt(merge_t *m, json_t *obj, const char *at, char *err, size_t errlen) {
  char why[300];
  m->first = json_incref(obj);
  lbsim_sweepstart_read(obj, &m->start, why, sizeof(why));
  snprintf(m->first_at, sizeof(m->first_at), "%s", at);
  if (strcmp(m->start.version, LBSIM_VERSION) != 0)
    return lbsim_refuse(err, errlen, "%s: made by lbsim %s: merge it with that version (this is lbsim %s)", at,
                        m->start.version, LBSIM_VERSION);
  m->cfg_ready = true;
  if (lbsim_sweepstart_config(&m->start, &m->cfg, why, sizeof(why)) != 0)
    return lbsim_refuse(err, errlen, "%s: %s", at, why);
  if (m->format)
    m->cfg.format = lbsim_format_find(m->format);
  if (m->report)
    snprintf(m->cfg.report_path, sizeof(m->cfg.report_path), "%s", m->report);
  if (m->metric)
    lbsim_sweep_set_metric(&m->cfg.sweep, m->metric, why, sizeof(why));
  m->sw_ready = true;
  if (lbsim_vsweep_init(&m->sw, &m->cfg, m->cfg.seed, stdout) != 0)
    return LBSIM_ENOMEM;
  if (m->start.runs != m->sw.planned)
    return lbsim_refuse(err, errlen, "%s: the start line counts %llu runs, but its sweep has %llu", at,
                        (unsigned long long)m->start.runs, (unsigned long long)m->sw.planned);
  m->from_input = calloc((size_t)m->sw.planned, sizeof(*m->from_input));
  m->from_line = calloc((size_t)m->sw.planned, sizeof(*m->from_line));
  m->seen = calloc(m->start.shards, sizeof(*m->seen));
  if (m->from_input == NULL || m->from_line == NULL || m->seen == NULL)
    return LBSIM_ENOMEM;
  return 0;
}

/* A start line: the first, or one of the same sweep and split. *shard: the one it starts. */
static int take_start(merge_t *m, json_t *obj, const char *at, uint32_t *shard, char *err, size_t errlen) {
  lbsim_sweepstart_t start;
  char why[400];
  if (lbsim_sweepstart_read(obj, &start, why, sizeof(why)) != 0)
    return lbsim_refuse(err, errlen, "%s: %s", at, why);
  if (m->first == NULL) {
    int status = adopt(m, obj, at, err, errlen);
    if (status != 0)
      return status;
  } else if (!lbsim_sweepstart_same(&start, at, &m->start, m->first_at, why, sizeof(why))) {
    return lbsim_refuse(err, errlen, "shards of different sweeps: %s", why);
  } else if (start.shards != m->start.shards) {
    return lbsim_refuse(err, errlen, "%s is shard %u/%u, %s shard %u/%u: shards of different splits", at,
                        start.shard, start.shards, m->first_at, m->start.shard, m->start.shards);
  }
  m->seen[start.shard] = true;
  *shard = start.shard;
  return 0;
}

static int take_run(merge_t *m, json_t *obj, const char *at, uint32_t input, uint32_t lineno, uint32_t shard,
                    char *err, size_t errlen) {
  uint64_t r;
  lbsim_figures_t figures;
  char why[300];
  if (lbsim_sweeprun_read(&m->sw, obj, &r, &figures, why, sizeof(why)) != 0)
    return lbsim_refuse(err, errlen, "%s: %s", at, why);
  if (r % m->start.shards != shard)
    return lbsim_refuse(err, errlen, "%s: run %llu is not in shard %u/%u", at, (unsigned long long)r, shard,
                        m->start.shards);
  if (m->from_input[r])
    return lbsim_refuse(err, errlen, "run %llu is there twice: %s:%u and %s", (unsigned long long)r,
                        input_name(m, m->from_input[r] - 1), m->from_line[r], at);
  lbsim_vsweep_known(&m->sw, r, &figures);
  m->from_input[r] = input + 1;
  m->from_line[r] = lineno;
  return 0;
}

static int read_input(merge_t *m, uint32_t input, char *err, size_t errlen) {
  const char *name = input_name(m, input);
  bool stdin_input = strcmp(m->inputs[input], "-") == 0;
  FILE *in = stdin_input ? stdin : fopen(name, "r");
  if (in == NULL)
    return lbsim_refuse(err, errlen, "cannot read %s: %s", name, strerror(errno));
  char *text = NULL, at[300];
  size_t cap = 0;
  ssize_t len;
  uint32_t lineno = 0, skipped = 0, shard = 0;
  bool started = false;
  int status = 0;
  while (status == 0 && (len = getline(&text, &cap, in)) > 0) {
    lineno++;
    snprintf(at, sizeof(at), "%s:%u", name, lineno);
    json_t *obj;
    switch (lbsim_sweepline_parse(text, (size_t)len, &obj)) {
    case LBSIM_LINE_NOT_JSON:
      skipped++;
      break;
    case LBSIM_LINE_FOREIGN:
      status = lbsim_refuse(err, errlen, "%s: a JSON line that is not a sweep's (not the output of --shard)", at);
      break;
    case LBSIM_LINE_START:
      status = take_start(m, obj, at, &shard, err, errlen);
      started = true;
      break;
    case LBSIM_LINE_RUN:
      if (!started)
        status = lbsim_refuse(err, errlen, "%s: a run before the start line: not the whole output of a shard", at);
      else
        status = take_run(m, obj, at, input, lineno, shard, err, errlen);
      break;
    }
    json_decref(obj);
  }
  if (status == 0 && ferror(in))
    status = lbsim_refuse(err, errlen, "cannot read %s: %s", name, strerror(errno));
  if (status == 0 && !started)
    status = lbsim_refuse(err, errlen, "%s %s", name,
                          lineno == 0 ? "is empty" : "holds no sweep: it has no start line (the output of --shard)");
  if (skipped)
    lbsim_log("merge: %s: skipped %u line%s that %s not JSON", name, skipped, skipped == 1 ? "" : "s",
              skipped == 1 ? "is" : "are");
  free(text);
  if (!stdin_input)
    fclose(in);
  return status;
}

/* Every run once: otherwise which are missing, shard by shard. */
static int check_complete(const merge_t *m, char *err, size_t errlen) {
  uint64_t missing = 0;
  for (uint64_t r = 0; r < m->sw.planned; r++)
    missing += !m->sw.known[r];
  if (missing == 0)
    return 0;
  lbsim_buf_t why = LBSIM_BUF_INIT;
  lbsim_buf_printf(&why, "%llu of %llu runs missing:", (unsigned long long)missing,
                   (unsigned long long)m->sw.planned);
  for (uint32_t k = 0, first = 1; k < m->start.shards; k++) {
    uint64_t named = 0, count = 0;
    for (uint64_t r = k; r < m->sw.planned; r += m->start.shards) {
      if (m->sw.known[r])
        continue;
      if (count++ == 0)
        lbsim_buf_printf(&why, "%s shard %u/%u should have had", first ? "" : ";", k, m->start.shards);
      if (named < MISSING_NAMED) {
        lbsim_buf_printf(&why, "%s %llu", named ? "," : "", (unsigned long long)r);
        named++;
      }
    }
    if (count > named)
      lbsim_buf_printf(&why, " and %llu more", (unsigned long long)(count - named));
    if (count > 0 && !m->seen[k])
      lbsim_buf_append_str(&why, " (no file holds it)");
    if (count > 0)
      first = 0;
  }
  lbsim_buf_append(&why, "", 1);
  lbsim_refuse(err, errlen, "%s", lbsim_buf_ok(&why) ? why.data : "runs missing");
  lbsim_buf_free(&why);
  return LBSIM_EINVAL;
}

static void merge_free(merge_t *m) {
  if (m->sw_ready)
    lbsim_vsweep_free(&m->sw);
  if (m->cfg_ready)
    lbsim_config_free(&m->cfg);
  json_decref(m->first);
  free(m->from_input);
  free(m->from_line);
  free(m->seen);
}

int lbsim_merge_main(int argc, char **argv) {
  merge_t m;
  memset(&m, 0, sizeof(m));
  char err[1024] = "";
  int status = parse_options(&m, argc, argv, err, sizeof(err));
  if (status == 1) {
    usage(stdout);
    return LBSIM_EXIT_OK;
  }
  for (int i = 0; status == 0 && i < m.ninputs; i++)
    status = read_input(&m, (uint32_t)i, err, sizeof(err));
  if (status == 0)
    status = check_complete(&m, err, sizeof(err));
  int code = LBSIM_EXIT_OK;
  if (status == LBSIM_ENOMEM) {
    lbsim_log_error("out of memory");
    code = LBSIM_EXIT_RUNTIME;
  } else if (status != 0) {
    fprintf(stderr, "lbsim: %s\n", err);
    code = LBSIM_EXIT_USAGE;
  } else {
    volatile int never = 0;
    lbsim_vsweep_start(&m.sw);
    lbsim_vsweep_execute(&m.sw, &never);
    lbsim_log("merged %llu runs from %d file%s", (unsigned long long)m.sw.loaded, m.ninputs, m.ninputs == 1 ? "" : "s");
    code = lbsim_vsweep_finish(&m.sw) == 0 ? LBSIM_EXIT_OK : LBSIM_EXIT_RUNTIME;
  }
  merge_free(&m);
  return code;
}
