// fp32 -> storage copy, grid-stride.
#include "common.cuh"
#include "r1/cuda/ops/convert.hpp"

namespace r1::gpu {
namespace {

template <class T>
__global__ void convert_kernel(const float* __restrict__ from, T* __restrict__ to, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    to[i] = device::from_float<T>(from[i]);
}

}  // namespace

template <StorageType T>
void convert_from_fp32(const float* from, T* to, std::int64_t n, cudaStream_t stream) {
  require(n >= 0, "convert_from_fp32: n must be >= 0, got ", n);
  if (n == 0) return;
  convert_kernel<T><<<device::blocks_for(n, 256), 256, 0, stream>>>(from, to, n);
  check_launch("convert_kernel", "convert_from_fp32");
}

template void convert_from_fp32<float>(const float*, float*, std::int64_t, cudaStream_t);
template void convert_from_fp32<bf16>(const float*, bf16*, std::int64_t, cudaStream_t);

}  // namespace r1::gpu
