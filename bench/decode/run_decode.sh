#!/usr/bin/env bash
# run_decode.sh OUTDIR: decoding at the Qwen2.5-0.5B shape against the memory roofline and PyTorch (issue 26).
#
#   bench/decode/run_decode.sh out/decode
#
# 1. builds bench_bandwidth and bench_decode into R1_BUILD_DIR when missing (cmake Release, make -j R1_JOBS);
# 2. bench_bandwidth (bench/memory): STREAM triad and read-only sum at 1 and 2 threads -> OUTDIR/bandwidth.json,
#    and the read-only sum over arrays of the decode step's fp32 and bf16 weight bytes (WEIGHT_MIB);
# 3. bench_decode: r1 greedy decoding, fp32 and bf16 sampling weights, batch 1 and 8 -> OUTDIR/r1_decode.jsonl;
# 4. torch_decode_peer.py: the same decoder in PyTorch, fp32 then bf16 -> OUTDIR/torch_decode.jsonl;
# 5. summarize_decode.py: one table (tokens/s, GB/s, % of the 2-thread read roofline, ratio to PyTorch)
#    on stdout and OUTDIR/summary.json.
# Settings (environment): CONFIG (bench/real_shapes/qwen2.5-0.5b.config.json), THREADS (2), ROUNDS (3),
# PROMPT_TOKENS (32), NEW_TOKENS (64), BATCHES (1,8), WEIGHT_MIB ("1884 942"), R1_BUILD_DIR (build-decode), R1_JOBS (1),
# R1_BANDWIDTH_ARRAY_MIB (bench_bandwidth's array size; default 4 x the last-level cache).
# Needs: /usr/bin/python3 with Debian's python3-torch and libopenblas0 (apt-get install python3-torch
# libopenblas-dev). Memory: the bandwidth probe's three arrays (up to 7.5 GB), then one process at a time
# of about 3 GB (r1: fp32 weights and their bf16 copy) or 2 GB (torch fp32).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 64; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
config=${CONFIG:-$root/bench/real_shapes/qwen2.5-0.5b.config.json}
threads=${THREADS:-2} rounds=${ROUNDS:-3} prompt_tokens=${PROMPT_TOKENS:-32} new_tokens=${NEW_TOKENS:-64}
batches=${BATCHES:-1,8}
build=${R1_BUILD_DIR:-$root/build-decode}
mkdir -p "$out"

if [ ! -x "$build/bench/memory/bench_bandwidth" ] || [ ! -x "$build/bench/decode/bench_decode" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DR1_BUILD_TESTS=OFF -DR1_BUILD_EXAMPLES=OFF -DR1_CUDA=OFF >/dev/null
  cmake --build "$build" -j "${R1_JOBS:-1}" --target bench_bandwidth bench_decode
fi

{ echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"; echo "config: $config"; echo "threads: $threads"
  echo "top processes at start:"; ps -eo pcpu,rss,comm --sort=-pcpu | head -6; } > "$out/machine.txt"

echo "== bench_bandwidth" >&2
R1_THREADS=$threads "$build/bench/memory/bench_bandwidth" --benchmark_format=json --benchmark_out="$out/bandwidth.json" \
  --benchmark_out_format=json >&2

# The same read-only sum over one array of a decode step's weight bytes (fp32: 1884 MiB, bf16: 942 MiB at
# the 0.5B shape): a last-level cache of 480 MiB can keep part of a cyclically streamed array (the share grows
# as the array shrinks), so this is the read rate a decode step of that size can expect.
for mib in ${WEIGHT_MIB:-1884 942}; do
  R1_THREADS=$threads R1_BANDWIDTH_ARRAY_MIB=$mib "$build/bench/memory/bench_bandwidth" --benchmark_filter=read_sum \
    --benchmark_format=json --benchmark_out="$out/bandwidth_read_${mib}MiB.json" --benchmark_out_format=json >/dev/null
done

echo "== bench_decode (r1)" >&2
R1_THREADS=$threads "$build/bench/decode/bench_decode" --config "$config" --batch "$batches" --weights fp32,bf16 \
  --prompt-tokens "$prompt_tokens" --new-tokens "$new_tokens" --rounds "$rounds" > "$out/r1_decode.jsonl"

echo "== torch_decode_peer.py" >&2
: > "$out/torch_decode.jsonl"
for dtype in fp32 bf16; do
  /usr/bin/python3 "$here/torch_decode_peer.py" --config "$config" --dtype "$dtype" --batch "$batches" --threads "$threads" \
    --prompt-tokens "$prompt_tokens" --new-tokens "$new_tokens" --rounds "$rounds" >> "$out/torch_decode.jsonl"
done

{ echo "top processes at end:"; ps -eo pcpu,rss,comm --sort=-pcpu | head -6; } >> "$out/machine.txt"
/usr/bin/python3 "$here/summarize_decode.py" "$out"
