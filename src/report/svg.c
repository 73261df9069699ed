/* Timeline and SVG drawing. See lbsim/report/svg.h. */
#include "lbsim/report/svg.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/common.h"
#include "lbsim/base/error.h"
#include "lbsim/base/url.h"

#define WIDTH 1100
#define MARGIN_LEFT 80
#define MARGIN_RIGHT 250
#define PLOT_W (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)
#define LAT_H 230
#define SHARE_H 110
#define FAIL_H 70
#define GAP_H 50 /* between the plots of a panel: the time axis' labels */
#define PANEL_H (40 + LAT_H + GAP_H + SHARE_H + GAP_H + FAIL_H + 60)
#define NO_FAIL_H 30 /* a panel without failures: one line says so */
#define TRAFFIC_H 120 /* with a tool around the pick on: offered load, attempts, goodput */
#define FLEET_H 70   /* a fleet's herd, and its imbalance, each */
#define CHANGED_RATIO 10.0 /* a backend whose expected cost moved this much "changed" */

const char *const lbsim_svg_palette[LBSIM_SVG_COLORS] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                                         "#e377c2", "#17becf", "#bcbd22", "#393b79"};
#define OTHERS_COLOR "#b0b0b0"
/* Estimates thin, dashed and faded, so that with ten backends the true
 * latencies (solid, twice as thick) still read through them. */
#define ESTIMATE_STYLE "stroke-width=\"1\" stroke-opacity=\"0.6\" stroke-dasharray=\"5,3\""
#define FAIL_COLOR "#d62728"
#define SAME_COLOR "#333333" /* true latencies that coincide */

static double block_start(const lbsim_timeline_t *tl, uint32_t b) {
  return b > 0 ? tl->block_end[b - 1] : 0.0;
}

/* ---- axes ------------------------------------------------------------------ */

/* A "nice" step (1, 2 or 5 x 10^k) for about `ticks` divisions of [0, max]. */
static double nice_step(double max, int ticks) {
  double raw = max / ticks;
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The 1, 2 or 5 x 10^k at or below v (up: at or above). */
static double log_step(double v, bool up) {
  double mag = pow(10, floor(log10(v)));
  static const double m[] = {1, 2, 5, 10};
  if (up) {
    for (int k = 0; k < 4; k++)
      if (m[k] * mag >= v * (1 - 1e-9))
        return m[k] * mag;
    return 10 * mag;
  }
  for (int k = 3; k >= 0; k--)
    if (m[k] * mag <= v * (1 + 1e-9))
      return m[k] * mag;
  return mag;
}

void lbsim_axis_fit(lbsim_axis_t *a, double min, double max) {
  memset(a, 0, sizeof(*a));
  if (!(max > 0) || !isfinite(max)) {
    a->hi = 1;
    a->step = 0.2;
    return;
  }
  if (min > 0 && max / min > 20) {
    a->log = true;
    a->lo = log_step(min / 1.25, false); /* clear of the bottom edge */
    a->hi = log_step(max, true);
    a->step = 10;
    return;
  }
  a->step = nice_step(max * 1.1, 5);
  a->hi = a->step * ceil(max * 1.1 / a->step);
}

void lbsim_axis_fit_range(lbsim_axis_t *a, double min, double max) {
  memset(a, 0, sizeof(*a));
  if (!isfinite(min) || !isfinite(max) || min > max) {
    a->hi = 1;
    a->step = 0.2;
    return;
  }
  if (min > 0 && max / min > 20) {
    a->log = true;
    a->lo = log_step(min, false);
    a->hi = log_step(max, true);
    a->step = 10;
    return;
  }
  double span = max - min;
  if (span <= 0) /* one value: a unit around it */
    span = min != 0 ? fabs(min) : 1;
  a->step = nice_step(span, 5);
  a->lo = a->step * floor(min / a->step);
  a->hi = a->step * ceil(max / a->step);
  if (a->hi - a->lo < a->step * 1.5) { /* room on both sides of a lone value */
    a->lo -= a->step;
    a->hi += a->step;
  }
}

uint32_t lbsim_axis_ticks(const lbsim_axis_t *a, double *ticks, bool *labelled, uint32_t max) {
  uint32_t n = 0;
  if (a->log) {
    /* 1, 2 and 5 of every decade; only the decades named when there are many. */
    int first = (int)floor(log10(a->lo) + 1e-9), last = (int)ceil(log10(a->hi) - 1e-9);
    for (int k = first; k <= last; k++)
      for (int m = 1; m <= 5 && n < max; m += m == 1 ? 1 : 3) {
        double v = m * pow(10, k);
        if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9)) {
          ticks[n] = v;
          labelled[n++] = m == 1 || last - first <= 3;
        }
      }
    return n;
  }
  for (double i = 0; n < max; i++) {
    double v = a->lo + i * a->step;
    if (v > a->hi + a->step * 1e-6)
      break;
    ticks[n] = fabs(v) < a->step * 1e-9 ? 0 : v; /* no "-0" */
    labelled[n++] = true;
  }
  return n;
}

double lbsim_axis_pos(const lbsim_axis_t *a, double v) {
  double p;
  if (a->log)
    p = v <= a->lo ? 0 : (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  else
    p = (v - a->lo) / (a->hi - a->lo);
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* ---- which backends mattered ------------------------------------------------ */

typedef struct rank_s {
  uint32_t backend;
  double changed_at; /* INFINITY: it did not */
  double requests;   /* sent to it by every policy */
  double time;       /* ... times their expected cost */
  double weight;     /* its share of the requests or of the time, the larger */
} rank_t;

static int by_rank(const void *pa, const void *pb) {
  const rank_t *a = pa, *b = pb;
  if (a->changed_at != b->changed_at)
    return a->changed_at < b->changed_at ? -1 : 1;
  if (a->weight != b->weight)
    return a->weight > b->weight ? -1 : 1;
  return a->backend < b->backend ? -1 : a->backend > b->backend;
}

/* When backend i's expected cost had moved tenfold (below 1 ms counts as 1 ms). */
static double changed_at(const lbsim_timeline_t *tl, uint32_t i) {
  double lo = INFINITY, hi = 0;
  for (uint32_t s = 0; s < tl->nsamples; s++) {
    double c = tl->cost_ms[(size_t)s * tl->n + i];
    if (!isfinite(c))
      continue;
    c = c < 1 ? 1 : c;
    lo = c < lo ? c : lo;
    hi = c > hi ? c : hi;
    if (hi >= CHANGED_RATIO * lo)
      return tl->sample_t[s];
  }
  return INFINITY;
}

/* Requests, and requests x the mean expected cost over each block (a
 * request counts 1 where the cost is unknown: --client-only). */
static void add_requests(const lbsim_timeline_t *tl, rank_t *r) {
  size_t n = tl->n;
  double *mean = calloc(n, sizeof(*mean));
  if (mean == NULL)
    return;
  uint32_t s = 0;
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    uint32_t from = s, count = 0;
    while (s < tl->nsamples && tl->sample_t[s] <= tl->block_end[b])
      s++, count++;
    if (count == 0 && s == 0)
      continue; /* no sample yet: nothing known */
    if (count == 0)
      from = s - 1, count = 1; /* the last before it */
    for (size_t i = 0; i < n; i++) {
      double sum = 0;
      for (uint32_t k = from; k < from + count; k++)
        sum += tl->cost_ms[k * n + i];
      mean[i] = sum / count;
    }
    for (uint32_t w = 0; w < tl->nbalancers; w++) {
      const uint32_t *p = &tl->picks[((size_t)b * tl->nbalancers + w) * n];
      for (size_t i = 0; i < n; i++) {
        r[i].requests += p[i];
        r[i].time += p[i] * (isfinite(mean[i]) ? mean[i] : 1.0);
      }
    }
  }
  free(mean);
}

void lbsim_svg_rank(const lbsim_timeline_t *tl, uint32_t *order) {
  rank_t *r = calloc(tl->n ? tl->n : 1, sizeof(*r));
  if (r == NULL) {
    for (uint32_t i = 0; i < tl->n; i++)
      order[i] = i;
    return;
  }
  for (uint32_t i = 0; i < tl->n; i++) {
    r[i].backend = i;
    r[i].changed_at = changed_at(tl, i);
  }
  add_requests(tl, r);
  /* The busiest matter, and so do the slow or failing ones that few
   * requests went to but that held them longest. */
  double requests = 0, time = 0;
  for (uint32_t i = 0; i < tl->n; i++)
    requests += r[i].requests, time += r[i].time;
  for (uint32_t i = 0; i < tl->n; i++) {
    double a = requests > 0 ? r[i].requests / requests : 0, b = time > 0 ? r[i].time / time : 0;
    r[i].weight = a > b ? a : b;
  }
  qsort(r, tl->n, sizeof(*r), by_rank);
  for (uint32_t i = 0; i < tl->n; i++)
    order[i] = r[i].backend;
  free(r);
}

/* ---- drawing -------------------------------------------------------------- */

void lbsim_svg_escape(FILE *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '&': fputs("&amp;", out); break;
    case '"': fputs("&quot;", out); break;
    default: fputc(*s, out); break;
    }
  }
}

typedef struct frame_s {
  double x0, y0, w, h; /* plot area */
  double t_max;
  lbsim_axis_t y;
} frame_t;

static double fx(const frame_t *f, double t) {
  return f->x0 + (f->t_max > 0 ? t / f->t_max : 0) * f->w;
}

static double fy(const frame_t *f, double v) {
  return f->y0 + f->h - lbsim_axis_pos(&f->y, v) * f->h;
}

static void y_tick(FILE *out, const frame_t *f, double v, const char *fmt, double scale, bool label) {
  double y = fy(f, v);
  fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", f->x0, y, f->x0 + f->w,
          y);
  if (!label)
    return;
  fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">", f->x0 - 6, y + 4);
  fprintf(out, fmt, v * scale);
  fputs("</text>\n", out);
}

/* The frame, the grid and the labels of both axes. */
static void axes(FILE *out, const frame_t *f, const char *y_label, const char *y_fmt, double y_scale) {
  fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" stroke=\"#888\"/>\n",
          f->x0, f->y0, f->w, f->h);
  double ticks[LBSIM_AXIS_MAX_TICKS];
  bool labelled[LBSIM_AXIS_MAX_TICKS];
  uint32_t nticks = lbsim_axis_ticks(&f->y, ticks, labelled, LBSIM_AXIS_MAX_TICKS);
  for (uint32_t k = 0; k < nticks; k++)
    y_tick(out, f, ticks[k], y_fmt, y_scale, labelled[k]);
  double t_step = nice_step(f->t_max > 0 ? f->t_max : 1, 8);
  for (double t = 0; t <= f->t_max * 1.0001; t += t_step) {
    double x = fx(f, t);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", x, f->y0 + f->h, x,
            f->y0 + f->h + 4);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%g</text>\n", x,
            f->y0 + f->h + 16, t);
  }
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">time (s)</text>\n",
          f->x0 + f->w / 2, f->y0 + f->h + 32);
  fprintf(out,
          "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">%s</text>\n",
          f->x0 - 55, f->y0 + f->h / 2, y_label);
}

static bool ever_down(const lbsim_timeline_t *tl, uint32_t i) {
  for (uint32_t s = 0; s < tl->nsamples; s++)
    if (isinf(tl->true_ms[(size_t)s * tl->n + i]))
      return true;
  return false;
}

/* Where backend i is down or stalled: a bar along the top edge (in the
 * row-th row from it), from the first such sample to the next sample after. */
static void down_bars(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t i, uint32_t row,
                      const char *color) {
  for (uint32_t s = 0; s < tl->nsamples; s++) {
    if (!isinf(tl->true_ms[(size_t)s * tl->n + i]))
      continue;
    uint32_t e = s;
    while (e + 1 < tl->nsamples && isinf(tl->true_ms[(size_t)(e + 1) * tl->n + i]))
      e++;
    double x0 = fx(f, tl->sample_t[s]);
    double x1 = e + 1 < tl->nsamples ? fx(f, tl->sample_t[e + 1]) : fx(f, tl->sample_t[e]) + 1;
    fprintf(out,
            "<rect class=\"down\" data-backend=\"%u\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"5\" "
            "fill=\"%s\"><title>backend %u down or stalled from %.2f s</title></rect>\n",
            i + 1, x0, f->y0 + 1 + 6.0 * row, x1 - x0, color, i + 1, tl->sample_t[s]);
    s = e;
  }
}

/* A backend's true latency, held from each sample to the next; gaps where
 * it is down or stalled (see down_bars) or unknown. */
static void truth_line(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t i, const char *color,
                       const char *backends) {
  bool open = false;
  double last_y = 0;
  for (uint32_t s = 0; s < tl->nsamples; s++) {
    float v = tl->true_ms[(size_t)s * tl->n + i];
    double x = fx(f, tl->sample_t[s]);
    if (!isfinite(v)) {
      if (open)
        fprintf(out, "%.1f,%.1f\"/>\n", x, last_y);
      open = false;
      continue;
    }
    double y = fy(f, v);
    if (!open)
      fprintf(out,
              "<polyline class=\"truth\" data-backend=\"%u\" data-backends=\"%s\" fill=\"none\" stroke=\"%s\" "
              "stroke-width=\"2\" points=\"",
              i + 1, backends, color);
    else
      fprintf(out, "%.1f,%.1f ", x, last_y);
    fprintf(out, "%.1f,%.1f ", x, y);
    open = true;
    last_y = y;
  }
  if (open)
    fputs("\"/>\n", out);
}

static void estimate_line(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t w, uint32_t i,
                          const char *color) {
  bool open = false;
  for (uint32_t s = 0; s < tl->nsamples; s++) {
    float v = tl->ema_ms[((size_t)s * tl->nbalancers + w) * tl->n + i];
    if (!isfinite(v)) {
      if (open)
        fputs("\"/>\n", out);
      open = false;
      continue;
    }
    if (!open)
      fprintf(out,
              "<polyline class=\"estimate\" data-backend=\"%u\" fill=\"none\" stroke=\"%s\" " ESTIMATE_STYLE
              " points=\"",
              i + 1, color);
    fprintf(out, "%.1f,%.1f ", fx(f, tl->sample_t[s]), fy(f, v));
    open = true;
  }
  if (open)
    fputs("\"/>\n", out);
}

/* Each block's requests per backend, stacked, from the block's start to its end. */
static void shares(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t w, const uint32_t *order,
                   uint32_t ncolored) {
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    const uint32_t *p = &tl->picks[((size_t)b * tl->nbalancers + w) * tl->n];
    uint64_t total = 0, colored = 0;
    for (uint32_t i = 0; i < tl->n; i++)
      total += p[i];
    if (total == 0)
      continue;
    double x = fx(f, block_start(tl, b)), width = fx(f, tl->block_end[b]) - x;
    double y = f->y0 + f->h;
    for (uint32_t k = 0; k <= ncolored; k++) {
      uint64_t c;
      if (k < ncolored) {
        c = p[order[k]];
        colored += c;
      } else {
        c = total - colored; /* every other backend */
      }
      if (c == 0)
        continue;
      double hgt = f->h * (double)c / (double)total;
      y -= hgt;
      fprintf(out,
              "<rect class=\"share\" data-backend=\"%u\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
              "fill=\"%s\"/>\n",
              k < ncolored ? order[k] + 1 : 0, x, y, width > 0.5 ? width : 0.5, hgt,
              k < ncolored ? lbsim_svg_palette[k] : OTHERS_COLOR);
    }
  }
}

static double failed_share(const lbsim_timeline_t *tl, uint32_t b, uint32_t w) {
  uint32_t answered = tl->answered[(size_t)b * tl->nbalancers + w];
  return answered ? (double)tl->failed[(size_t)b * tl->nbalancers + w] / answered : 0.0;
}

/* Requests of balancer w that ended (and how many failed) over the run. */
static uint64_t answers(const lbsim_timeline_t *tl, uint32_t w, uint64_t *failed) {
  uint64_t answered = 0;
  *failed = 0;
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    answered += tl->answered[(size_t)b * tl->nbalancers + w];
    *failed += tl->failed[(size_t)b * tl->nbalancers + w];
  }
  return answered;
}

static void failures(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t w) {
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    uint32_t failed = tl->failed[(size_t)b * tl->nbalancers + w];
    if (failed == 0)
      continue;
    double x = fx(f, block_start(tl, b)), width = fx(f, tl->block_end[b]) - x;
    double hgt = f->h * lbsim_axis_pos(&f->y, failed_share(tl, b, w));
    hgt = hgt < 1 ? 1 : hgt; /* a few failures still show */
    fprintf(out,
            "<rect class=\"failed\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
            "<title>%u failed of %u</title></rect>\n",
            x, f->y0 + f->h - hgt, width > 0.5 ? width : 0.5, hgt, FAIL_COLOR, failed,
            tl->answered[(size_t)b * tl->nbalancers + w]);
  }
}

typedef struct layout_s {
  double t_max;
  lbsim_axis_t latency, failed;
  const uint32_t *order;       /* the backends drawn in colour, by backend number */
  uint32_t ncolored;
  /* Backends whose true latency is the same all along are drawn as one
   * line in SAME_COLOR (a coloured line would hide the others): same[k] is
   * the first of order[k]'s group, k itself when it is alone; members[k]
   * the group's numbers ("2 3 4"), for the first of a group. */
  uint32_t same[LBSIM_SVG_COLORS];
  char members[LBSIM_SVG_COLORS][LBSIM_SVG_COLORS * 6];
} layout_t;

static bool same_truth(const lbsim_timeline_t *tl, uint32_t a, uint32_t b) {
  for (uint32_t s = 0; s < tl->nsamples; s++) {
    float x = tl->true_ms[(size_t)s * tl->n + a], y = tl->true_ms[(size_t)s * tl->n + b];
    if (x != y && !(isnan(x) && isnan(y)))
      return false;
  }
  return tl->nsamples > 0;
}

static void find_same(const lbsim_timeline_t *tl, layout_t *l) {
  for (uint32_t k = 0; k < l->ncolored; k++) {
    l->same[k] = k;
    for (uint32_t j = 0; j < k && l->same[k] == k; j++)
      if (l->same[j] == j && same_truth(tl, l->order[j], l->order[k]))
        l->same[k] = j;
    snprintf(l->members[k], sizeof(l->members[k]), "%u", l->order[k] + 1);
    if (l->same[k] != k) {
      char *m = l->members[l->same[k]];
      size_t len = strlen(m);
      snprintf(m + len, sizeof(l->members[0]) - len, " %u", l->order[k] + 1);
    }
  }
}

static bool grouped(const layout_t *l, uint32_t k) {
  return l->same[k] != k || strchr(l->members[k], ' ') != NULL;
}

/* Where a policy's backends are: "127.0.0.1 ports 5006–5010" when they are
 * one host's consecutive ports (a copy of the backends in compare mode),
 * else each one's address, the list cut short on the page and whole in its
 * tooltip. */
static void where(FILE *out, const char *const *names, uint32_t n) {
  lbsim_url_t *url = malloc(sizeof(*url));
  char host[sizeof(url->host)] = "";
  uint32_t first_port = 0;
  bool consecutive = url != NULL && n > 0;
  for (uint32_t i = 0; i < n && consecutive; i++) {
    char err[128];
    consecutive = lbsim_url_parse(url, names[i], err, sizeof(err)) == 0;
    if (consecutive && i == 0) {
      memcpy(host, url->host, sizeof(host));
      first_port = url->port;
    }
    consecutive = consecutive && strcmp(url->host, host) == 0 && url->port == first_port + i;
  }
  free(url);
  if (consecutive) {
    fputs(n > 1 ? "backends 1–" : "backend ", out);
    fprintf(out, "%u: ", n);
    lbsim_svg_escape(out, host);
    if (n > 1)
      fprintf(out, " ports %u–%u", first_port, first_port + n - 1);
    else
      fprintf(out, " port %u", first_port);
    return;
  }
  fputs("<title>", out);
  for (uint32_t i = 0; i < n; i++) {
    fprintf(out, "%sbackend %u: ", i ? "\n" : "", i + 1);
    lbsim_svg_escape(out, names[i]);
  }
  fputs("</title>", out);
  for (uint32_t i = 0; i < n && i < 3; i++) {
    fprintf(out, "%s%u: ", i ? ", " : "backend ", i + 1);
    lbsim_svg_escape(out, names[i]);
  }
  if (n > 3)
    fputs(", …", out);
}

/* The end of the last block in which balancer w sent requests (a policy
 * that is done with --requests before the others). */
static double last_requests(const lbsim_timeline_t *tl, uint32_t w) {
  for (uint32_t b = tl->nblocks; b-- > 0;) {
    const uint32_t *p = &tl->picks[((size_t)b * tl->nbalancers + w) * tl->n];
    for (uint32_t i = 0; i < tl->n; i++)
      if (p[i] > 0)
        return tl->block_end[b];
  }
  return 0;
}

/* Whether a fleet's measures were recorded for balancer w. */
static bool has_fleet(const lbsim_timeline_t *tl, uint32_t w) {
  for (uint32_t b = 0; b < tl->nblocks; b++)
    if (isfinite(tl->herd[(size_t)b * tl->nbalancers + w]))
      return true;
  return false;
}

static double panel_height(const lbsim_timeline_t *tl, uint32_t w) {
  uint64_t failed;
  answers(tl, w, &failed);
  double h = failed > 0 ? PANEL_H : PANEL_H - FAIL_H - GAP_H + NO_FAIL_H;
  return h + (has_fleet(tl, w) ? 2 * (FLEET_H + GAP_H) : 0) + (tl->tools ? TRAFFIC_H + GAP_H : 0);
}

/* ---- offered load, attempts and goodput (the tools around the pick) ------- */

/* A series of balancer w per block, as a rate (per second of its block). */
static double per_second(const lbsim_timeline_t *tl, const uint32_t *series, uint32_t b, uint32_t w) {
  double span = tl->block_end[b] - block_start(tl, b);
  return span > 0 ? series[(size_t)b * tl->nbalancers + w] / span : 0;
}

static void rate_line(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, const uint32_t *series, uint32_t w,
                      const char *name, const char *style) {
  fprintf(out, "<polyline class=\"%s\" fill=\"none\" %s points=\"", name, style);
  for (uint32_t b = 0; b < tl->nblocks; b++)
    fprintf(out, "%.2f,%.2f %.2f,%.2f ", fx(f, block_start(tl, b)), fy(f, per_second(tl, series, b, w)),
            fx(f, tl->block_end[b]), fy(f, per_second(tl, series, b, w)));
  fputs("\"/>\n", out);
}

/* Offered load (user requests started), attempts sent and goodput (user
 * requests answered well) per second, with the ejections (red, above) and
 * returns (green, below) of balancer w's clients as ticks. */
static void traffic(FILE *out, double top, const lbsim_timeline_t *tl, uint32_t w, double t_max) {
  double max = 0;
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    double v[] = {per_second(tl, tl->offered, b, w), per_second(tl, tl->sent, b, w), per_second(tl, tl->good, b, w)};
    for (size_t k = 0; k < LBSIM_ARRAY_SIZE(v); k++)
      max = v[k] > max ? v[k] : max;
  }
  frame_t f = {MARGIN_LEFT, top, PLOT_W, TRAFFIC_H, t_max, {0}};
  lbsim_axis_fit(&f.y, 0, max > 0 ? max : 1);
  fputs("<g class=\"traffic\">\n", out);
  axes(out, &f, "requests per second", "%g", 1);
  /* Offered last, dashed: on top of the others where they coincide (a healthy run). */
  rate_line(out, &f, tl, tl->sent, w, "attempts", "stroke=\"#ff7f0e\" stroke-width=\"1.5\"");
  rate_line(out, &f, tl, tl->good, w, "goodput", "stroke=\"#2ca02c\" stroke-width=\"2\"");
  rate_line(out, &f, tl, tl->offered, w, "offered", "stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"6,3\"");
  static const struct {
    const char *name, *color;
  } keys[] = {{"offered", "#555"}, {"attempts", "#ff7f0e"}, {"goodput", "#2ca02c"}};
  for (size_t k = 0; k < LBSIM_ARRAY_SIZE(keys); k++)
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">%s</text>\n", f.x0 + f.w + 8,
            f.y0 + 12 + 14.0 * (double)k, keys[k].color, keys[k].name);
  uint32_t ejections = 0, returns = 0;
  for (uint32_t m = 0; m < tl->nmarks; m++) {
    const lbsim_timeline_mark_t *mk = &tl->marks[m];
    if (mk->balancer != w)
      continue;
    double x = fx(&f, mk->t), y = mk->ejected ? f.y0 : f.y0 + f.h - 8;
    fprintf(out,
            "<line class=\"%s\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\">"
            "<title>client %u: backend %u %s at %.3f s</title></line>\n",
            mk->ejected ? "ejection" : "return", x, y, x, y + 8, mk->ejected ? FAIL_COLOR : "#2ca02c",
            mk->client + 1, mk->backend + 1, mk->ejected ? "ejected" : "back", mk->t);
    *(mk->ejected ? &ejections : &returns) += 1;
  }
  if (ejections + returns + tl->marks_dropped > 0)
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555\">%u ejections, %u returns%s</text>\n",
            f.x0 + f.w + 8, f.y0 + 12 + 14.0 * 3.5, ejections, returns, tl->marks_dropped ? " (and more)" : "");
  fputs("</g>\n", out);
}

/* One of a fleet's measures, block by block, as a step line. */
static void measure_line(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, uint32_t w, const float *values,
                         const char *title) {
  fprintf(out, "<path fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\" d=\"");
  bool pen = false;
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    float v = values[(size_t)b * tl->nbalancers + w];
    if (!isfinite(v)) {
      pen = false;
      continue;
    }
    double y = fy(f, v);
    fprintf(out, "%s%.2f,%.2f L%.2f,%.2f ", pen ? "L" : "M", fx(f, block_start(tl, b)), y, fx(f, tl->block_end[b]), y);
    pen = true;
  }
  fprintf(out, "\"><title>%s</title></path>\n", title);
}

/* A fleet's herd (the largest share of its clients whose last pick went to
 * one backend) and load imbalance (time-averaged requests in flight,
 * busiest backend over the mean), interval by interval. */
static void fleet_measures(FILE *out, const lbsim_timeline_t *tl, uint32_t w, double top, double t_max) {
  double most = 1;
  for (uint32_t b = 0; b < tl->nblocks; b++) {
    float v = tl->imbalance[(size_t)b * tl->nbalancers + w];
    most = isfinite(v) && v > most ? v : most;
  }
  frame_t herd = {MARGIN_LEFT, top, PLOT_W, FLEET_H, t_max, {false, 0, 1, 0.5}};
  fputs("<g class=\"herd\">\n", out);
  axes(out, &herd, "herd", "%g%%", 100);
  measure_line(out, &herd, tl, w, tl->herd, "the largest share of clients whose last pick went to one backend");
  fputs("</g>\n", out);
  frame_t imb = {MARGIN_LEFT, top + FLEET_H + GAP_H, PLOT_W, FLEET_H, t_max, {false, 0, 1, 1}};
  lbsim_axis_fit(&imb.y, 0, most);
  fputs("<g class=\"imbalance\">\n", out);
  axes(out, &imb, "imbalance", "%g", 1);
  measure_line(out, &imb, tl, w, tl->imbalance, "requests in flight: busiest backend over the mean (1: even)");
  fputs("</g>\n", out);
}

static void panel(FILE *out, const lbsim_timeline_t *tl, uint32_t w, const char *policy, const char *const *names,
                  double top, const layout_t *l) {
  fprintf(out, "<g class=\"panel\" data-policy=\"");
  lbsim_svg_escape(out, policy);
  fprintf(out, "\">\n<text x=\"%d\" y=\"%.1f\" font-size=\"15\"><tspan font-weight=\"bold\">", MARGIN_LEFT,
          top + 22);
  lbsim_svg_escape(out, policy);
  fputs("</tspan><tspan class=\"where\" dx=\"12\" font-size=\"12\" fill=\"#555\">", out);
  where(out, names, tl->n);
  double done = last_requests(tl, w);
  if (done > 0 && done < 0.95 * l->t_max)
    fprintf(out, "; every request sent by %g s", done);
  fputs("</tspan></text>\n", out);

  frame_t lat = {MARGIN_LEFT, top + 40, PLOT_W, LAT_H, l->t_max, l->latency};
  fprintf(out, "<g class=\"latency\" data-scale=\"%s\" data-lo=\"%g\" data-hi=\"%g\">\n", l->latency.log ? "log" : "linear",
          l->latency.lo, l->latency.hi);
  axes(out, &lat, l->latency.log ? "latency (ms, log scale)" : "latency (ms)", "%g", 1);
  for (uint32_t k = 0, rows = 0; k < l->ncolored; k++) {
    if (l->same[k] != k)
      continue; /* drawn with the first of its group */
    const char *color = grouped(l, k) ? SAME_COLOR : lbsim_svg_palette[k];
    truth_line(out, &lat, tl, l->order[k], color, l->members[k]);
    if (ever_down(tl, l->order[k]))
      down_bars(out, &lat, tl, l->order[k], rows++, color);
  }
  for (uint32_t k = 0; k < l->ncolored; k++) {
    estimate_line(out, &lat, tl, w, l->order[k], lbsim_svg_palette[k]);
  }
  fputs("</g>\n", out);

  frame_t share = {MARGIN_LEFT, lat.y0 + LAT_H + GAP_H, PLOT_W, SHARE_H, l->t_max, {false, 0, 1, 0.25}};
  fputs("<g class=\"shares\" shape-rendering=\"crispEdges\">\n", out);
  axes(out, &share, "share of requests", "%g%%", 100);
  shares(out, &share, tl, w, l->order, l->ncolored);
  fputs("</g>\n", out);

  uint64_t failed, answered = answers(tl, w, &failed);
  fputs("<g class=\"failures\" shape-rendering=\"crispEdges\">\n", out);
  double next = share.y0 + SHARE_H + GAP_H;
  if (failed > 0) {
    frame_t fail = {MARGIN_LEFT, next, PLOT_W, FAIL_H, l->t_max, l->failed};
    axes(out, &fail, "failed", "%g%%", 100);
    failures(out, &fail, tl, w);
    next += FAIL_H + GAP_H;
  } else {
    fprintf(out, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"#555\">no failures: 0 of the %llu answers failed</text>\n",
            MARGIN_LEFT, share.y0 + SHARE_H + 52, (unsigned long long)answered);
    next += NO_FAIL_H + 10;
  }
  fputs("</g>\n", out);
  if (has_fleet(tl, w)) {
    fleet_measures(out, tl, w, next, l->t_max);
    next += 2 * (FLEET_H + GAP_H);
  }
  if (tl->tools)
    traffic(out, next, tl, w, l->t_max);
  fputs("</g>\n", out);
}

/* "2 3 4 5 7" as "2–5, 7". */
static void numbers(FILE *out, const char *list) {
  unsigned v[LBSIM_SVG_COLORS];
  uint32_t n = 0;
  for (const char *p = list; *p && n < LBSIM_SVG_COLORS; n++) {
    char *end;
    v[n] = (unsigned)strtoul(p, &end, 10);
    p = end;
  }
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i;
    while (j + 1 < n && v[j + 1] == v[j] + 1)
      j++;
    fprintf(out, "%s%u", i ? ", " : "", v[i]);
    if (j >= i + 2)
      fprintf(out, "–%u", v[j]);
    else if (j == i + 1)
      fprintf(out, ", %u", v[j]);
    i = j + 1;
  }
}

/* The backends by number (each policy's copies: see its panel's title). */
static void legend(FILE *out, const layout_t *l, uint32_t n, bool fleet) {
  double x = WIDTH - MARGIN_RIGHT + 20, y = 70;
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\">backends</text>\n", x, y - 18);
  for (uint32_t k = 0; k < l->ncolored; k++, y += 18) {
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10,
            lbsim_svg_palette[k]);
    fprintf(out,
            "<text class=\"legend-backend\" data-backend=\"%u\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">backend %u</text>\n",
            l->order[k] + 1, x + 18, y, l->order[k] + 1);
  }
  if (n > l->ncolored) {
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10, OTHERS_COLOR);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%u other backend%s</text>\n", x + 18, y,
            n - l->ncolored, n - l->ncolored == 1 ? "" : "s");
    y += 18;
  }
  for (uint32_t k = 0; k < l->ncolored; k++) {
    if (l->same[k] != k || !grouped(l, k))
      continue;
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
            "<text class=\"legend-same\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">same true latency: ",
            x, y - 4, x + 12, y - 4, SAME_COLOR, x + 18, y);
    numbers(out, l->members[k]);
    fputs("</text>\n", out);
    y += 18;
  }
  y += 10;
  fprintf(out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"2\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">true latency</text>\n",
          x, y - 4, x + 24, y - 4, x + 30, y);
  y += 18;
  fprintf(out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" " ESTIMATE_STYLE
          "/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>\n",
          x, y - 4, x + 24, y - 4, x + 30, y, fleet ? "client 1's estimate (of the fleet)" : "the policy's estimate");
  y += 18;
  fprintf(out,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"5\" fill=\"#333\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">down or stalled (top edge)</text>\n",
          x, y - 7, x + 30, y);
  y += 18;
  fprintf(out,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"10\" fill=\"%s\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">failed, share of answers</text>\n",
          x, y - 9, FAIL_COLOR, x + 30, y);
}

/* The shared axes: the whole run; every value drawn, true latencies and
 * estimates alike (an estimate fed failures climbs towards the failure
 * latency); the highest share of failed answers. */
static void fit_layout(const lbsim_timeline_t *tl, layout_t *l) {
  l->t_max = 0;
  if (tl->nsamples)
    l->t_max = tl->sample_t[tl->nsamples - 1];
  if (tl->nblocks && tl->block_end[tl->nblocks - 1] > l->t_max)
    l->t_max = tl->block_end[tl->nblocks - 1];
  if (l->t_max <= 0)
    l->t_max = 1;

  double lo = INFINITY, hi = 0;
  for (uint32_t s = 0; s < tl->nsamples; s++)
    for (uint32_t k = 0; k < l->ncolored; k++) {
      uint32_t i = l->order[k];
      for (uint32_t w = 0; w <= tl->nbalancers; w++) {
        float v = w == tl->nbalancers ? tl->true_ms[(size_t)s * tl->n + i]
                                   : tl->ema_ms[((size_t)s * tl->nbalancers + w) * tl->n + i];
        if (!isfinite(v))
          continue;
        hi = v > hi ? v : hi;
        if (v > 0 && v < lo)
          lo = v;
      }
    }
  lbsim_axis_fit(&l->latency, lo, hi);

  double worst = 0;
  for (uint32_t b = 0; b < tl->nblocks; b++)
    for (uint32_t w = 0; w < tl->nbalancers; w++)
      if (failed_share(tl, b, w) > worst)
        worst = failed_share(tl, b, w);
  lbsim_axis_fit(&l->failed, 0, worst > 0.01 ? worst : 0.01); /* at least 0-1 % */
  if (l->failed.hi > 1) {
    l->failed.hi = 1; /* never above 100 % */
    l->failed.step = 0.25;
  }
}

static int by_number(const void *pa, const void *pb) {
  uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  return a < b ? -1 : a > b;
}

int lbsim_svg_write(FILE *out, const lbsim_timeline_t *tl, const char *const *const *names,
                    const char *const *policies, const char *title) {
  uint32_t *order = malloc((tl->n ? tl->n : 1) * sizeof(*order));
  if (order == NULL)
    return LBSIM_ENOMEM;
  lbsim_svg_rank(tl, order);
  /* The backends that mattered most get the colours, in the order of their
   * numbers, as the reader looks them up. */
  layout_t l = {.order = order, .ncolored = tl->n < LBSIM_SVG_COLORS ? tl->n : LBSIM_SVG_COLORS};
  qsort(order, l.ncolored, sizeof(*order), by_number);
  fit_layout(tl, &l);
  find_same(tl, &l);

  double height = 50;
  for (uint32_t w = 0; w < tl->nbalancers; w++)
    height += panel_height(tl, w);
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          WIDTH, (int)height, WIDTH, (int)height);
  fputs("<text class=\"title\" x=\"20\" y=\"30\" font-size=\"18\">", out);
  lbsim_svg_escape(out, title);
  fputs("</text>\n", out);
  double top = 40;
  for (uint32_t w = 0; w < tl->nbalancers; w++) {
    panel(out, tl, w, policies[w], names[w], top, &l);
    top += panel_height(tl, w);
  }
  bool fleet = false;
  for (uint32_t w = 0; w < tl->nbalancers; w++)
    fleet = fleet || has_fleet(tl, w);
  legend(out, &l, tl->n, fleet);
  fputs("</svg>\n", out);
  free(order);
  return ferror(out) ? LBSIM_EIO : 0;
}
