#!/usr/bin/env bash
# Runs r1's CUDA kernel benchmarks on one GPU (written for an H200) in well under
# 8 minutes, and prints the published FlashAttention figures to compare attention with.
#   bench/cuda/run_h200.sh [build-dir]        (build dir configured with nvcc present)
set -euo pipefail
build=${1:-build}
shift || true
cmake --build "$build" -j"$(nproc)" --target bench_cuda_kernels
echo "Published attention references (not measured here):"
echo "  FlashAttention-2, A100: 50-73% of the 312 TFLOP/s bf16 peak, fwd+bwd (Dao 2023, abstract)"
echo "  FlashAttention-3, H100 SXM: up to 740 TFLOP/s fp16 forward, 75% of peak (Shah et al. 2024, abstract)"
# Each benchmark: at least 0.3 s (Google Benchmark 1.7 takes plain seconds) of timed kernels, 3 repetitions reported as mean and stddev.
timeout 450 "$build"/bench/cuda/bench_cuda_kernels --benchmark_min_time=0.3 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_counters_tabular=true "$@"
