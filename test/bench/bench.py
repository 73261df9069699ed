#!/usr/bin/env python3
"""lbsim's benchmarks, side by side with wrk, nginx and the seed's Python
stack (and, for the virtual clock, a plain-Python heapq model of the seed's
loop), alternating lbsim and its peer run by run so that the machine's noise
hits both. Every figure is printed as median [min - max] over the runs, with
the ratio lbsim/peer computed run by run. See test/bench/README.md.

Usage: bench.py LBSIM [--quick] [--runs N] [--results FILE] [--seed-dir DIR]
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
STARTED = []  # every process this script started, to stop on exit


# ---- processes --------------------------------------------------------------

def spawn(args, env=None, cwd=None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    p = subprocess.Popen(args, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    STARTED.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in STARTED:
        STARTED.remove(p)


def stop_all():
    for p in list(STARTED):
        stop(p, signal.SIGKILL)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def measure(args, env=None, timeout=120):
    """Runs to completion; returns (stdout, stderr, cpu seconds, peak RSS KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = spawn(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p in STARTED:
            STARTED.remove(p)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.decode(), err.decode(), cpu, p.returncode


def measure_rss(args, env=None, timeout=120, stdout=subprocess.PIPE):
    """Peak RSS (KiB) and CPU seconds of one run, measured by /usr/bin/time in its own process."""
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        p = spawn(["/usr/bin/time", "-f", "%M %U %S", "-o", path] + args, env=env, stdout=stdout,
                  stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=timeout)
        if p in STARTED:
            STARTED.remove(p)
        with open(path) as f:
            rss, user, sys_ = f.read().split()[-3:]
        return (out or b"").decode(), err.decode(), int(rss), float(user) + float(sys_)
    finally:
        os.unlink(path)


def measure_wall(args, timeout=600):
    """Runs with stdout to /dev/null; returns (stderr, wall seconds, CPU seconds of the whole process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = spawn(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=timeout)
    finally:
        if p in STARTED:
            STARTED.remove(p)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (" ".join(args), p.returncode, err.decode()[-800:]))
    return err.decode(), wall, cpu


# ---- peers --------------------------------------------------------------------

NGINX_CONF = """worker_processes 1;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
{listens}
    location /ping {{ return 200 '{{"status":"ok"}}'; }}
  }}
}}
"""


class Nginx:
    def __init__(self, ports):
        self.dir = tempfile.mkdtemp(prefix="lbsim-bench-nginx-")
        listens = "\n".join("    listen 127.0.0.1:%d;" % p for p in ports)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, listens=listens))
        self.proc = spawn(["nginx", "-c", os.path.join(self.dir, "nginx.conf"), "-p", self.dir])
        for p in ports:
            wait_port(p)
        self.worker = None
        deadline = time.monotonic() + 5
        while self.worker is None and time.monotonic() < deadline:
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
                self.worker = int(kids[0]) if kids else None
            except OSError:
                pass
            time.sleep(0.05)

    def close(self):
        stop(self.proc, signal.SIGQUIT)
        shutil.rmtree(self.dir, ignore_errors=True)


WRK_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(url, connections, seconds):
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = {}
    for q, v, unit in WRK_LAT.findall(out):
        lat[q] = float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "requests": total, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
            "errors": errors.group(1) if errors else "", "non2xx": int(non2xx.group(1)) if non2xx else 0}


def lbsim_rate(text):
    m = re.search(r"requests=(\d+) ok=(\d+) failed=(\d+) elapsed=([\d.]+) s rate=([\d.]+) req/s", text)
    if not m:
        raise RuntimeError("no run summary in lbsim's output:\n" + text[-800:])
    return {"requests": int(m.group(1)), "ok": int(m.group(2)), "failed": int(m.group(3)),
            "elapsed": float(m.group(4)), "rate": float(m.group(5))}


# ---- results ------------------------------------------------------------------

class Results:
    def __init__(self, path):
        self.path = path
        self.rows = []
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.file = open(path, "w")

    def add(self, bench, figure, unit, lbsim, peer=None, peer_name=None, target=None, better="higher"):
        """lbsim, peer: lists of per-run values (same length when paired)."""
        row = {"bench": bench, "figure": figure, "unit": unit, "lbsim": summary(lbsim)}
        if peer:
            row["peer"] = peer_name
            row["peer_values"] = summary(peer)
            ratios = [a / b for a, b in zip(lbsim, peer) if b]
            row["ratio"] = summary(ratios)
        if target is not None:
            row["target"] = target
            value = row.get("ratio", row["lbsim"])["median"]
            row["met"] = value >= target if better == "higher" else value <= target
        self.rows.append(row)
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()

    def table(self):
        lines = ["", "%-14s %-30s %-28s %-28s %-22s %s" % ("benchmark", "figure", "lbsim", "peer", "lbsim/peer",
                                                          "target")]
        for r in self.rows:
            def fmt(s):
                return "%.4g [%.4g-%.4g]" % (s["median"], s["min"], s["max"]) if s else "-"
            peer = "%s %s" % (r.get("peer", ""), fmt(r.get("peer_values"))) if "peer" in r else "-"
            target = ""
            if "target" in r:
                target = "%s %g %s" % (">=" if r["target"] and r.get("met") is not None and
                                       (r.get("ratio", r["lbsim"])["median"] >= r["target"]) == r["met"] else "<=",
                                       r["target"], "met" if r["met"] else "MISSED")
            lines.append("%-14s %-30s %-28s %-28s %-22s %s" % (r["bench"], "%s (%s)" % (r["figure"], r["unit"]),
                                                               fmt(r["lbsim"]), peer, fmt(r.get("ratio")), target))
        return "\n".join(lines)


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


# ---- the benchmarks -----------------------------------------------------------

def bench_backend(args, res):
    """wrk against one lbsim backend and against a one-worker nginx."""
    d = 2 if args.quick else 5
    cols = {k: ([], []) for k in ("rate", "p50", "p99", "cpu_us")}
    for _ in range(args.runs):
        port = free_port()
        b = spawn([args.lbsim, "--backends-only", "-n", "1", "--latency", "0", "--drift-period", "0",
                   "--port-base", str(port), "-q"])
        wait_port(port)
        c0 = cpu_seconds(b.pid)
        w = wrk("http://127.0.0.1:%d/ping" % port, 50, d)
        c1 = cpu_seconds(b.pid)
        stop(b)
        if w["errors"] or w["non2xx"]:
            raise RuntimeError("wrk saw errors against lbsim: %s, non-2xx %d" % (w["errors"], w["non2xx"]))
        nport = free_port()
        n = Nginx([nport])
        n0 = cpu_seconds(n.worker)
        wn = wrk("http://127.0.0.1:%d/ping" % nport, 50, d)
        n1 = cpu_seconds(n.worker)
        n.close()
        for key, lv, nv in (("rate", w["rate"], wn["rate"]), ("p50", w["p50_ms"], wn["p50_ms"]),
                            ("p99", w["p99_ms"], wn["p99_ms"]),
                            ("cpu_us", (c1 - c0) / w["requests"] * 1e6, (n1 - n0) / wn["requests"] * 1e6)):
            cols[key][0].append(lv)
            cols[key][1].append(nv)
    res.add("backend", "requests/s", "req/s", *cols["rate"], "nginx", target=1.0)
    res.add("backend", "p50 latency", "ms", *cols["p50"], "nginx")
    res.add("backend", "p99 latency", "ms", *cols["p99"], "nginx")
    res.add("backend", "server CPU per request", "us", *cols["cpu_us"], "nginx", target=1.0, better="lower")


def seed_available(args):
    if args.quick or not os.path.isdir(args.seed_dir):
        return False
    r = subprocess.run(["/usr/bin/python3", "-c", "import fastapi, uvicorn, httpx"], capture_output=True)
    return r.returncode == 0


class SeedServers:
    """The seed's five uvicorn servers on free ports."""

    def __init__(self, seed_dir, fixed_ms):
        env = dict(os.environ, SERVER_FIXED_LATENCY_MS=str(fixed_ms))
        self.ports = [free_port() for _ in range(5)]
        self.procs = [spawn(["/usr/bin/python3", "-m", "uvicorn", "server:app", "--host", "127.0.0.1",
                             "--port", str(p), "--log-level", "warning"], env=env, cwd=seed_dir)
                      for p in self.ports]
        for p in self.ports:
            wait_port(p, 30)
        self.cpu0 = [cpu_seconds(p.pid) for p in self.procs]

    def cpu(self):
        return sum(cpu_seconds(p.pid) - c for p, c in zip(self.procs, self.cpu0))

    def rss_kb(self):
        return sum(peak_rss_kb(p.pid) for p in self.procs)

    def close(self):
        for p in self.procs:
            stop(p)


def run_seed_balancer(args, servers, env_extra):
    """The seed's balancer, patched to the servers' ports through a copy."""
    work = tempfile.mkdtemp(prefix="lbsim-bench-seed-")
    try:
        src = open(os.path.join(args.seed_dir, "load_balancer_v2.py")).read()
        for i, port in enumerate(servers.ports):
            src = src.replace("127.0.0.1:%d/ping" % (5001 + i), "127.0.0.1:%d/ping" % port)
        path = os.path.join(work, "load_balancer_v2.py")
        with open(path, "w") as f:
            f.write(src)
        stats = os.path.join(work, "stats.json")
        env = dict(os.environ, LB_STATS_FILE=stats, **env_extra)
        out, err, rss, cpu = measure_rss(["/usr/bin/python3", path], env=env, timeout=300)
        with open(stats) as f:
            data = json.load(f)
        data["maxrss_kb_measured"] = rss
        return data
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_ceiling(args, res, with_seed):
    d = 3 if args.quick else 10
    rate, cpu, rss = [], [], []
    srate, scpu, srss = [], [], []
    for _ in range(args.runs):
        out, err, kb, secs = measure_rss([args.lbsim, "--port-base", "0", "--latency", "0", "--drift-period", "0",
                                          "--sleep", "0", "--duration", str(d), "-q"], timeout=d + 60)
        s = lbsim_rate(out)
        rate.append(s["rate"])
        cpu.append(secs / s["requests"] * 1000)
        rss.append(kb / 1024)
        if with_seed:
            servers = SeedServers(args.seed_dir, 0)
            try:
                data = run_seed_balancer(args, servers, {"LB_SLEEP_S": "0", "LB_DURATION_S": str(d)})
                total_cpu = data["cpu_s_process"] + servers.cpu()
                srate.append(data["requests"] / data["wall_s"])
                scpu.append(total_cpu / data["requests"] * 1000)
                srss.append((data["maxrss_kb_measured"] + servers.rss_kb()) / 1024)
            finally:
                servers.close()
    res.all_in_one_rate = statistics.median(rate)
    peer = "seed" if with_seed else None
    res.add("all-in-one", "completed requests/s", "req/s", rate, srate or None, peer, target=50.0 if srate else None)
    res.add("all-in-one", "CPU per 1000 requests", "s", cpu, scpu or None, peer, target=0.02 if scpu else None,
            better="lower")
    res.add("all-in-one", "peak RSS", "MB", rss, srss or None, peer)
    res.add("all-in-one", "peak RSS (target 8 MB)", "MB", rss, target=8.0, better="lower")


def excess(rounds, key):
    return [r[key] - 100.0 for r in rounds if r["n"] >= 2 and r.get(key) is not None]


def bench_fidelity(args, res, with_seed):
    ceiling = getattr(res, "all_in_one_rate", None)
    for burst, rounds, sleep in ((100, 8 if args.quick else 12, "0.2"), (10000, 3 if args.quick else 5, "0.5")):
        p50, p99, worst = [], [], []
        for _ in range(args.runs):
            out, err, cpu, code = measure([args.lbsim, "--port-base", "0", "-n", "1", "--latency", "100",
                                           "--drift-period", "0", "--burst", str(burst), "--rounds", str(rounds),
                                           "--sleep", sleep, "-q", "-f", "json"], timeout=120)
            objs = [json.loads(l) for l in out.splitlines()]
            rs = [o for o in objs if o["type"] == "round"]
            p50.append(statistics.median(excess(rs, "p50_ms")))
            p99.append(statistics.median(excess(rs, "p99_ms")))
            worst.append(max(excess(rs, "p999_ms")))
        name = "timer@%d" % burst
        if burst == 100:
            res.add(name, "excess over 100 ms, p50", "ms", p50)
            res.add(name, "excess over 100 ms, p99", "ms", p99, target=2.0, better="lower")
        else:
            res.add(name, "excess over 100 ms, p50", "ms", p50)
            res.add(name, "excess over 100 ms, p99", "ms", p99)
        res.add(name, "excess over 100 ms, p99.9", "ms", worst)
        if ceiling:
            service = burst / ceiling * 1000
            res.add(name, "burst service time at ceiling", "ms", [service])
            if burst == 10000:
                res.add(name, "p99 excess / service time", "x", [v / service for v in p99], target=1.2,
                        better="lower")
    if with_seed:
        ex = []
        for _ in range(max(1, args.runs // 2)):
            servers = SeedServers(args.seed_dir, 100)
            try:
                data = run_seed_balancer(args, servers, {"LB_BURST": "100", "LB_ROUNDS": "6", "LB_SLEEP_S": "0.2"})
            finally:
                servers.close()
            lat = sorted(s[2] - 100.0 for s in data["samples"] if s[0] >= 2 and s[3])
            ex.append(lat[int(0.99 * (len(lat) - 1))])
        res.add("timer@100", "seed's excess, p99", "ms", ex)


def bench_client(args, res):
    d = 2 if args.quick else 5
    ports = [free_port() for _ in range(5)]
    n = Nginx(ports)
    try:
        mine, theirs = [], []
        for _ in range(args.runs):
            servers = sum([["--server", "http://127.0.0.1:%d/ping" % p] for p in ports], [])
            out, err, cpu, code = measure([args.lbsim, "--client-only", "--sleep", "0", "--duration", str(d), "-q"] +
                                          servers, timeout=d + 60)
            s = lbsim_rate(out)
            if s["failed"]:
                raise RuntimeError("lbsim --client-only saw %d failures against nginx" % s["failed"])
            mine.append(s["rate"])
            theirs.append(wrk("http://127.0.0.1:%d/ping" % ports[0], 100, d)["rate"])
    finally:
        n.close()
    res.add("client", "requests/s against nginx", "req/s", mine, theirs, "wrk -c100", target=0.8)


def bench_scale(args, res):
    d = 2 if args.quick else 5
    wide, narrow = [], []
    for _ in range(args.runs):
        for n, sink in ((1000, wide), (5, narrow)):
            out, err, cpu, code = measure([args.lbsim, "--port-base", "0", "-n", str(n), "--latency", "0",
                                           "--drift-period", "0", "--sleep", "0", "--burst", "10000",
                                           "--duration", str(d), "-q"], timeout=d + 120)
            s = lbsim_rate(out)
            if s["failed"]:
                raise RuntimeError("%d failures with %d backends" % (s["failed"], n))
            sink.append(s["rate"])
    res.add("scale", "req/s, 1000 vs 5 backends, burst 10k", "req/s", wide, narrow, "5 backends", target=0.8)
    per = []
    for _ in range(max(1, args.runs // 2)):
        rss = {}
        for burst in (10, 10000):
            out, err, kb, secs = measure_rss([args.lbsim, "--port-base", "0", "-n", "5", "--latency", "100",
                                              "--drift-period", "0", "--burst", str(burst), "--rounds", "3",
                                              "--sleep", "0.2", "-q"], timeout=120)
            rss[burst] = kb
        per.append((rss[10000] - rss[10]) / 10000.0)
    res.add("scale", "RSS per request in flight", "KiB", per, target=2.0, better="lower")


# ---- the virtual clock ---------------------------------------------------------

VIRTUAL_LINE = re.compile(r"simulated ([\d.]+) s in ([\d.]+) s \(.*?; (\d+) requests")
SEED_HEAPQ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_heapq.py")


def virtual_requests(err):
    m = VIRTUAL_LINE.search(err)
    if not m:
        raise RuntimeError("no 'simulated ...' line from lbsim --clock virtual:\n" + err[-800:])
    return int(m.group(3))


def bench_virtual(args, res):
    """Simulated requests per second of wall time (the whole process, text to
    /dev/null), against the plain-Python heapq model of the same loop."""
    # Per second of wall time, as targeted; per second of CPU time too, which
    # is what a core of its own gives on a machine shared with other work.
    rounds = 20000 if args.quick else 100000
    mine, theirs, mine_cpu, theirs_cpu = [], [], [], []
    for k in range(args.runs):
        err, wall, cpu = measure_wall([args.lbsim, "--clock", "virtual", "--rounds", str(rounds), "-q",
                                       "--seed", str(k + 1)])
        mine.append(virtual_requests(err) / wall / 1e6)
        mine_cpu.append(virtual_requests(err) / cpu / 1e6)
        err, wall, cpu = measure_wall(["/usr/bin/python3", SEED_HEAPQ, "--rounds", str(rounds // 5), "--quiet",
                                       "--seed", str(k + 1)])
        requests = json.loads(err.strip().splitlines()[-1])["requests"]
        theirs.append(requests / wall / 1e6)
        theirs_cpu.append(requests / cpu / 1e6)
    res.add("virtual", "seed config, simulated req/s", "M/s", mine, theirs, "python heapq", target=20.0)
    res.add("virtual", "seed config (target 20 M/s)", "M/s", mine, target=20.0)
    res.add("virtual", "seed config, req per CPU s", "M/s", mine_cpu, theirs_cpu, "python heapq")

    duration = 50 if args.quick else 200
    rate, rate_cpu = [], []
    for k in range(args.runs):
        err, wall, cpu = measure_wall([args.lbsim, "--clock", "virtual", "-n", "1000", "--policy", "p2c-peak-ewma",
                                       "--rate", "20000", "--duration", str(duration), "-q", "--seed", str(k + 1)])
        rate.append(virtual_requests(err) / wall / 1e6)
        rate_cpu.append(virtual_requests(err) / cpu / 1e6)
    res.add("virtual", "1000 backends, p2c-peak-ewma, --rate 20000", "M/s", rate, target=5.0)
    res.add("virtual", "1000 backends ..., req per CPU s", "M/s", rate_cpu)

    # What the backends tell their clients: 1,000 clients over 1,000
    # backends of one server each at 90 % of their capacity (exponential
    # service of 1 ms), least-loaded reading ORCA reports piggybacked on
    # every answer, beside the same fleet without reports (least-outstanding
    # on its own requests in flight, --choices 2 both), run by run.
    fleet = ["--clock", "virtual", "-n", "1000", "--clients", "1000", "--capacity", "1", "--latency", "0",
             "--jitter", "exp:1", "--drift-period", "0", "--rate", "900000", "--duration",
             "2" if args.quick else "5", "--choices", "2", "-q"]
    on, off, on_cpu, off_cpu = [], [], [], []
    for k in range(args.runs):
        for policy, rates, cpus in ((["--policy", "least-loaded", "--load-reports"], on, on_cpu),
                                    (["--policy", "least-outstanding"], off, off_cpu)):
            err, wall, cpu = measure_wall([args.lbsim] + fleet + policy + ["--seed", str(k + 1)])
            rates.append(virtual_requests(err) / wall / 1e6)
            cpus.append(virtual_requests(err) / cpu / 1e6)
    res.add("virtual", "1000x1000 fleet, reports on", "M/s", on, off, "reports off")
    res.add("virtual", "1000x1000 reports (target 2.5 M/s)", "M/s", on, target=2.5)
    res.add("virtual", "1000x1000 reports, req per CPU s", "M/s", on_cpu, off_cpu, "reports off")
    # The tools around the pick on (retries and a budget), against the same
    # run without them, turn and turn about in the same run: at least 70 %
    # of the speed (per CPU second: what a core of its own gives).
    tools = ["--retries", "3", "--retry-budget", "20"]
    for name, run_args in (("seed config", ["--rounds", str(rounds)]),
                           ("1000 backends", ["-n", "1000", "--policy", "p2c-peak-ewma", "--rate", "20000",
                                              "--duration", str(duration)])):
        plain, with_tools = [], []
        for k in range(args.runs):
            for extra, into in (([], plain), (tools, with_tools)):
                err, wall, cpu = measure_wall([args.lbsim, "--clock", "virtual", "-q", "--seed", str(k + 1)] +
                                              run_args + extra)
                into.append(virtual_requests(err) / cpu / 1e6)
        res.add("virtual", "%s, --retries 3 --retry-budget 20, per CPU s" % name, "M/s", with_tools, plain,
                "without them",
                target=0.7)

    # Memory bounded by what is in flight, not by the length of the run: a
    # tenth of the time, then (full run) an hour at 100 k req/s, report included.
    svg = tempfile.mkdtemp(prefix="lbsim-bench-virtual-")
    try:
        for seconds in ((360,) if args.quick else (360, 3600)):
            rss = []
            for k in range(1 if seconds > 360 else max(1, args.runs // 2)):
                _, _, kb, _ = measure_rss([args.lbsim, "--clock", "virtual", "--rate", "100000", "--duration",
                                           str(seconds), "-q", "--seed", str(k + 1), "--report",
                                           os.path.join(svg, "r.svg")], timeout=seconds, stdout=subprocess.DEVNULL)
                rss.append(kb / 1024)
            res.add("virtual", "peak RSS, %d s at 100k req/s, --report" % seconds, "MB", rss, target=64.0,
                    better="lower")
    finally:
        shutil.rmtree(svg, ignore_errors=True)

    for replay in ("linkerd", "tower"):
        walls = [measure_wall([args.lbsim, "--clock", "virtual", "--replay", replay, "--seed", str(k + 1)])[1]
                 for k in range(args.runs)]
        res.add("virtual", "--replay %s, full scale, wall" % replay, "s", walls, target=1.0, better="lower")


# ---- fleets (--clients) ---------------------------------------------------------

# The queueing setting: backends of capacity 1 serving exponential times of
# mean 1 ms, no network delay, no drift.
QUEUEING = ["--capacity", "1", "--latency", "0", "--jitter", "exp:1", "--drift-period", "0", "--net-delay", "0"]


def bench_fleet(args, res):
    """Fleets on the virtual clock (speed and memory of many clients), and a
    fleet on sockets that must account for every request."""
    duration = "0.5" if args.quick else "2"
    speed, speed_cpu, rss = [], [], []
    for k in range(args.runs):
        cmd = [args.lbsim, "--clock", "virtual", "-q", "--seed", str(k + 1), "-n", "1000", "--clients", "1000",
               "--policy", "p2c-peak-ewma", "--rate", "900000", "--duration", duration] + QUEUEING
        err, wall, cpu = measure_wall(cmd)
        speed.append(virtual_requests(err) / wall / 1e6)
        speed_cpu.append(virtual_requests(err) / cpu / 1e6)
        _, _, kb, _ = measure_rss(cmd, stdout=subprocess.DEVNULL)
        rss.append(kb / 1024)
    res.add("fleet", "1000 clients x 1000 backends, p2c, 90 % load", "M/s", speed, target=3.0)
    res.add("fleet", "... req per CPU s", "M/s", speed_cpu)
    res.add("fleet", "... peak RSS", "MB", rss, target=512.0, better="lower")
    rss = []
    for k in range(max(1, args.runs // 2)):
        _, _, kb, _ = measure_rss([args.lbsim, "--clock", "virtual", "-q", "--seed", str(k + 1), "-n", "100",
                                   "--clients", "10000", "--subset", "10", "--policy", "p2c-peak-ewma", "--rate",
                                   "90000", "--duration", duration] + QUEUEING, stdout=subprocess.DEVNULL)
        rss.append(kb / 1024)
    res.add("fleet", "10000 clients x 100 backends, --subset 10, peak RSS", "MB", rss, target=256.0, better="lower")
    # Sockets: 100 clients over 10 backends at 10,000 requests/s; every
    # request must end, as ok or failed (and how many failed is said).
    rates, unaccounted, failed = [], [], []
    for k in range(max(1, args.runs // 2)):
        p = subprocess.run([args.lbsim, "-q", "-f", "json", "--port-base", "0", "--seed", str(k + 1), "-n", "10",
                            "--latency", "5", "--drift-period", "0", "--clients", "100", "--policy", "p2c-peak-ewma",
                            "--rate", "10000", "--duration", "3" if args.quick else "10"],
                           capture_output=True, text=True, timeout=120)
        summary = [json.loads(line) for line in p.stdout.splitlines() if '"summary"' in line][0]
        rates.append(summary["rate"])
        unaccounted.append(summary["requests"] - summary["ok"] - summary["failed"])
        failed.append(summary["failed"])
    res.add("fleet", "sockets: 100 clients x 10 backends at 10,000/s", "req/s", rates, target=9000.0)
    res.add("fleet", "... requests not accounted for", "count", unaccounted, target=0.0, better="lower")
    res.add("fleet", "... requests failed", "count", failed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lbsim")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                      "latest.jsonl"))
    ap.add_argument("--seed-dir", default=os.environ.get("LBSIM_SEED_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "anchors", "seed_py")))
    ap.add_argument("--only", default="backend,ceiling,fidelity,client,scale,virtual,fleet")
    args = ap.parse_args()
    args.runs = args.runs or (2 if args.quick else 5)
    args.seed_dir = os.path.abspath(args.seed_dir)
    only = set(args.only.split(","))
    for tool in ("wrk", "nginx"):
        if only - {"virtual", "fleet"} and shutil.which(tool) is None:
            sys.exit("bench: %s is not installed (apt-get install wrk nginx-light)" % tool)
    with_seed = seed_available(args)
    if not with_seed:
        print("note: the seed's Python stack is skipped (%s)" %
              ("--quick" if args.quick else "needs %s with python3-fastapi, python3-uvicorn, python3-httpx" %
               args.seed_dir))
    res = Results(args.results)
    print("lbsim benchmarks on %s, %d cores, %.1f GiB; %d runs each%s" % (
        platform.node(), os.cpu_count(), os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30, args.runs,
        " (quick)" if args.quick else ""))
    try:
        steps = [("backend", lambda: bench_backend(args, res)), ("ceiling", lambda: bench_ceiling(args, res, with_seed)),
                 ("fidelity", lambda: bench_fidelity(args, res, with_seed)), ("client", lambda: bench_client(args, res)),
                 ("scale", lambda: bench_scale(args, res)), ("virtual", lambda: bench_virtual(args, res)),
                 ("fleet", lambda: bench_fleet(args, res))]
        for name, step in steps:
            if name in only:
                t0 = time.monotonic()
                step()
                print("  %s done in %.0f s" % (name, time.monotonic() - t0), flush=True)
    finally:
        stop_all()
    print(res.table())
    print("\nresults: %s" % args.results)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
