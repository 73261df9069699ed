"""What the Python tests of the built binary share: checks, waiting for a
line on a process's stderr, the runner of one test by name, and an lbsim with its admin port (the dashboard) started
on ports of the system's choosing.

A test script sets its LBSIM from the command line through main() and
calls the helpers below; every wait is bounded."""

import os
import re
import signal
import subprocess
import sys
import threading
import time


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for_stderr_line(proc, pattern, timeout=10):
    """Reads stderr lines until one matches; returns the match."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError("no stderr line matching %r in %r" % (pattern, seen))


def main(module, argv=None, first_test_arg=2):
    """Runs the test named on the command line (argv[first_test_arg]) of
    `module` (a script's globals()), with module["LBSIM"] = argv[1]; prints
    "ok NAME" or "FAIL NAME: why" and returns the exit status."""
    argv = argv or sys.argv
    module["LBSIM"] = argv[1]
    name = argv[first_test_arg]
    fn = module.get(name)
    if fn is None:
        print("no test named %s" % name)
        return 2
    try:
        fn()
    except AssertionError as e:
        print("FAIL %s: %s" % (name, e))
        return 1
    print("ok   %s" % name)
    return 0


class Dashboard:
    """lbsim with --admin 0 and --port-base 0: its admin (and dashboard) port
    read from stderr, which is then drained for as long as it runs, so that
    lbsim never blocks on a full pipe."""

    def __init__(self, lbsim, args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([lbsim, "--admin", "0", "--port-base", "0"] + args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=e)
        self.stderr = []
        self.port = None
        deadline = time.monotonic() + 15
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr.append(line)
            m = re.search(r"^dashboard on http://127\.0\.0\.1:(\d+)/$", line)
            if m:
                self.port = int(m.group(1))
        check(self.port is not None, "no dashboard line on stderr: %r" % self.stderr)
        self.url = "http://127.0.0.1:%d/" % self.port
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait(self, timeout=30):
        """Waits for lbsim to exit; its exit status."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("lbsim did not exit in time")
        self.reader.join(5)
        return self.proc.returncode

    def stop(self, signal_it=True):
        """SIGTERM (unless it has been signalled already), then wait."""
        if signal_it and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(15)
