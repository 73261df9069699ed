#!/usr/bin/env python3
"""Command-line tests of what the backends tell their clients: ORCA load
reports (--load-reports), Mitzenmacher's board (--load-board) and the
least-loaded policy, on both clocks, and the checks of docs/load-reports.md
at a reduced scale (100 backends of capacity 1, exponential service of
1 ms, --net-delay 0, load 0.9, a second measured after half a second):
small enough for the sanitizer builds, with bounds that leave room for what
a finite number of backends adds to the supermarket model's mean-field
figures and for the noise of a short run (the seeds are fixed; the bounds
hold for others too); the full-scale figures are in the docs.

Usage: loads_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry."""

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, wait_for_stderr_line, main as run_test  # noqa: E402

LBSIM = None

# The queueing setting: 100 backends, one server each, service exponential
# of mean 1 ms, Poisson arrivals at 90 % of capacity, no network.
QUEUES = ["--clock", "virtual", "-n", "100", "--capacity", "1", "--latency", "0", "--jitter", "exp:1",
          "--drift-period", "0", "--net-delay", "0", "--rate", "90000", "--warmup", "0.5", "--duration", "1.5", "-q",
          "--format", "json"]
FRESH = "0.00001"  # a board refreshed every 0.01 service times


def run(args, timeout=60):
    p = subprocess.run([LBSIM] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def summaries(out):
    return {o["policy"]: o for o in map(json.loads, out.splitlines()) if o["type"] == "summary"}


def ok_summaries(args, timeout=60):
    code, out, err = run(args, timeout)
    check(code == 0, "%s: exit %d: %s" % (" ".join(args), code, err))
    check("lbsim: " not in err, err)
    return summaries(out)


def supermarket(lam, d):
    """The mean time in the system of the supermarket model, in service
    times: sum over i >= 1 of lam^((d^i - d) / (d - 1))."""
    return sum(lam ** ((d ** i - d) / (d - 1)) for i in range(1, 30))


def one_error_line(err):
    lines = err.splitlines()
    check(len(lines) == 1 and lines[0].startswith("lbsim: "), "expected one 'lbsim: ' line, got %r" % err)


def raw_get(port, path="/ping"):
    """One GET on a new connection: (status line, {lower-case name: [values]})."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    headers = {}
    for line in head[1:]:
        name, value = line.split(":", 1)
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return head[0], headers


def orca(value):
    """A TEXT endpoint-load-metrics value as {name: float}."""
    check(value.startswith("TEXT "), value)
    return {k.strip(): float(v) for k, v in (kv.split("=") for kv in value[5:].split(","))}


# ---- bad input -------------------------------------------------------------------------


def test_bad_load_options_exit_2_with_one_line():
    server = ["--server", "http://127.0.0.1:9/"]
    cases = [
        (["--load-board", "0"], "--load-board"),
        (["--load-board", "-1"], "--load-board"),
        (["--load-board", "soon"], "--load-board"),
        (["--load-board"], "--load-board"),
        (["--client-only"] + server + ["--load-board", "1"], "--client-only"),
        (["--backends-only", "--load-board", "1"], "--backends-only"),
        (["--load-board", "1", "--load-reports"], "--load-reports"),
        (["--policy", "least-loaded"], "least-loaded"),
        (["--compare", "random,least-loaded", "--clock", "virtual", "--rounds", "1"], "least-loaded"),
        (["--client-only"] + server + ["--policy", "least-loaded"], "least-loaded"),
        (["--sweep", "load-board=0,1", "--rounds", "1"], "load-board"),
        (["--sweep", "load-board=0.1", "--load-reports", "--rounds", "1", "--policy", "least-loaded"], "load-reports"),
        (["--load-reports", "extra"], "extra"),
    ]
    for args, what in cases:
        code, out, err = run(args + ["--rounds", "1"] if "--rounds" not in args else args)
        check(code == 2, "%s: exit %d (%s)" % (args, code, err))
        one_error_line(err)
        check(what in err, "%s: %r does not name %s" % (args, err, what))
        check(out == "", out)
    # What is accepted: reports on the backends alone, least-loaded with either source.
    code, out, err = run(["--clock", "virtual", "--policy", "least-loaded", "--load-reports", "--rounds", "1", "-q"])
    check(code == 0, err)
    code, out, err = run(["--clock", "virtual", "--policy", "least-loaded", "--load-board", "0.5", "--rounds", "1", "-q"])
    check(code == 0, err)


# ---- the outputs ------------------------------------------------------------------------


def test_outputs_say_how_old_the_views_were_only_when_there_are_views():
    base = ["--clock", "virtual", "-n", "4", "--latency", "5:20", "--capacity", "2", "--drift-period", "0",
            "--rate", "200", "--duration", "2", "-s", "3", "-q"]
    code, plain, err = run(base + ["--policy", "random"])
    check(code == 0 and "loads" not in plain, plain)
    code, out, err = run(base + ["--policy", "random", "--format", "json"])
    (s,) = summaries(out).values()
    check("view_age_ms" not in s and "load_board_s" not in s, s)
    # Reports: a line in the text summary, three fields in JSON.
    code, text, err = run(base + ["--policy", "least-loaded", "--load-reports"])
    check(code == 0, err)
    m = re.search(r"^loads: reports, view age mean=(\d+\.\d\d) ms \(picks with a view: (\d+\.\d)%\)$", text, re.M)
    check(m, text)
    (s,) = ok_summaries(base + ["--policy", "least-loaded", "--load-reports", "--format", "json"]).values()
    check(abs(s["view_age_ms"] - float(m.group(1))) < 0.006, (s["view_age_ms"], m.group(1)))
    check(s["view_age_ms"] > 0 and 0.9 < s["view_share"] <= 1 and s["load_board_s"] is None, s)
    # A board: its period; a pick's view is half a period old on average.
    (s,) = ok_summaries(base + ["--policy", "least-loaded", "--load-board", "0.1", "--format", "json"]).values()
    check(s["load_board_s"] == 0.1 and s["view_share"] == 1, s)
    check(abs(s["view_age_ms"] - 50) < 5, s)
    code, text, err = run(base + ["--compare", "least-loaded,random", "--load-board", "0.1"])
    check(re.search(r"^loads \(least-loaded\): board every 100 ms, view age mean=\d+\.\d\d ms", text, re.M), text)
    check(re.search(r"^loads \(random\): board every 100 ms", text, re.M), text)


def test_sockets_backends_write_their_load_and_prometheus_shows_the_views():
    # A backend alone: no header unless asked.
    p = subprocess.Popen([LBSIM, "--backends-only", "--port-base", "0", "-n", "1", "--latency", "300",
                          "--drift-period", "0", "--capacity", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        port = int(wait_for_stderr_line(p, r"backend 1 listening on http://127\.0\.0\.1:(\d+)/").group(1))
        status, headers = raw_get(port)
        check("200" in status and "endpoint-load-metrics" not in headers, headers)
    finally:
        p.terminate()
        p.communicate(timeout=15)
    p = subprocess.Popen([LBSIM, "--backends-only", "--port-base", "0", "-n", "1", "--latency", "300",
                          "--drift-period", "0", "--capacity", "1", "--load-reports"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        port = int(wait_for_stderr_line(p, r"backend 1 listening on http://127\.0\.0\.1:(\d+)/").group(1))
        # Three at once on one server: answered 300 ms apart, each telling
        # what is still in flight behind it and waiting.
        got = []
        threads = [threading.Thread(target=lambda: got.append(raw_get(port)[1])) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join(10)
        reports = sorted((orca(h["endpoint-load-metrics"][0]) for h in got), key=lambda r: -r["named_metrics.rif"])
        check([r["named_metrics.rif"] for r in reports] == [2, 1, 0], reports)
        check([r["named_metrics.queue"] for r in reports] == [1, 0, 0], reports)
        for r in reports:
            check(0 < r["cpu_utilization"] <= 1 and r["rps_fractional"] >= 1, r)
        _, headers = raw_get(port)
        check(len(headers["endpoint-load-metrics"]) == 1, headers)
    finally:
        p.terminate()
        p.communicate(timeout=15)
    # All in one, the client's views on /metrics.
    p = subprocess.Popen([LBSIM, "--port-base", "0", "-n", "3", "--latency", "2", "--drift-period", "0", "--rate",
                          "200", "--policy", "least-loaded", "--load-board", "0.05", "--metrics", "127.0.0.1:0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        mport = int(wait_for_stderr_line(p, r"metrics on http://127\.0\.0\.1:(\d+)/metrics").group(1))
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
                text = r.read().decode()
            m = re.search(r"^lbsim_client_view_picks_total\{policy=\"least-loaded\"\} (\d+)$", text, re.M)
            if m and int(m.group(1)) > 20 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(m and int(m.group(1)) > 20, text[-2000:])
        age = float(re.search(r"^lbsim_client_view_age_seconds\{policy=\"least-loaded\"\} (\S+)$", text, re.M).group(1))
        check(0 < age < 0.05, age)
        check(re.search(r"^lbsim_load_board_period_seconds 0\.05$", text, re.M), text[-2000:])
    finally:
        p.terminate()
        p.communicate(timeout=15)


class ForeignServer(http.server.ThreadingHTTPServer):
    """A server that is not lbsim: what its handler sends as
    endpoint-load-metrics (None: nothing)."""

    def __init__(self, header):
        self.header = header

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(h):
                h.send_response(200)
                if self.header is not None:
                    h.send_header("Endpoint-Load-Metrics", self.header)
                h.send_header("Content-Length", "2")
                h.end_headers()
                h.wfile.write(b"ok")

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/" % self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


def test_the_client_reads_any_servers_reports_and_says_once_when_it_cannot():
    client = ["--client-only", "--policy", "least-loaded", "--load-reports", "--burst", "4", "--sleep", "0.02",
              "--rounds", "10", "-q", "--format", "json"]
    good = ForeignServer("TEXT named_metrics.rif:2, cpu_utilization:0.4, eps:1")  # Envoy's separator
    none = ForeignServer(None)
    bad = ForeignServer("TEXT cpu=0.3")
    try:
        code, out, err = run(client + ["--server", good.url(), "--server", good.url() + "x"])
        check(code == 0 and "lbsim: " not in err, err)
        (s,) = summaries(out).values()
        check(s["ok"] == 40 and s["view_share"] > 0.8, s)
        for server, why in ((none, "missing"), (bad, "a metric name ORCA does not have")):
            code, out, err = run(client + ["--server", good.url(), "--server", server.url()])
            check(code == 0, err)
            lines = [line for line in err.splitlines() if line.startswith("lbsim: ")]
            check(len(lines) == 1, "said %d times: %r" % (len(lines), err))
            check(server.url() in lines[0] and why in lines[0], lines[0])
            (s,) = summaries(out).values()
            check(s["ok"] == 40, s)
    finally:
        for s in (good, none, bad):
            s.stop()


# ---- the checks of docs/load-reports.md, at a reduced scale ---------------------------------


def test_a_fresh_board_gives_the_supermarket_means_whatever_the_clients():
    for d, clients in ((2, 1), (2, 10), (3, 1)):
        (s,) = ok_summaries(QUEUES + ["--policy", "least-loaded", "--choices", str(d), "--load-board", FRESH,
                                      "--clients", str(clients), "-s", "1"]).values()
        expect = supermarket(0.9, d)
        # A hundred backends for a second: across seeds, from 0.5 % below the
        # mean field to 5 % above.
        check(0.95 * expect < s["mean_ms"] < 1.08 * expect, "d=%d, %d clients: mean %.3f, the model's %.3f" % (
            d, clients, s["mean_ms"], expect))


def test_a_fresh_board_joins_the_shortest_queue_and_random_is_mm1():
    # Join the shortest queue with fresh information: nearly no waiting.
    (s,) = ok_summaries(QUEUES + ["--policy", "least-loaded", "--load-board", FRESH, "-s", "1"]).values()
    check(1.0 < s["mean_ms"] < 1.3, s["mean_ms"])
    # Random: M/M/1 at 0.9.
    (s,) = ok_summaries(QUEUES + ["--policy", "random", "-s", "1"]).values()
    check(8.5 < s["mean_ms"] < 11.5, s["mean_ms"])


def test_stale_boards_herd_the_shortest_queue_before_two_choices():
    def mean(choices, period):
        (s,) = ok_summaries(QUEUES + ["--policy", "least-loaded", "--choices", str(choices), "--load-board",
                                      str(period), "-s", "1"]).values()
        return s["mean_ms"]
    # Every 0.1 service times: both well below random's 10.
    short = (mean(100, 0.0001), mean(2, 0.0001))
    check(short[0] < short[1] < 4, short)
    # Every 10 service times: the shortest queue herds past random, two
    # choices stay below it.
    long = (mean(100, 0.01), mean(2, 0.01))
    check(long[0] > 15 and long[1] < 8, long)


def test_piggybacked_views_age_with_the_fleet():
    ages, means = [], []
    for clients in (1, 10, 100):
        (s,) = ok_summaries(QUEUES + ["--policy", "least-loaded", "--choices", "2", "--load-reports", "--clients",
                                      str(clients), "-s", "1"]).values()
        ages.append(s["view_age_ms"])
        means.append(s["mean_ms"])
    # One client hears every answer: its views are exact, and it is the
    # supermarket; more clients hear from a backend less and less often.
    check(abs(means[0] - supermarket(0.9, 2)) < 0.08 * supermarket(0.9, 2), means)
    check(ages[0] < ages[1] < ages[2], ages)
    check(means[0] < means[2], means)


if __name__ == "__main__":
    sys.exit(run_test(globals()))
