#!/usr/bin/env python3
"""Command-line tests of sweeps past one process: --shard K/N and lbsim merge
(the same bytes as the whole sweep), --seeds (means and Student t
intervals), --resume (a sweep killed and resumed), GNU parallel's local
form of the recipe in docs/sharded-sweeps.md, and the refusals of each.

Usage: shard_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry; exit 77 skips (a tool
missing), which fails instead with LBSIM_REQUIRE_TOOLS=1."""

import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402

LBSIM = None
SVG = "{http://www.w3.org/2000/svg}"
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "sharded-sweeps.md")

# Small and quick: three backends, a few short rounds; 8 runs (round-robin
# and p2c-peak-ewma do not use alpha: they run once per value of burst).
SWEEP = ["-n", "3", "--rounds", "12", "--sleep", "0.2", "--latency", "5:60", "--drift-period", "0.5",
         "--drift-step", "20", "--latency-floor", "1", "-s", "7", "--sweep", "alpha=0.1,0.5", "--sweep",
         "burst=5,10", "--compare", "ema-greedy,round-robin,p2c-peak-ewma"]
RUNS = 2 * 2 + 2 + 2


def run(args, stdin=None, timeout=60):
    p = subprocess.run([LBSIM] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode()


def ok(args, stdin=None):
    code, out, err = run(args, stdin)
    check(code == 0, "%s: exit %d: %s" % (args, code, err))
    check("lbsim: " not in err, err)
    return out, err


def refused(args, needle, stdin=None):
    """Exit 2 and one line 'lbsim: ...' (after any counts of skipped lines) that says needle."""
    code, out, err = run(args, stdin)
    lines = [line for line in err.splitlines() if not line.startswith("merge: ")]
    check(code == 2, "%s: exit %d (expected 2): %s" % (args, code, err))
    check(len(lines) == 1 and lines[0].startswith("lbsim: "), "not one line: %r" % err)
    check(needle in lines[0], "%r does not say %r" % (lines[0], needle))
    check(out == b"", "printed on stdout: %r" % out[:200])
    return lines[0]


def shards(args, n, tmp):
    """The shard files of a sweep in n shards."""
    paths = []
    for k in range(n):
        out, _ = ok(args + ["--shard", "%d/%d" % (k, n)])
        path = os.path.join(tmp, "part.%d" % k)
        with open(path, "wb") as f:
            f.write(out)
        paths.append(path)
    return paths


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def require(tool):
    if shutil.which(tool) is None:
        if os.environ.get("LBSIM_REQUIRE_TOOLS") == "1":
            check(False, "%s is not installed (LBSIM_REQUIRE_TOOLS=1)" % tool)
        print("SKIPPED: %s is not installed" % tool)
        sys.exit(77)


def doc_block(name):
    """The fenced block after '<!-- test:NAME -->' in docs/sharded-sweeps.md."""
    text = open(DOC).read()
    m = re.search(r"^<!-- test:%s -->\n+```[a-z]*\n(.*?)^```" % re.escape(name), text, re.M | re.S)
    check(m, "no block after <!-- test:%s --> in %s" % (name, DOC))
    return m.group(1)


# ---- shards and merge ----------------------------------------------------------

def test_shards_merge_to_the_whole_sweeps_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        whole_svg, merged_svg = os.path.join(tmp, "whole.svg"), os.path.join(tmp, "merged.svg")
        text, _ = ok(SWEEP + ["--report", whole_svg])
        js, _ = ok(SWEEP + ["--format", "json"])
        for n in (1, 2, 3, RUNS + 2):  # more shards than runs: some hold none
            parts = shards(SWEEP, n, tmp)
            random.Random(n).shuffle(parts)  # the order of the files does not matter
            out, err = ok(["merge"] + parts)
            check(out == text, "%d shards: the merged table differs" % n)
            check(re.search(r"^merged %d runs from %d files?$" % (RUNS, n), err, re.M), err)
            out, _ = ok(["merge", "--format", "json", "--report", merged_svg] + parts)
            check(out == js, "%d shards: the merged JSON differs" % n)
            check(open(merged_svg, "rb").read() == open(whole_svg, "rb").read(), "%d shards: the plot differs" % n)


def test_shard_lines_describe_the_sweep_and_carry_exact_figures():
    with tempfile.TemporaryDirectory() as tmp:
        parts = shards(SWEEP, 3, tmp)
        seen = []
        for k, path in enumerate(parts):
            objs = lines(path)
            start = objs[0]
            check(start["type"] == "start" and start["shard"] == "%d/3" % k and start["runs"] == RUNS, start)
            check(start["version"] == os.environ.get("LBSIM_VERSION", start["version"]), start)
            check(re.fullmatch(r"[0-9a-f]{16}", start["hash"]), start)
            check(start["hash"] == lines(parts[0])[0]["hash"] and start["sweep"] == lines(parts[0])[0]["sweep"],
                  "shards of one sweep describe it alike")
            args = start["sweep"]
            for expected in ("--backends=3", "--rounds=12", "--sweep=alpha=0.1,0.5", "--sweep=burst=5,10",
                             "--compare=ema-greedy,round-robin,p2c-peak-ewma", "--seed=7", "--latency=5:60"):
                check(expected in args, "%s not in %s" % (expected, args))
            for run_ in objs[1:]:
                check(run_["type"] == "run" and run_["index"] % 3 == k, run_)
                check(run_["seed"] == "7" and isinstance(run_["p99_ms"], float), run_)
                seen.append(run_["index"])
        check(sorted(seen) == list(range(RUNS)), sorted(seen))
        # Full precision: each figure is printed as "%.17g" of the double itself.
        raw = open(parts[0]).read().splitlines()[1]
        for key, text in re.findall(r'"([a-z0-9_]+)":(-?[0-9][0-9.e+-]*)', raw):
            check(text == "%.17g" % float(text), "%s: %s is not %%.17g" % (key, text))


def test_merge_reads_stdin_and_skips_lines_that_are_not_json():
    with tempfile.TemporaryDirectory() as tmp:
        text, _ = ok(SWEEP)
        parts = shards(SWEEP, 2, tmp)
        mixed = b"srun: job 42 queued and waiting for resources\n"
        for path in parts:
            mixed += open(path, "rb").read() + b"slurmstepd: task done\n"
        out, err = ok(["merge", "-"], stdin=mixed)
        check(out == text, "merged from stdin: the table differs")
        check(re.search(r"^merge: stdin: skipped 3 lines that are not JSON$", err, re.M), err)


def test_merge_refuses_shards_of_different_sweeps_naming_the_difference():
    with tempfile.TemporaryDirectory() as tmp:
        a = shards(SWEEP, 2, tmp)
        other = os.path.join(tmp, "other")
        out, _ = ok([x if x != "alpha=0.1,0.5" else "alpha=0.1,0.6" for x in SWEEP] + ["--shard", "1/2"])
        open(other, "wb").write(out)
        line = refused(["merge", a[0], other], "shards of different sweeps")
        check("--sweep=alpha=0.1,0.6 in %s:1" % other in line and "--sweep=alpha=0.1,0.5 in %s:1" % a[0] in line,
              line)
        out, _ = ok(SWEEP + ["--seeds", "2", "--shard", "1/2"])
        open(other, "wb").write(out)
        refused(["merge", a[0], other], "--seeds=2 in %s:1, no --seeds in %s:1" % (other, a[0]))
        out, _ = ok(SWEEP + ["--shard", "1/3"])
        open(other, "wb").write(out)
        refused(["merge", a[0], other], "shards of different splits")
        # Made by another version: the description may mean something else there.
        text = open(a[1]).read().replace('"version":"', '"version":"9.9.9-', 1)
        open(other, "w").write(text)
        refused(["merge", other, a[0]], "made by lbsim 9.9.9-")


def test_merge_names_the_missing_runs_and_their_shard():
    with tempfile.TemporaryDirectory() as tmp:
        parts = shards(SWEEP, 3, tmp)
        refused(["merge", parts[0], parts[2]],
                "3 of %d runs missing: shard 1/3 should have had 1, 4, 7 (no file holds it)" % RUNS)
        # A shard cut short, its last line cut in half: the line is not JSON,
        # its run and the rest are missing.
        text = open(parts[1]).read()
        cut = os.path.join(tmp, "cut.1")
        open(cut, "w").write(text[:text.index("\n", text.index("\n") + 1) + 30])
        line = refused(["merge", parts[0], cut, parts[2]], "2 of %d runs missing: shard 1/3 should have had 4, 7" % RUNS)
        check("no file holds it" not in line, line)
        code, _, err = run(["merge", parts[0], cut, parts[2]])
        check("merge: %s: skipped 1 line that is not JSON" % cut in err, err)


def test_merge_refuses_a_run_given_twice_foreign_and_empty_files():
    with tempfile.TemporaryDirectory() as tmp:
        parts = shards(SWEEP, 2, tmp)
        refused(["merge", parts[0], parts[1], parts[1]], "run 1 is there twice: %s:2 and %s:2" % (parts[1], parts[1]))
        table = os.path.join(tmp, "table.txt")
        open(table, "wb").write(ok(SWEEP)[0])
        refused(["merge", parts[0], table], "%s holds no sweep: it has no start line" % table)
        js = os.path.join(tmp, "sweep.json")
        open(js, "wb").write(ok(SWEEP + ["--format", "json"])[0])
        refused(["merge", js], "%s:1: a start line that is not a shard's" % js)
        mixed = os.path.join(tmp, "mixed")
        open(mixed, "w").write(open(parts[1]).read() + '{"type":"summary","requests":3}\n')
        refused(["merge", parts[0], mixed], "%s:6: a JSON line that is not a sweep's" % mixed)
        empty = os.path.join(tmp, "empty")
        open(empty, "w").close()
        refused(["merge", parts[0], parts[1], empty], "%s is empty" % empty)
        refused(["merge", os.path.join(tmp, "nonexistent")], "cannot read")
        refused(["merge"], "merge: no files")
        refused(["merge", "--sweep-metric", "p50", parts[0]], "give --report FILE.svg too")
        refused(["merge", "--format", "xml", parts[0]], "invalid --format 'xml'")
        # A run that is not the sweep's (edited): refused, not merged.
        text = open(parts[1]).read().replace('"policy":"round-robin"', '"policy":"random"', 1)
        edited = os.path.join(tmp, "edited")
        open(edited, "w").write(text)
        refused(["merge", parts[0], edited], "is not the sweep's")
        # Nothing written on a refusal: the old plot stays.
        plot = os.path.join(tmp, "plot.svg")
        open(plot, "w").write("old")
        refused(["merge", "--report", plot, parts[0]], "runs missing")
        check(open(plot).read() == "old", "the plot was written over")


def test_merge_help_and_a_shards_own_refusals():
    out, _ = ok(["merge", "--help"])
    check(out.startswith(b"Usage: lbsim merge "), out)
    refused(["--clock", "virtual", "--rounds", "3", "--shard", "0/2"], "it needs --sweep")
    refused(SWEEP + ["--shard", "2/2"], "K must be below N")
    refused(SWEEP + ["--shard", "0/0"], "N must be in 1..")
    refused(SWEEP + ["--seeds", "0"], "--seeds '0'")
    refused([x for x in SWEEP if x not in ("-s", "7")] + ["--shard", "0/2"], "--shard needs --seed")


# ---- seeds ----------------------------------------------------------------------

def test_seeds_give_the_mean_and_a_student_t_interval_of_each_figure():
    seeded = SWEEP + ["--seeds", "3"]
    js, err = ok(seeded + ["--format", "json"])
    check(re.search(r"sweep: 4 combinations x 3 policies x 3 seeds, %d runs$" % (3 * RUNS), err, re.M), err)
    objs = [json.loads(line) for line in js.splitlines()]
    check(objs[0]["sweep"]["seeds"] == 3, objs[0])
    rows = objs[1:]
    check(len(rows) == RUNS, len(rows))
    # Each seed's exact figures, from the shard lines of the same sweep.
    with tempfile.TemporaryDirectory() as tmp:
        runs = [o for o in lines(shards(seeded, 1, tmp)[0])[1:]]
    t95 = 4.302652729749464  # Student t, 2 degrees of freedom
    for i, row in enumerate(rows):
        mine = runs[3 * i:3 * i + 3]
        check([r["seed"] for r in mine] == ["7", "8", "9"] and all(r["policy"] == row["policy"] for r in mine), mine)
        check(row["seeds"] == 3, row)
        for key in ("p50_ms", "p99_ms", "to_fastest", "regret_ms", "majority_switches", "top_share", "requests"):
            xs = [r[key] for r in mine]
            mean = sum(xs) / 3
            half = t95 * (sum((x - mean) ** 2 for x in xs) / 2) ** 0.5 / 3 ** 0.5
            check(abs(row[key] - mean) < 0.0011, "%s %s: %s against %s" % (row["policy"], key, row[key], mean))
            lo, hi = row["ci95"][key]
            check(abs(lo - (mean - half)) < 0.0011 and abs(hi - (mean + half)) < 0.0011,
                  "%s %s: [%s, %s] against %s +- %s" % (row["policy"], key, lo, hi, mean, half))
    # Each seed is the run of that seed alone.
    alone, _ = ok([x if x != "7" else "8" for x in SWEEP] + ["--format", "json"])
    first = json.loads(alone.splitlines()[1])
    check(abs(first["p99_ms"] - runs[1]["p99_ms"]) < 0.0006, (first["p99_ms"], runs[1]["p99_ms"]))


def test_seeds_in_the_table_and_one_seed_has_no_interval():
    text, _ = ok(SWEEP + ["--seeds", "3"])
    head = text.decode().splitlines()
    check(head[1] == "=== Sweep: 4 combinations x 3 policies x 3 seeds ===", head[1])
    check(head[2].split().count("+-95%") == 8, head[2])
    check(re.search(r"\d+\.\d\d\s+\+-\d+\.\d\d\s", head[3]), head[3])
    text, _ = ok(SWEEP + ["--seeds", "1"])
    row = text.decode().splitlines()[3]
    check(row.split().count("-") == 8, "one seed: every interval is '-': %r" % row)
    plain, _ = ok(SWEEP)
    check(b"+-95%" not in plain and b"seeds" not in plain, "without --seeds the table is as before")


def test_seeds_draw_bands_on_the_plot():
    with tempfile.TemporaryDirectory() as tmp:
        svg = os.path.join(tmp, "seeds.svg")
        ok(SWEEP + ["--seeds", "4", "--report", svg, "--sweep-metric", "p50"])
        root = ET.parse(svg).getroot()
        title = root.find(SVG + "text").text
        check("seed 7 to 10 (mean and 95% interval)" in title, title)
        groups = [g for g in root.iter(SVG + "g") if g.get("class") == "sweep-line"]
        check(len(groups) == 6, len(groups))  # a line per policy and burst
        for g in groups:
            bands = [e for e in g if e.get("class") == "band"]
            check(len(bands) == 1, "a band per line: %s" % g.get("data-label"))
            check(bands[0].tag in (SVG + "polygon", SVG + "rect"), bands[0].tag)
            line = [e for e in g if e.tag in (SVG + "polyline", SVG + "line")]
            check(line and bands[0].get("fill") == line[0].get("stroke"), "the band in the line's colour")
        plain = os.path.join(tmp, "plain.svg")
        ok(SWEEP + ["--report", plain])
        check('class="band"' not in open(plain).read(), "a band without --seeds")


# ---- resume ---------------------------------------------------------------------

# Runs of some 30 ms each (ten times that under the sanitizers): a kill
# lands mid-sweep.
LONG = ["-n", "20", "--duration", "30", "--rate", "2000", "--latency", "5:60", "-s", "3", "-q",
        "--sweep", "alpha=0.1:0.9:0.1", "--compare", "ema-greedy,p2c-peak-ewma", "--seeds", "2"]


def kill_when(args, path, min_lines):
    """Starts lbsim, SIGKILLs it once path has min_lines lines; returns how many it had."""
    p = subprocess.Popen([LBSIM] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    n = 0
    while time.monotonic() < deadline and p.poll() is None:
        n = open(path, "rb").read().count(b"\n") if os.path.exists(path) else 0
        if n >= min_lines:
            break
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    return n


def test_a_killed_sweep_resumes_to_the_same_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        whole, _ = ok(LONG)
        path = os.path.join(tmp, "sweep.jsonl")
        kill_when(LONG + ["--resume", path], path, 3)
        # As a kill mid-write leaves it: a last line cut in half.
        with open(path, "ab") as f:
            f.write(b'{"type":"run","index":')
        out, err = ok(LONG + ["--resume", path])
        check(out == whole, "the resumed sweep's table differs from the whole sweep's")
        m = re.search(r"^resuming %s: (\d+) of 20 runs done, a last line cut in half dropped$" % re.escape(path),
                      err, re.M)
        check(m and 2 <= int(m.group(1)) < 20, err)
        text = open(path, "rb").read()
        check(text.endswith(b"\n") and text.count(b"\n") == 21, "the file is not the whole sweep's lines")
        # A complete file: nothing left to run, the same table; and it merges.
        out, err = ok(LONG + ["--resume", path])
        check(out == whole and "swept 0 runs" in err, err)
        check(ok(["merge", path])[0] == whole, "the resume file does not merge to the table")


def test_a_killed_shard_resumes_to_the_same_lines():
    with tempfile.TemporaryDirectory() as tmp:
        shard = LONG + ["--shard", "1/3"]
        whole, _ = ok(shard)
        path = os.path.join(tmp, "part.1")
        kill_when(shard + ["--resume", path], path, 2)
        out, err = ok(shard + ["--resume", path])
        check(out == whole, "the resumed shard's lines differ")
        check(open(path, "rb").read() == whole, "the resume file is not the shard's output")


def test_resume_refuses_another_sweeps_file_and_leaves_it_as_it_was():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sweep.jsonl")
        ok(SWEEP + ["--resume", path])
        before = open(path, "rb").read()
        other = [x if x != "alpha=0.1,0.5" else "alpha=0.1,0.6" for x in SWEEP]
        refused(other + ["--resume", path], "--resume %s holds another sweep: --sweep=alpha=0.1,0.5 in %s" % (path, path))
        refused(SWEEP + ["--shard", "0/2", "--resume", path], "holds shard 0/1 of this sweep, not 0/2")
        check(open(path, "rb").read() == before, "the file was changed")
        foreign = os.path.join(tmp, "notes.txt")
        open(foreign, "w").write("my notes\nmore notes\n")
        refused(SWEEP + ["--resume", foreign], "is not a sweep's file")
        check(open(foreign).read() == "my notes\nmore notes\n", "a foreign file was changed")
        refused(SWEEP + ["--resume", tmp], "is not a regular file")
        bad = os.path.join(tmp, "bad.jsonl")
        open(bad, "wb").write(before.replace(b'"index":3,', b'"index":33,', 1))
        refused(SWEEP + ["--resume", bad], "bad.jsonl:5: run 33: the sweep has %d runs" % RUNS)
        # Another lbsim writing it: refused at once (exit 1), not waited for.
        with open(path, "rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            code, _, err = run(SWEEP + ["--resume", path])
            check(code == 1 and "being written by another lbsim" in err, (code, err))


# ---- GNU parallel (docs/sharded-sweeps.md) ---------------------------------------

def test_the_parallel_recipe_merges_to_the_whole_sweeps_bytes():
    require("parallel")
    script = doc_block("parallel-local")
    with tempfile.TemporaryDirectory() as tmp:
        # The recipe as written, with lbsim on the PATH and this test's sweep.
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(LBSIM)) + os.pathsep + os.environ["PATH"],
                   SWEEP=" ".join(SWEEP), HOME=tmp)
        p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp, env=env, capture_output=True,
                           timeout=60)
        check(p.returncode == 0, "the recipe failed: %s" % p.stderr.decode())
        whole, _ = ok(SWEEP)
        check(open(os.path.join(tmp, "sweep.txt"), "rb").read() == whole, "parallel's merge differs")


if __name__ == "__main__":
    sys.exit(run_test(globals()))
