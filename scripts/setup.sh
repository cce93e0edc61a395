#!/usr/bin/env bash
# recsys set-up for a fresh Debian 12 / Ubuntu 22.04+ machine.
#
#   scripts/setup.sh demo   install what is missing, configure, build, run the quickstart demo
#   scripts/setup.sh test   install what is missing, configure, build, run the full test suite
#
# Environment: BUILD_DIR (default ./build), JOBS (default: number of cores),
#              RECSYS_DATA_DIR (real datasets; default ../shared/data when it exists),
#              CMAKE_ARGS (extra configure arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in demo|test) ;; *) echo "usage: scripts/setup.sh demo|test" >&2; exit 2;; esac

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
stage_start=$(date +%s)
# stage <name>: prints how long the stage that just ended took (CI reads these lines).
stage() {
  local now
  now=$(date +%s)
  echo "setup: $1 took $((now - stage_start)) s"
  stage_start=$now
}

# 1. Dependencies (Debian packages), installed only when missing.
packages=(cmake make ninja-build g++ libeigen3-dev libxtensor-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
stage "installing packages"

# 2. Configure (Release; tests keep their assertions on) and build.
data_arg=()
[ -n "${RECSYS_DATA_DIR:-}" ] && data_arg=(-DRECSYS_DATA_DIR="$RECSYS_DATA_DIR")
# Ninja for a new build folder (it compiles the test programs while the libraries they link
# are still compiling, which Make does not, so both cores stay busy); an existing folder keeps
# the generator it was configured with.
gen_arg=()
[ ! -f "$BUILD_DIR/CMakeCache.txt" ] && command -v ninja >/dev/null && gen_arg=(-G Ninja)
# The test build compiles the library once: the tools share the tests' copy instead of a
# -march=native one of their own (CMAKE_ARGS=-DRECSYS_NATIVE_TOOLS=ON gives them theirs back).
mode_arg=()
[ "$mode" = test ] && mode_arg=(-DRECSYS_NATIVE_TOOLS=OFF)
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" "${gen_arg[@]}" -DCMAKE_BUILD_TYPE=Release "${mode_arg[@]}" "${data_arg[@]}" ${CMAKE_ARGS:-}
stage "configuring"

if [ "$mode" = demo ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target example_quickstart recsys_cli
  stage "building"
  "$BUILD_DIR/examples/example_quickstart"
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
  stage "building"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
  stage "testing"
fi
