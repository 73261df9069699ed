#!/usr/bin/env bash
# Fuzzes the backends' request handling and the client's response parsing
# with libFuzzer (clang), ASan and UBSan, for SECONDS each (default 60).
#
#   test/fuzz/run.sh 60                  # what CI runs: both harnesses
#   test/fuzz/run.sh 600 hserver         # one harness only
#
# Each fuzzer starts from its seed corpus (test/fuzz/corpus/<harness>) and
# the kept crash inputs (test/fuzz/regressions/<harness>), with the HTTP
# dictionary test/fuzz/http.dict; new coverage stays in a temporary
# directory. An input that crashes is written to test/fuzz/regressions/
# <harness>/, where the normal test run replays it (ctest -L unit). Exits
# non-zero if any fuzzer failed.
set -euo pipefail
seconds="${1:-60}"
[ $# -gt 0 ] && shift
harnesses="${*:-hserver hclient}"
cd "$(dirname "$0")/../.."
CC="${CC:-clang-14}"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

CC="$CC" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLBSIM_FUZZ=ON \
  -DLBSIM_SANITIZE=address,undefined -DLBSIM_BUILD_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(for h in $harnesses; do printf 'fuzz_%s ' "$h"; done) >/dev/null

status=0
for target in $harnesses; do
  work="$(mktemp -d)"
  log="$work/log"
  mkdir "$work/corpus"
  mkdir -p "test/fuzz/regressions/$target"
  echo "==> fuzz_$target for ${seconds}s"
  if ./build-fuzz/test/fuzz_"$target" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -dict=test/fuzz/http.dict \
      -artifact_prefix="test/fuzz/regressions/$target/" \
      "$work/corpus" "test/fuzz/corpus/$target" "test/fuzz/regressions/$target" >"$log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log"
  else
    grep -E "ERROR|SUMMARY|invariant broken|Test unit written|^ +#[0-9]+ " "$log" | head -30 >&2
    echo "fuzz_$target found a failure: the input is in test/fuzz/regressions/$target/" >&2
    status=1
  fi
  rm -rf "$work"
done
exit "$status"
