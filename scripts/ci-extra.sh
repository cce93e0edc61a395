#!/usr/bin/env bash
# CI steps beyond the main test suite:
#   - the whole unit test suite (every tests/unit program, the fuzz corpus replays, the ODR test)
#     built with Clang 14 under AddressSanitizer + UndefinedBehaviorSanitizer (Debug, -O1) and
#     run (ctest -L unit), with the libFuzzer targets in the same build;
#   - a bounded fuzz smoke run of every libFuzzer target (FUZZ_SECONDS each, default 10) on its
#     seed corpus;
#   - the concurrency tests (ctest label "concurrency") under ThreadSanitizer, std::thread
#     backend (RECSYS_USE_OPENMP=OFF: libgomp is not TSan-instrumented).
# See docs/dev/ci.md (stages, costs). Target for the whole of .ci/run: 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

need=(clang libclang-rt-14-dev libomp-dev ninja-build)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Ninja for new build folders: it compiles a test program's own unit while the recipe library it
# links is still compiling (Make builds them one after the other).
generator() { if [ ! -f "$1/CMakeCache.txt" ] && command -v ninja >/dev/null; then echo "-GNinja"; fi; }

# Clang 14 + ASan + UBSan: every test program and the fuzz targets (examples, benchmarks and the
# real-data tests are covered by the main build; RECSYS_DATA_DIR is left empty here). The fuzz
# corpus replays are not built here: the fuzz smoke run below feeds the same corpus and crash
# reproducers to the libFuzzer binaries, under the same sanitizers, before it fuzzes. Line tables
# only (-gline-tables-only): enough for symbolised sanitizer reports, ~10% less compile time.
t0=$(date +%s)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# shellcheck disable=SC2046
cmake -S . -B build-asan $(generator build-asan) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
  -DRECSYS_BUILD_EXAMPLES=OFF -DRECSYS_BUILD_BENCH=OFF -DRECSYS_INSTALL=OFF -DRECSYS_BUILD_FUZZ=ON \
  -DRECSYS_FUZZ_REPLAY=OFF -DRECSYS_DATA_DIR=
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -L unit
echo "ci-extra: clang asan+ubsan (whole unit suite) took $(( $(date +%s) - t0 )) s"

# libFuzzer smoke run: every target for FUZZ_SECONDS on its seed corpus (built above).
t0=$(date +%s)
BUILD_DIR=build-asan JOBS="$JOBS" scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
echo "ci-extra: fuzz smoke run took $(( $(date +%s) - t0 )) s"

# ThreadSanitizer: only the concurrency tests (many threads calling const queries at once).
t0=$(date +%s)
tsan="-fsanitize=thread -fno-omit-frame-pointer"
# shellcheck disable=SC2046
cmake -S . -B build-tsan $(generator build-tsan) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="$tsan" -DCMAKE_EXE_LINKER_FLAGS="$tsan" \
  -DRECSYS_USE_OPENMP=OFF -DRECSYS_BUILD_EXAMPLES=OFF -DRECSYS_BUILD_BENCH=OFF -DRECSYS_INSTALL=OFF \
  -DRECSYS_TEST_HEADER_ONLY=ON
# (header-only: the one program compiles what it uses instead of the whole compiled library)
cmake --build build-tsan -j "$JOBS" --target test_concurrency
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan --output-on-failure -L concurrency
echo "ci-extra: clang tsan (concurrency tests) took $(( $(date +%s) - t0 )) s"
