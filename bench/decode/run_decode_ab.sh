#!/usr/bin/env bash
# run_decode_ab.sh OUTDIR: decode tokens/s at the Qwen2.5-0.5B shape, fp32 weights against bf16 weights read by
# each of the bf16 decode paths (few_rows_linear_bf16.hpp: AMX tiles, vdpbf16ps, and widening to fp32), in
# alternating rounds so that a busy machine's drift reaches all of them alike (issue 26).
#
#   R1_BUILD_DIR=build-bf16 bench/decode/run_decode_ab.sh out/decode_ab
#
# 1. bench_bandwidth's read-only sum (bench/memory) over one array of a decode step's fp32 and of its bf16
#    weight bytes (WEIGHT_MIB), 2 threads: the read roofline of each (a 480 MiB L3 keeps part of a cyclic
#    stream, more of the smaller array);
# 2. ALTERNATIONS times: bench_decode (the path chosen at run time: AMX tiles where the CPU has AMX-BF16 and the
#    kernel grants them, else vdpbf16ps where it has AVX-512 BF16, else widening; bf16_instructions.hpp) with
#    fp32 weights, the same with bf16 weights, bench_decode_vdp (R1_FEW_ROWS_BF16_NO_AMX) and bench_decode_widen
#    (R1_FEW_ROWS_BF16_WIDEN) with bf16, each its own process, one timed round after a warm-up round, the order
#    rotated each time -> OUTDIR/decode_ab.jsonl (each line tagged with its binary and alternation; a twin whose
#    path is bench_decode's adds to its row);
# 3. summarize_decode_ab.py: medians over the alternations, % of the read roofline -> stdout, OUTDIR/summary_ab.json.
# Settings (environment): R1_BUILD_DIR (required; bench_decode, bench_decode_vdp, bench_decode_widen and
# bench_bandwidth built there),
# CONFIG (bench/real_shapes/qwen2.5-0.5b.config.json), THREADS (2), ALTERNATIONS (3), PROMPT_TOKENS (32),
# NEW_TOKENS (64), BATCHES (1,8), WEIGHT_MIB ("1884 942").
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 64; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${R1_BUILD_DIR:?set R1_BUILD_DIR to a build with bench_decode, bench_decode_vdp, bench_decode_widen, bench_bandwidth}
config=${CONFIG:-$root/bench/real_shapes/qwen2.5-0.5b.config.json}
threads=${THREADS:-2} alternations=${ALTERNATIONS:-3} prompt_tokens=${PROMPT_TOKENS:-32} new_tokens=${NEW_TOKENS:-64}
batches=${BATCHES:-1,8}
for binary in bench/decode/bench_decode bench/decode/bench_decode_vdp bench/decode/bench_decode_widen \
  bench/memory/bench_bandwidth; do
  [ -x "$build/$binary" ] || { echo "$0: $build/$binary is missing (build it first)" >&2; exit 66; }
done
mkdir -p "$out"

{ echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"; echo "config: $config"; echo "threads: $threads"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "top processes at start:"; ps -eo pcpu,rss,comm --sort=-pcpu | head -6; } > "$out/machine.txt"

CONFIG=$config THREADS=$threads BATCHES=$batches PROMPT_TOKENS=$prompt_tokens NEW_TOKENS=$new_tokens
source "$here/decode_ab_steps.sh"
probe_read_rooflines "$out" "$build"

run() {  # run BINARY WEIGHTS ALTERNATION
  run_decode_round "$out" "$build/bench/decode/$1" "$2" binary "$1" "$3"
}
: > "$out/decode_ab.jsonl"
for ((i = 1; i <= alternations; ++i)); do
  # One process per path: bf16 rounds that follow fp32 rounds in the same process ran up to 25% slower.
  runs=("bench_decode fp32" "bench_decode bf16" "bench_decode_vdp bf16" "bench_decode_widen bf16")
  for ((r = 0; r < ${#runs[@]}; ++r)); do
    read -r binary weights <<< "${runs[$(((r + i) % ${#runs[@]}))]}"
    run "$binary" "$weights" "$i"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
/usr/bin/python3 "$here/summarize_decode_ab.py" "$out"
