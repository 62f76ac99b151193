#!/usr/bin/env bash
# Builds, here, everything bench/cuda/first_gpu.sh runs on a GPU machine, for sm_90 only, and bundles it
# with the shared libraries it needs that such a machine lacks (it has the CUDA toolkit, cuBLASLt, the
# driver and PyTorch, but none of our Debian packages: no TBB, Google Benchmark, ...):
#   bench/cuda/package_for_gpu.sh [BUILD_DIR] [BUNDLE_DIR]
#     BUILD_DIR   default build-gpu-sm90 (configured here: Release, CMAKE_CUDA_ARCHITECTURES=90, R1_CUDA=ON)
#     BUNDLE_DIR  default out/gpu_bundle: bin/ (stripped binaries), lib/ (their non-system libraries),
#                 MANIFEST (commit, compiler, tests and what each binary links)
# Instruction set: -mavx2 -mfma, not -march=native (R1_CPU_FLAGS=auto picks that on an AVX-512 build
# machine), so the binaries run on whatever x86-64 CPU the GPU machine has.
# Not bundled: glibc (libc, libm, libdl, libpthread, librt, ld-linux), the driver (libcuda, libnvidia-*),
# and cuBLAS/cuBLASLt (hundreds of MB; the GPU machine's CUDA 13 toolkit provides libcublasLt.so.13,
# first_gpu.sh finds it). The bundle must stay under 64 MiB (what a GPU call may carry).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build-gpu-sm90}
bundle=${2:-$repo/out/gpu_bundle}
jobs=${JOBS:-2}
limit_bytes=$((64 * 1024 * 1024))

command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || { echo "package_for_gpu.sh: no nvcc here" >&2; exit 1; }
mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DR1_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DR1_CPU_FLAGS="-mavx2;-mfma" >"$build/package_configure.log" 2>&1 || { tail -20 "$build/package_configure.log" >&2; exit 1; }

# The CUDA-labelled suites, plus the host-side CUDA unit suites, and the two benchmarks.
mapfile -t cuda_tests < <(cd "$build" && ctest -N -L cuda | sed -n 's/^ *Test *#[0-9]*: *//p')
mapfile -t host_tests < <(cd "$build" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: *//p' \
                            | grep -E '^test_(cuda_|gemm_plan|gpu_)' || true)
tests=("${cuda_tests[@]}" "${host_tests[@]}")
[[ ${#cuda_tests[@]} -gt 0 ]] || { echo "package_for_gpu.sh: no test labelled cuda in $build" >&2; exit 1; }
targets=("${tests[@]}" bench_cuda_kernels bench_train_step)
echo "package_for_gpu.sh: building ${targets[*]} in $build"
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

rm -rf "$bundle" && mkdir -p "$bundle/bin" "$bundle/lib"
binaries=()
for target in "${targets[@]}"; do
  path=$(find "$build" -type f -name "$target" -perm -u+x -not -path '*/CMakeFiles/*' | head -1)
  [[ -n $path ]] || { echo "package_for_gpu.sh: built $target but cannot find it under $build" >&2; exit 1; }
  strip --strip-unneeded -o "$bundle/bin/$target" "$path"
  binaries+=("$bundle/bin/$target")
done

# Every library the binaries load, but the system's C runtime, the driver and cuBLAS/cuBLASLt.
system='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libcuda\.so|libnvidia-|libcublas)'
declare -A copied=()
for binary in "${binaries[@]}"; do
  while read -r name _ path _; do
    [[ $name =~ $system ]] && continue
    [[ -n ${copied[$name]:-} ]] && continue
    [[ -f $path ]] || { echo "package_for_gpu.sh: $binary needs $name, not found here" >&2; exit 1; }
    cp -L "$path" "$bundle/lib/$name"
    copied[$name]=1
  done < <(ldd "$binary" | awk '$2 == "=>" {print $1, $2, $3, $4}')
done

{
  echo "commit $(git -C "$repo" rev-parse HEAD)$(git -C "$repo" diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(nvcc --version 2>/dev/null | tail -1 || /usr/local/cuda/bin/nvcc --version | tail -1)"
  echo "architectures sm_90; CPU flags -mavx2 -mfma"
  echo "tests ${tests[*]}"
  echo "benchmarks bench_cuda_kernels bench_train_step"
  echo "libraries ${!copied[*]}"
  for binary in "${binaries[@]}"; do echo "needs $(basename "$binary"): $(ldd "$binary" | awk '$2 == "=>" {printf "%s ", $1}')"; done
} >"$bundle/MANIFEST"
printf '%s\n' "${tests[@]}" >"$bundle/tests.txt"

bytes=$(du -sb "$bundle" | cut -f1)
echo "package_for_gpu.sh: $bundle is $((bytes / 1024 / 1024)) MiB ($(ls "$bundle/bin" | wc -l) binaries, $(ls "$bundle/lib" | wc -l) libraries)"
[[ $bytes -lt $limit_bytes ]] || { echo "package_for_gpu.sh: the bundle exceeds 64 MiB" >&2; exit 1; }
