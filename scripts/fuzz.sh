#!/usr/bin/env bash
# Runs recsys's libFuzzer targets (fuzz/), each for a bounded time, niced.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# seconds-per-target defaults to 60; targets default to all of them (interactions_csv
# metadata_csv baskets filter_expression model_store npy). Builds them first with Clang 14,
# AddressSanitizer and UndefinedBehaviorSanitizer in $BUILD_DIR (default build-asan, the folder
# scripts/ci-extra.sh uses). New corpus entries go to $WORK_DIR/<target> (default
# build-asan/fuzz-work), never into the repository's seed corpus; a crash leaves its reproducer
# in $WORK_DIR/<target>-artifacts and makes the script fail. To keep an interesting input,
# minimise it (fuzz_<target> -minimize_crash=1 ...) and copy it to fuzz/crashes/<target>/ with a
# regression test in tests/unit/test_fuzz_regressions.cpp.
# Environment: JOBS (build jobs, default 2), FUZZ_ARGS (extra libFuzzer flags, e.g. -jobs=2).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(interactions_csv metadata_csv baskets filter_expression model_store npy)
BUILD_DIR=${BUILD_DIR:-build-asan}
WORK_DIR=${WORK_DIR:-$BUILD_DIR/fuzz-work}
JOBS=${JOBS:-2}

declare -A dict=([interactions_csv]=csv [metadata_csv]=csv [baskets]=csv [filter_expression]=filter
                 [model_store]=json [npy]=npy)

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ] || ! grep -q "RECSYS_BUILD_FUZZ:BOOL=ON" "$BUILD_DIR/CMakeCache.txt"; then
  san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DRECSYS_BUILD_EXAMPLES=OFF -DRECSYS_BUILD_BENCH=OFF -DRECSYS_INSTALL=OFF \
    -DRECSYS_BUILD_FUZZ=ON >/dev/null
fi
if [ ${#targets[@]} -eq 6 ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target fuzzers  # one parallel build of all six
else
  cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]/#/fuzz_}"
fi

status=0
for t in "${targets[@]}"; do
  # libFuzzer ends with _Exit (no atexit handlers): model_store's scratch directories go to a
  # TMPDIR inside the work folder rather than piling up in /tmp.
  mkdir -p "$WORK_DIR/$t" "$WORK_DIR/$t-artifacts" "$WORK_DIR/tmp"
  tmp_dir=$(cd "$WORK_DIR/tmp" && pwd)
  log="$WORK_DIR/$t.log"
  # the stored crash reproducers are replayed too (after the seed corpus), as fuzz_replay_<t> does
  inputs=("fuzz/corpus/$t")
  [ -d "fuzz/crashes/$t" ] && inputs+=("fuzz/crashes/$t")
  echo "fuzz: $t for ${seconds}s"
  # shellcheck disable=SC2086
  if ! TMPDIR="$tmp_dir" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      nice -n 10 "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -dict="fuzz/dict/${dict[$t]}.dict" \
      -artifact_prefix="$WORK_DIR/$t-artifacts/" ${FUZZ_ARGS:-} "$WORK_DIR/$t" "${inputs[@]}" >"$log" 2>&1; then
    echo "fuzz: $t FAILED (see $log and $WORK_DIR/$t-artifacts/)"
    tail -n 40 "$log"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
  echo "fuzz: $t: $execs executions, coverage $cov, corpus $(find "$WORK_DIR/$t" -type f | wc -l) new files"
done
exit $status
