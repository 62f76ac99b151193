#!/usr/bin/env bash
# r1's main job: R1-Zero on two cores. GRPO with rule-based rewards turns a small
# base model that rarely reasons into one that thinks before it answers.
# Installs missing Debian packages, builds the example, runs it; results in out/r1_zero/.
#   scripts/r1-zero.sh                 RL from the committed base (examples/r1_zero/base, made by r1's own pretraining)
#   scripts/r1-zero.sh --from-scratch  pretrain the base first, then RL
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${R1_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target r1_zero
args=(--out "$root/out/r1_zero")
if [[ "${1:-}" == "--from-scratch" ]]; then
  shift
else
  args+=(--base "$root/examples/r1_zero/base")
fi
exec "$build/bin/r1_zero" "${args[@]}" "$@"
