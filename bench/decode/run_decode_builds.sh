#!/usr/bin/env bash
# run_decode_builds.sh OUTDIR BUILD_A BUILD_B: decode tokens/s at the Qwen2.5-0.5B shape from two builds of
# bench_decode (e.g. a change against its parent commit), fp32 and bf16 sampling weights, in alternating
# processes so that a busy machine's drift reaches both builds alike (issue 26).
#
#   git worktree add /tmp/r1-base HEAD~1 && cmake -S /tmp/r1-base -B /tmp/r1-base/build -DCMAKE_BUILD_TYPE=Release
#   make -C /tmp/r1-base/build bench_decode bench_bandwidth && make -C build bench_decode bench_bandwidth
#   bench/decode/run_decode_builds.sh out/decode_builds /tmp/r1-base/build build
#
# 1. bench_bandwidth's read-only sum (BUILD_B's) over one array of a decode step's fp32 and of its bf16 weight
#    bytes (WEIGHT_MIB), 2 threads: the read roofline of each;
# 2. ALTERNATIONS times, for each weight storage: bench_decode of BUILD_A and of BUILD_B, one process each, one
#    timed round after a warm-up round, the order of the two builds swapped every alternation
#    -> OUTDIR/decode_ab.jsonl (each line tagged with its build, "A: DIR" or "B: DIR", and alternation);
# 3. summarize_decode_ab.py: medians over the alternations per build, path and batch -> stdout, OUTDIR/summary_ab.json.
# Settings (environment): CONFIG (bench/real_shapes/qwen2.5-0.5b.config.json), THREADS (2), ALTERNATIONS (3),
# PROMPT_TOKENS (32), NEW_TOKENS (64), BATCHES (1,8), WEIGHTS ("fp32 bf16"), WEIGHT_MIB ("1884 942").
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 OUTDIR BUILD_A BUILD_B" >&2; exit 64; }
out=$1 build_a=$2 build_b=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
config=${CONFIG:-$root/bench/real_shapes/qwen2.5-0.5b.config.json}
threads=${THREADS:-2} alternations=${ALTERNATIONS:-3} prompt_tokens=${PROMPT_TOKENS:-32} new_tokens=${NEW_TOKENS:-64}
batches=${BATCHES:-1,8}
for binary in "$build_a/bench/decode/bench_decode" "$build_b/bench/decode/bench_decode" "$build_b/bench/memory/bench_bandwidth"; do
  [ -x "$binary" ] || { echo "$0: $binary is missing (build it first)" >&2; exit 66; }
done
mkdir -p "$out"

{ echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "build A: $build_a ($(git -C "$build_a/.." rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo "build B: $build_b"; echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"; echo "config: $config"
  echo "threads: $threads"; echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "top processes at start:"; ps -eo pcpu,rss,comm --sort=-pcpu | head -6; } > "$out/machine.txt"

CONFIG=$config THREADS=$threads BATCHES=$batches PROMPT_TOKENS=$prompt_tokens NEW_TOKENS=$new_tokens
source "$here/decode_ab_steps.sh"
probe_read_rooflines "$out" "$build_b"

run() {  # run LABEL BUILD WEIGHTS ALTERNATION
  run_decode_round "$out" "$2/bench/decode/bench_decode" "$3" build "$1" "$4"
}
: > "$out/decode_ab.jsonl"
for ((i = 1; i <= alternations; ++i)); do
  for weights in ${WEIGHTS:-fp32 bf16}; do
    if ((i % 2)); then run "A: $build_a" "$build_a" "$weights" "$i"; run "B: $build_b" "$build_b" "$weights" "$i"
    else run "B: $build_b" "$build_b" "$weights" "$i"; run "A: $build_a" "$build_a" "$weights" "$i"; fi
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
/usr/bin/python3 "$here/summarize_decode_ab.py" "$out"
