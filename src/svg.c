/* Timeline and SVG drawing. See lbsim/svg.h. */
#include "lbsim/svg.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TOP_BACKENDS 9      /* drawn one by one; the rest are "others" */
#define WIDTH 1100
#define MARGIN_LEFT 80
#define MARGIN_RIGHT 250
#define PLOT_W (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)
#define LAT_H 230
#define SHARE_H 110
#define PANEL_H (40 + LAT_H + 50 + SHARE_H + 60)

static const char *const palette[TOP_BACKENDS] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                                  "#e377c2", "#17becf", "#bcbd22", "#393b79"};
#define OTHERS_COLOR "#b0b0b0"
#define FAIL_COLOR "#d62728"

/* ---- timeline ------------------------------------------------------------ */

int lbsim_timeline_init(lbsim_timeline_t *tl, uint32_t nworlds, uint32_t n) {
  memset(tl, 0, sizeof(*tl));
  tl->nworlds = nworlds;
  tl->n = n;
  tl->stride = 1;
  tl->cap = LBSIM_TIMELINE_MAX;
  size_t per = (size_t)nworlds * n;
  tl->t = malloc(tl->cap * sizeof(*tl->t));
  tl->true_ms = malloc((size_t)tl->cap * n * sizeof(*tl->true_ms));
  tl->ema_ms = malloc(tl->cap * per * sizeof(*tl->ema_ms));
  tl->picks = malloc(tl->cap * per * sizeof(*tl->picks));
  tl->failed = malloc((size_t)tl->cap * nworlds * sizeof(*tl->failed));
  if (!tl->t || !tl->true_ms || !tl->ema_ms || !tl->picks || !tl->failed) {
    lbsim_timeline_free(tl);
    return -1;
  }
  return 0;
}

/* Keeps every other snapshot: the timeline covers the whole run at half
 * the resolution. */
static void thin(lbsim_timeline_t *tl) {
  size_t per = (size_t)tl->nworlds * tl->n;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < tl->len; i += 2, kept++) {
    tl->t[kept] = tl->t[i];
    memmove(&tl->true_ms[(size_t)kept * tl->n], &tl->true_ms[(size_t)i * tl->n], tl->n * sizeof(float));
    memmove(&tl->ema_ms[kept * per], &tl->ema_ms[i * per], per * sizeof(float));
    memmove(&tl->picks[kept * per], &tl->picks[i * per], per * sizeof(uint32_t));
    memmove(&tl->failed[(size_t)kept * tl->nworlds], &tl->failed[(size_t)i * tl->nworlds],
            tl->nworlds * sizeof(uint32_t));
  }
  tl->len = kept;
  tl->stride *= 2;
}

int lbsim_timeline_push(lbsim_timeline_t *tl, double t_s) {
  if (tl->t == NULL)
    return -1;
  if (tl->seen++ % tl->stride != 0)
    return -1;
  if (tl->len == tl->cap)
    thin(tl);
  tl->t[tl->len] = t_s;
  return (int)tl->len++;
}

void lbsim_timeline_free(lbsim_timeline_t *tl) {
  free(tl->t);
  free(tl->true_ms);
  free(tl->ema_ms);
  free(tl->picks);
  free(tl->failed);
  memset(tl, 0, sizeof(*tl));
}

/* ---- drawing -------------------------------------------------------------- */

static void escaped(FILE *out, const char *s) {
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

/* A "nice" step for about `ticks` divisions of [0, max]. */
static double nice_step(double max, int ticks) {
  double raw = max / ticks;
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

typedef struct frame_s {
  double x0, y0, w, h;   /* plot area */
  double t_max, y_max;
} frame_t;

static double fx(const frame_t *f, double t) {
  return f->x0 + (f->t_max > 0 ? t / f->t_max : 0) * f->w;
}

static double fy(const frame_t *f, double v) {
  return f->y0 + f->h - (v / f->y_max) * f->h;
}

static void axes(FILE *out, const frame_t *f, const char *y_label, const char *y_unit_fmt, double y_step,
                 double y_scale) {
  fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" stroke=\"#888\"/>\n",
          f->x0, f->y0, f->w, f->h);
  for (double v = 0; v <= f->y_max * 1.0001; v += y_step) {
    double y = fy(f, v);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", f->x0, y,
            f->x0 + f->w, y);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">", f->x0 - 6, y + 4);
    fprintf(out, y_unit_fmt, v * y_scale);
    fputs("</text>\n", out);
  }
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

/* Backends ordered by requests over every policy: the busiest get colours. */
static void rank_backends(const lbsim_timeline_t *tl, uint32_t *order) {
  uint64_t *total = calloc(tl->n, sizeof(*total));
  for (uint32_t i = 0; i < tl->n; i++)
    order[i] = i;
  if (total == NULL)
    return;
  for (uint32_t s = 0; s < tl->len; s++)
    for (uint32_t w = 0; w < tl->nworlds; w++)
      for (uint32_t i = 0; i < tl->n; i++)
        total[i] += tl->picks[((size_t)s * tl->nworlds + w) * tl->n + i];
  /* Few backends are drawn: a selection of the top ones is enough. */
  for (uint32_t k = 0; k < tl->n && k < TOP_BACKENDS; k++) {
    uint32_t best = k;
    for (uint32_t i = k + 1; i < tl->n; i++)
      if (total[order[i]] > total[order[best]] || (total[order[i]] == total[order[best]] && order[i] < order[best]))
        best = i;
    uint32_t tmp = order[k];
    order[k] = order[best];
    order[best] = tmp;
  }
  free(total);
}

static void polyline(FILE *out, const frame_t *f, const lbsim_timeline_t *tl, const float *series, size_t stride,
                     const char *color, bool dashed) {
  bool open = false;
  for (uint32_t s = 0; s < tl->len; s++) {
    float v = series[s * stride];
    if (!isfinite(v)) {
      if (open)
        fputs("\"/>\n", out);
      open = false;
      continue;
    }
    if (!open)
      fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"", color,
              dashed ? "1.5" : "2", dashed ? " stroke-dasharray=\"6,4\"" : "");
    fprintf(out, "%.1f,%.1f ", fx(f, tl->t[s]), fy(f, v > f->y_max ? f->y_max : v));
    open = true;
  }
  if (open)
    fputs("\"/>\n", out);
}

static void panel(FILE *out, const lbsim_timeline_t *tl, uint32_t w, const char *policy, double top, double t_max,
                  double y_max, const uint32_t *order, uint32_t ncolored) {
  fprintf(out, "<text x=\"%d\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">", MARGIN_LEFT, top + 22);
  escaped(out, policy);
  fputs("</text>\n", out);

  frame_t lat = {MARGIN_LEFT, top + 40, PLOT_W, LAT_H, t_max, y_max};
  axes(out, &lat, "latency (ms)", "%g", nice_step(y_max, 5), 1);
  for (uint32_t k = 0; k < ncolored; k++) {
    uint32_t i = order[k];
    polyline(out, &lat, tl, &tl->true_ms[i], tl->n, palette[k], false);
    polyline(out, &lat, tl, &tl->ema_ms[(size_t)w * tl->n + i], (size_t)tl->nworlds * tl->n, palette[k], true);
  }
  /* Rounds with failures: red marks along the top, taller for more. */
  for (uint32_t s = 0; s < tl->len; s++) {
    uint32_t failed = tl->failed[(size_t)s * tl->nworlds + w];
    if (failed == 0)
      continue;
    double x = fx(&lat, tl->t[s]);
    double hgt = 4 + 3 * log10(1 + failed);
    fprintf(out, "<path d=\"M%.1f %.1f l-4 %.1f h8 z\" fill=\"%s\"><title>%u failed</title></path>\n", x,
            lat.y0 + hgt + 2, -hgt, FAIL_COLOR, failed);
  }

  frame_t share = {MARGIN_LEFT, lat.y0 + LAT_H + 50, PLOT_W, SHARE_H, t_max, 1.0};
  axes(out, &share, "share of requests", "%g%%", 0.25, 100);
  double bar_w = tl->len > 1 ? PLOT_W / (double)tl->len : PLOT_W / 10.0;
  for (uint32_t s = 0; s < tl->len; s++) {
    const uint32_t *p = &tl->picks[((size_t)s * tl->nworlds + w) * tl->n];
    uint64_t total = 0, colored = 0;
    for (uint32_t i = 0; i < tl->n; i++)
      total += p[i];
    if (total == 0)
      continue;
    double x = fx(&share, tl->t[s]) - bar_w / 2, y = share.y0 + share.h;
    if (x < share.x0)
      x = share.x0;
    if (x + bar_w > share.x0 + share.w)
      x = share.x0 + share.w - bar_w;
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
      double hgt = share.h * (double)c / (double)total;
      y -= hgt;
      fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x, y,
              bar_w > 1.5 ? bar_w - 0.5 : bar_w, hgt, k < ncolored ? palette[k] : OTHERS_COLOR);
    }
  }
}

static void legend(FILE *out, const char *const *names, const uint32_t *order, uint32_t ncolored, uint32_t n) {
  double x = WIDTH - MARGIN_RIGHT + 20, y = 70;
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\">backends</text>\n", x, y - 18);
  for (uint32_t k = 0; k < ncolored; k++, y += 18) {
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10, palette[k]);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%u ", x + 18, y, order[k] + 1);
    escaped(out, names[order[k]]);
    fputs("</text>\n", out);
  }
  if (n > ncolored) {
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10, OTHERS_COLOR);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%u others</text>\n", x + 18, y, n - ncolored);
    y += 18;
  }
  y += 10;
  fprintf(out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"2\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">true latency</text>\n",
          x, y - 4, x + 24, y - 4, x + 30, y);
  y += 18;
  fprintf(out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"1.5\" "
          "stroke-dasharray=\"6,4\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">estimate (EMA)</text>\n",
          x, y - 4, x + 24, y - 4, x + 30, y);
  y += 18;
  fprintf(out,
          "<path d=\"M%.1f %.1f l-4 -7 h8 z\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">round with "
          "failures</text>\n",
          x + 12, y, FAIL_COLOR, x + 30, y);
}

int lbsim_svg_write(FILE *out, const lbsim_timeline_t *tl, const char *const *names, const char *const *policies,
                    const char *title) {
  uint32_t *order = malloc((tl->n ? tl->n : 1) * sizeof(*order));
  if (order == NULL)
    return -1;
  rank_backends(tl, order);
  uint32_t ncolored = tl->n < TOP_BACKENDS ? tl->n : TOP_BACKENDS;

  /* Shared axes: the whole run, and the highest true latency of any drawn
   * backend. Estimates above it (a failure counts 10 s) are cut at the top. */
  double t_max = tl->len ? tl->t[tl->len - 1] : 1;
  double y_max = 0;
  for (uint32_t s = 0; s < tl->len; s++)
    for (uint32_t k = 0; k < ncolored; k++) {
      float v = tl->true_ms[(size_t)s * tl->n + order[k]];
      if (isfinite(v) && v > y_max)
        y_max = v;
    }
  if (y_max == 0) {
    /* No truth known (--client-only): the estimates, but not failures'. */
    for (size_t k = 0; k < (size_t)tl->len * tl->nworlds * tl->n; k++)
      if (isfinite(tl->ema_ms[k]) && tl->ema_ms[k] > y_max && tl->ema_ms[k] < 9000)
        y_max = tl->ema_ms[k];
  }
  if (y_max <= 0)
    y_max = 1;
  double step = nice_step(y_max * 1.2, 5);
  y_max = step * ceil(y_max * 1.2 / step);

  int height = 50 + (int)tl->nworlds * PANEL_H;
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          WIDTH, height, WIDTH, height);
  fputs("<text x=\"20\" y=\"30\" font-size=\"18\">", out);
  escaped(out, title);
  fputs("</text>\n", out);
  for (uint32_t w = 0; w < tl->nworlds; w++)
    panel(out, tl, w, policies[w], 40 + (double)w * PANEL_H, t_max, y_max, order, ncolored);
  legend(out, names, order, ncolored, tl->n);
  fputs("</svg>\n", out);
  free(order);
  return ferror(out) ? -1 : 0;
}
