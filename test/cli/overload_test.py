#!/usr/bin/env python3
"""Command-line tests of the tools around the pick (retries, deadlines,
budgets, throttling, outlier ejection, slow start) and of --replay
metastable: the lbsim binary run as a user would, on both clocks.

Usage: overload_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, wait_for_stderr_line, main as run_test  # noqa: E402

LBSIM = None
SVG = "{http://www.w3.org/2000/svg}"


def run(args, timeout=60):
    p = subprocess.run([LBSIM] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def json_run(args, timeout=60):
    code, out, err = run(args + ["--format", "json"], timeout)
    check(code == 0, "%s: exit %d: %s" % (args, code, err[-500:]))
    return [json.loads(line) for line in out.splitlines()], err


def summary_of(objects, policy=None):
    found = [o for o in objects if o["type"] == "summary" and (policy is None or o["policy"] == policy)]
    check(len(found) == 1, "%d summaries" % len(found))
    return found[0]


def check_identities(s):
    """What every run adds up to (docs/overload.md): the summary's requests
    are user requests, its backends' are attempts."""
    t = s["tally"]
    attempts = sum(b["requests"] for b in s["backends"])
    failed = sum(b["failed"] for b in s["backends"])
    check(s["requests"] == s["ok"] + s["failed"], s)
    check(t["users"] == s["requests"], "users %d, ended %d" % (t["users"], s["requests"]))
    check(t["attempts"] == t["users"] + t["retries"], t)
    check(attempts == t["attempts"], "the backends ended %d attempts of %d" % (attempts, t["attempts"]))
    check(s["failed"] == failed - t["retries"], "user failures %d, failed attempts %d" % (s["failed"], failed))
    why = sum(t[k] for k in ("retries", "backoff_cancelled", "exhausted", "refused_budget", "refused_throttle",
                             "refused_deadline", "not_retryable"))
    cancelled_attempts = failed - why
    check(cancelled_attempts >= 0, "failed attempts %d, accounted for %d" % (failed, why))


def test_retries_add_up_on_both_clocks():
    scenario = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    scenario.write("at 0s backend 2 down\nat 1s backend 2 up\n")
    scenario.close()
    try:
        common = ["-n", "3", "--latency", "5", "--drift-period", "0", "--rate", "300", "--duration", "2",
                  "--error-rate", "0.2", "--retries", "2", "--retry-budget", "50", "--policy", "round-robin",
                  "--scenario", scenario.name, "-q", "-s", "3"]
        for clock in (["--clock", "virtual"], ["--port-base", "0"]):
            objects, err = json_run(common + clock)
            s = summary_of(objects)
            check_identities(s)
            t = s["tally"]
            check(t["retries"] > 50, t)
            # Backend 2 down for the first second: its attempts were refused and went elsewhere.
            check(s["backends"][1]["failed"] > 20, s["backends"][1])
            check(s["ok"] > 0.9 * s["requests"], s)
            for o in objects:
                if o["type"] == "interval":
                    check(o["tally"]["attempts"] == o["requests"], o)  # the interval's picks
        # The text summary says so in one line.
        code, out, err = run(common + ["--clock", "virtual"])
        check(re.search(r"^tally: users=\d+ attempts=\d+ retries=\d+ ", out, re.M), out)
    finally:
        os.unlink(scenario.name)


def test_a_signal_mid_backoff_loses_nothing_on_sockets():
    p = subprocess.Popen([LBSIM, "--port-base", "0", "-n", "2", "--latency", "5", "--drift-period", "0",
                          "--rate", "400", "--error-rate", "0.5", "--retries", "3", "--retry-backoff", "400",
                          "--retry-backoff-max", "3000", "--format", "json", "-q", "-s", "4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, err[-300:]))
    s = summary_of([json.loads(line) for line in out.splitlines()])
    check_identities(s)
    check(s["failures"]["cancelled"] > 0 and s["tally"]["backoff_cancelled"] > 0, s["tally"])


def test_ejections_and_returns_are_events_in_json_text_and_the_report():
    scenario = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    scenario.write("at 0s backend 3 error-rate 1\nat 4s backend 3 error-rate 0\n")
    scenario.close()
    svg = tempfile.NamedTemporaryFile(suffix=".svg", delete=False)
    svg.close()
    try:
        args = ["--clock", "virtual", "-n", "5", "--latency", "5", "--drift-period", "0", "--rate", "500",
                "--duration", "10", "--policy", "round-robin", "--clients", "2", "--outlier-ejection",
                "--outlier-interval", "1", "--outlier-base-ejection-time", "2", "--scenario", scenario.name,
                "-s", "5"]
        objects, err = json_run(args)
        ejections = [o for o in objects if o["type"] == "ejection"]
        returns = [o for o in objects if o["type"] == "return"]
        check(len(ejections) >= 2 and {o["client"] for o in ejections} == {1, 2}, ejections)
        for o in ejections:
            check(o["backend"] == 3 and o["reason"] == "consecutive_5xx" and o["policy"] == "round-robin", o)
            check(o["duration_s"] == 2.0 * o["times"], o)
        check(len(returns) == len(ejections), (returns, ejections))
        check(all(r["t"] == int(r["t"]) for r in returns), "returns come at the interval's sweeps: %s" % returns)
        s = summary_of(objects)
        check(s["tally"]["ejections"] == len(ejections) and s["tally"]["returns"] == len(returns), s["tally"])
        # Text: one line each on stderr, -q silences them.
        code, out, err = run(args + ["--report", svg.name])
        check(code == 0, err)
        check(len(re.findall(r"^client \d: backend 3 ejected for \d+\.\d\d s \(consecutive_5xx, \d times?\)$", err,
                             re.M)) == len(ejections), err)
        check(len(re.findall(r"^client \d: backend 3 back in service$", err, re.M)) == len(returns), err)
        code, out, err = run(args + ["-q"])
        check("ejected" not in err, err)
        # The report: offered load, attempts and goodput, with a tick per ejection and return.
        root = ET.parse(svg.name).getroot()
        traffic = [g for g in root.iter(SVG + "g") if g.get("class") == "traffic"]
        check(len(traffic) == 1, "one traffic plot per policy")
        lines = {e.get("class") for e in traffic[0].iter(SVG + "polyline")}
        check(lines == {"offered", "attempts", "goodput"}, lines)
        ticks = [e.get("class") for e in traffic[0].iter(SVG + "line") if e.get("class") in ("ejection", "return")]
        check(ticks.count("ejection") == len(ejections) and ticks.count("return") == len(returns), ticks)
    finally:
        os.unlink(scenario.name)
        os.unlink(svg.name)


def test_prometheus_counts_user_requests_the_tally_and_ejected_backends():
    from prometheus_client.parser import text_string_to_metric_families
    import http.client
    p = subprocess.Popen([LBSIM, "--port-base", "0", "-n", "3", "--latency", "5", "--drift-period", "0",
                          "--rate", "200", "--error-rate", "0.3", "--retries", "1", "--outlier-ejection",
                          "--metrics", "127.0.0.1:0", "-q", "-s", "6"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = int(wait_for_stderr_line(p, r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
        deadline = time.monotonic() + 10
        fams = {}
        while time.monotonic() < deadline:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/metrics")
            fams = {f.name: f for f in text_string_to_metric_families(c.getresponse().read().decode())}
            c.close()
            tally = {s.labels["counter"]: s.value for s in fams["lbsim_client_tally"].samples}
            if tally["retries"] > 0:
                break
            time.sleep(0.1)
        check(tally["retries"] > 0 and tally["attempts"] >= tally["users"] + tally["retries"] - 1, tally)
        check({s.labels["result"] for s in fams["lbsim_client_user_requests"].samples} >= {"ok", "status"}, fams)
        check(len(fams["lbsim_client_ejected"].samples) == 3, fams["lbsim_client_ejected"].samples)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
    check(p.returncode == 0, "exit %d" % p.returncode)


def test_slow_start_ramps_a_returning_backend_up():
    scenario = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    scenario.write("at 0s backend 1 down\nat 2s backend 1 up\n")
    scenario.close()
    try:
        base = ["--clock", "virtual", "-n", "4", "--latency", "5", "--drift-period", "0", "--rate", "1000",
                "--duration", "8", "--interval", "1", "--policy", "round-robin", "--scenario", scenario.name,
                "-q", "-s", "7"]
        shares = {}
        for name, extra in (("plain", []), ("slow", ["--lb-slow-start", "4"])):
            objects, err = json_run(base + extra)
            shares[name] = [o["backends"][0]["requests"] / max(1, o["requests"]) for o in objects
                            if o["type"] == "interval" and o["n"] <= 8]
        # Without it, a quarter at once; with it, from a tenth up to a quarter over 4 s.
        check(all(abs(x - 0.25) < 0.01 for x in shares["plain"][2:]), shares["plain"])
        slow = shares["slow"]
        check(0.02 < slow[2] < 0.12, slow)
        check(all(slow[k] < slow[k + 1] for k in range(2, 5)), slow)
        check(abs(slow[6] - 0.25) < 0.01, slow)
        # On sockets too: the backend comes up from the scenario, and starts slow.
        objects, err = json_run(base[2:] + ["--port-base", "0", "--lb-slow-start", "4"])
        real = [o["backends"][0]["requests"] / max(1, o["requests"]) for o in objects
                if o["type"] == "interval" and o["n"] <= 8]
        check(real[2] < 0.15 and abs(real[6] - 0.25) < 0.03, real)
        # --weights: round-robin by weight, and the others by it too.
        objects, err = json_run(base[:-3] + ["--weights", "1,2,3,4", "-q", "-s", "7"])
        s = summary_of(objects)
        counts = [b["requests"] for b in s["backends"]]
        check(all(abs(counts[i] / sum(counts) - (i + 1) / 10) < 0.003 for i in range(4)), counts)
    finally:
        os.unlink(scenario.name)


# The metastable replay at a tenth of its size: one backend of the ten, two
# clients of the twenty (each at the same rate as before), the same 65 % of
# capacity, the same trigger. Its figures are those of the full replay
# (docs/metastable.md); the bounds below hold with room to spare.
REPLAY = ["--clock", "virtual", "--replay", "metastable", "--backends", "1", "--clients", "2", "--rate", "650",
          "-s", "1"]


def goodput(objects, start, end):
    """User requests that succeeded, and those offered, in intervals ending in (start, end]."""
    rows = [o for o in objects if o["type"] == "interval" and start < o["t"] <= end]
    return sum(o["ok"] for o in rows), sum(o["tally"]["users"] for o in rows), sum(o["tally"]["attempts"] for o in rows)


def test_the_metastable_replay_keeps_its_shape():
    runs = {}
    for name, extra in (("none", []), ("budget", ["--retry-budget", "20"]), ("throttle", ["--retry-throttle", "10,0.1"]),
                        ("no retries", ["--retries", "0", "--deadline", "60"])):
        runs[name], err = json_run(REPLAY + extra)
    for name, objects in runs.items():
        ok, offered, attempts = goodput(objects, 5, 20)
        check(ok > 0.99 * offered, "%s: %d of %d before the trigger" % (name, ok, offered))
        ok, offered, attempts = goodput(objects, 31, 40)
        check(ok < 0.05 * offered, "%s: %d of %d just after the trigger: its backlog is not yet drained" %
              (name, ok, offered))
    # Without a budget the retries alone keep the backend overloaded, long after the trigger.
    ok, offered, attempts = goodput(runs["none"], 90, 120)
    check(ok < 0.01 * offered and attempts > 3.5 * offered, (ok, offered, attempts))
    # With a budget, throttling or no retries it recovers, in that order of slowness.
    recovered = {}
    for name in ("budget", "throttle", "no retries"):
        rows = [o for o in runs[name] if o["type"] == "interval" and o["t"] > 30]
        good = [o["t"] for k, o in enumerate(rows[:-1])
                if all(r["ok"] >= 0.9 * r["tally"]["users"] for r in rows[k:-1])]
        check(good, "%s never recovered" % name)
        recovered[name] = good[0] - 30
        ok, offered, attempts = goodput(runs[name], 110, 120)
        check(ok > 0.97 * offered and attempts < 1.03 * offered, (name, ok, offered, attempts))
    check(40 <= recovered["budget"] <= 85, recovered)
    check(15 <= recovered["throttle"] <= 40 and 15 <= recovered["no retries"] <= 40, recovered)


if __name__ == "__main__":
    sys.exit(run_test(globals()))
