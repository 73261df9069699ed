#!/usr/bin/env python3
"""Fleets (--clients, --subset, --warmup) as a user runs them, on both clocks.

Usage: fleet_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry; runs are seeded and short."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, wait_for_stderr_line, main as run_test  # noqa: E402

LBSIM = None


def run(args, timeout=60):
    p = subprocess.run([LBSIM] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def objects(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_fleet_options_refuse_bad_input_with_one_line():
    virtual = ["--clock", "virtual", "--rounds", "1"]
    cases = [
        (virtual + ["--clients", "0"], "--clients"),
        (virtual + ["--clients", "100001"], "--clients"),
        (virtual + ["--clients", "x"], "--clients"),
        (virtual + ["--subset", "0"], "--subset"),
        (virtual + ["--subset", "6"], "--subset 6 is more than the 5 backends"),
        (virtual + ["-n", "3", "--subset", "4", "--clients", "2"], "--subset 4 is more than the 3 backends"),
        (virtual + ["--subset-mode", "random"], "--subset-mode needs --subset"),
        (virtual + ["--subset", "2", "--subset-mode", "sometimes"], "--subset-mode 'sometimes'"),
        (["--clock", "virtual", "--duration", "2", "--warmup", "2"], "--warmup"),
        (["--clock", "virtual", "--duration", "2", "--warmup", "-1"], "--warmup"),
        (["--backends-only", "--clients", "2"], "--clients is for the client side"),
        (["--backends-only", "--subset", "2"], "--subset is for the client side"),
        (["--client-only", "--server", "http://127.0.0.1:1/", "--subset", "2"], "--subset 2 is more than the 1 backend"),
    ]
    for args, what in cases:
        code, out, err = run(args)
        check(code == 2, "%s: exit %d" % (args, code))
        lines = err.splitlines()
        check(len(lines) == 1 and lines[0].startswith("lbsim: "), "%s: %r" % (args, err))
        check(what in err, "%s: %r does not say %r" % (args, err, what))
        check(out == "", "%s printed on stdout" % args)


def test_one_client_prints_what_the_seeds_balancer_did():
    for shape in [["--rounds", "4", "--sleep", "0.5"], ["--rate", "300", "--duration", "3"],
                  ["--concurrency", "7", "--duration", "2"]]:
        for fmt in ["text", "json"]:
            base = ["--clock", "virtual", "--seed", "11", "-q", "-f", fmt] + shape
            code1, out1, _ = run(base)
            code2, out2, _ = run(base + ["--clients", "1"])
            check(code1 == 0 and code2 == 0, "exit %d, %d" % (code1, code2))
            check(out1 == out2, "%s: --clients 1 changed the output" % " ".join(shape + [fmt]))
            check("fleet" not in out1, "a fleet of one printed fleet figures")


def test_a_fleet_reports_every_interval_and_adds_up():
    code, out, err = run(["--clock", "virtual", "--seed", "2", "-q", "-f", "json", "--clients", "20", "--rate", "2000",
                          "--duration", "5", "--interval", "1", "-n", "8", "--subset", "4"])
    check(code == 0, "exit %d: %s" % (code, err))
    objs = objects(out)
    start = objs[0]
    check(start["type"] == "start" and start["clients"] == 20 and start["subset"] == 4 and
          start["subset_mode"] == "random", repr(start))
    intervals = [o for o in objs if o["type"] == "interval"]
    check(len(intervals) >= 5, "%d intervals" % len(intervals))
    for o in intervals:
        f = o["fleet"]
        check(f["clients"] == 20, repr(f))
        check(0 <= f["clients_heard"] <= 20, repr(f))
        check(f["imbalance"] is None or f["imbalance"] >= 1.0, repr(f))
        check(0 < f["herd"] <= 1.0, repr(f))
        for key in ["success_pct", "p99_ms"]:
            s = f[key]
            check(s["min"] is None or s["min"] <= s["median"] <= s["max"], "%s %r" % (key, s))
        for key in ["conns_per_backend", "clients_per_backend"]:
            s = f[key]
            check(s["min"] <= s["mean"] <= s["max"], "%s %r" % (key, s))
        check(abs(f["clients_per_backend"]["mean"] - 20 * 4 / 8) < 1e-9, repr(f))
        check("ema_ms" not in o["backends"][0], "a fleet's interval carries one client's estimate")
    summary = [o for o in objs if o["type"] == "summary"][0]
    check(summary["requests"] == sum(o["requests"] for o in intervals), "intervals do not add up to the summary")
    check(summary["requests"] == summary["ok"] + summary["failed"], repr(summary))
    check(summary["fleet"]["clients"] == 20 and summary["fleet"]["subset"] == 4, repr(summary["fleet"]))
    check("mean_ms" in summary and summary["mean_ms"] > 0, repr(summary))


def test_a_fleet_in_text_prints_its_interval_blocks_and_summary_line():
    code, out, err = run(["--clock", "virtual", "--seed", "2", "-q", "--clients", "5", "--burst", "20",
                          "--rounds", "3", "--sleep", "0.5", "-n", "3"])
    check(code == 0, "exit %d: %s" % (code, err))
    check("=== Fleet Interval 1 Summary (ema-greedy, 5 clients, t=1.00 s) ===" in out, out[:600])
    check("=== Traffic Round" not in out, "a fleet printed rounds in step")
    check("clients: heard=" in out and "backends: imbalance=" in out, out[:600])
    check("fleet: policy=ema-greedy clients=5 subset=all imbalance=" in out, out[-800:])
    check("requests=60 ok=60 failed=0" in out, out[-800:])  # 5 clients x 3 rounds x 4


def test_a_client_has_no_estimate_of_backends_outside_its_subset():
    code, out, err = run(["--clock", "virtual", "--seed", "3", "-q", "-f", "json", "--clients", "1", "--subset", "2",
                          "--rounds", "3", "-n", "5"])
    check(code == 0, "exit %d: %s" % (code, err))
    objs = objects(out)  # every line is JSON: no nan where there is no estimate
    summary = [o for o in objs if o["type"] == "summary"][0]
    emas = [b["ema_ms"] for b in summary["backends"]]
    check(sum(e is None for e in emas) == 3 and all(e is None or e > 0 for e in emas),
          "one client of a subset of 2 of 5: %r" % emas)
    for o in objs:
        if o["type"] == "interval":
            check(sum(b.get("ema_ms", 0) is None for b in o["backends"]) in (0, 3), repr(o["backends"]))


def test_a_warmup_is_not_counted():
    base = ["--clock", "virtual", "--seed", "9", "-q", "-f", "json", "--concurrency", "10", "--duration", "4",
            "--latency", "10", "--drift-period", "0"]
    code, out, err = run(base)
    code2, out2, err2 = run(base + ["--warmup", "1"])
    check(code == 0 and code2 == 0, err + err2)
    whole = [o for o in objects(out) if o["type"] == "summary"][0]
    warm = [o for o in objects(out2) if o["type"] == "summary"][0]
    check(abs(warm["elapsed_s"] - (whole["elapsed_s"] - 1.0)) < 0.05, "%r vs %r" % (warm["elapsed_s"], whole["elapsed_s"]))
    check(0.70 * whole["requests"] < warm["requests"] < 0.80 * whole["requests"],
          "%d counted after a 1 s warm-up of 4 s, %d in all" % (warm["requests"], whole["requests"]))
    first = [o for o in objects(out2) if o["type"] == "interval"][0]
    check(first["t"] >= 1.999, "the first interval ended at %r, inside the warm-up" % first["t"])


def test_a_fleet_on_sockets_accounts_for_every_request():
    # 20 clients over 4 backends on the loop, each with its own pools.
    code, out, err = run(["--seed", "5", "-q", "-f", "json", "--port-base", "0", "-n", "4", "--latency", "5",
                          "--drift-period", "0", "--clients", "20", "--rate", "800", "--duration", "3"], timeout=60)
    check(code == 0, "exit %d: %s" % (code, err))
    objs = objects(out)
    summary = [o for o in objs if o["type"] == "summary"][0]
    check(summary["requests"] > 1500, repr(summary["requests"]))
    check(summary["ok"] == summary["requests"] and summary["failed"] == 0, repr(summary))
    intervals = [o for o in objs if o["type"] == "interval"]
    check(sum(o["requests"] for o in intervals) == summary["requests"], "intervals do not add up")
    conns = [o["fleet"]["conns_per_backend"] for o in intervals]
    check(all(c["max"] >= 1 for c in conns[:-1]), repr(conns))


def test_subsets_on_sockets_keep_each_client_to_its_backends():
    code, out, err = run(["--seed", "6", "-q", "-f", "json", "--port-base", "0", "-n", "6", "--latency", "2",
                          "--drift-period", "0", "--clients", "6", "--subset", "2", "--subset-mode", "deterministic",
                          "--policy", "random", "--concurrency", "12", "--duration", "2"], timeout=60)
    check(code == 0, "exit %d: %s" % (code, err))
    summary = [o for o in objects(out) if o["type"] == "summary"][0]
    check(all(b["requests"] > 0 for b in summary["backends"]), repr([b["requests"] for b in summary["backends"]]))
    check(summary["ok"] == summary["requests"], repr(summary))
    interval = [o for o in objects(out) if o["type"] == "interval"][0]
    per = interval["fleet"]["clients_per_backend"]
    check(per["min"] == per["max"] == 2, repr(per))


def test_a_fleets_measures_are_scraped_as_prometheus_gauges():
    from prometheus_client.parser import text_string_to_metric_families
    p = subprocess.Popen([LBSIM, "--port-base", "0", "-n", "3", "--latency", "5", "--drift-period", "0", "-q",
                          "--clients", "5", "--rate", "300", "--interval", "0.2", "--metrics", "127.0.0.1:0",
                          "--seed", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = int(wait_for_stderr_line(p, r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
        deadline = time.monotonic() + 10
        fams = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                fams = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
            herd = fams.get("lbsim_fleet_herd")
            if herd and herd.samples[0].value > 0:
                break  # an interval has been measured
            time.sleep(0.1)
        for name in ("lbsim_fleet_clients", "lbsim_fleet_imbalance", "lbsim_fleet_herd",
                     "lbsim_fleet_client_success_ratio", "lbsim_fleet_client_p99_seconds",
                     "lbsim_fleet_backend_connections", "lbsim_fleet_backend_clients"):
            check(name in fams and fams[name].type == "gauge", "no gauge %s in %s" % (name, sorted(fams)))
        check(fams["lbsim_fleet_clients"].samples[0].value == 5, repr(fams["lbsim_fleet_clients"].samples))
        clients = {s.labels["stat"]: s.value for s in fams["lbsim_fleet_backend_clients"].samples}
        check(clients == {"min": 5, "mean": 5, "max": 5}, repr(clients))
        success = {s.labels["stat"]: s.value for s in fams["lbsim_fleet_client_success_ratio"].samples}
        check(success["max"] == 1.0, repr(success))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(15)
    check(p.returncode == 0, "exit %d" % p.returncode)


if __name__ == "__main__":
    sys.exit(run_test(globals()))
