#!/usr/bin/env bash
# Everything r1 wants to know from a GPU machine, in one call of under 8 minutes, from the binaries
# bench/cuda/package_for_gpu.sh built and bundled beforehand (nothing is compiled here):
#   bench/cuda/first_gpu.sh OUTDIR [BUNDLE_DIR]        (BUNDLE_DIR default: out/gpu_bundle)
# out/ is git-ignored: a remote run must carry out/gpu_bundle with the working tree (23 MiB at 8674fd7).
# Phases, each under `timeout`, each logging to OUTDIR/<phase>.log, each recorded in OUTDIR/summary.txt
# with its exit status and seconds (timeouts sum to 465 s, plus at most 2 s of kill grace each):
#   preflight   20 s  nvidia-smi (driver, card, clocks), SM count, nvcc and compute-sanitizer versions, bundle
#   tests      115 s  every bundled test suite, CUDA_LAUNCH_BLOCKING=1 R1_REQUIRE_GPU=1 (a skip is a failure)
#   memcheck    90 s  compute-sanitizer --tool memcheck on the attention test cases (if compute-sanitizer exists)
#   kernels    100 s  bench_cuda_kernels: every kernel at the Qwen2-0.5B micro-batch shapes, % of peak
#   train_step  70 s  bench_train_step: Qwen2.5-0.5B-shaped score + backward (tokens/s, MFU), decode at batch 64
#   torch_peer  70 s  torch_train_step_peer.py: the same micro-batch in PyTorch (bf16 autocast and bf16, SDPA)
# Without a usable CUDA device it stops after the preflight: "first_gpu.sh: no CUDA device: <why>", exit 2.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: first_gpu.sh OUTDIR [BUNDLE_DIR]}
bundle=${2:-$repo/out/gpu_bundle}
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary=$out/summary.txt
: >"$summary"
[[ -x $bundle/bin/bench_train_step ]] || { echo "first_gpu.sh: no bundle at $bundle (run bench/cuda/package_for_gpu.sh first)" >&2; exit 1; }

# cuBLASLt and the CUDA runtime's tools come from the machine's toolkit; the rest from the bundle.
cuda_bin=""
for dir in "${CUDA_HOME:-}/bin" /usr/local/cuda/bin /usr/local/cuda-13*/bin "$(dirname "$(command -v nvcc 2>/dev/null || echo /nonexistent/nvcc)")"; do
  [[ -n $dir && -d $dir ]] && { cuda_bin=$dir; break; }
done
cublas_dir=""
for dir in "${CUDA_HOME:-}/lib64" /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
           ${cuda_bin:+$cuda_bin/../lib64} /usr/lib/x86_64-linux-gnu; do
  [[ -n $dir && -e $dir/libcublasLt.so.13 ]] && { cublas_dir=$dir; break; }
done
if [[ -z $cublas_dir ]] && command -v python3 >/dev/null; then  # PyTorch's CUDA wheels carry one
  cublas_dir=$(python3 - <<'EOF' 2>/dev/null
import glob, site, os
for root in site.getsitepackages() + [site.getusersitepackages()]:
    for path in glob.glob(os.path.join(root, "nvidia", "**", "libcublasLt.so.13"), recursive=True):
        print(os.path.dirname(path)); raise SystemExit
EOF
)
fi
export LD_LIBRARY_PATH=$bundle/lib${cublas_dir:+:$cublas_dir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
[[ -n $cuda_bin ]] && export PATH=$PATH:$cuda_bin

# phase NAME SECONDS COMMAND...: runs COMMAND under timeout, output to OUTDIR/NAME.log, one summary line.
phase() {
  local name=$1 seconds=$2; shift 2
  local start=$SECONDS
  echo "== $name (timeout ${seconds}s): $*" | tee -a "$out/$name.log"
  # bash -c runs an exported shell function (preflight, run_tests, memcheck) as well as a program.
  timeout --kill-after=2 "$seconds" bash -c '"$@"' "$name" "$@" >>"$out/$name.log" 2>&1
  local rc=$?
  local verdict=ok
  [[ $rc -ne 0 ]] && verdict="FAILED (exit $rc)"
  [[ $rc -eq 124 || $rc -eq 137 ]] && verdict="TIMED OUT after ${seconds}s"
  printf '%-11s %-28s %4ds  %s\n' "$name" "$verdict" $((SECONDS - start)) "$out/$name.log" | tee -a "$summary"
  return $rc
}

preflight() {
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host $(hostname), $(nproc) CPUs"
  echo "bundle: $bundle"; cat "$bundle/MANIFEST"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "libcublasLt.so.13: ${cublas_dir:-NOT FOUND}"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi || true
    nvidia-smi --query-gpu=name,driver_version,pci.bus_id,memory.total,clocks.max.sm,clocks.max.mem,clocks.sm,power.limit,compute_mode \
      --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  if command -v nvcc >/dev/null; then nvcc --version; else echo "nvcc: not found"; fi
  if command -v compute-sanitizer >/dev/null; then compute-sanitizer --version | head -3; else echo "compute-sanitizer: not found"; fi
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'device', torch.cuda.is_available() and torch.cuda.get_device_name(0))" \
    2>&1 | tail -1 || true
  # The runtime's own view (SM count, clocks, or why there is no device): the train-step bench's header.
  R1_REQUIRE_GPU=1 "$bundle/bin/bench_train_step" --device-only 2>&1 || true
}

run_tests() {
  local failed=0
  while read -r test; do
    [[ -n $test ]] || continue
    echo "-- $test"
    local start=$SECONDS
    CUDA_LAUNCH_BLOCKING=1 R1_REQUIRE_GPU=1 "$bundle/bin/$test"
    local rc=$?
    echo "-- $test: exit $rc in $((SECONDS - start)) s"
    [[ $rc -eq 0 ]] || failed=1
  done <"$bundle/tests.txt"
  return $failed
}

memcheck() {
  if ! command -v compute-sanitizer >/dev/null; then
    echo "compute-sanitizer: not found; memcheck skipped"
    return 0
  fi
  # doctest: -tc selects test cases by name; -d prints each one's duration as it ends.
  R1_REQUIRE_GPU=1 compute-sanitizer --tool memcheck --error-exitcode 3 --print-limit 20 \
    "$bundle/bin/test_cuda_kernels" -tc='*ttention*' -d
}

export -f preflight run_tests memcheck
export bundle out cublas_dir
echo "first_gpu.sh: logs in $out"
phase preflight 20 preflight
if ! grep -q '^device: ' "$out/preflight.log"; then
  reason=$(grep -E '^(failed|skipped): ' "$out/preflight.log" | head -1 | sed 's/^[a-z]*: //')
  echo "first_gpu.sh: no CUDA device: ${reason:-the CUDA runtime found none} (see $out/preflight.log)" | tee -a "$summary" >&2
  exit 2
fi
phase tests 115 run_tests
phase memcheck 90 memcheck
phase kernels 100 "$bundle/bin/bench_cuda_kernels" --benchmark_min_time=0.1 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_counters_tabular=true \
  --benchmark_out="$out/kernels.json" --benchmark_out_format=json
phase train_step 70 "$bundle/bin/bench_train_step" --json "$out/train_step.json"
phase torch_peer 70 python3 "$here/torch_train_step_peer.py" --json "$out/torch_peer.json"

echo "== results"
grep -hE '^(device|dense bf16 peak|train step|decode)' "$out/train_step.log" | tee -a "$summary"
grep -hE '^(torch|autocast|bf16):' "$out/torch_peer.log" | tee -a "$summary"
grep -hE '^-- .*: exit|\[doctest\] (test cases|assertions)|^(failed|skipped):' "$out/tests.log" | tee -a "$summary" >/dev/null
echo "first_gpu.sh: done in ${SECONDS}s; $summary"
! grep -qE 'FAILED|TIMED OUT' "$summary"
