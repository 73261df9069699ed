#!/usr/bin/env bash
# Fuzzes the backends' request handling and the client's response parsing
# with libFuzzer (clang), ASan and UBSan, for SECONDS each (default 60).
# Inputs that crash are kept in test/fuzz/regressions/<target>/, where the
# normal test run replays them; new coverage stays in a temporary directory.
#   test/fuzz/run.sh [SECONDS]
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/../.."
CC="${CC:-clang-14}"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

CC="$CC" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLBSIM_FUZZ=ON \
  -DLBSIM_SANITIZE=address,undefined -DLBSIM_BUILD_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_hserver fuzz_hclient

status=0
for target in hserver hclient; do
  work="$(mktemp -d)"
  log="$work/log"
  mkdir "$work/corpus"
  echo "==> fuzz_$target for ${seconds}s"
  if ./build-fuzz/test/fuzz_"$target" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
      -artifact_prefix="test/fuzz/regressions/$target/" "$work/corpus" "test/fuzz/corpus/$target" >"$log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log"
  else
    grep -E "ERROR|SUMMARY|Test unit written|^ +#[0-9]+ " "$log" | head -30 >&2
    echo "fuzz_$target found a failure: the input is in test/fuzz/regressions/$target/" >&2
    status=1
  fi
  rm -rf "$work"
done
exit "$status"
