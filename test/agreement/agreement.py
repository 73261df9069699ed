#!/usr/bin/env python3
"""The virtual clock against real sockets: the same runs on both clocks.

Usage: agreement.py LBSIM [--scale S] [--attempts N] [--seed N] [--only NAME ...]
       agreement.py LBSIM --full        the replays at --time-scale 1 (minutes)
       agreement.py LBSIM --net-delay   what sockets add to a lone request (the
                                        measure behind --net-delay's default)

Four comparisons, each a run with the same options and seed on both clocks,
read from --format json:

  linkerd, tower   the published replays, time-scaled (--time-scale S):
                   per policy, the success rate within 0.5 point, each
                   backend's share of the requests within 3 points, p50 and
                   p99 within 10 % or 2 ms, whichever is larger;
  fleet            the linkerd replay with ten clients per policy
                   (--clients 10), each balancing on what it saw:
                   compared as the replays are;
  pinned           the seed's demo on backends whose latencies are set far
                   apart and do not drift: in every round, each backend's
                   request count within 3 of the real run's;
  retries          failing answers retried under a budget, round-robin:
                   the user requests' success within 0.5 point, each
                   backend's share of the attempts within 3 points, p50 as
                   above (not p99: its tail is the retries' backoffs, timers
                   that a busy loop wakes late), attempts and retries per
                   user request within 0.03;
  ejection         a backend that fails every answer, ejected by Envoy's
                   consecutive-5xx detection and brought back at the sweeps:
                   the same, and the number of ejections within one;
  loads            least-loaded on the requests in flight the backends
                   report with every answer (--load-reports), three
                   one-server backends of 4, 8 and 16 ms at 70 % of their
                   capacity: as the replays, and the mean age of the view
                   of each pick's backend within 15 % or 1 ms.

On sockets, the replays run one policy at a time (--policy P). In one
process (--compare, as a replay runs by default; --together here) the three
balancers and their thirty-odd backends share one event loop, and each
policy's latencies carry the others' traffic, a millisecond or two at these
rates: an artefact of the real driver, not of the model. A policy's run is
the same alone or compared (the policies do not interact; the virtual
clock prints the same figures for each either way).

The real run is timed by a machine shared with other work. Around every
real attempt a probe measures what sockets add to a lone 5 ms request right
then; when it adds more than PROBE_P90_MS at the 90th percentile, the
machine is too busy to time real sockets to the tolerances above (the
wake-ups of the loop come late), and the attempt does not count either
way. A comparison that disagrees is run again (--attempts, 2 by default);
it passes when one attempt agrees, and fails when one that counted
disagreed and none agreed. When no attempt counted, the test is skipped
(exit status 77, with the probe's figures): the model was not checked.
The virtual run is the same every time. Every figure is printed. Exit
status 0 when every comparison agrees, 1 when one disagrees."""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SUCCESS_POINTS = 0.5
SHARE_POINTS = 3.0
LATENCY_RATIO = 0.10
LATENCY_MS = 2.0
ROUND_REQUESTS = 3

# The pinned demo: five backends at fixed latencies 40 ms apart (far more
# than what sockets add to a burst), rounds of 100, ema-greedy.
PINNED = ["--scenario", os.path.join(HERE, "pinned.txt"), "-n", "5", "--drift-period", "0", "--rounds", "6",
          "--sleep", "0.05", "--burst", "100"]


# Load reports: least-loaded reads them; which backend gets what depends on
# the figures every answer carries.
LOADS = ["--scenario", os.path.join(HERE, "loads.txt"), "-n", "3", "--drift-period", "0", "--capacity", "1",
         "--rate", "300", "--duration", "4", "--policy", "least-loaded", "--load-reports"]
VIEW_AGE_RATIO = 0.15
VIEW_AGE_MS = 1.0

# The probe: lone requests to one 5 ms backend, 2 ms apart.
PROBE = ["-n", "1", "--latency", "5", "--drift-period", "0", "--burst", "1", "--sleep", "0.002", "--rounds", "100"]
PROBE_P90_MS = 1.0
SKIPPED = 77


def lbsim(binary, clock_args, args, timeout):
    cmd = [binary] + clock_args + args + ["--format", "json", "-q"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def summaries(objects):
    return {o["policy"]: o for o in objects if o["type"] == "summary"}


def lbsim_per_policy(binary, clock_args, args, policies, timeout):
    """The run of each policy alone, one after another: the objects of every
    policy's run, as one run's."""
    objects = []
    for policy in policies:
        objects += lbsim(binary, clock_args, args + ["--policy", policy], timeout)
    return objects


def tolerance_ms(virtual_ms):
    return max(LATENCY_RATIO * virtual_ms, LATENCY_MS)


def compare_replay(virtual, real):
    """(lines to print, failures) for the summaries of one replay."""
    v, r = summaries(virtual), summaries(real)
    lines, failures = [], []
    if sorted(v) != sorted(r) or not v:
        return lines, ["policies differ: %s vs %s" % (sorted(v), sorted(r))]
    lines.append("  %-18s %8s %17s %21s %21s %9s" % ("policy", "requests", "success % v / r", "p50 ms v / r",
                                                     "p99 ms v / r", "share pt"))
    for policy in v:
        a, b = v[policy], r[policy]
        if a["requests"] == 0 or b["requests"] == 0:
            failures.append("%s: no requests" % policy)
            continue
        sa, sb = 100.0 * a["ok"] / a["requests"], 100.0 * b["ok"] / b["requests"]
        shares = [(100.0 * x["requests"] / a["requests"], 100.0 * y["requests"] / b["requests"])
                  for x, y in zip(a["backends"], b["backends"])]
        worst = max(abs(x - y) for x, y in shares)
        lines.append("  %-18s %8d %8.2f / %6.2f %9.2f / %9.2f %9.2f / %9.2f %9.2f" % (
            policy, a["requests"], sa, sb, a["p50_ms"] or 0, b["p50_ms"] or 0, a["p99_ms"] or 0, b["p99_ms"] or 0,
            worst))
        if abs(sa - sb) > SUCCESS_POINTS:
            failures.append("%s: success %.2f %% vs %.2f %%" % (policy, sa, sb))
        for k, (x, y) in enumerate(shares):
            if abs(x - y) > SHARE_POINTS:
                failures.append("%s: backend %d's share %.2f %% vs %.2f %%" % (policy, k + 1, x, y))
        for q in ("p50_ms", "p99_ms"):
            if a[q] is None or b[q] is None or abs(a[q] - b[q]) > tolerance_ms(a[q]):
                failures.append("%s: %s %s vs %s (tolerance %.2f ms)" % (policy, q, a[q], b[q],
                                                                           tolerance_ms(a[q] or 0)))
    return lines, failures


def compare_loads(virtual, real):
    """(lines, failures): as a replay, and how old the views were."""
    lines, failures = compare_replay(virtual, real)
    for policy, a in summaries(virtual).items():
        b = summaries(real).get(policy)
        if b is None:
            continue
        va, vb = a.get("view_age_ms"), b.get("view_age_ms")
        lines.append("  %-18s view age ms v / r %.3f / %s" % (policy, va or 0, "%.3f" % vb if vb else vb))
        if va is None or vb is None or abs(va - vb) > max(VIEW_AGE_RATIO * va, VIEW_AGE_MS):
            failures.append("%s: view age %s ms vs %s ms" % (policy, va, vb))
    return lines, failures


def compare_rounds(virtual, real):
    """(lines, failures): every round's request count per backend."""
    rv = [o for o in virtual if o["type"] == "round"]
    rr = [o for o in real if o["type"] == "round"]
    lines, failures = [], []
    if len(rv) != len(rr) or not rv:
        return lines, ["%d rounds vs %d" % (len(rv), len(rr))]
    for a, b in zip(rv, rr):
        ca = [x["requests"] for x in a["backends"]]
        cb = [y["requests"] for y in b["backends"]]
        lines.append("  round %d: virtual %s, real %s" % (a["n"], ca, cb))
        for k, (x, y) in enumerate(zip(ca, cb)):
            if abs(x - y) > ROUND_REQUESTS:
                failures.append("round %d, backend %d: %d requests vs %d" % (a["n"], k + 1, x, y))
    start = [o for o in virtual if o["type"] == "start"][0]
    latencies = sorted(b["true_ms"] for b in start["backends"])
    if min(b - a for a, b in zip(latencies, latencies[1:])) < 20:
        failures.append("the pinned latencies %s are not far enough apart" % latencies)
    return lines, failures


# The tools around the pick: two clients over three backends that answer 503
# a fifth of the time, their failures retried twice under a budget of 50 %.
RETRIES = ["-n", "3", "--latency", "5", "--drift-period", "0", "--rate", "300", "--duration", "4", "--clients", "2",
           "--error-rate", "0.2", "--retries", "2", "--retry-budget", "50", "--policy", "round-robin"]
# Backend 3 of five fails every answer until 4.5 s: ejected for 1 s, 2 s,
# 3 s, each time after five failures in a row, back at the 1 s sweeps.
EJECTION = ["-n", "5", "--latency", "5", "--drift-period", "0", "--rate", "300", "--duration", "6",
            "--scenario", os.path.join(HERE, "failing.txt"), "--outlier-ejection", "--outlier-interval", "1",
            "--outlier-base-ejection-time", "1", "--policy", "round-robin"]
TALLY_PER_USER = 0.03
EJECTIONS = 1


def compare_tools(virtual, real):
    """(lines, failures): a replay's figures but p99, with the tally's per user request."""
    lines, failures = compare_replay(virtual, real)
    failures = [f for f in failures if ": p99_ms " not in f]
    v, r = summaries(virtual), summaries(real)
    for policy in v:
        a, b = v[policy]["tally"], r[policy]["tally"]
        per = [(k, a[k] / a["users"], b[k] / b["users"]) for k in ("attempts", "retries")]
        lines.append("  %-18s %s, ejections %d / %d" % (
            policy, ", ".join("%s per request %.3f / %.3f" % x for x in per), a["ejections"], b["ejections"]))
        for k, x, y in per:
            if abs(x - y) > TALLY_PER_USER:
                failures.append("%s: %s per user request %.3f vs %.3f" % (policy, k, x, y))
        if abs(a["ejections"] - b["ejections"]) > EJECTIONS:
            failures.append("%s: %d ejections vs %d" % (policy, a["ejections"], b["ejections"]))
    return lines, failures


def comparisons(scale):
    """name: (arguments, comparison, whether it compares policies, timeout)"""
    return {
        "linkerd": (["--replay", "linkerd", "--time-scale", str(scale)], compare_replay, True, 90 + 120 * scale),
        "tower": (["--replay", "tower", "--time-scale", str(scale)], compare_replay, True, 90 + 180 * scale),
        "fleet": (["--replay", "linkerd", "--time-scale", str(scale), "--clients", "10"], compare_replay, True,
                  90 + 120 * scale),
        "pinned": (PINNED, compare_rounds, False, 60),
        "loads": (LOADS, compare_loads, False, 60),
        "retries": (RETRIES, compare_tools, False, 60),
        "ejection": (EJECTION, compare_tools, False, 60),
    }


def probe(binary):
    """What sockets add to a lone 5 ms request now, at the median and the 90th percentile (ms)."""
    s = summaries(lbsim(binary, ["--port-base", "0"], PROBE + ["--seed", "1"], 30))
    (one,) = s.values()
    return one["p50_ms"] - 5.0, one["p90_ms"] - 5.0


def measure_net_delay(binary, reps=5):
    """The median over `reps` runs of what sockets add to the median lone
    request: one backend, one request at a time, 10 ms apart (the loop is
    idle in between), latencies of 1 and 2 ms (histogram buckets of 8 and
    16 microseconds)."""
    extras = []
    for rep in range(reps):
        for latency in (1, 2):
            args = ["-n", "1", "--latency", str(latency), "--drift-period", "0", "--burst", "1", "--sleep", "0.01",
                    "--rounds", "300", "--seed", str(rep + 1)]
            (one,) = summaries(lbsim(binary, ["--port-base", "0"], args, 60)).values()
            extra = one["p50_ms"] - latency
            extras.append(extra)
            print("latency %d ms: p50 %.3f ms, p90 %.3f ms: sockets add %.3f ms (load %.1f)" % (
                latency, one["p50_ms"], one["p90_ms"], extra, os.getloadavg()[0]))
    extras.sort()
    print("median of the medians: %.3f ms" % extras[len(extras) // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lbsim")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--attempts", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--full", action="store_true", help="the replays at --time-scale 1, one attempt")
    ap.add_argument("--together", action="store_true", help="on sockets, every policy in one process (--compare)")
    ap.add_argument("--net-delay", action="store_true", help="measure what sockets add to a lone request")
    opts = ap.parse_args()
    if opts.net_delay:
        measure_net_delay(os.path.abspath(opts.lbsim))
        return 0
    if opts.full:
        opts.scale, opts.attempts = 1.0, 1
        opts.only = opts.only or ["linkerd", "tower"]
    binary = os.path.abspath(opts.lbsim)
    seed = ["--seed", str(opts.seed)]
    verdicts = {}
    for name, (args, compare, policies, timeout) in comparisons(opts.scale).items():
        if opts.only and name not in opts.only:
            continue
        t0 = time.monotonic()
        virtual = lbsim(binary, ["--clock", "virtual"], args + seed, timeout)
        t_virtual = time.monotonic() - t0
        apart = policies and not opts.together
        verdict = "skipped"
        for attempt in range(1, opts.attempts + 1):
            before = probe(binary)
            t0 = time.monotonic()
            real_clock = ["--clock", "real", "--port-base", "0"]
            if apart:
                real = lbsim_per_policy(binary, real_clock, args + seed, list(summaries(virtual)), timeout)
            else:
                real = lbsim(binary, real_clock, args + seed, timeout)
            t_real = time.monotonic() - t0
            after = probe(binary)
            lines, failures = compare(virtual, real)
            busy = max(before[1], after[1]) > PROBE_P90_MS
            print("%s: lbsim %s (virtual %.2f s, real %.2f s of wall time%s; attempt %d of %d)" % (
                name, " ".join(args + seed), t_virtual, t_real, ", one policy at a time" if apart else "",
                attempt, opts.attempts))
            print("  sockets add to a lone request: p50 %.3f / %.3f ms, p90 %.3f / %.3f ms (before / after)%s" % (
                before[0], after[0], before[1], after[1],
                "; load %.1f on %d CPUs: too busy to time sockets, the attempt does not count" % (
                    os.getloadavg()[0], os.cpu_count()) if busy else ""))
            print("\n".join(lines))
            if not failures:
                print("  agrees")
                verdict = "agrees"
                break
            print("  disagrees:\n    " + "\n    ".join(failures))
            if not busy:
                verdict = "disagrees"
        verdicts[name] = verdict
        sys.stdout.flush()
    print("verdicts: " + ", ".join("%s %s" % kv for kv in verdicts.items()))
    if any(v == "disagrees" for v in verdicts.values()):
        print("FAIL: a comparison disagrees with real sockets")
        return 1
    if any(v == "skipped" for v in verdicts.values()):
        print("SKIPPED: the machine was too busy to time real sockets on every attempt")
        return SKIPPED
    print("every comparison agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
