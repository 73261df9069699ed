#!/usr/bin/env python3
"""The figures and plots of docs/metastable.md, from lbsim's own output.

Usage: python3 docs/metastable/figures.py BUILD/lbsim [--only replay|region]

  replay   --replay metastable four ways (no budget, --retry-budget 20,
           --retry-throttle 10,0.1, no retries at all): each run's report
           (replay-*.svg) and the table of its figures, the recovery time
           measured from the JSON intervals;
  region   the metastable region: for each load and trigger length, whether
           goodput has come back 100 s after the trigger began, with the
           retries and no budget (region.svg), with --retry-budget 20
           (region-budget.svg), and without retries, at a tenth of the
           replay's size (one backend, two clients: the same per-backend
           load, budget and timing; the replay's own figures are the same).

Every run is on the virtual clock with seed 1: the same bytes every time."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TRIGGER_AT, TRIGGER_LEN = 20.0, 10.0
RECOVERED = 0.9   # goodput at least this share of the offered load ...
SETTLED = 0.5     # ... and, for the region, in the last 20 s of the run


def lbsim(binary, args):
    p = subprocess.run([binary, "--clock", "virtual", "--format", "json", "-s", "1"] + args,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit("lbsim %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr[-500:]))
    return [json.loads(line) for line in p.stdout.splitlines()]


def intervals(objects):
    """(end, offered, attempts, goodput) per whole interval."""
    rows = []
    for o in objects:
        if o["type"] != "interval":
            continue
        offered = o["tally"]["users"] if "tally" in o else o["requests"]
        attempts = o["tally"]["attempts"] if "tally" in o else o["requests"]
        rows.append((o["t"], offered, attempts, o["ok"]))
    return rows[:-1]  # the last one is the drain after the end, partial


def recovery(rows, trigger_end):
    """Seconds from the trigger's end to the first interval from which
    goodput stays at least RECOVERED of the offered load; None: never."""
    for k, (t, offered, attempts, ok) in enumerate(rows):
        if t > trigger_end and all(r[3] >= RECOVERED * r[1] for r in rows[k:]):
            return t - trigger_end
    return None


def share(rows, start, end, k):
    sel = [r for r in rows if start < r[0] <= end]
    offered = sum(r[1] for r in sel)
    return sum(r[k] for r in sel) / offered if offered else float("nan")


def replay(binary):
    ways = [("no budget", "none", []), ("--retry-budget 20", "budget", ["--retry-budget", "20"]),
            ("--retry-throttle 10,0.1", "throttle", ["--retry-throttle", "10,0.1"]),
            ("no retries (--retries 0)", "no-retries", ["--retries", "0"])]
    print("| run | goodput 0-20 s | attempts / offered 31-60 s | goodput 100-120 s | attempts / offered 100-120 s |"
          " recovery after the trigger |")
    print("|---|---|---|---|---|---|")
    for label, name, extra in ways:
        report = [] if name == "no-retries" else ["--report", os.path.join(HERE, "replay-%s.svg" % name)]
        objects = lbsim(binary, ["--replay", "metastable"] + report + extra)
        rows = intervals(objects)
        rec = recovery(rows, TRIGGER_AT + TRIGGER_LEN)
        s = [o for o in objects if o["type"] == "summary"][0]
        print("| %s | %.1f %% | %.2f | %.1f %% | %.2f | %s |" % (
            label, 100 * share(rows, 0, 20, 3), share(rows, 31, 60, 2), 100 * share(rows, 100, 120, 3),
            share(rows, 100, 120, 2), "never (to the end, 90 s later)" if rec is None else "%.0f s" % rec))
        if "tally" in s:
            t = s["tally"]
            print("|  | tally: %s |" % ", ".join("%s %d" % (k, v) for k, v in t.items() if v), file=sys.stderr)


# ---- the region -------------------------------------------------------------

LOADS = [0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.80, 0.90]
LENGTHS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
AFTER = 100.0  # seconds of run after the trigger began


def settled(binary, load, length, extra):
    """Whether goodput is back (SETTLED of the offered load) in the last 20 s."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("at %gs all latency 30ms\nat %gs all latency 10ms\n" % (TRIGGER_AT, TRIGGER_AT + length))
    try:
        duration = TRIGGER_AT + AFTER
        rows = intervals(lbsim(binary, ["--replay", "metastable", "--backends", "1", "--clients", "2",
                                        "--rate", "%g" % (1000 * load), "--duration", "%g" % duration,
                                        "--scenario", f.name] + extra))
    finally:
        os.unlink(f.name)
    return share(rows, duration - 20, duration, 3) >= SETTLED


def region(binary):
    """The region without a budget (region.svg) and with --retry-budget 20
    (region-budget.svg), and the table of the shortest triggers."""
    without = {(load, length): settled(binary, load, length, ["--retries", "0"]) for load in LOADS
               for length in LENGTHS}
    shortest = {}
    for name, extra, title in (("region", [], "no budget"), ("region-budget", ["--retry-budget", "20"],
                                                              "--retry-budget 20")):
        cells = {}
        for load in LOADS:
            for length in LENGTHS:
                ok = settled(binary, load, length, extra)
                cells[(load, length)] = "ok" if ok else "metastable" if without[(load, length)] else "backlog"
            print("%s, load %.2f: %s" % (title, load, " ".join("%g:%s" % (l, cells[(load, l)][0]) for l in LENGTHS)),
                  file=sys.stderr)
        draw_region(cells, os.path.join(HERE, name + ".svg"), title)
        shortest[title] = {load: [l for l in LENGTHS if cells[(load, l)] == "metastable"] for load in LOADS}
    print("| load | shortest trigger that leaves it collapsed, no budget | with --retry-budget 20 |")
    print("|---|---|---|")
    for load in LOADS:
        cols = [("%g s" % v[load][0]) if v[load] else "none up to %g s" % LENGTHS[-1] for v in shortest.values()]
        print("| %.0f %% | %s | %s |" % (100 * load, cols[0], cols[1]))


COLOURS = {"ok": "#c7e9c0", "metastable": "#d62728", "backlog": "#fdae6b"}
LEGEND = {"ok": "goodput back within 100 s of the trigger's start",
          "metastable": "collapsed: the retries keep it down (without them it recovers)",
          "backlog": "not back even without retries: the trigger's own backlog takes longer"}


def draw_region(cells, path, title):
    x0, y0, cw, ch = 110, 60, 62, 34
    w = x0 + cw * len(LOADS) + 40
    h = y0 + ch * len(LENGTHS) + 150
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="28" font-size="16" font-weight="bold">lbsim: the metastable region of --replay metastable'
           ' (%s)</text>' % (x0, title),
           '<text x="%d" y="46" font-size="12" fill="#555">every backend 3x slower from 20 s for the trigger\'s length;'
           ' judged over the last 20 s of 100 s from its start; seed 1</text>' % x0]
    for i, load in enumerate(LOADS):
        for j, length in enumerate(reversed(LENGTHS)):
            kind = cells[(load, length)]
            out.append('<rect class="%s" data-load="%g" data-trigger="%g" x="%d" y="%d" width="%d" height="%d" '
                       'fill="%s" stroke="white"><title>load %.0f %%, trigger %g s: %s</title></rect>' % (
                           kind, load, length, x0 + i * cw, y0 + j * ch, cw, ch, COLOURS[kind], 100 * load, length,
                           LEGEND[kind]))
    for i, load in enumerate(LOADS):
        out.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">%.0f %%</text>' % (
            x0 + i * cw + cw / 2, y0 + ch * len(LENGTHS) + 18, 100 * load))
    for j, length in enumerate(reversed(LENGTHS)):
        out.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%g s</text>' % (
            x0 - 8, y0 + j * ch + ch / 2 + 4, length))
    out.append('<text x="%d" y="%d" font-size="13" text-anchor="middle">load (offered / capacity)</text>' % (
        x0 + cw * len(LOADS) / 2, y0 + ch * len(LENGTHS) + 38))
    out.append('<text transform="translate(%d,%d) rotate(-90)" font-size="13" text-anchor="middle">trigger length'
               '</text>' % (30, y0 + ch * len(LENGTHS) / 2))
    for k, kind in enumerate(("ok", "metastable", "backlog")):
        y = y0 + ch * len(LENGTHS) + 62 + 22 * k
        out.append('<rect x="%d" y="%d" width="16" height="14" fill="%s"/>' % (x0, y - 11, COLOURS[kind]))
        out.append('<text x="%d" y="%d" font-size="12">%s</text>' % (x0 + 24, y, LEGEND[kind]))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lbsim")
    ap.add_argument("--only", choices=("replay", "region"))
    opts = ap.parse_args()
    binary = os.path.abspath(opts.lbsim)
    if opts.only in (None, "replay"):
        replay(binary)
    if opts.only in (None, "region"):
        region(binary)


if __name__ == "__main__":
    main()
