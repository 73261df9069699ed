#!/usr/bin/env python3
"""Virtual-clock runs, byte for byte: golden outputs and reruns.

Usage: golden_test.py LBSIM_BINARY TEST_NAME   one test (ctest runs each test_*)
       golden_test.py LBSIM_BINARY --update    rewrites every NAME.out (then review `git diff`)

MANIFEST has one line per golden output, "NAME: ARGUMENTS": run in this
directory, `lbsim ARGUMENTS` must print exactly the bytes of NAME.out on
stdout. The outputs are short on purpose: a change of the model, of a policy
or of a report that changes what a user sees shows here as a diff, and the
golden file is then regenerated with --update in the same commit, so that
the change is reviewed."""

import difflib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LBSIM = None
# Every entry is checked; a manifest that lost entries must not pass quietly.
MIN_ENTRIES = 6
# What a complete output ends with, per format.
COMPLETE = re.compile(r'(\n=== (Run|Comparison) Summary|"type":"summary")')



def manifest():
    entries = []
    with open(os.path.join(HERE, "MANIFEST")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, args = line.partition(":")
            entries.append((name.strip(), args.split()))
    return entries


def run(args, cwd=HERE, timeout=30):
    p = subprocess.run([LBSIM] + args, cwd=cwd, capture_output=True, timeout=timeout)
    check(p.returncode == 0, "lbsim %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout, p.stderr


def difference(name, want, got):
    """None when the bytes are the same, else a readable account of the first differences."""
    if want == got:
        return None
    diff = difflib.unified_diff(want.decode(errors="replace").splitlines(), got.decode(errors="replace").splitlines(),
                                "%s.out (golden)" % name, "%s (this build)" % name, lineterm="", n=1)
    lines = list(diff)[:40]
    if not lines:  # the same lines: a byte the line split hides (a final newline, a \r)
        lines = ["the bytes differ (%d golden, %d now) but not the lines" % (len(want), len(got))]
    return "\n".join(lines)


def golden(name):
    with open(os.path.join(HERE, name + ".out"), "rb") as f:
        return f.read()


# ---- tests -------------------------------------------------------------------

def test_golden_outputs_are_reproduced_byte_for_byte():
    entries = manifest()
    check(len(entries) >= MIN_ENTRIES, "MANIFEST lists %d outputs, expected at least %d" % (len(entries), MIN_ENTRIES))
    failures = []
    for name, args in entries:
        check("--clock" in args and args[args.index("--clock") + 1] == "virtual", "%s: not a virtual run" % name)
        want = golden(name)
        check(COMPLETE.search(want.decode()), "%s.out is not a complete run's output" % name)
        got, _ = run(args)
        why = difference(name, want, got)
        if why:
            failures.append("%s: lbsim %s\n%s" % (name, " ".join(args), why))
    check(not failures, "output changed (if on purpose: golden_test.py LBSIM --update, and review the diff)\n" +
          "\n\n".join(failures))


def test_the_golden_check_sees_one_byte_changed():
    name, args = manifest()[0]
    want = golden(name)
    got, _ = run(args)
    check(difference(name, want, got) is None, "%s differs already" % name)
    at = len(want) // 2
    flipped = want[:at] + bytes([want[at] ^ 1]) + want[at + 1:]
    check(difference(name, flipped, got) is not None, "a changed byte went unseen")
    check(difference(name, want + b"\n", got) is not None, "an extra newline went unseen")
    seed = args.index("--seed")
    other, _ = run(args[:seed + 1] + [str(int(args[seed + 1]) + 1)] + args[seed + 2:])
    check(difference(name, want, other) is not None, "another seed printed the same output")


# Every traffic shape, compare mode, faults, both replays, JSON, the report.
RERUNS = [
    ["--rounds", "6", "--sleep", "0.5", "--drift-period", "1", "--seed", "21"],
    ["--compare", "ema-greedy,p2c-peak-ewma,least-outstanding,round-robin,ema-softmax,random", "--rounds", "5",
     "--capacity", "15", "--jitter", "lognormal:0.4", "--seed", "22"],
    ["--rate", "700", "--duration", "4", "--policy", "p2c-peak-ewma", "--jitter", "exp:30", "--seed", "23"],
    ["--concurrency", "40", "--requests", "5000", "--policy", "least-outstanding", "--choices", "2",
     "--jitter", "uniform:0.5", "--seed", "24"],
    ["--compare", "ema-greedy,p2c-peak-ewma", "--rounds", "10", "--scenario", "faults.txt", "--seed", "25",
     "--format", "json"],
    ["--rate", "300", "--duration", "5", "--scenario", "faults.txt", "--timeout", "0.5", "--seed", "26"],
    ["--replay", "linkerd", "--time-scale", "0.1", "--seed", "27"],
    ["--replay", "tower", "--time-scale", "0.05", "--seed", "28", "--format", "json"],
]


def test_the_same_options_print_the_same_bytes_twice():
    with tempfile.TemporaryDirectory() as tmp:
        for args in RERUNS:
            outs = []
            for k in range(2):
                svg = os.path.join(tmp, "report.svg")  # the same name: stderr names it
                if os.path.exists(svg):
                    os.unlink(svg)
                out, err = run(["--clock", "virtual"] + args + ["--report", svg])
                # stderr: everything but the last line, the wall time
                logs = err.decode().splitlines()
                check(logs and logs[-1].startswith("simulated "), logs[-1:])
                with open(svg, "rb") as f:
                    outs.append((out, logs[:-1], f.read()))
            (out_a, err_a, svg_a), (out_b, err_b, svg_b) = outs
            check(COMPLETE.search(out_a.decode()), "%s: incomplete output" % args)
            check(len(svg_a) > 1000, "%s: no report" % args)
            why = difference(" ".join(args), out_a, out_b)
            check(why is None, "%s: stdout differs between two runs:\n%s" % (args, why))
            check(err_a == err_b, "%s: stderr differs between two runs" % args)
            check(svg_a == svg_b, "%s: the report differs between two runs" % args)


def update():
    for name, args in manifest():
        out, _ = run(args)
        with open(os.path.join(HERE, name + ".out"), "wb") as f:
            f.write(out)
        print("wrote %s.out (%d bytes)" % (name, len(out)))


def main():
    if sys.argv[2] == "--update":
        global LBSIM
        LBSIM = os.path.abspath(sys.argv[1])
        update()
        return 0
    sys.argv[1] = os.path.abspath(sys.argv[1])
    return run_test(globals())


if __name__ == "__main__":
    sys.exit(main())
