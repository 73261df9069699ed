#!/usr/bin/env python3
"""Command-line tests: run the lbsim binary as a user would.

Usage: cli_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry. Each test bounds its own
waits and stops only the processes it started. The version the binary must
report comes from the build: LBSIM_VERSION in the environment (ctest sets
it), else the generated lbsim_version.h beside the binary."""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, wait_for_stderr_line, main as run_test  # noqa: E402

LBSIM = None


def built_version():
    """The version the binary must report: ctest passes the build's."""
    if os.environ.get("LBSIM_VERSION"):
        return os.environ["LBSIM_VERSION"]
    header = os.path.join(os.path.dirname(os.path.abspath(LBSIM)), "generated", "lbsim_version.h")
    with open(header) as f:
        return re.search(r'#define LBSIM_VERSION "([^"]+)"', f.read()).group(1)


def run(args, timeout=20):
    """Runs lbsim to completion: (exit code, stdout, stderr)."""
    p = subprocess.run([LBSIM] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start(args):
    return subprocess.Popen([LBSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_stdout(proc, done, timeout=10):
    """Reads stdout as it comes (lbsim flushes it after each block) until
    done(everything so far) is true; finish() returns it all."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    proc.early_out = getattr(proc, "early_out", "")
    while not done(proc.early_out):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("not seen in %g s; stdout so far ends %r" % (timeout, proc.early_out[-300:]))
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError("lbsim ended its output; it ends %r" % proc.early_out[-300:])
        proc.early_out += chunk.decode()
    return proc.early_out


def eventually(probe, what, timeout=20):
    """Calls probe() until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %g s" % (what, timeout))
        time.sleep(0.05)


def finish(proc, sig=None, timeout=15):
    if sig is not None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("lbsim did not exit in time")
    if out is not None:
        out = getattr(proc, "early_out", "") + out
    return proc.returncode, out, err


def http_get(port, path="/ping"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.status, r.read().decode()



def one_error_line(err):
    lines = err.splitlines()
    check(len(lines) == 1 and lines[0].startswith("lbsim: "), "expected one 'lbsim: ' line, got %r" % err)


ROUND_BLOCK = re.compile(
    r"\n=== Traffic Round (\d+) Summary ===\n((?:http://[^\s]+: avg=\d+\.\d\d ms, requests=\d+\n)+)")


def round_blocks(out):
    return [(int(m.group(1)), m.group(2).splitlines()) for m in ROUND_BLOCK.finditer(out)]


# ---- tests -------------------------------------------------------------------

def test_help_lists_every_option():
    code, out, err = run(["--help"])
    check(code == 0, "exit %d" % code)
    for opt in ["--backends-only", "--client-only", "--backends", "--host", "--port-base", "--latency",
                "--drift-period", "--drift-step", "--latency-floor", "--latency-ceil", "--server", "--alpha",
                "--explore", "--burst", "--sleep", "--rounds", "--duration", "--timeout", "--failure-latency",
                "--seed", "--quiet", "--help", "--version", "--max-conns", "--header-timeout", "--idle-timeout",
                "--policy", "--compare", "--rate", "--concurrency", "--format"]:
        check(opt in out, "--help does not mention " + opt)
    check("; default: 100:1500)" in out, "defaults are shown")
    check("(0 or 0.000001..3600000 ms; default: 100:1500)" in out, "ranges are shown")
    check("Examples:" in out, "an example is shown")


def test_version_format():
    code, out, err = run(["--version"])
    check(code == 0, "exit %d" % code)
    check(re.fullmatch(r"lbsim %s \(libuv \d+\.\d+\.\d+, llhttp \d+\.\d+\.\d+\)\n" % re.escape(built_version()), out),
          repr(out))


def test_bad_input_exits_2_with_one_line():
    for args in [["-n", "0"], ["-n", "4097"], ["-n", "x"], ["--alpha", "0"], ["--latency", "9:1"],
                 ["--burst", "-1"], ["--bogus"], ["--client-only"], ["--client-only", "--server", "https://h/"],
                 ["--client-only", "--server", "http://h:99999/"], ["--timeout", "nan"], ["--policy", "nope"],
                 ["stray"], ["-n"],
                 # around the pick: delays, percentages, a budget without retries, a throttle's ratio, weights
                 ["--deadline", "-1"], ["--retries", "1", "--retry-backoff", "1e12"], ["--retry-budget", "20"],
                 ["--retries", "2", "--retry-budget", "101"], ["--retries", "2", "--retry-throttle", "10,0"],
                 ["--retries", "2", "--retry-on", "all"], ["--outlier-ejection", "--outlier-max-ejection-percent", "200"],
                 ["--outlier-interval", "5"], ["-n", "3", "--weights", "1,1"], ["-n", "2", "--weights", "1,0"],
                 ["--lb-slow-start-min-weight", "5"]]:
        code, out, err = run(args)
        check(code == 2, "%s: exit %d" % (args, code))
        one_error_line(err)
        check(out == "", "%s printed on stdout" % args)


def test_virtual_clock_refuses_what_needs_sockets_or_has_no_end():
    bounded = ["--clock", "virtual", "--rounds", "1"]
    for args in [bounded + ["--backends-only"], bounded + ["--client-only", "--server", "http://127.0.0.1:1/"],
                 bounded + ["--server", "http://127.0.0.1:1/"], bounded + ["--admin", "0"],
                 bounded + ["--metrics", "127.0.0.1:0"], ["--clock", "virtual"], ["--clock", "virtual", "--sleep", "0", "--compare", "random,round-robin"],
                 ["--clock", "sundial", "--rounds", "1"], ["--clock"], ["--clock", "virtual", "--rounds", "1",
                                                                         "--net-delay", "-1"]]:
        code, out, err = run(args)
        check(code == 2, "%s: exit %d" % (args, code))
        one_error_line(err)
        check(out == "", "%s printed on stdout" % args)
    code, out, err = run(["--clock", "virtual"])
    check("needs an end" in err and "--rounds" in err, err)
    code, out, err = run(bounded + ["--admin", "0"])
    check("--admin needs sockets" in err, err)


def test_virtual_clock_prints_simulated_times_and_the_speed_on_stderr():
    code, out, err = run(["--clock", "virtual", "--rounds", "3", "--sleep", "2", "--seed", "4", "-n", "3",
                          "--port-base", "0", "--pool-size", "2", "--max-conns", "5"])
    check(code == 0, "exit %d: %s" % (code, err))
    blocks = round_blocks(out)
    check([n for n, _ in blocks] == [1, 2, 3], out)
    # --port-base 0: numbered from 1, as if the OS had picked consecutive ports
    check([l.split("/ping:")[0] for l in blocks[0][1]] == ["http://127.0.0.1:%d" % p for p in (1, 2, 3)],
          blocks[0][1])
    m = re.search(r"requests=300 ok=300 failed=0 elapsed=(\d+\.\d\d) s", out)
    check(m and float(m.group(1)) > 4.0, out)
    lines = err.splitlines()
    check(re.fullmatch(r"lbsim \d+\.\d+\.\d+ seed=4 clock=virtual", lines[0]), lines)
    m = re.fullmatch(r"simulated (\d+\.\d\d) s in \d+\.\d\d s \(\d+x real time; 300 requests, [\d.]+ M/s\)",
                     lines[-1])
    check(m and m.group(1) == re.search(r"elapsed=(\S+) s", out).group(1), lines[-1])


def test_port_in_use_exits_1():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        code, out, err = run(["--backends-only", "-n", "1", "--port-base", str(port)])
        check(code == 1, "exit %d" % code)
        errors = [l for l in err.splitlines() if l.startswith("lbsim: ")]
        check(len(errors) == 1 and "address already in use" in errors[0], repr(err))
    finally:
        s.close()


def test_backends_only_serves_and_stops_on_sigterm():
    p = start(["--backends-only", "--port-base", "0", "-n", "2", "--latency", "5", "--drift-period", "0"])
    try:
        m = wait_for_stderr_line(p, r"backend 2 listening on http://127\.0\.0\.1:(\d+)/ping latency=5\.00 ms")
        status, body = http_get(int(m.group(1)))
        check(status == 200, "status %d" % status)
        check(json.loads(body) == {"status": "ok", "backend": 2, "latency_ms": 5.0}, body)
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d: %s" % (code, err))
    check("lbsim: " not in err, err)


def test_demo_prints_rounds_and_summary():
    code, out, err = run(["--port-base", "0", "--rounds", "3", "--sleep", "0", "--latency", "1:20", "--seed", "7"])
    check(code == 0, "exit %d: %s" % (code, err))
    check(err.startswith("lbsim %s seed=7\n" % built_version()), err[:80])
    blocks = round_blocks(out)
    check([b[0] for b in blocks] == [1, 2, 3], "rounds %r" % [b[0] for b in blocks])
    for _, lines in blocks:
        check(len(lines) == 5, "5 backends per block")
        check(sum(int(l.rsplit("=", 1)[1]) for l in lines) == 100, "a block adds up to the burst")
    m = re.search(r"\n=== Run Summary ===\nrequests=300 ok=(\d+) failed=(\d+) elapsed=\d+\.\d\d s rate=\d+\.\d\d req/s\n",
                  out)
    check(m and int(m.group(1)) + int(m.group(2)) == 300, out[-600:])
    per_backend = re.findall(r"^http://\S+: requests=(\d+) ok=\d+ failed=\d+ p50=\d+\.\d\d ms p99=\d+\.\d\d ms "
                             r"ema=\d+\.\d\d ms$", out, re.M)
    check(len(per_backend) == 5 and sum(map(int, per_backend)) == 300, "per-backend lines")


def test_client_only_without_server_exits_2():
    code, out, err = run(["--client-only"])
    check(code == 2, "exit %d" % code)
    one_error_line(err)


def test_sigterm_mid_run_prints_the_summary():
    p = start(["--port-base", "0", "--latency", "200", "--drift-period", "0", "--sleep", "0"])
    try:
        wait_for_stderr_line(p, r"backend 5 listening")
        time.sleep(0.5)
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d" % code)
    check("=== Run Summary ===" in out, out[-300:])
    m = re.search(r"requests=(\d+) ok=(\d+) failed=(\d+)", out)
    check(m and int(m.group(1)) == int(m.group(2)) + int(m.group(3)) and int(m.group(1)) > 0, out[-300:])
    blocks = round_blocks(out)
    check(int(m.group(1)) == 100 * len(blocks), "every launched request is counted")


def test_second_sigint_exits_130_at_once():
    p = start(["--port-base", "0", "--latency", "3000", "--drift-period", "0", "--timeout", "10"])
    try:
        wait_for_stderr_line(p, r"backend 5 listening")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        wait_for_stderr_line(p, r"stopping: waiting for 100 requests in flight")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        code, out, err = finish(p, timeout=5)
        check(time.monotonic() - t0 < 1.0, "exited at once")
    finally:
        if p.poll() is None:
            p.kill()
    check(code == 130, "exit %d" % code)


def test_json_changes_say_from_what_to_what_for_every_action():
    path = write_temp("at 0s backend 1 jitter exp:2\n"
                      "at 0.2s backend 1 jitter none\n"
                      "at 0.3s backend 2 stall\n"
                      "at 0.4s backend 2 down\n"
                      "at 0.5s backend 2 resume\n"
                      "at 0.6s backend 2 up slow-start 1s x3\n"
                      "at 0.7s backend 3 capacity 4\n"
                      "at 0.8s backend 3 error-rate 0.5\n"
                      "at 0.9s backend 3 latency 20ms\n")
    try:
        code, out, err = run(["--clock", "virtual", "-n", "3", "--latency", "10", "--drift-period", "0",
                              "--scenario", path, "--duration", "1", "--sleep", "0.1", "--burst", "5", "-s", "2",
                              "-f", "json"])
        check(code == 0, "exit %d: %s" % (code, err))
        changes = [(o["action"], o["from"], o["to"]) for o in map(json.loads, out.splitlines())
                   if o["type"] == "change"]
        check(changes == [("jitter", "none", "exp:2"), ("jitter", "exp:2", "none"), ("stall", "up", "stalled"),
                          ("down", "stalled", "down"), ("resume", "down", "down"), ("up", "down", "up"),
                          ("capacity", 0, 4), ("error-rate", 0, 0.5), ("latency", 10, 20)], changes)
    finally:
        os.unlink(path)


def test_a_summary_without_an_answer_prints_no_latency_and_the_mean_when_there_is_one():
    code, out, err = run(["--clock", "virtual", "-n", "2", "--latency", "10", "--drift-period", "0", "--rounds", "2",
                          "--sleep", "0", "--burst", "4", "--policy", "round-robin", "-s", "1"])
    check(code == 0, "exit %d: %s" % (code, err))
    check("latency: mean=10.10 ms p50=10.10 ms p90=10.10 ms p99=10.10 ms p99.9=10.10 ms\n" in out, out)
    path = write_temp("at 0s backend 2 down\n")
    try:
        args = ["--clock", "virtual", "-n", "2", "--latency", "10", "--drift-period", "0", "--rounds", "2",
                "--sleep", "0", "--burst", "4", "--policy", "round-robin", "-s", "1", "--scenario", path]
        code, out, err = run(args)
        # Failing on purpose is no failed run: exit 0.
        check(code == 0, "exit %d: %s" % (code, err))
        check("http://127.0.0.1:5002/ping: requests=4 ok=0 failed=4 p50=- p99=- ema=10000.00 ms\n" in out, out)
        compare = [a for a in args if a not in ("--policy", "round-robin")] + ["--compare", "round-robin,random"]
        code, out, err = run(compare)
        check(code == 0 and "avg=" not in out and "p50 / p99 ms" in out, out)
        code, out, err = run(args + ["-f", "json"])
        summary = json.loads(out.splitlines()[-1])
        check(summary["mean_ms"] == 10.1 and summary["backends"][1]["mean_ms"] is None, summary)
        check(summary["backends"][1]["p50_ms"] is None, summary)
    finally:
        os.unlink(path)
    # Every request failed: the latency line has nothing to say.
    code, out, err = run(["--clock", "virtual", "-n", "1", "--latency", "10", "--drift-period", "0", "--rounds", "1",
                          "--error-rate", "1", "-s", "1"])
    check(code == 0 and "latency: mean=- p50=- p90=- p99=- p99.9=-\n" in out, (code, out))
    # ... and no backend was ever a right choice: no verdict either.
    check("oracle: to_fastest=- regret=- fastest_changes=0" in out, out)


def test_client_only_with_no_success_exits_1_with_one_line():
    code, out, err = run(["--client-only", "--server", "http://127.0.0.1:1/", "--rounds", "2", "--sleep", "0",
                          "--burst", "3", "--timeout", "1", "-s", "1"])
    check(code == 1, "exit %d: %s" % (code, err))
    check(err.splitlines()[-1] == "lbsim: not one request succeeded: no server answered 200 in time", err)
    check("requests=6 ok=0 failed=6" in out and "p50=- p99=-" in out, out)
    check(sum(1 for l in err.splitlines() if l.startswith("lbsim: ")) == 1, err)


def test_client_only_drives_backends_only():
    b = start(["--backends-only", "--port-base", "0", "-n", "2", "--latency", "2", "--drift-period", "0"])
    try:
        ports = [wait_for_stderr_line(b, r"backend %d listening on http://127\.0\.0\.1:(\d+)/" % i).group(1)
                 for i in (1, 2)]
        servers = sum([["--server", "http://localhost:%s/ping" % port] for port in ports], [])
        code, out, err = run(["--client-only", "--rounds", "2", "--sleep", "0", "--burst", "10", "-s", "3"] + servers)
        check(code == 0, "exit %d: %s" % (code, err))
        blocks = round_blocks(out)
        check(len(blocks) == 2 and blocks[0][1][0].startswith("http://localhost:%s/ping: avg=" % ports[0]), out)
        check("requests=20 ok=20 failed=0" in out, out[-400:])
    finally:
        finish(b, signal.SIGTERM)


def test_same_seed_same_drift_and_rounds():
    args = ["--port-base", "0", "--latency", "10:300", "--drift-period", "0.05", "--drift-step", "20",
            "--rounds", "4", "--sleep", "0.1", "--burst", "20", "--seed", "99"]
    runs = [run(args) for _ in range(2)]
    for code, out, err in runs:
        check(code == 0, "exit %d" % code)

    def drift(err):
        return [l for l in err.splitlines() if re.match(r"backend \d+ latency ", l)]

    def picks(out):
        return [[l.rsplit("=", 1)[1] for l in lines] for _, lines in round_blocks(out)]

    # Drift lines come at the same instants in both runs; compare the common prefix.
    d0, d1 = drift(runs[0][2]), drift(runs[1][2])
    n = min(len(d0), len(d1))
    check(n >= 10 and d0[:n] == d1[:n], "drift logs differ")
    initial = [re.sub(r":\d+/", ":P/", l) for l in runs[0][2].splitlines() if "listening" in l]
    initial1 = [re.sub(r":\d+/", ":P/", l) for l in runs[1][2].splitlines() if "listening" in l]
    check(initial == initial1, "initial latencies differ")
    check(picks(runs[0][1]) == picks(runs[1][1]), "round blocks differ")


def test_json_lines_are_valid():
    code, out, err = run(["--port-base", "0", "--rounds", "2", "--sleep", "0", "--latency", "1:5", "--seed", "1",
                          "--drift-period", "0.01", "--format", "json"])
    check(code == 0, "exit %d" % code)
    objs = [json.loads(l) for l in out.splitlines()]
    types = [o["type"] for o in objs]
    check(types[0] == "start" and types[-1] == "summary", types)
    check(types.count("round") == 2, types)
    for o in objs:
        if o["type"] == "round":
            check(sum(b["requests"] for b in o["backends"]) == 100, "round requests")
            for key in ("n", "t", "policy", "ok", "failed", "p50_ms", "p99_ms", "p999_ms", "to_fastest", "regret_ms"):
                check(key in o, key)
        if o["type"] == "drift":
            check(set(o) == {"type", "t", "backend", "from_ms", "to_ms"}, o)
    s = objs[-1]
    check(s["requests"] == 200 and s["ok"] + s["failed"] == 200, s)


def test_compare_prints_tables_with_one_truth():
    code, out, err = run(["--port-base", "0", "--compare", "ema-greedy,p2c-peak-ewma,round-robin", "--rounds", "2",
                          "--sleep", "0", "--latency", "1:30", "--seed", "1"])
    check(code == 0, "exit %d: %s" % (code, err))
    check(out.count("=== Round ") == 2, out[:200])
    check("=== Comparison Summary" in out, out[-500:])
    for name in ("ema-greedy", "p2c-peak-ewma", "round-robin"):
        check(re.search(r"^%s\s+200\s+" % name, out, re.M), "summary row for " + name)
    # Three copies of five backends, each copy with the same initial latencies.
    lat = re.findall(r"^backend (\d) \(copy for (\S+)\) listening on \S+ latency=(\S+) ms", err, re.M)
    check(len(lat) == 15, err)
    by_backend = {}
    for b, _, l in lat:
        by_backend.setdefault(b, set()).add(l)
    check(all(len(v) == 1 for v in by_backend.values()), "copies differ: %r" % by_backend)


def test_rate_and_concurrency_give_interval_blocks():
    for shape in (["--rate", "300"], ["--concurrency", "8"]):
        code, out, err = run(["--port-base", "0", "--latency", "2", "--drift-period", "0", "--duration", "1.2",
                              "--interval", "0.5", "-s", "4"] + shape)
        check(code == 0, "exit %d" % code)
        check(out.count("=== Traffic Interval ") >= 2, out[:300])
        m = re.search(r"requests=(\d+) ok=(\d+) failed=0", out)
        check(m and int(m.group(1)) == int(m.group(2)) and int(m.group(1)) > 50, out[-300:])


def write_temp(text, suffix=".txt"):
    import tempfile
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="lbsim-test-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def test_scenario_errors_name_file_and_line():
    path = write_temp("# drill\nat 1s backend 2 down\nat 2s backend 9 up\n")
    try:
        code, out, err = run(["--port-base", "0", "--scenario", path])
        check(code == 2, "exit %d" % code)
        one_error_line(err)
        check("%s:3: backend 9 does not exist (there are 5)" % path in err, err)
        code, out, err = run(["--port-base", "0", "--scenario", path + ".missing"])
        check(code == 2 and "cannot read scenario" in err, err)
    finally:
        os.unlink(path)


def test_scenario_changes_the_backends_on_time():
    path = write_temp("at 0s all capacity 5\n"
                      "at 0.3s backend 1 latency 150ms\n"
                      "at 0.6s backend 2 down\n"
                      "at 1.0s backend 2 up\n"
                      "at 1.2s backend 3 error-rate 1\n")
    try:
        code, out, err = run(["--port-base", "0", "-n", "3", "--latency", "10", "--drift-period", "0",
                              "--scenario", path, "--duration", "1.6", "--sleep", "0.1", "--burst", "10",
                              "-s", "2", "--policy", "round-robin", "-f", "json"])
        check(code == 0, "exit %d: %s" % (code, err))
        for line in ["backend 1 capacity 0 -> 5 (scenario)", "backend 1 latency 10.00 -> 150.00 ms (scenario)",
                     "backend 2 down (scenario)", "backend 2 up (scenario)", "backend 3 error-rate 0 -> 1 (scenario)"]:
            check(line in err, "no '%s' in %s" % (line, err))
        objs = [json.loads(l) for l in out.splitlines()]
        changes = [o for o in objs if o["type"] == "change"]
        check(len(changes) == 7, changes)
        down = [o for o in changes if o["action"] == "down"][0]
        check(0.55 <= down["t"] <= 1.0, down)
        check(all("from" in o and "to" in o for o in changes), changes)
        s = objs[-1]
        check(s["failures"]["connect"] > 0 or s["failures"]["reset"] > 0, s["failures"])
        check(s["failures"]["status"] > 0, s["failures"])
        check(s["requests"] == s["ok"] + s["failed"], s)
    finally:
        os.unlink(path)


def test_json_begins_with_start_in_every_mode():
    # Scenario lines at 0 s are reported after the start object, before any traffic.
    path = write_temp("at 0s backend 1 latency 3ms\nat 0s backend 2 error-rate 0.5\n")
    base = ["--port-base", "0", "-n", "3", "--latency", "2", "--drift-period", "0", "-s", "1", "-f", "json"]
    modes = {
        "demo": ["--rounds", "2", "--sleep", "0", "--burst", "10", "--scenario", path],
        "compare": ["--compare", "ema-greedy,round-robin", "--rounds", "2", "--sleep", "0", "--burst", "10",
                    "--scenario", path],
        "rate": ["--rate", "200", "--duration", "0.3", "--interval", "0.1", "--scenario", path],
        "concurrency": ["--concurrency", "4", "--duration", "0.3", "--interval", "0.1", "--scenario", path],
    }
    try:
        runs = {name: base + args for name, args in modes.items()}
        runs["replay"] = ["--replay", "tower", "--time-scale", "0.004", "--port-base", "0", "-s", "1", "-f", "json"]
        for name, args in runs.items():
            code, out, err = run(args, timeout=60)
            check(code == 0, "%s: exit %d: %s" % (name, code, err))
            objs = [json.loads(l) for l in out.splitlines()]
            types = [o["type"] for o in objs]
            check(types[0] == "start" and types.count("start") == 1, "%s: %r" % (name, types[:4]))
            changes = [k for k, o in enumerate(objs) if o["type"] == "change"]
            traffic = [k for k, t in enumerate(types) if t in ("round", "interval")]
            check(changes and traffic and max(changes) < min(traffic), "%s: %r" % (name, types[:14]))
            # The start object shows the backends as the options set them; the changes follow.
            first = objs[changes[0]]
            start_ms = {b["backend"]: b["true_ms"] for b in objs[0]["backends"]}
            check(first["t"] == 0 and start_ms[first["backend"]] == first["from"], "%s: %r %r" % (name, first, start_ms))
        # The backends alone have a start object too.
        p = start(["--backends-only"] + base + ["--scenario", path])
        try:
            wait_for_stderr_line(p, r"backend 2 error-rate 0 -> 0.5 \(scenario\)")
        finally:
            code, out, err = finish(p, signal.SIGTERM)
        check(code == 0, "backends-only: exit %d" % code)
        objs = [json.loads(l) for l in out.splitlines()]
        check([o["type"] for o in objs] == ["start", "change", "change"], objs)
        check(objs[0]["policies"] == [] and objs[0]["shape"] is None and len(objs[0]["backends"]) == 3, objs[0])
    finally:
        os.unlink(path)


def test_oracle_counts_failures_as_their_cost():
    # Backend 1 is the fastest but fails every request: it is never the right choice.
    path = write_temp("at 0s all latency 50ms\nat 0s backend 1 latency 1ms\nat 0s backend 1 error-rate 1\n")
    try:
        code, out, err = run(["--port-base", "0", "--drift-period", "0", "-s", "1", "-f", "json",
                              "--compare", "round-robin,least-outstanding", "--concurrency", "20",
                              "--duration", "0.6", "--interval", "0.2", "--scenario", path])
        check(code == 0, "exit %d: %s" % (code, err))
        objs = [json.loads(l) for l in out.splitlines()]
        for o in objs:
            if o["type"] == "interval":
                check(o["fastest"] != 1, o)
        for s in (o for o in objs if o["type"] == "summary"):
            to_b1 = s["backends"][0]["requests"]
            check(s["backends"][0]["failed"] == to_b1 and to_b1 > 0, s["backends"][0])
            # Every other backend is as good as any: exactly the picks of backend 1 are wrong.
            check(abs(s["to_fastest"] - (1 - to_b1 / s["requests"])) < 1e-3, (s["policy"], s["to_fastest"], to_b1))
            # A failure costs --failure-latency (10 s) against the best backend's 50 ms.
            check(s["regret_ms"] > 0.9 * 9950 * to_b1 / s["requests"], (s["policy"], s["regret_ms"]))
        lo = [s for s in objs if s["type"] == "summary" and s["policy"] == "least-outstanding"][0]
        check(lo["failed"] > lo["requests"] / 2 and lo["to_fastest"] < 0.5, lo)
    finally:
        os.unlink(path)


def admin_port(proc):
    return int(wait_for_stderr_line(proc, r"admin listening on http://127\.0\.0\.1:(\d+)/").group(1))


def admin(port, path, body=None, headers=None):
    """GET path, or POST body (a JSON text) as curl --json does."""
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body.encode() if body is not None else None, headers=hdrs,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_admin_endpoint_changes_backends():
    p = start(["--port-base", "0", "-n", "3", "--latency", "20", "--drift-period", "0", "--admin", "0",
               "--sleep", "0.05", "-s", "1"])
    try:
        port = admin_port(p)
        wait_for_stderr_line(p, r"dashboard on http://127\.0\.0\.1:%d/$" % port)
        status, body = admin(port, "/backends")
        check(status == 200, status)
        state = json.loads(body)
        check([b["backend"] for b in state] == [1, 2, 3] and state[0]["latency_ms"] == 20, state)
        status, body = admin(port, "/backends/2", '{"latency_ms": 300, "error_rate": 0.25}')
        one = json.loads(body)
        check(status == 200 and one["latency_ms"] == 300 and one["error_rate"] == 0.25, body)
        status, body = admin(port, "/backends/3", '{"down": true}')
        check(status == 200 and json.loads(body)["down"] is True, body)
        status, body = admin(port, "/backends/3", '{"action": "up", "slow_start_s": 1, "factor": 3}')
        check(status == 200 and json.loads(body)["down"] is False, body)
        status, body = admin(port, "/backends/3", '{"latency_ms": "fast"}')
        check(status == 400 and json.loads(body)["reason"] == "field 'latency_ms' must be a number", body)
        # Forms and bare scenario actions are not JSON.
        status, body = admin(port, "/backends/3", "down=true", {"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 415 and "application/json" in json.loads(body)["reason"], body)
        status, body = admin(port, "/backends/3", "up slow-start 5s")
        check(status == 400 and "malformed JSON" in json.loads(body)["reason"], body)
        check(admin(port, "/backends/7")[0] == 404, "backend 7")
        check(admin(port, "/nope")[0] == 404, "/nope")
        state = json.loads(admin(port, "/backends")[1])
        check(state[1]["latency_ms"] == 300 and state[2]["down"] is False, state)
        # Every backend at once.
        status, body = admin(port, "/backends", '{"capacity": 4}')
        check(status == 200 and [b["capacity"] for b in json.loads(body)] == [4, 4, 4], body)
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d" % code)
    check("backend 2 latency 20.00 -> 300.00 ms (admin)" in err and "backend 3 down (admin)" in err, err)
    check("backend 3 capacity 0 -> 4 (admin)" in err, err)


def test_admin_examples_of_the_reference_work_with_curl():
    """The curl commands of docs/reference.md, as written there, against a running lbsim."""
    reference = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "reference.md")).read()
    section = reference[reference.index("## Admin API and metrics"):]
    section = section[:section.index("\n## ", 1)]
    cmds = [l.split("#")[0].strip() for l in re.findall(r"^curl [^\n]+", section, re.M)]
    check(len(cmds) >= 5, cmds)
    p = start(["--port-base", "0", "-n", "4", "--latency", "20", "--drift-period", "0", "--admin", "0",
               "--sleep", "0.05", "-s", "1"])
    try:
        port = admin_port(p)
        for cmd in cmds:
            args = ["curl", "-sS", "-w", "\\n%{http_code}"] + [
                a.strip("'") for a in re.findall(r"'[^']*'|\S+", cmd)[1:]]
            args = [a.replace("9000", str(port)) for a in args]
            r = subprocess.run(args, capture_output=True, text=True, timeout=10)
            code = r.stdout.rsplit("\n", 1)[-1]
            check(r.returncode == 0 and code == "200", "%s -> %s %s %s" % (cmd, r.returncode, r.stdout, r.stderr))
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d" % code)


def parse_prometheus(text):
    from prometheus_client.parser import text_string_to_metric_families
    return {f.name: f for f in text_string_to_metric_families(text)}


def metrics_get(host, port, path="/metrics", method="GET"):
    import http.client
    c = http.client.HTTPConnection(host, port, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode(), dict(r.getheaders())
    finally:
        c.close()


def test_metrics_endpoint_is_read_only_and_complete():
    p = start(["--port-base", "0", "-n", "2", "--latency", "5", "--drift-period", "0", "--sleep", "0.05",
               "--burst", "10", "-s", "1", "--metrics", "127.0.0.1:0"])
    try:
        port = int(wait_for_stderr_line(p, r"metrics on http://127\.0\.0\.1:(\d+)/metrics \(read-only\)").group(1))
        deadline = time.monotonic() + 10
        while True:  # until the client has completed something
            status, text, headers = metrics_get("127.0.0.1", port)
            check(status == 200, status)
            fams = parse_prometheus(text)
            done = sum(s.value for s in fams["lbsim_client_requests"].samples
                       if s.name == "lbsim_client_requests_total" and s.labels["result"] == "ok")
            if done > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(done > 0, "no completed request in the client's metrics")
        check(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        for name in ("lbsim_client_requests", "lbsim_client_request_duration_seconds", "lbsim_client_estimate_seconds",
                     "lbsim_client_in_flight", "lbsim_backend_requests", "lbsim_backend_up"):
            check(name in fams, "no family %s in %s" % (name, sorted(fams)))
        check({s.labels["backend"] for s in fams["lbsim_backend_up"].samples} == {"1", "2"}, "backend_up samples")
        # Nothing on it changes state, and nothing else is served.
        for method, path, want in (("POST", "/metrics", 405), ("PUT", "/metrics", 405), ("GET", "/backends", 404),
                                   ("POST", "/backends/1", 404), ("GET", "/", 404)):
            status, body, headers = metrics_get("127.0.0.1", port, path, method)
            check(status == want, "%s %s: %d, wanted %d" % (method, path, status, want))
        status, body, headers = metrics_get("127.0.0.1", port, "/metrics", "HEAD")
        check(status == 200 and body == "", (status, body))
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d: %s" % (code, err[-300:]))


def test_metrics_listens_where_it_is_told_and_refuses_bad_addresses():
    for bad in ["9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "localhost:9100", "::1:9100", "[127.0.0.1]:9100",
                "1.2.3:80"]:
        code, out, err = run(["--metrics", bad, "--rounds", "1"])
        check(code == 2, "--metrics %s: exit %d" % (bad, code))
        one_error_line(err)
        check("--metrics" in err, err)
    code, out, err = run(["--metrics", "127.0.0.1:0", "--clock", "virtual", "--rounds", "1"])
    check(code == 2 and "needs sockets" in err, (code, err))
    one_error_line(err)
    # A port in use is a runtime failure.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        code, out, err = run(["--port-base", "0", "--rounds", "1", "--metrics", "127.0.0.1:%d" % s.getsockname()[1]])
    finally:
        s.close()
    check(code == 1 and "--metrics" in err, (code, err))
    # IPv6, where the machine has it.
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        return
    p = start(["--backends-only", "--port-base", "0", "-n", "1", "--metrics", "[::1]:0"])
    try:
        port = int(wait_for_stderr_line(p, r"metrics on http://\[::1\]:(\d+)/metrics").group(1))
        status, text, headers = metrics_get("::1", port)
        check(status == 200 and "lbsim_backend_up" in text, (status, text[:200]))
    finally:
        finish(p, signal.SIGTERM)


def test_metrics_follow_the_prometheus_format():
    p = start(["--port-base", "0", "-n", "2", "--latency", "5", "--drift-period", "0", "--admin", "0",
               "--sleep", "0.05", "--burst", "20", "-s", "1"])
    try:
        port = admin_port(p)

        def answered():
            status, text = admin(port, "/metrics")
            check(status == 200, status)
            fams = parse_prometheus(text)
            samples = fams["lbsim_client_requests"].samples if "lbsim_client_requests" in fams else []
            return fams if any(s.labels.get("result") == "ok" and s.value > 0 for s in samples) else None

        fams = eventually(answered, "a request answered, in /metrics")
        for name in ("lbsim_client_requests", "lbsim_client_request_duration_seconds", "lbsim_client_estimate_seconds",
                     "lbsim_client_in_flight", "lbsim_backend_requests", "lbsim_backend_latency_seconds",
                     "lbsim_backend_in_flight", "lbsim_backend_queue_length"):
            check(name in fams, "no family %s in %s" % (name, sorted(fams)))
        check(fams["lbsim_client_requests"].type == "counter", "counter type")
        check(fams["lbsim_client_request_duration_seconds"].type == "histogram", "histogram type")
        ok = sum(s.value for s in fams["lbsim_client_requests"].samples
                 if s.name == "lbsim_client_requests_total" and s.labels["result"] == "ok")
        count = [s.value for s in fams["lbsim_client_request_duration_seconds"].samples
                 if s.name.endswith("_count")][0]
        check(ok > 0 and ok == count, (ok, count))
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d" % code)
    # Each backend serves its own /metrics too.
    b = start(["--backends-only", "--port-base", "0", "-n", "1", "--latency", "1", "--drift-period", "0"])
    try:
        bport = int(wait_for_stderr_line(b, r"backend 1 listening on http://127\.0\.0\.1:(\d+)/").group(1))
        http_get(bport)
        status, text = http_get(bport, "/metrics")
        fams = parse_prometheus(text)
        served = [s for s in fams["lbsim_backend_requests"].samples
                  if s.name == "lbsim_backend_requests_total" and s.labels["code"] == "200"]
        check(served and served[0].value == 2, served)  # the /ping, and this /metrics answer itself
        check(fams["lbsim_backend_latency_seconds"].samples[0].value == 0.001, "latency gauge")
    finally:
        finish(b, signal.SIGTERM)


def test_admin_metrics_cover_every_copy_in_compare_mode():
    # 2 x 2,100 = 4,200 copies, past the 4,096 backends of one run: 4,200
    # listeners (lbsim raises its descriptor limit to the hard limit).
    # Each round prints a 2,100-line table: stdout goes to /dev/null, not to
    # a pipe that would fill up and stop lbsim while the test is not reading.
    n = 2100
    p = subprocess.Popen([LBSIM, "--compare", "ema-greedy,round-robin", "-n", str(n), "--port-base", "0",
                          "--latency", "1", "--drift-period", "0", "--burst", "2", "--sleep", "0.05", "-q",
                          "--admin", "0", "-s", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = admin_port(p)
        status, text = admin(port, "/metrics")
        check(status == 200, status)
        fams = parse_prometheus(text)
        for fam in ("lbsim_backend_up", "lbsim_backend_latency_seconds"):
            seen = {(s.labels["policy"], s.labels["backend"]) for s in fams[fam].samples}
            want = {(pol, str(i)) for pol in ("ema-greedy", "round-robin") for i in range(1, n + 1)}
            check(len(fams[fam].samples) == 2 * n and seen == want,
                  "%s: %d samples, missing %s" % (fam, len(fams[fam].samples), sorted(want - seen)[:5]))
        codes = {s.labels["code"] for s in fams["lbsim_backend_requests"].samples
                 if s.labels["backend"] == str(n) and s.labels["policy"] == "round-robin"}
        check(codes >= {"200", "404", "503", "400", "408"}, codes)
    finally:
        code, out, err = finish(p, signal.SIGTERM)
    check(code == 0, "exit %d: %s" % (code, err[-300:]))


SVG = "{http://www.w3.org/2000/svg}"


def report_panels(path):
    """Parses the SVG report: (legend backend numbers in order, {policy: panel})
    where a panel holds its latency axis, its share bands' x-ranges with the
    plot's, and its failure counts."""
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()
    check(root.tag == SVG + "svg", root.tag)
    legend = [int(e.get("data-backend")) for e in root.iter(SVG + "text") if e.get("class") == "legend-backend"]
    panels = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") != "panel":
            continue
        groups = {c.get("class"): c for c in g if c.tag == SVG + "g"}
        lat, shares, fails = groups["latency"], groups["shares"], groups["failures"]
        frame = shares.find(SVG + "rect")
        bands = [(float(r.get("x")), float(r.get("x")) + float(r.get("width")))
                 for r in shares.iter(SVG + "rect") if r.get("class") == "share"]
        failed = [int(r.find(SVG + "title").text.split()[0])
                  for r in fails.iter(SVG + "rect") if r.get("class") == "failed"]
        truth = {int(e.get("data-backend")) for e in lat.iter(SVG + "polyline") if e.get("class") == "truth"}
        panels[g.get("data-policy")] = {
            "scale": lat.get("data-scale"), "hi": float(lat.get("data-hi")), "truth": truth,
            "plot": (float(frame.get("x")), float(frame.get("x")) + float(frame.get("width"))),
            "bands": bands, "failed": failed, "texts": "".join(t.text or "" for t in g.iter(SVG + "text"))}
    return legend, panels


def check_bands_cover_the_run(name, panel):
    """The share bands leave no gap from the start of the run to its end."""
    x0, x1 = panel["plot"]
    covered = x0
    for a, b in sorted(panel["bands"]):
        check(a <= covered + 1.0, "%s: no share band from x=%.1f to %.1f" % (name, covered, a))
        covered = max(covered, b)
    check(covered >= x0 + 0.97 * (x1 - x0), "%s: share bands end at x=%.1f of %.1f-%.1f" % (name, covered, x0, x1))


def test_report_is_well_formed_svg():
    import shutil
    path = write_temp("", suffix=".svg")
    try:
        code, out, err = run(["--port-base", "0", "--compare", "ema-greedy,round-robin", "--rounds", "6",
                              "--sleep", "0.05", "--latency", "5:40", "--drift-period", "0.1", "-q", "-s", "3",
                              "--report", path])
        check(code == 0, "exit %d: %s" % (code, err))
        legend, panels = report_panels(path)
        check(sorted(legend) == [1, 2, 3, 4, 5], legend)
        check(sorted(panels) == ["ema-greedy", "round-robin"], sorted(panels))
        for name, panel in panels.items():
            for want in ("latency (ms", "time (s)", "share of requests", "failed", "no failures"):
                check(want in panel["texts"], "no '%s' in the %s panel" % (want, name))
            check(panel["truth"] == {1, 2, 3, 4, 5}, panel["truth"])
            check(len(panel["bands"]) >= 6, "%s: %d share bands for 6 rounds" % (name, len(panel["bands"])))
            check_bands_cover_the_run(name, panel)
        if shutil.which("rsvg-convert"):
            png = path + ".png"
            subprocess.run(["rsvg-convert", "-o", png, path], check=True, timeout=30)
            check(os.path.getsize(png) > 10000, "rendered image too small")
            os.unlink(png)
        code, out, err = run(["--port-base", "0", "--rounds", "1", "--sleep", "0", "--latency", "1",
                              "--report", "/nonexistent/dir/r.svg"])
        check(code == 1 and "cannot write the report /nonexistent/dir/r.svg" in err, (code, err))
    finally:
        os.unlink(path)


def test_report_of_an_open_loop_replay_shows_the_stuck_backend_and_failures():
    path = write_temp("", suffix=".svg")
    try:
        code, out, err = run(["--replay", "linkerd", "--time-scale", "0.1", "--port-base", "0", "-s", "1", "-f", "json",
                              "--report", path], timeout=60)
        check(code == 0, "exit %d: %s" % (code, err))
        summaries = {o["policy"]: o for o in map(json.loads, out.splitlines()) if o["type"] == "summary"}
        legend, panels = report_panels(path)
        # Backend 1, stuck at 2 s from 1.5 s to 4.5 s, leads the legend and is drawn.
        check(legend and legend[0] == 1, legend)
        for name, panel in panels.items():
            check(1 in panel["truth"], "%s: backend 1 not drawn" % name)
            check(panel["scale"] == "log" or panel["hi"] >= 2000, "%s: axis %s to %g" % (name, panel["scale"], panel["hi"]))
            check_bands_cover_the_run(name, panel)
            # Every failure of the run is drawn, in the interval it happened.
            check(sum(panel["failed"]) == summaries[name]["failed"], (name, panel["failed"], summaries[name]["failed"]))
        check(summaries["round-robin"]["failed"] > 0, summaries["round-robin"])
    finally:
        os.unlink(path)


def success_rates(out):
    rates = {}
    for o in (json.loads(l) for l in out.splitlines()):
        if o["type"] == "summary":
            rates[o["policy"]] = (o["ok"] / o["requests"], o)
    return rates


def test_replay_linkerd_keeps_the_published_order():
    # The whole minute of the experiment on the virtual clock: 3,000 requests
    # a second on the wall clock would test the machine's speed as much as
    # the policies (the report test replays it on the real clock).
    code, out, err = run(["--replay", "linkerd", "--clock", "virtual", "-s", "1", "-f", "json"], timeout=60)
    check(code == 0, "exit %d: %s" % (code, err))
    r = success_rates(out)
    rr, lo, pe = r["round-robin"][0], r["least-outstanding"][0], r["p2c-peak-ewma"][0]
    check(rr < 0.97, "round-robin %.4f" % rr)
    check(lo > rr and pe > rr, "order %.4f %.4f %.4f" % (rr, lo, pe))
    check(pe >= 0.995, "p2c-peak-ewma %.4f" % pe)


def test_replay_tower_keeps_the_published_order():
    # All 50,000 requests on the virtual clock: latency figures measured on
    # the wall clock would test the machine's speed as much as the policies.
    code, out, err = run(["--replay", "tower", "--clock", "virtual", "-s", "1", "-f", "json"], timeout=60)
    check(code == 0, "exit %d: %s" % (code, err))
    r = success_rates(out)
    pe, rr = r["p2c-peak-ewma"][1], r["round-robin"][1]
    check(pe["requests"] == 50000 and rr["requests"] == 50000, (pe["requests"], rr["requests"]))
    check(pe["p99_ms"] < 150, "p2c-peak-ewma p99 %.1f" % pe["p99_ms"])
    check(rr["p99_ms"] > 700, "round-robin p99 %.1f" % rr["p99_ms"])


def test_shutdown_under_load_counts_every_request():
    p = start(["--port-base", "0", "-n", "2", "--burst", "3000", "--latency", "400", "--drift-period", "0",
               "--timeout", "3", "--sleep", "0", "-s", "9"])
    try:
        wait_for_stderr_line(p, r"backend 2 listening")
        time.sleep(0.25)  # thousands in flight now
    finally:
        code, out, err = finish(p, signal.SIGTERM, timeout=20)
    check(code == 0, "exit %d: %s" % (code, err[-300:]))
    check("stopping: waiting for" in err, err[-300:])
    m = re.search(r"requests=(\d+) ok=(\d+) failed=(\d+)", out)
    check(m is not None, out[-300:])
    requests, ok, failed = map(int, m.groups())
    blocks = round_blocks(out)
    check(requests == ok + failed and requests == 3000 * len(blocks) and requests >= 3000, (requests, ok, failed))
    check("lbsim: internal error" not in err, err)


def json_rounds(out):
    return [json.loads(l) for l in out.splitlines() if '"type":"round"' in l]


def test_a_killed_backend_process_loses_traffic_then_gets_it_back():
    import socket as _socket
    s = _socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    args = ["--backends-only", "-n", "1", "--port-base", str(port), "--latency", "5", "--drift-period", "0"]
    b = start(args)
    wait_for_stderr_line(b, r"backend 1 listening")
    other = start(["--backends-only", "-n", "1", "--port-base", "0", "--latency", "5", "--drift-period", "0"])
    oport = int(wait_for_stderr_line(other, r"listening on http://127\.0\.0\.1:(\d+)/").group(1))
    c = start(["--client-only", "--server", "http://127.0.0.1:%d/ping" % port,
               "--server", "http://127.0.0.1:%d/ping" % oport, "--policy", "round-robin", "--burst", "10",
               "--sleep", "0.1", "--timeout", "1", "-f", "json", "-s", "5"])

    def good_rounds_after(first):
        """True once three rounds in a row after round `first` were all answered."""
        def done(out):
            later = json_rounds(out)[first:]
            return any(all(r["failed"] == 0 and r["ok"] == 10 for r in later[k:k + 3])
                       for k in range(len(later) - 2))
        return done

    try:
        wait_for_stdout(c, good_rounds_after(0))
        before = len(json_rounds(c.early_out))
        b.kill()  # SIGKILL: no goodbye
        b.wait()
        wait_for_stdout(c, lambda out: any(r["failed"] > 0 for r in json_rounds(out)[before:]))
        b = start(args)
        wait_for_stderr_line(b, r"backend 1 listening")
        # Round robin keeps sending half to it: once it is back they succeed.
        wait_for_stdout(c, good_rounds_after(len(json_rounds(c.early_out))))
    finally:
        code, out, err = finish(c, signal.SIGTERM)
        finish(b, signal.SIGTERM)
        finish(other, signal.SIGTERM)
    check(code == 0, "exit %d" % code)
    rounds = json_rounds(out)
    summary = json.loads(out.splitlines()[-1])
    dead = [k for k, r in enumerate(rounds) if r["failed"] > 0]
    check(dead, "no failures while the backend was down")
    check(good_rounds_after(dead[0] + 1)(out), rounds[dead[0]:])
    kinds = summary["failures"]
    check(kinds["connect"] + kinds["reset"] > 0, kinds)
    check(summary["requests"] == summary["ok"] + summary["failed"], summary)



if __name__ == "__main__":
    sys.exit(run_test(globals()))
