#!/usr/bin/env python3
"""Command-line tests of sweeps (--sweep, --sweep-metric): the lbsim binary
run as a user would, on short virtual runs.

Usage: sweep_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry."""

import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402

LBSIM = None
SVG = "{http://www.w3.org/2000/svg}"

# Small and quick: three backends, a few short rounds.
BASE = ["-n", "3", "--rounds", "20", "--sleep", "0.2", "--latency", "5:60", "--drift-period", "0.5",
        "--drift-step", "20", "--latency-floor", "1", "-s", "7"]


def run(args, timeout=60):
    p = subprocess.run([LBSIM] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr



def ok_run(args):
    code, out, err = run(args)
    check(code == 0, "%s: exit %d: %s" % (args, code, err))
    check("lbsim: " not in err, err)
    return out, err


TEXT_ROW = re.compile(r"^((?:\s+\S+)+?)\s+(\S+)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)%"
                      r"\s+(\d+\.\d)%\s+([+-]\d+\.\d\d)\s+(\d+)\s+(\d+\.\d)%(  \(does not use ([a-z, ]+): run once\))?$")


def text_rows(out, nparams):
    """The rows of a text sweep table: [(values, policy, figures, unused or None)]."""
    lines = out.splitlines()
    check(lines[0] == "" and lines[1].startswith("=== Sweep: "), repr(lines[:3]))
    head = lines[2].split()
    check(head[nparams] == "policy" and head[nparams + 1:nparams + 3] == ["p50", "ms"], lines[2])
    rows = []
    for line in lines[3:]:
        m = TEXT_ROW.match(line)
        check(m, "not a sweep row: %r" % line)
        words = line.split()
        values, policy = words[:nparams], words[nparams]
        rows.append((values, policy, [float(m.group(k)) for k in range(3, 11)], m.group(12)))
    return rows


def json_rows(out):
    objs = [json.loads(line) for line in out.splitlines()]
    check(objs and objs[0]["type"] == "start", objs[:1])
    check(all(o["type"] == "sweep" for o in objs[1:]), [o["type"] for o in objs])
    return objs[0], objs[1:]


# ---- tests -------------------------------------------------------------------

def test_sweep_prints_a_row_per_combination_and_policy():
    out, err = ok_run(BASE + ["--sweep", "burst=5,10", "--sweep", "capacity=0:2:1",
                              "--compare", "ema-greedy,round-robin"])
    rows = text_rows(out, 2)
    check(out.splitlines()[1] == "=== Sweep: 6 combinations x 2 policies ===", out.splitlines()[1])
    check(len(rows) == 6 * 2, "%d rows" % len(rows))
    # Combination by combination, the first parameter slowest, each policy in order.
    expected = [([b, c], p) for b in ["5", "10"] for c in ["0", "1", "2"] for p in ["ema-greedy", "round-robin"]]
    check([(r[0], r[1]) for r in rows] == expected, [(r[0], r[1]) for r in rows])
    check(all(r[3] is None for r in rows), "a note on a parameter every policy uses")
    check(re.search(r"^lbsim \S+ seed=7 clock=virtual sweep: 6 combinations x 2 policies, 12 runs$", err, re.M), err)
    check(re.search(r"^swept 12 runs in \d+\.\d\d s ", err, re.M), err)


def test_sweep_runs_an_unused_parameter_once_and_says_so():
    out, err = ok_run(BASE + ["--sweep", "decay=1,5,10", "--sweep", "burst=4,8",
                              "--compare", "p2c-peak-ewma,round-robin"])
    rows = text_rows(out, 2)
    p2c = [r for r in rows if r[1] == "p2c-peak-ewma"]
    rr = [r for r in rows if r[1] == "round-robin"]
    check(len(p2c) == 6 and all(r[3] is None for r in p2c), p2c)
    # Once per burst (the traffic matters to every policy), not per decay.
    check(len(rr) == 2, rr)
    check([r[0] for r in rr] == [["-", "4"], ["-", "8"]], rr)
    check(all(r[3] == "decay" for r in rr), rr)
    check(", 8 runs" in err, err)
    # Several unused parameters are named together.
    out, err = ok_run(BASE + ["--sweep", "alpha=0.2,0.5", "--sweep", "explore=0,0.1", "--policy", "random"])
    rows = text_rows(out, 2)
    check(len(rows) == 1 and rows[0][0] == ["-", "-"] and rows[0][3] == "alpha, explore", rows)


def test_sweep_json_rows_are_valid():
    out, err = ok_run(BASE + ["-f", "json", "--sweep", "alpha=0.1,0.5", "--sweep", "choices=0,2",
                              "--compare", "ema-greedy,least-outstanding,random"])
    start, rows = json_rows(out)
    check(start["seed"] == 7 and start["clock"] == "virtual", start)
    check(start["policies"] == ["ema-greedy", "least-outstanding", "random"], start)
    check(start["sweep"] == {"params": ["alpha", "choices"], "combinations": 4}, start)
    # ema-greedy: every alpha, once per choices; least-outstanding: every choices, once per alpha; random: once.
    by_policy = {}
    for r in rows:
        by_policy.setdefault(r["policy"], []).append(r)
    check({p: len(v) for p, v in by_policy.items()} == {"ema-greedy": 2, "least-outstanding": 2, "random": 1},
          {p: len(v) for p, v in by_policy.items()})
    check([r["params"] for r in by_policy["ema-greedy"]] == [{"alpha": 0.1, "choices": None},
                                                             {"alpha": 0.5, "choices": None}], by_policy)
    check([r["params"] for r in by_policy["least-outstanding"]] == [{"alpha": None, "choices": 0},
                                                                    {"alpha": None, "choices": 2}], by_policy)
    check(by_policy["random"][0]["unused"] == ["alpha", "choices"], by_policy["random"])
    check([r["combination"] for r in rows] == sorted(r["combination"] for r in rows), rows)
    for r in rows:
        check(r["requests"] == r["ok"] + r["failed"] and r["requests"] > 0, r)
        check(r["requests"] == 20 * 100, r)  # 20 rounds of the default burst
        for k in ("p50_ms", "p99_ms", "p999_ms", "to_fastest", "regret_ms", "top_share", "success", "elapsed_s"):
            check(isinstance(r[k], (int, float)), (k, r))
        check(r["p50_ms"] <= r["p99_ms"] <= r["p999_ms"], r)
        check(0 <= r["to_fastest"] <= 1 and 0 < r["top_share"] <= 1 and r["success"] == 1, r)
        check(r["rounds"] == 20 and isinstance(r["majority_switches"], int), r)


def test_sweep_rows_are_the_single_runs():
    # A row is what the same options with that policy and those values give alone.
    extra = ["--capacity", "3", "--jitter", "exp:2"]
    out, err = ok_run(BASE + extra + ["-f", "json", "--sweep", "alpha=0.2,0.6", "--sweep", "burst=6,12",
                                      "--compare", "ema-greedy,p2c-peak-ewma"])
    start, rows = json_rows(out)
    check(len(rows) == 4 + 2, rows)
    keys = ["requests", "ok", "failed", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "to_fastest", "regret_ms",
            "rounds", "majority_switches", "top_share"]
    for r in rows:
        args = BASE + extra + ["-f", "json", "--clock", "virtual", "--policy", r["policy"],
                               "--burst", str(r["params"]["burst"])]
        if r["params"]["alpha"] is not None:
            args += ["--alpha", repr(r["params"]["alpha"])]
        code, single, err = run(args)
        check(code == 0, err)
        summary = [json.loads(l) for l in single.splitlines() if '"type":"summary"' in l][0]
        check({k: summary[k] for k in keys} == {k: r[k] for k in keys},
              "%s: sweep %r, alone %r" % (args, {k: r[k] for k in keys}, {k: summary[k] for k in keys}))


def test_every_option_that_changes_a_run_sweeps_as_it_runs_alone():
    # The option table decides what can be swept: each option below, swept,
    # gives the rows that the same command line with its value gives alone
    # (--duration with --time-scale multiplied as on the command line).
    code, out, _ = run(["--sweep", "help"])
    check(code == 0, out)
    listed = re.findall(r"^  ([a-z][a-z0-9-]*) ", out, re.M)
    for name in ("alpha", "burst", "net-delay", "error-rate", "latency", "duration", "time-scale", "timeout",
                 "drift-step", "sleep", "client-idle", "failure-latency", "clients", "subset", "warmup"):
        check(name in listed, "%s is not sweepable: %s" % (name, listed))
    check("port-base" not in listed and "seed" not in listed and "format" not in listed, listed)
    cases = [("net-delay", "0.5,3"), ("error-rate", "0,0.2"), ("latency", "8,40"), ("timeout", "0.02,5"),
             ("drift-step", "0,50"), ("time-scale", "0.5,2"), ("warmup", "0,1"), ("clients", "1,3")]
    keys = ["requests", "ok", "failed", "p50_ms", "p99_ms", "to_fastest", "regret_ms", "rounds", "majority_switches"]
    base = ["-n", "3", "--duration", "3", "--sleep", "0.2", "--latency", "5:60", "--drift-period", "0.5",
            "--burst", "10", "-s", "4", "-f", "json"]
    for name, values in cases:
        out, err = ok_run(base + ["--sweep", "%s=%s" % (name, values)])
        start, rows = json_rows(out)
        check(start["sweep"]["params"] == [name] and len(rows) == 2, (name, rows))
        for r in rows:
            value = r["params"][name]
            code, single, err = run(base + ["--clock", "virtual", "--%s" % name, repr(value)])
            check(code == 0, err)
            summary = [json.loads(l) for l in single.splitlines() if '"type":"summary"' in l][0]
            check({k: summary[k] for k in keys} == {k: r[k] for k in keys},
                  "--%s %s: swept %r, alone %r" % (name, value, {k: r[k] for k in keys},
                                                  {k: summary[k] for k in keys}))
        check([r[k] for k in keys for r in rows[:1]] != [r[k] for k in keys for r in rows[1:]],
              "--sweep %s=%s: both rows alike: the value is not applied" % (name, values))


def test_sweep_is_reproducible():
    args = BASE + ["--sweep", "explore=0:0.2:0.1", "--sweep", "backends=2,4", "--compare", "ema-greedy,ema-softmax"]
    first, _ = ok_run(args)
    second, _ = ok_run(args)
    check(first == second, "two sweeps with the same seed differ")
    check(len(text_rows(first, 2)) == 6 * 2, first)


def test_sweep_sets_the_traffic_shape():
    out, err = ok_run(["-n", "3", "--latency", "5", "--drift-period", "0", "--duration", "2", "-s", "1", "-f", "json",
                       "--interval", "0.5", "--sweep", "rate=50,200"])
    start, rows = json_rows(out)
    check(len(rows) == 2, rows)
    # Open loop for 2 s: about rate x 2 requests (Poisson), each run its own rate.
    check(60 <= rows[0]["requests"] <= 150 and 300 <= rows[1]["requests"] <= 500, [r["requests"] for r in rows])
    check(all(r["rounds"] == 0 for r in rows), rows)
    out, err = ok_run(["-n", "3", "--latency", "5", "--drift-period", "0", "--requests", "40", "-s", "1", "-f", "json",
                       "--sweep", "concurrency=1,4"])
    start, rows = json_rows(out)
    check([r["requests"] for r in rows] == [40, 40], rows)
    # One at a time at 5 ms (plus the network) against four at a time: four times the simulated time or so.
    check(rows[0]["elapsed_s"] > 3 * rows[1]["elapsed_s"], [r["elapsed_s"] for r in rows])


def test_sweep_common_backends_keep_their_trajectories():
    # Each backend draws from its own streams: with 3 or 5 backends, backends 1-3 drift alike.
    def drift(n):
        code, out, err = run(["--clock", "virtual", "-n", str(n), "--rounds", "5", "--sleep", "1",
                              "--drift-period", "1", "-s", "3"])
        check(code == 0, err)
        return [l for l in err.splitlines() if re.match(r"backend [123] latency", l)]
    three, five = drift(3), drift(5)
    check(len(three) >= 9 and three == five, (three, five))


def test_sweep_bad_specs_exit_2_with_one_line():
    bad = [
        ["--sweep", "speed=1,2"], ["--sweep", "alpha"], ["--sweep", "alpha="], ["--sweep", "alpha=0.1,,0.3"],
        ["--sweep", "alpha=x"], ["--sweep", "alpha=1.5"], ["--sweep", "explore=-0.1:0.5:0.1"],
        ["--sweep", "burst=2.5"], ["--sweep", "alpha=0.1:0.5:0"], ["--sweep", "alpha=0.5:0.1:0.1"],
        ["--sweep", "burst=1:20000:1"], ["--sweep", "alpha=0.1", "--sweep", "alpha=0.2"],
        ["--sweep", "alpha=0.1", "--backends-only"],
        ["--sweep", "alpha=0.1", "--client-only", "--server", "http://127.0.0.1:1/"],
        ["--sweep", "alpha=0.1", "--admin", "0"], ["--sweep", "alpha=0.1", "--clock", "real"],
        ["--sweep-metric", "p99"], ["--sweep", "alpha=0.1", "--sweep-metric", "p90", "--report", "x.svg"],
        # A subset larger than some combination's backends (-n 5 by default).
        ["--sweep", "subset=2,9"], ["--sweep", "backends=2,5", "--subset", "4"],
        ["--sweep", "subset=1,4", "--sweep", "backends=3,6"],
        # A warm-up that some combination's duration does not outlast.
        ["--sweep", "warmup=1,5", "--duration", "3"], ["--sweep", "duration=0,2,8", "--warmup", "2"],
    ]
    for args in bad:
        code, out, err = run(args + ["--rounds", "1"])
        check(code == 2, "%s: exit %d" % (args, code))
        lines = err.splitlines()
        check(len(lines) == 1 and lines[0].startswith("lbsim: ") and "sweep" in lines[0], "%s: %r" % (args, err))
        check(out == "", "%s printed on stdout" % args)
    # Unbounded: refused as any virtual run.
    code, out, err = run(["--sweep", "alpha=0.1,0.2"])
    check(code == 2 and err.startswith("lbsim: --sweep needs an end"), err)


def test_a_sweep_may_give_each_run_its_end():
    """The end a run needs may be the swept option itself: each row is the
    run with that end alone."""
    for name, values, option in (("duration", ("2", "5"), "--duration"), ("requests", ("100", "300"), "--requests"),
                                 ("rounds", ("1", "3"), "--rounds")):
        out, _ = ok_run(["-n", "3", "--sleep", "0.5", "-s", "7", "--format", "json", "--sweep",
                         "%s=%s" % (name, ",".join(values))])
        rows = [json.loads(l) for l in out.splitlines() if '"type":"sweep"' in l]
        check(len(rows) == len(values), "%s: %r" % (name, out))
        for row, value in zip(rows, values):
            alone, _ = ok_run(["-n", "3", "--sleep", "0.5", "-s", "7", "--clock", "virtual", "--format", "json",
                               option, value])
            summary = [json.loads(l) for l in alone.splitlines() if '"type":"summary"' in l]
            check(summary and summary[0]["requests"] == row["requests"],
                  "%s=%s: %r against %r" % (name, value, row["requests"], summary))


def svg_lines(path):
    root = ET.parse(path).getroot()
    check(root.tag == SVG + "svg", root.tag)
    plot = root.find(".//%sg[@class='sweep']" % SVG)
    check(plot is not None, "no sweep group")
    lines = plot.findall("%sg[@class='sweep-line']" % SVG)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    return plot, lines, texts


def test_sweep_report_draws_a_line_per_policy_and_other_value():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sweep.svg")
        out, err = ok_run(BASE + ["--sweep", "alpha=0.2:0.8:0.3", "--sweep", "explore=0,0.05",
                                  "--compare", "ema-greedy,round-robin,p2c-peak-ewma",
                                  "--report", path, "--sweep-metric", "success"])
        check("report written to " + path in err, err)
        plot, lines, texts = svg_lines(path)
        check(plot.get("data-metric") == "success" and plot.get("data-x") == "alpha", plot.attrib)
        # ema-greedy: one line per explore value; the other two use neither: one flat line each.
        labels = [l.get("data-label") for l in lines]
        check(labels == ["ema-greedy, explore=0", "ema-greedy, explore=0.05", "round-robin (does not use alpha)",
                         "p2c-peak-ewma (does not use alpha)"], labels)
        for l in lines[:2]:
            points = l.find(SVG + "polyline").get("points").split()
            markers = [m for m in l.findall(SVG + "path") if m.get("class") == "marker"]
            check(len(points) == 3 and len(markers) == 3, points)  # alpha 0.2, 0.5, 0.8
        check([l.get("data-flat") for l in lines] == ["false", "false", "true", "true"], labels)
        check(all(l.find(SVG + "line") is not None for l in lines[2:]), "flat lines")
        check("alpha (EMA weight of the newest latency sample)" in texts, texts)
        check("requests that succeeded (%)" in texts, texts)
        check(sum(1 for t in texts if t.startswith("ema-greedy, explore=")) == 2, texts)  # the legend
        check(plot.get("data-x-scale") == "linear", plot.attrib)
        # A wide range gets a log axis.
        out, err = ok_run(["-n", "3", "--latency", "5", "--drift-period", "0", "--duration", "1", "-s", "1",
                           "--sweep", "rate=10,100,1000", "--compare", "round-robin,least-outstanding",
                           "--report", path])
        plot, lines, texts = svg_lines(path)
        check(plot.get("data-x-scale") == "log", plot.attrib)
        check([l.get("data-label") for l in lines] == ["round-robin", "least-outstanding"], lines)
        check("rate (requests/s), log scale" in texts and any(t.startswith("p99 latency (ms)") for t in texts), texts)


def test_sweep_report_reads_as_its_reader_needs():
    """Values from 0 spanning more than 20x are evenly spaced; one policy is
    named once; each line has markers of its own shape, and a line hidden
    under another says so."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sweep.svg")
        ok_run(BASE + ["--sweep", "explore=0,0.002,0.01,0.05", "--sweep", "alpha=0.3,0.9", "--report", path,
                       "--sweep-metric", "regret"])
        plot, lines, texts = svg_lines(path)
        check(plot.get("data-x-scale") == "categorical", plot.attrib)
        check("explore (probability of picking a random other backend), the values evenly spaced" in texts, texts)
        ticks = [float(t.get("x")) for t in plot.iter(SVG + "text") if t.get("class") == "tick" and
                 float(t.get("y")) > 490]
        check(len(ticks) == 4 and abs((ticks[1] - ticks[0]) - (ticks[3] - ticks[2])) < 0.2, ticks)
        check([l.get("data-label") for l in lines] == ["alpha=0.3", "alpha=0.9"], lines)
        check("ema-greedy: alpha" in texts, texts)
        shapes = [{m.get("d")[m.get("d").index("m"):] for m in l.findall(SVG + "path")} for l in lines]
        check(all(len(s) == 1 for s in shapes) and shapes[0] != shapes[1], shapes)
        # Backends alike: alpha changes nothing, the second line hides the first.
        ok_run(["-n", "3", "--latency", "100", "--drift-period", "0", "--rounds", "20", "-s", "1",
                "--sweep", "explore=0.01,0.05", "--sweep", "alpha=0.3,0.6", "--report", path])
        plot, lines, texts = svg_lines(path)
        check(plot.get("data-x-scale") == "linear", plot.attrib)
        check("alpha=0.6 (the same as alpha=0.3, on top of it)" in texts, texts)



if __name__ == "__main__":
    sys.exit(run_test(globals()))
