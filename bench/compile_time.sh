#!/usr/bin/env bash
# Compile cost of including recsys, measured in one run against Eigen itself.
#
#   bench/compile_time.sh [--quick] [--repeat N] [--csv FILE]
#
# Times GCC (or $CXX) on: the Eigen baseline (<Eigen/Dense> + <Eigen/Sparse>) and xtensor's; every
# public header alone; the umbrella recsys.hpp; and user programs (examples/als.cpp,
# examples/quickstart.cpp, examples/rerank_bike_shop.cpp, examples/serve_filtered.cpp), each in
# header-only mode and in compiled mode (-DRECSYS_COMPILED_LIB: what linking recsys::compiled
# gives), at -fsyntax-only and at -O2 -c. Prints one table: seconds (the fastest of N runs) and the
# ratio to the Eigen baseline compiled the same way (the baseline: the fastest of 5 runs at the
# start and 5 at the end). --quick skips the per-header rows.
# Flags: -std=c++20 -fopenmp, as recsys's own targets (CXXFLAGS adds more).
# Run it on an otherwise idle machine; the ratios are what docs/getting-started.md quotes.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX:-g++}
repeat=1
quick=0
csv=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --repeat) repeat=$2; shift ;;
    --csv) csv=$2; shift ;;
    *) echo "usage: bench/compile_time.sh [--quick] [--repeat N] [--csv FILE]" >&2; exit 2 ;;
  esac
  shift
done

eigen_inc=$(pkg-config --cflags-only-I eigen3 2>/dev/null || echo -I/usr/include/eigen3)
base_flags=(-std=c++20 -fopenmp -Iinclude $eigen_inc ${CXXFLAGS:-})
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# seconds <file> <mode flags...>: the fastest of $repeat compilations.
seconds() {
  local src=$1; shift
  local best=""
  for _ in $(seq "$repeat"); do
    local t0 t1 s
    t0=$(date +%s.%N)
    "$CXX" "${base_flags[@]}" "$@" -o "$work/out.o" "$src"
    t1=$(date +%s.%N)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    if [ -z "$best" ] || awk -v s="$s" -v b="$best" 'BEGIN { exit !(s < b) }'; then best=$s; fi
  done
  printf '%.2f' "$best"
}

tu() {  # a translation unit including the given headers
  local name=$1; shift
  local f="$work/$name.cpp"
  : >"$f"
  for h in "$@"; do echo "#include <$h>" >>"$f"; done
  echo "int main() { return 0; }" >>"$f"
  echo "$f"
}

eigen_tu=$(tu eigen Eigen/Dense Eigen/Sparse)
xtensor_tu=$(tu xtensor xtensor/xarray.hpp xtensor/xnpy.hpp)
# The baseline is the denominator of every ratio: the fastest of at least 5 compilations here
# and 5 more at the end of the run (a single slow baseline would flatter every row).
base_repeat=$(( repeat > 5 ? repeat : 5 ))
baseline() {  # baseline <level flags...>: the fastest of base_repeat compilations
  local saved=$repeat
  repeat=$base_repeat
  seconds "$eigen_tu" "$@"
  repeat=$saved
}
declare -A base
base[syntax]=$(baseline -fsyntax-only)
base[o2]=$(baseline -O2 -c)

rows=()
row() {  # row <what> <mode> <level> <seconds>
  local ratio
  ratio=$(awk -v s="$4" -v b="${base[$3]}" 'BEGIN { printf "%.1f", s / b }')
  rows+=("$1|$2|$3|$4|${ratio}x")
  printf '%-48s %-12s %-7s %7s s %6sx\n' "$1" "$2" "$3" "$4" "$ratio" >&2
}
level_flags() { if [ "$1" = syntax ]; then echo -fsyntax-only; else echo "-O2 -c"; fi; }
mode_flags() { if [ "$1" = compiled ]; then echo -DRECSYS_COMPILED_LIB; fi; }

row "Eigen/Dense + Eigen/Sparse (baseline)" "-" syntax "${base[syntax]}"
row "Eigen/Dense + Eigen/Sparse (baseline)" "-" o2 "${base[o2]}"
row "xtensor/xarray.hpp + xtensor/xnpy.hpp" "-" syntax "$(seconds "$xtensor_tu" -fsyntax-only)"

for mode in header-only compiled; do
  # shellcheck disable=SC2046
  row "recsys/recsys.hpp (umbrella)" "$mode" syntax "$(seconds "$(tu umbrella recsys/recsys.hpp)" -fsyntax-only $(mode_flags $mode))"
done
if [ "$quick" = 0 ]; then
  for h in $(cd include && find recsys -name '*.hpp' ! -path '*/detail/*' ! -name '*-inl.hpp' ! -name recsys.hpp | sort); do
    for mode in header-only compiled; do
      # shellcheck disable=SC2046
      row "$h" "$mode" syntax "$(seconds "$(tu one "$h")" -fsyntax-only $(mode_flags $mode))"
    done
  done
fi
for prog in examples/als.cpp examples/quickstart.cpp examples/rerank_bike_shop.cpp examples/serve_filtered.cpp; do
  [ -f "$prog" ] || continue
  for mode in header-only compiled; do
    for level in syntax o2; do
      # shellcheck disable=SC2046
      row "$prog" "$mode" "$level" "$(seconds "$prog" $(level_flags $level) $(mode_flags $mode))"
    done
  done
done

# the baseline again at the end: if it ran faster now, the table's ratios use that (the
# rows were printed as they ran, with the first baseline)
for level in syntax o2; do
  # shellcheck disable=SC2046
  again=$(baseline $(level_flags $level))
  if awk -v a="$again" -v b="${base[$level]}" 'BEGIN { exit !(a < b) }'; then base[$level]=$again; fi
done
echo
echo "Compiler: $("$CXX" --version | head -1); flags: ${base_flags[*]}; fastest of $repeat run(s); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| translation unit | mode | level | seconds | vs Eigen |"
echo "|---|---|---|---|---|"
for r in "${rows[@]}"; do
  IFS='|' read -r what mode level s ratio <<<"$r"
  case "$what" in *"(baseline)") s=${base[$level]} ;; esac
  ratio=$(awk -v s="$s" -v b="${base[$level]}" 'BEGIN { printf "%.1fx", s / b }')
  lv=$([ "$level" = syntax ] && echo "-fsyntax-only" || echo "-O2 -c")
  echo "| \`$what\` | $mode | $lv | $s | $ratio |"
done
if [ -n "$csv" ]; then
  { echo "what,mode,level,seconds,ratio"; for r in "${rows[@]}"; do echo "${r//|/,}"; done; } >"$csv"
fi
