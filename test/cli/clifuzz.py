#!/usr/bin/env python3
"""A property-based fuzzer of lbsim's command line.

A seeded generator draws option sets from the option table as --help shows
it (every option, its range, its default), with values inside the ranges,
at their edges, just outside them and malformed, plus scenario files and
sweep specifications; each case runs bounded in time and memory, and must
hold these properties:

  * no signal, no sanitizer report, exit status 0, 1 or 2;
  * exit 2: exactly one line on stderr, "lbsim: ...";
  * exit 1: says why on stderr ("lbsim: ...");
  * exit 0: within its time bound, and no more output than the length of the
    run implies (rounds or intervals, backends, policies, drift steps);
  * the files lbsim writes (--report) are whole (they parse) or absent, and
    no temporary file is left beside them.

The bounds come from the case itself: the generator keeps the work a case
implies (requests, drift steps, intervals, samples) small, so that a case
that runs long is a finding, not a long case.

Usage:
  clifuzz.py LBSIM [--seed N] [--cases N | --seconds S] [--jobs J]
  clifuzz.py LBSIM --replay FILE        the cases of FILE (JSON lines)

Prints the seed first and every failing case as a JSON line that
clifuzz_regressions.txt takes as it is; exits 1 if any case failed. The same
seed draws the same cases."""

import argparse
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

# ---- the option table, as --help shows it -------------------------------------------------

HELP_LINE = re.compile(r"^  (?:-(\w), )?(?:    )?--([a-z-]+)(?: (\S+))?(?:\s{2,}(.*))?$")
TRAILER = re.compile(r" \(((?:\([^()]*\]|[^()])*)\)$")
RANGE = re.compile(r"^(0 or )?(\()?([0-9.]+)(?:\.\.|, )([0-9.]+)\]?(?: (\S+))?$")


class Option:
    def __init__(self, name, metavar, rng, default):
        self.name, self.metavar, self.default = name, metavar, default
        self.or_zero = self.above = False
        self.lo = self.hi = None
        self.unit = None
        self.integer = False
        if rng:
            m = RANGE.match(rng)
            if m:
                self.or_zero, self.above = bool(m.group(1)), bool(m.group(2))
                self.lo, self.hi, self.unit = float(m.group(3)), float(m.group(4)), m.group(5)
                self.integer = "." not in m.group(3) + m.group(4) and not self.above and self.unit not in ("s", "ms")


def read_table(lbsim):
    out = subprocess.run([lbsim, "--help"], capture_output=True, text=True, timeout=30).stdout
    table = {}
    for line in out.splitlines():
        m = HELP_LINE.match(line)
        if not m:
            continue
        name, metavar, text = m.group(2), m.group(3), m.group(4) or ""
        rng = default = None
        t = TRAILER.search(text)
        if t:
            parts = t.group(1).split("; default: ")
            if parts[0].startswith("default: "):
                default = parts[0][len("default: "):]
            else:
                rng = parts[0] if ".." in parts[0] or parts[0].startswith("(") else None
                default = parts[1] if len(parts) > 1 else None
        table[name] = Option(name, metavar, rng, default)
    if len(table) < 40:
        raise SystemExit("could not read the options of %s --help" % lbsim)
    policies = re.findall(r"^  ([a-z-]+) ", subprocess.run([lbsim, "--policy", "help"], capture_output=True,
                                                          text=True, timeout=30).stdout, re.M)
    return table, policies


# ---- values ----------------------------------------------------------------------------------

MALFORMED = ["", " 5", "5 ", "0x10", "inf", "-inf", "nan", "1e400", "1e-400", "\v5", "\ufeff5", "1,5", "+5",
             "-0", ".5", "5.", "1e", "e5", "--", "1" * 400, "0." + "0" * 300 + "1", "1e+", "١٢"]


def fmt(v):
    if v == int(v) and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def in_range(r, o):
    """A value of o's range: an edge, a value in between (log-uniform), or 0."""
    if o.or_zero and r.random() < 0.2:
        return "0"
    lo, hi = o.lo, o.hi
    pick = r.random()
    if pick < 0.15:
        v = lo if not o.above else lo + (hi - lo) * 1e-9
    elif pick < 0.3:
        v = hi
    else:
        a = max(lo, 1e-9)
        v = math.exp(r.uniform(math.log(a), math.log(max(hi, a * 1.0000001))))
    if o.integer:
        v = math.floor(v)
        v = max(lo + (1 if o.above else 0), min(hi, v))
    return fmt(v) if o.integer else "%.9g" % v


def just_outside(r, o):
    lo, hi = o.lo, o.hi
    choices = [hi * 1.000001 + (1 if o.integer else 1e-9), hi * 10, -1, lo - (1 if o.integer else lo * 1e-3 + 1e-12)]
    if o.or_zero:
        choices += [lo / 2, lo / 1e6]
    if o.above:
        choices.append(lo)
    if o.integer:
        choices.append(lo + 0.5)
    v = r.choice(choices)
    return "%.17g" % v


def value_of(r, o):
    if o.lo is None:
        return None
    pick = r.random()
    if pick < 0.85:
        return in_range(r, o)
    if pick < 0.95:
        return just_outside(r, o)
    return r.choice(MALFORMED)


def jitter(r):
    kind = r.choice(["none", "exp", "lognormal", "uniform", "bogus"])
    if kind == "none":
        return "none"
    top = {"exp": 3600000, "lognormal": 5, "uniform": 1, "bogus": 1}[kind]
    v = r.choice([top, top * 1.001, 1e-6, 0, math.exp(r.uniform(math.log(1e-6), math.log(top))), "0x1", "inf"])
    return "%s:%s" % (kind, v if isinstance(v, str) else "%.6g" % v)


SWEEP_PARAMS = ["alpha", "explore", "temperature", "decay", "choices", "burst", "capacity", "rate", "concurrency",
                "backends"]


def sweep(r, table):
    # Any option that takes a number (lbsim --sweep help says which can be
    # swept; the others must be refused in one line).
    numeric = [o.name for o in table.values() if o.lo is not None]
    p = r.choice(SWEEP_PARAMS + numeric + ["bogus"])
    o = table.get(p)
    if o is None or o.lo is None:
        return "%s=1,2" % p
    if r.random() < 0.5:
        return "%s=%s" % (p, ",".join(in_range(r, o) if r.random() < 0.85 else just_outside(r, o)
                                     for _ in range(r.randint(1, 4))))
    a = in_range(r, o)
    step = r.choice(["0.1", "1", "0", "-1", "1e-300", "0x1", str(max(o.hi / 7, 1))])
    return "%s=%s:%s:%s" % (p, a, fmt(o.hi) if r.random() < 0.5 else a, step)


ACTIONS = ["latency", "error-rate", "down", "up", "stall", "resume", "capacity", "jitter"]


def scenario(r, backends):
    lines = []
    if r.random() < 0.1:
        lines.append("\ufeff# a byte-order mark")
    for _ in range(r.randint(1, 6)):
        t = r.choice(["0s", "1ms", "0.5s", "2m", "31536000s", "31536001s", "1e12s", "-1s", "0x1s", "5"])
        target = r.choice(["all", "backend 1", "backend %d" % backends, "backend %d" % (backends + 1), "backend 0"])
        a = r.choice(ACTIONS)
        arg = {"latency": r.choice(["20ms", "0ms", "3600s", "3601s", "0x20ms", "1e300s", "2"]),
               "error-rate": r.choice(["0", "0.5", "1", "1.5", "nan"]),
               "capacity": r.choice(["0", "3", "1000000", "1000001", "2.5"]),
               "jitter": jitter(r),
               "up": r.choice(["", "slow-start 10s", "slow-start 1e300s x3", "slow-start 2s x0.5", "slow-start 1s x1"]),
               }.get(a, "")
        lines.append(("at %s %s %s %s" % (t, target, a, arg)).rstrip())
    if r.random() < 0.05:
        lines.append("at 1s backend 1 bogus")
    return "\n".join(lines) + "\n"


# ---- a case -------------------------------------------------------------------------------

# Options whose random values could make a case run long on the real clock;
# they are set after the random ones there (a later option wins).
REAL_TAIL = ["--port-base", "0", "--duration", "0.3", "--time-scale", "1", "--timeout", "0.5", "--latency", "0:5",
             "--sleep", "0", "--drift-period", "0", "--interval", "0.1"]
SKIPPED = {"help", "version", "backends-only", "client-only", "server", "host", "metrics", "admin", "seed",
           "report", "scenario", "sweep", "sweep-metric", "replay", "policy", "compare", "jitter", "clock",
           "format", "quiet"}


def draw_case(r, table, policies):
    """A case: {"args": [...], "scenario": text or None}; @SCENARIO and
    @REPORT in args stand for files in the case's own directory."""
    args = []
    real = r.random() < 0.04
    args += ["--clock", "real" if real else "virtual"]
    if r.random() < 0.9:
        args += ["-q"]
    args += ["--seed", str(r.randrange(2 ** 64) if r.random() < 0.3 else r.randrange(100))]
    backends = 5
    numeric = [o for o in table.values() if o.lo is not None and o.name not in SKIPPED]
    for o in r.sample(numeric, r.randint(0, 6)):
        v = value_of(r, o)
        args += ["--" + o.name, v]
        if o.name == "backends":
            try:
                backends = int(float(v))
            except (ValueError, OverflowError):
                pass
    if r.random() < 0.15:
        args += ["--jitter", jitter(r)]
    if r.random() < 0.2:
        args += ["--policy", r.choice(policies + ["nope"])]
    elif r.random() < 0.15:
        args += ["--compare", ",".join(r.sample(policies, r.randint(1, 3)))]
    if r.random() < 0.15:
        args += ["--format", r.choice(["text", "json", "xml"])]
    text = None
    if r.random() < 0.2:
        text = scenario(r, backends)
        args += ["--scenario", "@SCENARIO"]
    if r.random() < 0.1:
        args += ["--sweep", sweep(r, table)]
        if r.random() < 0.3:
            args += ["--sweep", sweep(r, table)]
    if r.random() < 0.15:
        args += ["--report", "@REPORT"]
    if r.random() < 0.05:
        args += ["--replay", r.choice(["linkerd", "tower", "bogus"]), "--time-scale", "0.01"]
    if r.random() < 0.03:
        args += [r.choice(["--max", "--bogus", "stray", "--rounds=", "-n"])]
    # The end, when the draws gave none or a long one.
    end = r.random()
    if end < 0.45:
        args += ["--rounds", str(r.randint(1, 5))]
    elif end < 0.75:
        args += ["--requests", str(r.randint(1, 3000))]
    elif end < 0.97:
        args += ["--duration", "%.3g" % r.uniform(0.001, 3)]
    if real:
        args += REAL_TAIL
    return {"args": args, "scenario": text}


def num(args, name, default):
    """The last value of --name in args, as a number of at least 0 (default
    when absent or not a number): what a run can get, at most."""
    v = default
    for i, a in enumerate(args[:-1]):
        if a == "--" + name:
            try:
                x = float(args[i + 1])
                if math.isfinite(x):
                    v = max(x, 0.0)
            except ValueError:
                pass
    return v


def swept(args, name, value):
    """The largest of value and every value --sweep gives name (a range's
    end included): what the heaviest run of a sweep gets."""
    for i, a in enumerate(args[:-1]):
        if a == "--sweep" and args[i + 1].startswith(name + "="):
            for part in re.split(r"[,:]", args[i + 1][len(name) + 1:]):
                try:
                    x = float(part)
                    if math.isfinite(x):
                        value = max(value, x)
                except ValueError:
                    pass
    return value


def swept_least(args, name, value):
    """The smallest of value and every value --sweep gives name above 0 (a
    range's start included): the shortest period a sweep's runs get (0, none,
    gives way to any)."""
    for i, a in enumerate(args[:-1]):
        if a == "--sweep" and args[i + 1].startswith(name + "="):
            for part in re.split(r"[,:]", args[i + 1][len(name) + 1:]):
                try:
                    x = float(part)
                    if math.isfinite(x) and x > 0:
                        value = x if value <= 0 else min(value, x)
                except ValueError:
                    pass
    return value


def has(args, name):
    return "--" + name in args


def implied(case):
    """(work, stdout bytes, stderr bytes) a case may take at most, from its
    options as lbsim reads them: an upper bound, generous."""
    a = case["args"]
    backends = num(a, "backends", 5)
    policies = 3 if has(a, "replay") else 1
    for i, x in enumerate(a[:-1]):
        if x == "--compare":
            policies = max(policies, a[i + 1].count(",") + 1)
    combos = 1
    for i, x in enumerate(a[:-1]):
        if x == "--sweep":
            combos *= max(1, a[i + 1].count(",") + 1) * (200 if ":" in a[i + 1] else 1)
    combos = min(combos, 10000)
    scale = num(a, "time-scale", 1) if has(a, "time-scale") else 1
    # The heaviest run of a sweep: its longest ends and waits, its shortest
    # periods (a run's own option is one of the values a sweep may replace).
    timeout = swept(a, "timeout", num(a, "timeout", 5))
    sleep = swept(a, "sleep", num(a, "sleep", 1))
    drift = swept_least(a, "drift-period", num(a, "drift-period", 5))
    interval = max(swept_least(a, "interval", num(a, "interval", 1)) * scale, 1e-9)  # --time-scale scales it too
    ends = []
    duration = swept(a, "duration", num(a, "duration", 0))
    if duration > 0:
        ends.append(duration * scale)
    rounds = swept(a, "rounds", num(a, "rounds", 0))
    requests = swept(a, "requests", num(a, "requests", 0)) * max(scale, 1)
    shape = "rate" if has(a, "rate") or "rate=" in " ".join(a) else \
        "concurrency" if has(a, "concurrency") or "concurrency=" in " ".join(a) else "burst"
    if has(a, "replay") and not (has(a, "rate") or has(a, "concurrency")):
        shape = "rate"
    burst = swept(a, "burst", num(a, "burst", 100))
    rate = swept(a, "rate", num(a, "rate", 1000))
    conc = swept(a, "concurrency", num(a, "concurrency", 50))
    backends = swept(a, "backends", backends)
    if shape == "burst":
        if rounds:
            ends.append(rounds * (sleep + timeout + 0.01))
        if requests:
            ends.append(math.ceil(requests / max(burst, 1)) * (sleep + timeout + 0.01))
    elif shape == "rate" and requests:
        ends.append(requests / max(rate, 1e-9) * 10 + timeout)
    elif shape == "concurrency" and requests:
        ends.append(requests / max(conc, 1) * (timeout + 0.01) + timeout)
    if shape != "burst" and rounds:
        ends.append(rounds * interval + timeout)
    # Rounds and intervals count after --warmup: it comes first.
    warmup = num(a, "warmup", 0) * scale
    ends = [e + warmup for e in ends]
    sim = min(ends + [31536000.0 + 86400])
    clients = num(a, "clients", 1)
    if shape == "burst":
        # The rounds of --warmup are not counted: they come on top.
        reqs = burst * (min(rounds or 1e18, sim / max(sleep, 1e-9) + 1, math.ceil((requests or 1e18) / max(burst, 1)))
                        + warmup / max(sleep, 1e-9))
        # A fleet's clients are not in step: it is summed up by --interval.
        blocks = min(rounds or 1e18, sim / max(sleep, 1e-9) + 1) if clients <= 1 else sim / interval + 2
    elif shape == "rate":
        reqs = min(requests or 1e18, rate * sim * 3 + 10)
        blocks = sim / interval + 2
    else:
        # A request ends by the network's cost, or sooner by its deadline.
        fastest = min(max(num(a, "net-delay", 0.1), 1e-6) / 1000, max(timeout, 1e-9))
        reqs = min(requests or 1e18, conc * sim / fastest + conc)
        blocks = sim / interval + 2
    if not has(a, "drift-period") and not has(a, "replay") and "drift-period=" not in " ".join(a):
        drift = 5
    drifts = 0 if drift == 0 else sim / max(drift, 1e-3) * backends
    samples = sim * 20 * backends if has(a, "report") else 0
    # A fleet's summary of an interval goes over its clients.
    work = (reqs + drifts + blocks * backends + samples + blocks * clients * 20 + clients * backends) * policies * combos
    if "real" in a:
        work += backends * policies * 100  # a listening socket each, and its connections
    changes = drifts + (backends * 6 * 10 if case.get("scenario") else 0)
    json = "json" in a
    lines_out = (blocks * (backends + 4) + 40 + backends * 3 + (changes if json else 0)) * policies * combos
    # The header, each backend's URL on sockets, the changes (drift steps unless -q).
    lines_err = 60 + backends * policies * 2 + (drifts if "-q" not in a else 0) + changes - drifts
    return work, lines_out * 400 + 65536, lines_err * 300 + 65536


WORK_LIMIT = 400000


def bounded_case(r, table, policies):
    """A case whose implied work is small, so that its time bound can be."""
    for _ in range(50):
        case = draw_case(r, table, policies)
        try:
            if implied(case)[0] <= WORK_LIMIT:
                return case
        except (ZeroDivisionError, OverflowError, ValueError):
            pass
    return {"args": ["--clock", "virtual", "-q", "--rounds", "1"], "scenario": None}


# ---- running a case and checking it -----------------------------------------------------

SANITIZER = re.compile(r"runtime error:|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer")


def sanitized(lbsim):
    r = subprocess.run(["ldd", lbsim], capture_output=True, text=True)
    return "libasan" in r.stdout or "libubsan" in r.stdout


def rss_bytes(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
            return int(m.group(1)) * 1024 if m else 0
    except OSError:
        return 0


def run_case(lbsim, case, slow, with_code=False):
    """Runs one case; the list of properties it broke (empty: it holds),
    and with_code, its exit status too."""
    d = tempfile.mkdtemp(prefix="clifuzz.")
    try:
        broke, code = check_case(os.path.abspath(lbsim), case, slow, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return (broke, code) if with_code else broke


def check_case(lbsim, case, slow, d):
    args = list(case["args"])
    scenario_path = os.path.join(d, "scenario.txt")
    report_path = os.path.join(d, "report.svg")
    if case.get("scenario") is not None:
        with open(scenario_path, "w", encoding="utf-8") as f:
            f.write(case["scenario"])
    args = [scenario_path if x == "@SCENARIO" else report_path if x == "@REPORT" else x for x in args]
    work, out_max, err_max = implied(case)
    bound = (5 + work / 50000) * (6 if slow else 1)
    mem_max = 3 << 30

    def limits():
        if not slow:
            resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    out_f = tempfile.TemporaryFile(dir=d)
    err_f = tempfile.TemporaryFile(dir=d)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    env.pop("LBSIM_EVENTS_HISTORY", None)
    start = time.monotonic()
    p = subprocess.Popen([lbsim] + args, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL, env=env,
                         preexec_fn=limits, cwd=d)
    broke = []
    while p.poll() is None:
        elapsed = time.monotonic() - start
        if elapsed > bound:
            broke.append("still running after %.0f s (its bound: %.0f s for %.0f units of work)" %
                         (elapsed, bound, work))
            break
        if rss_bytes(p.pid) > mem_max:
            broke.append("more than %d MiB resident" % (mem_max >> 20))
            break
        out_f.seek(0, os.SEEK_END)
        if out_f.tell() > 4 * out_max + (64 << 20):
            broke.append("more than %d bytes on stdout" % out_f.tell())
            break
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
        p.wait()
        return broke, "killed"
    code = p.returncode
    took = time.monotonic() - start
    out_f.seek(0, os.SEEK_END)
    out_len = out_f.tell()
    err_f.seek(0)
    err = err_f.read().decode(errors="replace")
    if code < 0:
        broke.append("killed by signal %d" % -code)
    if SANITIZER.search(err):
        broke.append("sanitizer report: " + SANITIZER.search(err).group(0))
    if code not in (0, 1, 2) and code >= 0:
        broke.append("exit status %d" % code)
    lines = err.splitlines()
    if code == 2 and (len(lines) != 1 or not lines[0].startswith("lbsim: ")):
        broke.append("exit 2 with %d lines on stderr: %r" % (len(lines), err[-300:]))
    if code == 1 and not any(l.startswith("lbsim: ") for l in lines):
        broke.append("exit 1 without a reason on stderr: %r" % err[-300:])
    if code == 0:
        if out_len > out_max:
            broke.append("%d bytes on stdout, more than the run implies (%d)" % (out_len, out_max))
        if len(err) > err_max:
            broke.append("%d bytes on stderr, more than the run implies (%d)" % (len(err), err_max))
    if os.path.exists(report_path):
        try:
            ET.parse(report_path)
        except ET.ParseError as e:
            broke.append("the report is not whole: %s" % e)
        if code != 0:
            broke.append("exit %d and a report written" % code)
    left = sorted(set(os.listdir(d)) - {"scenario.txt", "report.svg"})
    left = [x for x in left if not x.startswith("tmp")]
    if left:
        broke.append("files left beside the report: %s" % left)
    if broke:
        broke.append("(exit %d after %.1f s; stderr ends %r)" % (code, took, err[-200:]))
    return broke, code


def show(case):
    return json.dumps(case, ensure_ascii=True)


def replay_file(lbsim, path):
    """Runs every case of a regressions file; the failures, as text."""
    slow = sanitized(lbsim)
    failures = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            case = json.loads(line)
            broke = run_case(lbsim, case, slow)
            if broke:
                failures.append("%s\n  %s" % (show(case), "\n  ".join(broke)))
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lbsim")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cases", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--replay", default=None)
    a = ap.parse_args()
    if a.replay:
        failures = replay_file(a.lbsim, a.replay)
        for f in failures:
            print("FAIL " + f)
        print("%s: %d failing" % (a.replay, len(failures)))
        return 1 if failures else 0
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print("clifuzz seed=%d (replay: clifuzz.py LBSIM --seed %d%s)" %
          (seed, seed, " --cases %d" % a.cases if a.cases else ""), flush=True)
    table, policies = read_table(a.lbsim)
    slow = sanitized(a.lbsim)
    r = random.Random(seed)
    cases = a.cases if a.cases is not None else (10 ** 9 if a.seconds else 100)
    deadline = time.monotonic() + a.seconds if a.seconds else None
    lock = threading.Lock()
    state = {"next": 0, "ran": 0, "failed": 0, "codes": {}}
    drawn = []

    def next_case():
        with lock:
            if state["next"] >= cases or (deadline and time.monotonic() > deadline):
                return None
            # Drawn in order from the one generator: the same seed, the same cases.
            while len(drawn) <= state["next"]:
                drawn.append(bounded_case(r, table, policies))
            case = drawn[state["next"]]
            drawn[state["next"]] = None
            state["next"] += 1
            return case

    def worker():
        while True:
            case = next_case()
            if case is None:
                return
            broke, code = run_case(a.lbsim, case, slow, with_code=True)
            with lock:
                state["ran"] += 1
                state["codes"][code] = state["codes"].get(code, 0) + 1
                if broke:
                    state["failed"] += 1
                    print("FAIL %s\n  %s" % (show(case), "\n  ".join(broke)), flush=True)
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = ", ".join("%d exit %s" % (n, c) for c, n in sorted(state["codes"].items(), key=lambda x: str(x[0])))
    print("clifuzz seed=%d: %d cases (%s), %d failing" % (seed, state["ran"], codes, state["failed"]), flush=True)
    return 1 if state["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
