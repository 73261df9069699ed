/* A sweep's plot. See lbsim/report/svg.h. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lbsim/base/error.h"

#include "lbsim/report/svg.h"

#define WIDTH 1100 /* at least: wider when the legend needs it */
#define X0 90.0
#define Y0 60.0
#define PLOT_W 680.0
#define PLOT_H 420.0
#define LEGEND_X (X0 + PLOT_W + 30)
#define LEGEND_ROW 17.0
#define LEGEND_MAX 40 /* lines named in the legend; the rest are counted */
#define LEGEND_CHAR 6.2 /* width of a character of the legend, roughly */
#define LABEL_LEN 512

/* Dash patterns, one per policy when several policies share a plot. */
static const char *const dashes[] = {"", "8,4", "2,3", "10,3,2,3", "4,2", "14,3,3,3,3,3"};

/* One line: a policy and a value of each other swept parameter it uses. */
typedef struct line_s {
  uint32_t policy;
  uint32_t base;  /* the combination of its first point (first parameter at its first value) */
  bool flat;      /* the policy does not use the first parameter: one value for all */
} line_t;

typedef struct plot_s {
  const lbsim_sweep_plot_t *p;
  const lbsim_sweep_axis_t *x_axis;
  uint32_t stride;        /* combinations between two values of the first parameter */
  lbsim_axis_t x, y;
  /* The swept values evenly spaced, in their order: when they include 0
   * and the others span more than 20x (explore=0,0.002,...,0.05), where a
   * linear axis crowds the small ones together and a log one has no 0. */
  bool categorical;
  double scale;           /* 100 for shares, shown as percentages */
  bool nonnegative;       /* no value below 0: nor are the bands */
} plot_t;

/* Where the i-th value of the first parameter is drawn. */
static double px(const plot_t *pl, uint32_t i) {
  if (pl->categorical)
    return X0 + PLOT_W * (i + 0.5) / pl->x_axis->nvalues;
  return X0 + lbsim_axis_pos(&pl->x, pl->x_axis->values[i]) * PLOT_W;
}

static double py(const plot_t *pl, double v) {
  return Y0 + PLOT_H - lbsim_axis_pos(&pl->y, v) * PLOT_H;
}

static double value(const plot_t *pl, const line_t *l, uint32_t i) {
  return pl->p->values[(size_t)(l->base + i * pl->stride) * pl->p->npolicies + l->policy];
}

/* The band around point i of a line: false where it has none. */
static bool band(const plot_t *pl, const line_t *l, uint32_t i, double *low, double *high) {
  if (pl->p->half == NULL)
    return false;
  size_t at = (size_t)(l->base + i * pl->stride) * pl->p->npolicies + l->policy;
  double v = pl->p->values[at], h = pl->p->half[at];
  if (!isfinite(v) || !isfinite(h))
    return false;
  *low = pl->nonnegative && v - h < 0 ? 0 : v - h;
  *high = v + h;
  return true;
}

/* The lines, policy by policy; a policy's lines for each value of the other
 * parameters it uses, in combination order. */
static uint32_t find_lines(const plot_t *pl, line_t *lines) {
  const lbsim_sweep_plot_t *p = pl->p;
  uint32_t n = 0;
  for (uint32_t w = 0; w < p->npolicies; w++)
    for (uint32_t c = 0; c < pl->stride; c++) /* the first parameter at its first value */
      if (lbsim_sweep_runs(p->sweep, c, p->unused[w]))
        lines[n++] = (line_t){w, c, (p->unused[w] & 1u) != 0};
  return n;
}

/* "policy, explore=0.05" (and whether it uses the first parameter); with
 * one policy, named once in the legend's head, "explore=0.05". */
static void line_label(const plot_t *pl, const line_t *l, char *label) {
  const lbsim_sweep_t *s = pl->p->sweep;
  double values[LBSIM_SWEEP_PARAMS];
  lbsim_sweep_values(s, l->base, values);
  size_t len = 0;
  label[0] = '\0';
  for (uint32_t k = 1; k < s->naxes && len < LABEL_LEN; k++)
    if (!(pl->p->unused[l->policy] & (1u << k)))
      len += (size_t)snprintf(label + len, LABEL_LEN - len, "%s%s=%.15g", len ? ", " : "",
                              lbsim_sweep_param_name(s->axes[k].param), values[k]);
  if (pl->p->npolicies > 1 || len == 0) {
    char params[LABEL_LEN];
    memcpy(params, label, len + 1);
    len = (size_t)snprintf(label, LABEL_LEN, "%s%s%s", pl->p->policies[l->policy], len ? ", " : "", params);
    len = len < LABEL_LEN ? len : LABEL_LEN - 1;
  }
  if (l->flat && len < LABEL_LEN)
    snprintf(label + len, LABEL_LEN - len, " (does not use %s)", lbsim_sweep_param_name(pl->x_axis->param));
}

static void fit(plot_t *pl, const line_t *lines, uint32_t nlines) {
  double lo = INFINITY, hi = -INFINITY;
  for (uint32_t i = 0; i < pl->x_axis->nvalues; i++) {
    lo = fmin(lo, pl->x_axis->values[i]);
    hi = fmax(hi, pl->x_axis->values[i]);
  }
  lbsim_axis_fit_range(&pl->x, lo, hi);
  double least_above_0 = INFINITY;
  for (uint32_t i = 0; i < pl->x_axis->nvalues; i++)
    if (pl->x_axis->values[i] > 0)
      least_above_0 = fmin(least_above_0, pl->x_axis->values[i]);
  pl->categorical = lo == 0 && isfinite(least_above_0) && hi > 20 * least_above_0;
  lo = INFINITY, hi = -INFINITY;
  for (uint32_t k = 0; k < nlines; k++)
    for (uint32_t i = 0; i < (lines[k].flat ? 1 : pl->x_axis->nvalues); i++) {
      double v = value(pl, &lines[k], i), low, high;
      if (isfinite(v)) {
        lo = fmin(lo, v);
        hi = fmax(hi, v);
      }
      if (band(pl, &lines[k], i, &low, &high)) {
        lo = fmin(lo, low);
        hi = fmax(hi, high);
      }
    }
  if (!isfinite(lo)) /* nothing known: an empty frame */
    lo = 0, hi = 1;
  lbsim_axis_fit_range(&pl->y, lo, hi);
  if (pl->scale == 100) { /* a share: never below 0 % or above 100 % */
    pl->y.lo = fmax(pl->y.lo, 0);
    pl->y.hi = fmin(pl->y.hi, 1);
  }
}

static void axes(FILE *out, const plot_t *pl, const char *x_label, const char *y_label) {
  double ticks[LBSIM_AXIS_MAX_TICKS];
  bool labelled[LBSIM_AXIS_MAX_TICKS];
  fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" stroke=\"#888\"/>\n", X0,
          Y0, PLOT_W, PLOT_H);
  uint32_t n = lbsim_axis_ticks(&pl->y, ticks, labelled, LBSIM_AXIS_MAX_TICKS);
  for (uint32_t k = 0; k < n; k++) {
    double y = py(pl, ticks[k]);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", X0, y, X0 + PLOT_W, y);
    if (labelled[k])
      fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%g</text>\n",
              X0 - 6, y + 4, ticks[k] * pl->scale);
  }
  if (pl->categorical) { /* every value, where it is drawn */
    n = pl->x_axis->nvalues < LBSIM_AXIS_MAX_TICKS ? pl->x_axis->nvalues : LBSIM_AXIS_MAX_TICKS;
    for (uint32_t k = 0; k < n; k++) {
      ticks[k] = pl->x_axis->values[k];
      labelled[k] = n <= 16 || k % ((n + 15) / 16) == 0;
    }
  } else {
    n = lbsim_axis_ticks(&pl->x, ticks, labelled, LBSIM_AXIS_MAX_TICKS);
  }
  for (uint32_t k = 0; k < n; k++) {
    double x = pl->categorical ? px(pl, k) : X0 + lbsim_axis_pos(&pl->x, ticks[k]) * PLOT_W;
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, Y0, x, Y0 + PLOT_H);
    if (labelled[k])
      fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%g</text>\n", x,
              Y0 + PLOT_H + 16, ticks[k]);
  }
  fprintf(out, "<text class=\"x-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">",
          X0 + PLOT_W / 2, Y0 + PLOT_H + 36);
  lbsim_svg_escape(out, x_label);
  fputs(pl->categorical ? ", the values evenly spaced</text>\n" : pl->x.log ? ", log scale</text>\n" : "</text>\n", out);
  fprintf(out,
          "<text class=\"y-label\" transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
          "font-size=\"12\">",
          X0 - 60, Y0 + PLOT_H / 2);
  lbsim_svg_escape(out, y_label);
  fputs(pl->y.log ? ", log scale</text>\n" : "</text>\n", out);
}

/* How line k looks. With one line per policy, a colour each. With several
 * policies of several lines, a colour per value of the other parameters
 * and a dash pattern per policy. A policy that does not use the first
 * parameter is dotted unless the dash pattern tells policies apart. */
static void style(const plot_t *pl, const line_t *lines, uint32_t nlines, uint32_t k, const char **color,
                  const char **dash) {
  bool mixed = pl->p->npolicies > 1 && nlines > pl->p->npolicies;
  if (mixed) {
    *color = lbsim_svg_palette[lines[k].base % LBSIM_SVG_COLORS];
    *dash = dashes[lines[k].policy % (sizeof(dashes) / sizeof(dashes[0]))];
  } else {
    *color = lbsim_svg_palette[k % LBSIM_SVG_COLORS];
    *dash = lines[k].flat ? "3,3" : "";
  }
}

/* The interval around a line: one polygon per run of points that have one. */
static void draw_band(FILE *out, const plot_t *pl, const line_t *l, const char *color) {
  const lbsim_sweep_axis_t *xa = pl->x_axis;
  double low, high;
  if (l->flat) {
    if (band(pl, l, 0, &low, &high))
      fprintf(out, "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
              "fill-opacity=\"0.15\"/>\n", X0, py(pl, high), PLOT_W, py(pl, low) - py(pl, high), color);
    return;
  }
  for (uint32_t i = 0; i < xa->nvalues;) {
    uint32_t end = i;
    while (end < xa->nvalues && band(pl, l, end, &low, &high))
      end++;
    if (end == i) {
      i++;
      continue;
    }
    fprintf(out, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"", color);
    for (uint32_t k = i; k < end; k++) {
      band(pl, l, k, &low, &high);
      fprintf(out, "%.1f,%.1f ", px(pl, k), py(pl, high));
    }
    for (uint32_t k = end; k-- > i;) {
      band(pl, l, k, &low, &high);
      fprintf(out, "%.1f,%.1f ", px(pl, k), py(pl, low));
    }
    fputs("\"/>\n", out);
    i = end;
  }
}

/* A point of line k: a hollow shape of its own, so that lines meeting at a
 * point all show there. */
static void marker(FILE *out, uint32_t k, double x, double y, const char *color) {
  static const char *const shapes[] = {
      "m-3.5,0a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0", /* circle */
      "m-4.5,-4.5h9v9h-9z",                         /* square */
      "m0,-5.5l5,8.5h-10z",                         /* triangle */
      "m0,-6l6,6l-6,6l-6,-6z",                      /* diamond */
      "m0,5.5l5,-8.5h-10z",                         /* triangle down */
      "m-5,-2h10v4h-10z",                           /* bar */
  };
  fprintf(out, "<path class=\"marker\" d=\"M%.1f,%.1f%s\" fill=\"white\" fill-opacity=\"0.6\" stroke=\"%s\" "
               "stroke-width=\"1.5\">",
          x, y, shapes[k % (sizeof(shapes) / sizeof(shapes[0]))], color);
}

static void draw_line(FILE *out, const plot_t *pl, uint32_t k, const line_t *l, const char *color, const char *dash) {
  const lbsim_sweep_axis_t *xa = pl->x_axis;
  fprintf(out, "<g class=\"sweep-line\" data-policy=\"");
  lbsim_svg_escape(out, pl->p->policies[l->policy]);
  char label[LABEL_LEN];
  line_label(pl, l, label);
  fputs("\" data-label=\"", out);
  lbsim_svg_escape(out, label);
  fprintf(out, "\" data-flat=\"%s\">\n", l->flat ? "true" : "false");
  draw_band(out, pl, l, color);
  if (l->flat) {
    /* Run once: the same value across the whole range. */
    double v = value(pl, l, 0);
    if (isfinite(v))
      fprintf(out,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
              "stroke-dasharray=\"%s\"/>\n",
              X0, py(pl, v), X0 + PLOT_W, py(pl, v), color, dash);
  } else {
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"", color,
            dash);
    for (uint32_t i = 0; i < xa->nvalues; i++) {
      double v = value(pl, l, i);
      if (isfinite(v))
        fprintf(out, "%.1f,%.1f ", px(pl, i), py(pl, v));
    }
    fputs("\"/>\n", out);
    for (uint32_t i = 0; i < xa->nvalues; i++) {
      double v = value(pl, l, i);
      if (!isfinite(v))
        continue;
      marker(out, k, px(pl, i), py(pl, v), color);
      fprintf(out, "<title>%s=%.15g: %g</title></path>\n", lbsim_sweep_param_name(xa->param), xa->values[i],
              v * pl->scale);
    }
  }
  fputs("</g>\n", out);
}

/* Lines with the same value at every point: drawn on top of each other. */
static bool same_values(const plot_t *pl, const line_t *a, const line_t *b) {
  if (a->flat != b->flat)
    return false;
  for (uint32_t i = 0; i < (a->flat ? 1 : pl->x_axis->nvalues); i++) {
    double x = value(pl, a, i), y = value(pl, b, i);
    if (x != y && !(isnan(x) && isnan(y)))
      return false;
  }
  return true;
}

/* The line's label, and which earlier line hides it, if one does. */
static void legend_label(const plot_t *pl, const line_t *lines, uint32_t k, char *label) {
  line_label(pl, &lines[k], label);
  for (uint32_t j = 0; j < k; j++)
    if (same_values(pl, &lines[j], &lines[k])) {
      size_t len = strlen(label);
      snprintf(label + len, 2 * LABEL_LEN - len, " (the same as ");
      line_label(pl, &lines[j], label + strlen(label));
      len = strlen(label);
      snprintf(label + len, 2 * LABEL_LEN - len, ", on top of it)");
      break;
    }
}

static void legend_entry(FILE *out, const plot_t *pl, const line_t *lines, uint32_t k, double y, const char *color,
                         const char *dash) {
  fprintf(out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
          "stroke-dasharray=\"%s\"/>\n",
          LEGEND_X, y - 4, LEGEND_X + 26, y - 4, color, dash);
  if (!lines[k].flat) {
    marker(out, k, LEGEND_X + 13, y - 4, color);
    fputs("</path>\n", out);
  }
  char label[2 * LABEL_LEN];
  legend_label(pl, lines, k, label);
  fprintf(out, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", LEGEND_X + 32, y);
  lbsim_svg_escape(out, label);
  fputs("</text>\n", out);
}

int lbsim_svg_sweep_write(FILE *out, const lbsim_sweep_plot_t *p) {
  const lbsim_sweep_t *s = p->sweep;
  if (s->naxes == 0 || p->npolicies == 0)
    return LBSIM_EINVAL;
  plot_t pl = {.p = p, .x_axis = &s->axes[0], .stride = s->combinations / s->axes[0].nvalues};
  pl.scale = lbsim_sweep_metric_is_share(s->metric) ? 100 : 1;
  pl.nonnegative = true;
  for (size_t i = 0; i < (size_t)s->combinations * p->npolicies; i++)
    pl.nonnegative = pl.nonnegative && !(p->values[i] < 0);
  line_t *lines = malloc((size_t)pl.stride * p->npolicies * sizeof(*lines));
  if (lines == NULL)
    return LBSIM_ENOMEM;
  uint32_t nlines = find_lines(&pl, lines);
  fit(&pl, lines, nlines);

  uint32_t named = nlines < LEGEND_MAX ? nlines : LEGEND_MAX;
  double legend_h = 40 + LEGEND_ROW * (named + 1);
  double height = fmax(Y0 + PLOT_H + 60, Y0 + legend_h);
  size_t longest = 0;
  char label[2 * LABEL_LEN];
  for (uint32_t k = 0; k < named; k++) {
    legend_label(&pl, lines, k, label);
    longest = strlen(label) > longest ? strlen(label) : longest;
  }
  double width = fmax(WIDTH, LEGEND_X + 32 + (double)longest * LEGEND_CHAR + 20);
  fprintf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"Helvetica, Arial, sans-serif\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          width, height, width, height);
  fputs("<text x=\"20\" y=\"30\" font-size=\"18\">", out);
  lbsim_svg_escape(out, p->title);
  fputs("</text>\n", out);
  fprintf(out, "<g class=\"sweep\" data-metric=\"%s\" data-x=\"%s\" data-x-scale=\"%s\" data-y-scale=\"%s\">\n",
          lbsim_sweep_metric_name(s->metric), lbsim_sweep_param_name(pl.x_axis->param),
          pl.categorical ? "categorical" : pl.x.log ? "log" : "linear", pl.y.log ? "log" : "linear");
  char x_label[96];
  lbsim_sweep_param_label(pl.x_axis->param, x_label, sizeof(x_label));
  axes(out, &pl, x_label, lbsim_sweep_metric_label(s->metric));
  const char *color, *dash;
  for (uint32_t k = 0; k < nlines; k++) {
    style(&pl, lines, nlines, k, &color, &dash);
    draw_line(out, &pl, k, &lines[k], color, dash);
  }
  fputs("</g>\n", out);

  /* The head names what the entries vary: "policy, alpha"; one policy is
   * named there, not in every entry: "ema-greedy: alpha". */
  fprintf(out, "<text class=\"legend-head\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\">", LEGEND_X,
          Y0 + 4);
  if (p->npolicies == 1)
    lbsim_svg_escape(out, p->policies[0]);
  else
    fputs("policy", out);
  for (uint32_t k = 1; k < s->naxes; k++)
    fprintf(out, "%s%s", p->npolicies == 1 && k == 1 ? ": " : ", ", lbsim_sweep_param_name(s->axes[k].param));
  fputs("</text>\n", out);
  double y = Y0 + 26;
  for (uint32_t k = 0; k < named; k++, y += LEGEND_ROW) {
    style(&pl, lines, nlines, k, &color, &dash);
    legend_entry(out, &pl, lines, k, y, color, dash);
  }
  if (nlines > named)
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">and %u more lines</text>\n", LEGEND_X, y,
            nlines - named);
  fputs("</svg>\n", out);
  free(lines);
  return ferror(out) ? LBSIM_EIO : 0;
}
