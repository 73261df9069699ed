#!/usr/bin/env bash
# lbsim's benchmarks against wrk, nginx, the seed's Python stack and a Python model of its loop.
#   test/bench/run.sh [--quick] [--runs N] [--only backend,ceiling,fidelity,client,scale,virtual,fleet]
# Builds a Release lbsim in build-bench/ if needed; prints a table and writes
# one JSON object per figure to test/bench/results/latest.jsonl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LBSIM_BENCH_BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLBSIM_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target lbsim >/dev/null
# 10,000 requests in flight need some 20,000 descriptors: as many as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" "$root/test/bench/bench.py" "$build/lbsim" "$@"
