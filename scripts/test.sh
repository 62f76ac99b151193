#!/usr/bin/env bash
# Builds r1 and runs the whole test suite (ctest). Installs missing Debian packages first.
#   scripts/test.sh [build-dir]          R1_TEST_LABELS=unit scripts/test.sh  (only some labels)
#   R1_CPU_FLAGS="-mavx2;-mfma" scripts/test.sh build-avx2   (the other instruction-set choice for everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
jobs=${R1_JOBS:-$(nproc)}
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${R1_CPU_FLAGS:+"-DR1_CPU_FLAGS=$R1_CPU_FLAGS"} >/dev/null
cmake --build "$build" -j"$jobs"
cd "$build"
args=(--output-on-failure -j"$jobs" --timeout 900)
[[ -n "${R1_TEST_LABELS:-}" ]] && args+=(-L "$R1_TEST_LABELS")
ctest "${args[@]}"
