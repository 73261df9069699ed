#!/usr/bin/python3
"""The seed's burst/EMA loop as a plain-Python discrete-event model: the
yardstick for lbsim's virtual clock (test/bench/README.md).

Five backends, latencies uniform in [100, 1500] ms at start, each drifting by
a uniform step in [-100, +100] ms every 5 s, clamped to [50, 2000] ms; a
client with an EMA per backend (alpha 0.3, the first sample sets it, 0 until
then), which sends each burst of 100 requests to the lowest EMA with
probability 0.95 and to a random other backend otherwise, all picked at the
start of the round; the round ends with its last answer, then 1 s of sleep.
Each request is answered after its backend's latency at the time it is sent,
plus 0.1 ms of network (lbsim's --net-delay).

Every answer, drift step and round start is an event on one heapq, ordered by
(time, kind, sequence): the way a Python programmer would write it, with no
batching. Like lbsim it keeps the run's statistics (per backend: requests
and latency sum; the round's picks) and the oracle's verdict at each pick
(was it the truly fastest backend), and prints the seed's round summary.

Usage: seed_heapq.py [--rounds N] [--seed S] [--quiet]
Prints one JSON line on stderr: requests, simulated seconds, wall seconds,
simulated requests per wall second.
"""

import argparse
import heapq
import json
import random
import sys
import time

N = 5
ALPHA = 0.3
EXPLORE = 0.05
BURST = 100
SLEEP_S = 1.0
DRIFT_PERIOD_S = 5.0
DRIFT_STEP_MS = 100.0
FLOOR_MS, CEIL_MS = 50.0, 2000.0
NET_MS = 0.1

DRIFT, ANSWER, ROUND = 0, 1, 2  # kinds, in the order they run at one instant


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true", help="no round summaries (only the run's line)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    urls = ["http://127.0.0.1:%d/ping" % (5001 + i) for i in range(N)]

    latency = [rng.uniform(100.0, 1500.0) for _ in range(N)]
    ema = [0.0] * N
    measured = [False] * N
    requests = [0] * N
    latency_sum = [0.0] * N
    picks = [0] * N
    to_fastest = 0
    outstanding = 0
    rounds = 0
    out = sys.stdout
    events = []
    seq = 0

    def push(t, kind, data):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, kind, seq, data))

    push(DRIFT_PERIOD_S, DRIFT, None)
    push(0.0, ROUND, None)
    heappush, heappop, rand, randrange = heapq.heappush, heapq.heappop, rng.random, rng.randrange
    wall0 = time.perf_counter()
    now = 0.0
    while events:
        now, kind, _, data = heappop(events)
        if kind == ANSWER:
            i, start = data
            ms = (now - start) * 1000.0
            if measured[i]:
                ema[i] = ALPHA * ms + (1.0 - ALPHA) * ema[i]
            else:
                ema[i] = ms
                measured[i] = True
            requests[i] += 1
            latency_sum[i] += ms
            outstanding -= 1
            if outstanding == 0:
                rounds += 1
                if not args.quiet:
                    out.write("\n=== Traffic Round %d Summary ===\n" % rounds)
                    for k in range(N):
                        out.write("%s: avg=%.2f ms, requests=%d\n" % (urls[k], ema[k], picks[k]))
                if rounds < args.rounds:
                    push(now + SLEEP_S, ROUND, None)
                else:
                    break
        elif kind == DRIFT:
            for k in range(N):
                latency[k] = min(CEIL_MS, max(FLOOR_MS, latency[k] + rng.uniform(-DRIFT_STEP_MS, DRIFT_STEP_MS)))
            push(now + DRIFT_PERIOD_S, DRIFT, None)
        else:  # a round: every pick now, before any answer (so the lowest EMA stays put)
            fastest = min(range(N), key=latency.__getitem__)
            best = min(range(N), key=ema.__getitem__)
            ends = [now + (latency[k] + NET_MS) / 1000.0 for k in range(N)]
            picks = [0] * N
            for _ in range(BURST):
                if rand() < EXPLORE:
                    i = randrange(N - 1)
                    i = i + 1 if i >= best else i
                else:
                    i = best
                picks[i] += 1
                to_fastest += i == fastest
                seq += 1
                heappush(events, (ends[i], ANSWER, seq, (i, now)))
            outstanding = BURST
    wall = time.perf_counter() - wall0
    total = sum(requests)
    out.write("\nrequests=%d simulated=%.2f s to_fastest=%.1f%% mean=%.2f ms\n" % (
        total, now, 100.0 * to_fastest / max(1, total), sum(latency_sum) / max(1, total)))
    out.flush()
    sys.stderr.write(json.dumps({"requests": total, "simulated_s": now, "wall_s": wall,
                                 "rate": total / wall if wall > 0 else 0.0}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
