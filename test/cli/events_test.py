#!/usr/bin/env python3
"""The dashboard's event stream (GET /events) with a plain HTTP client:
framing, ids, a viewer that does not read, Last-Event-ID.

Usage: events_test.py LBSIM_BINARY TEST_NAME
Every function named test_* is one ctest entry. Each test bounds its own
waits and stops only the processes it started."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402
from lbsimtest import Dashboard  # noqa: E402

LBSIM = None



def Lbsim(args, env=None):
    return Dashboard(LBSIM, ["-q"] + args, env)


class Viewer:
    """GET /events on a raw socket; parses what comes back into events."""

    def __init__(self, port, last_event_id=None, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        extra = "Last-Event-ID: %s\r\n" % last_event_id if last_event_id else ""
        self.sock.sendall(("GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n%s\r\n"
                           % (port, extra)).encode())
        self.buf = b""
        self.head = None
        self.closed = None  # "eof" or "reset" once the server is done with us
        self.retry = None

    def _more(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.closed = "reset"
            return False
        if not data:
            self.closed = "eof"
            return False
        self.buf += data
        return True

    def read_head(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf and self.closed is None and time.monotonic() < deadline:
            self._more(deadline - time.monotonic())
        check(b"\r\n\r\n" in self.buf, "no answer head: %r" % self.buf[:200])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.head = head.decode() + "\r\n"
        return self.head

    def next_event(self, timeout=10):
        """The next event as a dict of its fields (id, event, data), or None
        when the connection ended. Comments and retry lines are absorbed."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                fields = {}
                for line in block.decode().split("\n"):
                    check(line and not line.startswith(" "), "a malformed line in %r" % block[:200])
                    name, _, value = line.partition(": ")
                    check(name in ("id", "event", "data", "retry") and name not in fields, "field %r in %r"
                          % (name, block[:200]))
                    fields[name] = value
                if "retry" in fields:
                    check(len(fields) == 1, fields)
                    self.retry = int(fields["retry"])
                    continue
                check("event" in fields and "data" in fields, fields)
                fields["json"] = json.loads(fields["data"])
                check(fields["json"]["type"] == fields["event"], fields)
                return fields
            if self.closed is not None:
                return None
            left = deadline - time.monotonic()
            check(left > 0, "no event within %g s" % timeout)
            self._more(left)

    def close(self):
        self.sock.close()


def id_parts(event_id):
    m = re.fullmatch(r"([0-9a-f]{8})\.([1-9][0-9]*)", event_id)
    check(m, "id %r" % event_id)
    return m.group(1), int(m.group(2))


# ---- tests -------------------------------------------------------------------

def test_events_are_framed_with_increasing_ids_until_the_end():
    lb = Lbsim(["-n", "3", "--latency", "5", "--drift-period", "0.1", "--sleep", "0.05", "--rounds", "30", "-s", "1"])
    v = Viewer(lb.port)
    try:
        head = v.read_head()
        check(head.startswith("HTTP/1.1 200 OK\r\n"), head)
        check("\r\nContent-Type: text/event-stream\r\n" in head and "\r\nCache-Control: no-store\r\n" in head, head)
        check("Content-Length" not in head and "\r\nConnection: close" in head, head)
        events = []
        while True:
            e = v.next_event(15)
            if e is None:
                break
            events.append(e)
        check(v.retry == 2000, v.retry)
        check(v.closed == "eof", "the stream ends cleanly: %s" % v.closed)
        types = [e["event"] for e in events]
        check(types[0] == "start" and types[-1] == "end" and types[-2] == "summary", types[:3] + types[-3:])
        check(types.count("round") == 30 and "tick" in types and "drift" in types, sorted(set(types)))
        tokens = {id_parts(e["id"])[0] for e in events}
        check(len(tokens) == 1, tokens)
        ids = [id_parts(e["id"])[1] for e in events]
        check(ids == list(range(1, len(ids) + 1)), ids[:10])
        # The same objects as --format json.
        start = events[0]["json"]
        check(start["policies"] == ["ema-greedy"] and len(start["backends"]) == 3, start)
        rounds = [e["json"] for e in events if e["event"] == "round"]
        check([r["n"] for r in rounds] == list(range(1, 31)), [r["n"] for r in rounds])
        tick = [e["json"] for e in events if e["event"] == "tick"][-1]
        check(len(tick["true_ms"]) == 3 and len(tick["policies"][0]["ema_ms"]) == 3, tick)
        check(len(tick["policies"][0]["backend_done"]) == 3, tick)
    finally:
        v.close()
        code = lb.stop(signal_it=False)  # the run is over: it exits by itself
    check(code == 0, "exit %d" % code)


def test_a_viewer_that_does_not_read_is_dropped_and_nobody_waits_for_it():
    # A small history (the default is 32 MiB), and rounds of 300 backends
    # (some 30 KB each) every 50 ms: some 600 KB/s, which the viewer that
    # reads keeps up with on a loaded machine too.
    lb = Lbsim(["-n", "300", "--latency", "1", "--drift-period", "0", "--sleep", "0.05", "--burst", "20", "-s", "1"],
               env={"LBSIM_EVENTS_HISTORY": "300000"})
    fast = Viewer(lb.port)
    slow = Viewer(lb.port, rcvbuf=4096)
    try:
        fast.read_head()
        got = []
        stop = threading.Event()

        def follow():
            while not stop.is_set():
                e = fast.next_event(10)
                if e is None:
                    return
                got.append((time.monotonic(), id_parts(e["id"])[1], e["event"], e["json"]))

        t = threading.Thread(target=follow, daemon=True)
        t.start()
        # The slow viewer never reads: within a bounded time it is cut off.
        deadline = time.monotonic() + 20
        time.sleep(0.5)
        while slow.closed is None and time.monotonic() < deadline:
            # Only now read it, to see how it ends; the server has been
            # holding it for a while already.
            if time.monotonic() > deadline - 15:
                slow._more(1)
            else:
                time.sleep(0.2)
        check(slow.closed in ("reset", "eof"), "the viewer that does not read is still connected")
        dropped_at = time.monotonic()
        deadline = time.monotonic() + 10
        while not any(g[0] > dropped_at + 0.5 and g[2] == "round" for g in got) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join(12)
        # The other viewer has every event, in order, and goes on after the drop.
        ids = [g[1] for g in got]
        check(ids and ids == list(range(ids[0], ids[0] + len(ids))), "gaps in %r" % ids[:20])
        check(any(g[0] > dropped_at + 0.5 and g[2] == "round" for g in got), "rounds after the drop")
        # The simulation was not slowed: rounds kept coming while the slow
        # viewer was held (every 0.5 s window had some).
        rounds = [g for g in got if g[2] == "round"]
        span = [g[0] for g in rounds]
        check(len(rounds) > 20, len(rounds))
        gaps = [b - a for a, b in zip(span, span[1:])]
        check(max(gaps) < 0.5, "a pause of %.2f s between rounds" % max(gaps))
    finally:
        fast.close()
        slow.close()
        code = lb.stop()
    check(code == 0, "exit %d" % code)
    check(any("dashboard viewer disconnected" in l for l in lb.stderr), lb.stderr[-5:])


def test_viewers_leave_room_for_control_requests():
    # 64 viewers used to take every connection of the admin: /backends,
    # /metrics and POST got 503. Viewers beyond 48 get 503 themselves.
    lb = Lbsim(["-n", "2", "--latency", "5", "--drift-period", "0", "--sleep", "0.2", "-s", "1"])
    viewers = []
    try:
        for _ in range(64):
            viewers.append(Viewer(lb.port))
        heads = [v.read_head() for v in viewers]
        served = [h for h in heads if h.startswith("HTTP/1.1 200")]
        busy = [h for h in heads if h.startswith("HTTP/1.1 503")]
        check(len(served) == 48 and len(busy) == 16, "%d served, %d refused" % (len(served), len(busy)))
        check(all("Connection: close" in h for h in busy), busy[:1])
        for v, h in zip(viewers, heads):
            if h in busy:
                v.close()  # as told: the refused ones go

        def get(path):
            s = socket.create_connection(("127.0.0.1", lb.port), timeout=10)
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                       % (path, lb.port)).encode())
            answer = b""
            while True:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
            s.close()
            return answer
        for path in ("/backends", "/metrics", "/backends", "/api"):
            # Beside 48 viewers there is room, once the refused have gone
            # (a closed connection lingers on the server side for a moment).
            deadline = time.monotonic() + 10
            answer = get(path)
            while not answer.startswith(b"HTTP/1.1 200") and time.monotonic() < deadline:
                time.sleep(0.1)
                answer = get(path)
            check(answer.startswith(b"HTTP/1.1 200"), "%s beside 48 viewers: %r" % (path, answer[:120]))
    finally:
        for v in viewers:
            v.close()
        code = lb.stop()
    check(code == 0, "exit %d" % code)


def test_last_event_id_resumes_where_the_viewer_left():
    lb = Lbsim(["-n", "3", "--latency", "5", "--drift-period", "0", "--sleep", "0.05", "-s", "1"])
    try:
        v = Viewer(lb.port)
        v.read_head()
        first = [v.next_event() for _ in range(6)]
        v.close()
        last = first[-1]["id"]
        token, n = id_parts(last)
        time.sleep(0.5)  # events go on meanwhile
        w = Viewer(lb.port, last_event_id=last)
        w.read_head()
        resumed = [w.next_event() for _ in range(5)]
        w.close()
        check([id_parts(e["id"]) for e in resumed] == [(token, n + k) for k in range(1, 6)],
              [e["id"] for e in resumed])
        check(all(e["event"] != "start" and e["event"] != "reset" for e in resumed), [e["event"] for e in resumed])
    finally:
        code = lb.stop()
    check(code == 0, "exit %d" % code)


def test_an_id_that_left_the_history_gets_a_reset_and_a_fresh_start():
    lb = Lbsim(["-n", "50", "--latency", "1", "--drift-period", "0", "--sleep", "0.01", "-s", "1"],
               env={"LBSIM_EVENTS_HISTORY": "20000"})
    try:
        v = Viewer(lb.port)
        v.read_head()
        early = [v.next_event() for _ in range(3)]
        v.close()
        token, n = id_parts(early[-1]["id"])
        # Wait until the history has moved past it: a new viewer's second
        # event (after the start) is then well beyond.
        deadline = time.monotonic() + 15
        while True:
            probe = Viewer(lb.port)
            probe.read_head()
            probe.next_event()
            second = id_parts(probe.next_event()["id"])[1]
            probe.close()
            if second > n + 5 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(second > n + 5, "the history did not move: %d" % second)
        w = Viewer(lb.port, last_event_id=early[-1]["id"])
        w.read_head()
        reset = w.next_event()
        check(reset["event"] == "reset" and "id" not in reset, reset)
        check(reset["json"]["reason"] == "expired" and reset["json"]["last_event_id"] == early[-1]["id"], reset)
        fresh = w.next_event()
        check(fresh["event"] == "start" and fresh["id"] == "%s.1" % token, fresh)
        then = w.next_event()
        check(id_parts(then["id"])[1] > n + 1, then["id"])
        w.close()
        # An id of another run (lbsim restarted on the same port) is reset too.
        x = Viewer(lb.port, last_event_id="%08x.%d" % (int(token, 16) ^ 1, n))
        x.read_head()
        other = x.next_event()
        check(other["event"] == "reset" and other["json"]["reason"] == "other-run", other)
        check(x.next_event()["event"] == "start", "then a fresh start")
        x.close()
    finally:
        code = lb.stop()
    check(code == 0, "exit %d" % code)


def test_client_only_names_its_servers_in_the_start_object():
    """The page (and --format json) learn the backends from the start object,
    also when they run elsewhere."""
    servers = ["http://127.0.0.1:9/ping", "http://127.0.0.1:10/ping"]
    args = ["--client-only", "--rounds", "2", "--sleep", "0.05", "--timeout", "0.2", "-s", "1"]
    for s in servers:
        args += ["--server", s]
    r = subprocess.run([LBSIM, "--format", "json"] + args, capture_output=True, text=True, timeout=20)
    # Nothing listens there: not one request succeeds, and the run says so.
    check(r.returncode == 1 and r.stderr.endswith("lbsim: not one request succeeded: no server answered 200 in time\n"),
          (r.returncode, r.stderr))
    start = json.loads(r.stdout.splitlines()[0])
    check(start["type"] == "start" and [b["url"] for b in start["backends"]] == servers, start)
    check([b["true_ms"] for b in start["backends"]] == [None, None], start)
    lb = Lbsim(args[:1] + ["--server", servers[0], "--server", servers[1], "--sleep", "0.05", "--timeout", "0.2"])
    v = Viewer(lb.port)
    try:
        v.read_head()
        e = v.next_event()
        check(e["event"] == "start" and [b["url"] for b in e["json"]["backends"]] == servers, e)
        tick = v.next_event()
        while tick["event"] != "tick":
            tick = v.next_event()
        check(tick["json"]["true_ms"] is None and len(tick["json"]["policies"][0]["ema_ms"]) == 2, tick)
    finally:
        v.close()
        code = lb.stop()
    check(code == 1, "exit %d" % code)  # nothing answered



if __name__ == "__main__":
    sys.exit(run_test(globals()))
