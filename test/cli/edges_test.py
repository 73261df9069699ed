#!/usr/bin/env python3
"""The edges of the input space: what lbsim refuses, how it ends, what it
writes, at the limits of its numbers and of the machine (lbsim(1), LIMITS;
docs/limits.md). Each test holds one finding of a hostile user, as it was
run; cases the command-line fuzzer finds (clifuzz.py) are replayed by
test_fuzz_regressions_hold.

Usage: edges_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry; every wait is bounded."""

import os
import re
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402

LBSIM = None
HERE = os.path.dirname(os.path.abspath(__file__))
VIRTUAL = ["--clock", "virtual", "-q", "--seed", "1"]


def run(args, timeout=20, env=None, preexec=None, binary=True):
    """Runs lbsim to completion: (exit code, stdout, stderr), as bytes (as
    text: text_run). A run that outlives the bound fails the test (it is
    killed)."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run([LBSIM] + args, capture_output=True, timeout=timeout, env=e, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        raise AssertionError("still running after %g s: lbsim %s" % (timeout, " ".join(args)[:300]))
    if binary:
        return p.returncode, p.stdout, p.stderr
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def text_run(args, **kw):
    return run(args, binary=False, **kw)


def refused(args, needle, timeout=20, env=None):
    """Exit 2 with one line 'lbsim: ...' that contains needle; the line."""
    code, out, err = text_run(args, timeout=timeout, env=env)
    check(code == 2, "exit %d, expected 2 for %s; stderr %r" % (code, args, err[-300:]))
    lines = err.splitlines()
    check(len(lines) == 1 and lines[0].startswith("lbsim: "), "expected one 'lbsim: ' line, got %r" % err[-500:])
    check(needle in lines[0], "%r does not say %r" % (lines[0], needle))
    return lines[0]


def temp_file(text, suffix=".txt", mode="w"):
    f = tempfile.NamedTemporaryFile(mode, suffix=suffix, delete=False)
    f.write(text)
    f.close()
    return f.name


def under_sanitizers():
    """ASan reserves terabytes of address space: a limit on it cannot apply."""
    r = subprocess.run(["ldd", LBSIM], capture_output=True, text=True)
    return "libasan" in r.stdout or "libubsan" in r.stdout


# ---- hangs -----------------------------------------------------------------------

def test_rounds_at_one_instant_stop_within_seconds():
    # A burst of 1,000 that takes no time: rounds repeat at t = 0. Counted in
    # events, the guard took minutes and 675 MB of output to see it.
    start = time.monotonic()
    code, out, err = text_run(VIRTUAL + ["--burst", "1000", "--sleep", "0", "--latency", "0", "--net-delay", "0",
                                         "--duration", "1", "--drift-period", "0"], timeout=30)
    took = time.monotonic() - start
    check(code == 1, "exit %d" % code)
    stands = [l for l in err.splitlines() if l.startswith("lbsim: ")]
    check(len(stands) == 1 and "simulated time stands still at 0.000000 s" in stands[0], err)
    check(len(out) < 4 << 20, "%d bytes of output" % len(out))
    print("stopped after %.2f s, %d bytes of output" % (took, len(out)))


def test_requests_in_flight_beyond_the_memory_budget_stop_the_run_alike_everywhere():
    args = VIRTUAL + ["--rate", "1e6", "--duration", "100", "--latency", "3600000", "--timeout", "86400",
                      "--drift-period", "0", "--memory", "64"]
    runs = [text_run(args, timeout=60) for _ in range(2)]
    for code, out, err in runs:
        check(code == 1, "exit %d: %r" % (code, err[-300:]))
        errors = [l for l in err.splitlines() if l.startswith("lbsim: ")]
        check(len(errors) == 1 and "need more than the memory budget, --memory 64 MiB" in errors[0], err)
    # From the simulated state, not the process: the same instant every time.
    check(runs[0][1] == runs[1][1] and runs[0][2].splitlines()[1] == runs[1][2].splitlines()[1],
          (runs[0][2], runs[1][2]))


def test_no_memory_left_stops_the_run_with_one_line():
    # Under a memory cap lower than the budget, an allocation fails: once.
    if under_sanitizers():
        print("skipped: a limit on the address space does not apply under ASan")
        return
    limit = 600 << 20

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    code, out, err = text_run(VIRTUAL + ["--rate", "1e6", "--duration", "100", "--latency", "3600000",
                                         "--timeout", "86400", "--drift-period", "0"], timeout=60, preexec=cap)
    check(code == 1, "exit %d" % code)
    errors = [l for l in err.splitlines() if l.startswith("lbsim: ")]
    check(len(errors) == 1 and "out of memory at" in errors[0] and "the run stops" in errors[0], err[-500:])


def test_sigterm_ends_a_virtual_run_at_once_cancelling_what_is_in_flight():
    # Answers an hour away, a deadline a day away: what is in flight when
    # the signal comes is cancelled, not simulated to its end.
    p = subprocess.Popen([LBSIM] + VIRTUAL + ["--rate", "1e4", "--duration", "100000", "--latency", "3600000",
                                              "--timeout", "86400", "--drift-period", "0", "--interval", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()  # the first interval: the run is under way
        check(first != "", "no output")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, "exit %d: %r" % (p.returncode, err[-300:]))
    m = re.search(r"requests=(\d+) ok=(\d+) failed=(\d+) elapsed=([\d.]+) s", out)
    check(m, out[-500:])
    requests, ok, failed, elapsed = int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4))
    c = re.search(r"cancelled=(\d+)", out)
    check(c, out[-500:])
    cancelled = int(c.group(1))
    check(requests > 0 and requests == ok + failed, m.group(0))
    check(ok == 0 and cancelled == failed, "in flight at the signal, never answered: %s cancelled=%d" %
          (m.group(0), cancelled))
    check(elapsed < 3600, "simulated on to %g s" % elapsed)


def test_a_drift_every_nanosecond_is_refused():
    # It ran 2 rounds in 8 minutes and ignored SIGTERM.
    refused(VIRTUAL + ["--rounds", "2", "--drift-period", "1e-9"], "invalid --drift-period '1e-9'", timeout=10)


def test_an_end_centuries_away_is_refused():
    refused(["--clock", "virtual", "--rate", "1e-9", "--requests", "100"], "invalid --rate '1e-9'", timeout=10)
    refused(["--clock", "virtual", "--rate", "1e-6", "--requests", "100"], "longer than a run may last", timeout=10)
    refused(VIRTUAL + ["--sleep", "86400", "--rounds", "250000", "--burst", "1", "--drift-period", "0"],
            "250000 rounds with --sleep 86400 last at least", timeout=10)


def test_a_run_ends_at_its_duration_not_after_the_pause_that_crosses_it():
    # Found by the fuzzer: --duration 2 with --sleep 86400 simulated the
    # whole pause, a day of drift steps on stderr, before it ended.
    code, out, err = text_run(["--clock", "virtual", "--seed", "1", "--sleep", "86400", "--duration", "2.01",
                               "--backends", "3"], timeout=20)
    check(code == 0, err[-300:])
    check(len(err.splitlines()) < 20, "%d lines on stderr: %r" % (len(err.splitlines()), err[-300:]))
    check(out.count("=== Traffic Round") == 1, out)


def test_a_warmup_as_long_as_the_longest_run_leaves_no_room_for_rounds():
    # Found by the fuzzer: rounds counted after a year of warmup.
    refused(VIRTUAL + ["--warmup", "31536000", "--rounds", "4"], "after --warmup last at least 31536003 s")


def test_a_large_capacity_costs_nothing_until_it_serves():
    # Found by the fuzzer: --capacity 1000000 took 8 MB a backend copy before
    # the run (4096 backends: 32 GB), and a sort of each at every outage.
    start = time.monotonic()
    code, out, err = text_run(VIRTUAL + ["--capacity", "1000000", "--backends", "4096", "--rounds", "2",
                                         "--drift-period", "0"], timeout=60)
    check(code == 0, "exit %d: %r" % (code, err[-300:]))
    print("%.2f s" % (time.monotonic() - start))


def test_rounds_end_a_fleet_s_open_or_closed_loop():
    # Found by the fuzzer: with --clients above 1, --rounds (intervals) never
    # ended a --concurrency or --rate run: it went on to the longest run.
    for shape in (["--concurrency", "5"], ["--rate", "50"]):
        code, out, err = text_run(VIRTUAL + shape + ["--clients", "5", "--rounds", "2"], timeout=20)
        check(code == 0, "exit %d for %s: %r" % (code, shape, err[-300:]))
        check(len(out) < 20000, "%d bytes of output for %s" % (len(out), shape))


# ---- silent wrong results -----------------------------------------------------------

def test_scenario_times_and_slow_starts_beyond_the_range_are_refused():
    # at 1e12s fired at t = 0; a slow start of 1e300 s was none at all.
    for line, needle in [("at 1e12s backend 1 down", "bad time '1e12s'"),
                         ("at 2s backend 1 up slow-start 1e300s", "bad slow-start duration '1e300s'"),
                         ("at 2s backend 1 latency 0x20ms", "bad latency '0x20ms'"),
                         ("at 2s backend 1 up slow-start 10s x0.5", "1..1000"),
                         ("at 0x1s backend 1 down", "bad time '0x1s'")]:
        path = temp_file(line + "\n")
        try:
            for clock in ("virtual", "real"):
                refused(["--clock", clock, "--scenario", path, "--rounds", "1", "--port-base", "0"], needle)
        finally:
            os.unlink(path)
    # Scaled past the longest run.
    path = temp_file("at 100000s backend 1 down\n")
    try:
        refused(VIRTUAL + ["--scenario", path, "--rounds", "1", "--time-scale", "1000"], "later than a run may last")
    finally:
        os.unlink(path)


def test_two_requests_at_a_tiny_rate_are_refused_not_sent_at_once():
    refused(VIRTUAL + ["--rate", "1e-12", "--requests", "2"], "expected a number: 0.000001..10000000 req/s")


def test_a_directory_as_scenario_is_refused():
    d = tempfile.mkdtemp()
    try:
        refused(VIRTUAL + ["--scenario", d, "--rounds", "1"], "Is a directory")
    finally:
        os.rmdir(d)


def test_a_duration_scaled_below_a_nanosecond_is_refused_on_both_clocks():
    refused(["--duration", "1e-200", "--time-scale", "1e-200", "--port-base", "0"], "invalid --duration '1e-200'",
            timeout=10)
    refused(["--clock", "virtual", "--duration", "1e-200", "--time-scale", "1e-200"], "invalid --duration",
            timeout=10)
    refused(["--duration", "1e-6", "--time-scale", "1e-6", "--port-base", "0"], "below 1 ns", timeout=10)


def test_a_bad_events_history_in_the_environment_is_refused():
    for value in ("-1", "0x1000", "1e100", "12", "inf"):
        refused(["--admin", "0", "--rounds", "1", "--sleep", "0", "--latency", "0", "--port-base", "0"],
                "invalid LBSIM_EVENTS_HISTORY '%s'" % value, env={"LBSIM_EVENTS_HISTORY": value})


def test_options_that_would_be_ignored_are_refused():
    refused(VIRTUAL + ["--drift-period", "1e-300", "--rounds", "1"], "invalid --drift-period")
    refused(VIRTUAL + ["--burst", "5", "--rate", "10", "--requests", "10"], "--burst is the size of a round")
    refused(VIRTUAL + ["--sleep", "0", "--concurrency", "2", "--requests", "10"],
            "--sleep is the pause between rounds")
    refused(VIRTUAL + ["--burst", "5", "--sweep", "rate=5,10", "--requests", "10"], "--sweep rate sends no rounds")
    refused(VIRTUAL + ["--sweep", "alpha=0.1,0.1", "--rounds", "1"], "0.1 is listed twice")
    refused(VIRTUAL + ["--sweep", "alpha=0.1:0.3:0.1,0.2", "--rounds", "1"], "0.2 is listed twice")
    refused(["--backends-only", "--rounds", "3", "--port-base", "0"], "--backends-only runs no client", timeout=10)


# ---- one number grammar -----------------------------------------------------------------

def test_hex_inf_and_nan_are_refused_everywhere():
    refused(VIRTUAL + ["--latency", "0x14", "--rounds", "1"], "invalid --latency '0x14'")
    refused(VIRTUAL + ["--jitter", "exp:0x14", "--rounds", "1"], "bad exp parameter '0x14'")
    refused(VIRTUAL + ["--jitter", "lognormal:inf", "--rounds", "1"], "bad lognormal parameter 'inf'")
    refused(VIRTUAL + ["--burst", "0x10", "--rounds", "1"], "invalid --burst '0x10'")
    refused(VIRTUAL + ["--timeout", "nan", "--rounds", "1"], "invalid --timeout 'nan'")
    refused(VIRTUAL + ["--sweep", "alpha=0.1:0.5:0x1", "--rounds", "1"], "invalid --sweep alpha step '0x1'")
    refused(VIRTUAL + ["--rounds", " 5"], "invalid --rounds ' 5'")


def test_integers_are_numbers_with_a_whole_value():
    code, out, err = text_run(VIRTUAL + ["--burst", "1e2", "--rounds", "2e0", "--backends", "3"])
    check(code == 0, "exit %d: %r" % (code, err))
    check(out.count("=== Traffic Round") == 2 and "requests=200" in out, out[-400:])
    refused(VIRTUAL + ["--burst", "1.5", "--rounds", "1"], "expected an integer: 1..1000000")


def test_a_subnormal_in_range_is_accepted():
    code, out, err = text_run(VIRTUAL + ["--alpha", "1e-320", "--rounds", "1"])
    check(code == 0, "exit %d: %r" % (code, err))
    refused(VIRTUAL + ["--alpha", "1e-400", "--rounds", "1"], "expected a number: (0, 1]")


def test_errors_give_the_whole_range():
    refused(["--rate", "1e8"], "expected a number: 0.000001..10000000 req/s")
    refused(["--duration", "1e8"], "expected a number: 0 or 0.000000001..31536000 s")
    refused(["--rounds", "1000000000000001"], "expected an integer: 0..1000000000000000")
    refused(["--interval", "1e-300", "--rate", "10"], "invalid --interval '1e-300'")


# ---- files -------------------------------------------------------------------------------

def report_args(path):
    return VIRTUAL + ["--rounds", "30", "--sleep", "0.05", "--backends", "3", "--report", path]


def test_a_report_that_cannot_be_written_whole_leaves_the_old_file():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "r.svg")
    old = b"<svg xmlns='http://www.w3.org/2000/svg'>old</svg>\n"
    with open(path, "wb") as f:
        f.write(old)
    os.chmod(path, 0o640)
    limit = 2000  # bytes: the new report is larger

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        code, out, err = text_run(report_args(path), preexec=small_files)
        check(code == 1 and "cannot write the report" in err and "File too large" in err, (code, err))
        with open(path, "rb") as f:
            check(f.read() == old, "the old report was changed")
        check(os.listdir(d) == ["r.svg"], "left behind: %s" % os.listdir(d))
        # Unlimited, the new report replaces it whole, with its mode.
        code, out, err = text_run(report_args(path))
        check(code == 0, err)
        ET.parse(path)
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o640, oct(os.stat(path).st_mode))
        check(os.listdir(d) == ["r.svg"], "left behind: %s" % os.listdir(d))
        # Through a link, the file it points to is replaced, and the link stays.
        link = os.path.join(d, "link.svg")
        os.symlink("r.svg", link)
        code, out, err = text_run(report_args(link))
        check(code == 0 and os.path.islink(link), err)
        ET.parse(path)
    finally:
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
        os.rmdir(d)


def test_a_full_disk_is_named():
    code, out, err = text_run(report_args("/dev/full"))
    check(code == 1 and "cannot write the report /dev/full: No space left on device" in err, (code, err))


def test_a_report_over_its_own_scenario_is_refused():
    text = "at 1s backend 1 latency 20ms\n"
    path = temp_file(text)
    try:
        refused(VIRTUAL + ["--scenario", path, "--report", path, "--rounds", "3"], "does not write over its input")
        link = path + ".svg"
        os.symlink(path, link)
        try:
            refused(VIRTUAL + ["--scenario", path, "--report", link, "--rounds", "3"], "does not write over")
        finally:
            os.unlink(link)
        with open(path) as f:
            check(f.read() == text, "the scenario was changed")
    finally:
        os.unlink(path)


def test_a_report_that_cannot_be_created_fails_before_the_run():
    start = time.monotonic()
    code, out, err = text_run(VIRTUAL + ["--rounds", "2000000", "--sleep", "0", "--backends", "2",
                                         "--report", "/nonexistent/x.svg"], timeout=60)
    check(code == 1, "exit %d" % code)
    check("lbsim: cannot write the report /nonexistent/x.svg: No such file or directory" in err, err)
    check("Traffic Round" not in out, "the run went ahead: %d bytes of output" % len(out))
    print("refused after %.2f s" % (time.monotonic() - start))


def test_a_report_to_a_stream_is_written_directly():
    code, out, err = run(report_args("/dev/stdout"))
    check(code == 0, err)
    check(out.rstrip().endswith(b"</svg>"), out[-200:])


# ---- what the errors say ---------------------------------------------------------------------

def test_a_long_token_is_cut_and_the_reason_kept():
    host = "a" * 5000
    line = refused(["--client-only", "--server", "http://%s:80/" % host], "URL longer than 2048 bytes")
    check(len(line) < 400 and "...'" in line, line)


def test_control_bytes_and_a_byte_order_mark_are_shown_escaped():
    code, out, err = run(["--burst", "\v5"])
    check(code == 2 and err == b"lbsim: invalid --burst '\\v5': expected an integer: 1..1000000\n", err)
    code, out, err = run(["--burst", "\ufeff5"])
    check(code == 2 and b"'\\xef\\xbb\\xbf5'" in err and b"\xef\xbb\xbf" not in err, err)
    code, out, err = run(["--policy", "random\x1b[31m"])
    check(code == 2 and b"\x1b" not in err and b"\\x1b[31m" in err, err)


def test_a_scenario_with_a_byte_order_mark_is_read():
    path = temp_file("\ufeffat 0s backend 1 latency 20ms\n", mode="w")
    try:
        code, out, err = text_run(VIRTUAL + ["--scenario", path, "--rounds", "1"])
        check(code == 0, err)
    finally:
        os.unlink(path)


def test_a_scenario_too_large_names_the_limit():
    path = temp_file("# " + "x" * 100 + "\n" * 90000)
    with open(path, "a") as f:
        f.write(("#" * 500 + "\n") * 17000)
    try:
        refused(VIRTUAL + ["--scenario", path, "--rounds", "1"], "larger than 8388608 bytes (8 MiB)")
    finally:
        os.unlink(path)


def test_an_ambiguous_abbreviation_is_named_so():
    refused(["--max", "5"], "ambiguous option '--max': it abbreviates --max-conns, --max-header-bytes")
    refused(["--bogus"], "unknown option '--bogus'")


def test_a_sweep_too_large_says_so_in_a_few_words():
    line = refused(VIRTUAL + ["--sweep", "alpha=0.1:0.5:1e-300", "--rounds", "1"],
                   "makes more than 10000 combinations")
    check(len(line) < 120, line)


def test_a_replay_takes_its_place_on_the_command_line():
    # After it, --rate replaces its closed loop.
    code, out, err = text_run(["--replay", "tower", "--rate", "2000", "--clock", "virtual", "--time-scale", "0.01",
                               "--seed", "1", "--format", "json"], timeout=60)
    check(code == 0, err[-300:])
    check('"shape":"rate"' in out, out[:300])
    # Before it, --policy is overridden: the replay's comparison runs.
    code, out, err = text_run(["--policy", "random", "--replay", "linkerd", "--clock", "virtual",
                               "--time-scale", "0.01", "--seed", "1"], timeout=60)
    check(code == 0, err[-300:])
    for policy in ("round-robin", "least-outstanding", "p2c-peak-ewma"):
        check(policy in out, "no %s in the comparison" % policy)
    # After it, --policy replaces the comparison.
    code, out, err = text_run(["--replay", "linkerd", "--policy", "random", "--clock", "virtual",
                               "--time-scale", "0.01", "--seed", "1"], timeout=60)
    check(code == 0 and "p2c-peak-ewma" not in out, err[-300:])
    # Two of the user's own still cannot be combined.
    refused(["--rate", "5", "--concurrency", "5"], "--rate and --concurrency cannot be combined")


def test_a_closed_output_ends_lbsim_quietly_on_either_clock():
    # As `yes | head` does: killed by SIGPIPE, no message; also when the
    # parent ignores SIGPIPE (its disposition is inherited).
    for ignore in (False, True):
        for args in (VIRTUAL + ["--rounds", "1000000", "--sleep", "0"],
                     ["--rounds", "1000000", "--sleep", "0", "--latency", "0", "--port-base", "0", "-q", "-s", "1"]):
            pre = (lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN)) if ignore else None
            p = subprocess.Popen([LBSIM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=pre)
            try:
                p.stdout.readline()
                p.stdout.close()
                try:
                    code = p.wait(timeout=30)  # stderr holds a few lines: it never fills
                except subprocess.TimeoutExpired:
                    raise AssertionError("still running 30 s after its output was closed: %s" % args[:2])
                err = p.stderr.read().decode(errors="replace")
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            check(code == -signal.SIGPIPE, "exit %d (SIGPIPE %s) for %s: %r" %
                  (code, "ignored" if ignore else "default", args[:2], err[-300:]))
            check("lbsim: " not in err, err[-300:])


# ---- what the fuzzer found ------------------------------------------------------------------

def test_fuzz_regressions_hold():
    """Every case of clifuzz_regressions.txt, checked against the fuzzer's
    properties."""
    sys.path.insert(0, HERE)
    import clifuzz
    failures = clifuzz.replay_file(LBSIM, os.path.join(HERE, "clifuzz_regressions.txt"))
    check(not failures, "\n".join(failures))


if __name__ == "__main__":
    sys.exit(run_test(globals()))
