// Residual add (grid-stride elementwise) and bias gradient (column sums over
// 256-row chunks, one fp32 atomicAdd per chunk and column, as rmsnorm's d_weight).
#include "common.cuh"
#include "r1/cuda/ops/residual.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;
constexpr int rows_per_block = 256;

template <class T>
__global__ void residual_add_kernel(T* __restrict__ x, const T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    x[i] = device::from_float<T>(device::to_float(x[i]) + device::to_float(y[i]));
}

template <class T>
__global__ void bias_gradient_kernel(const T* __restrict__ dy, int rows, int cols, float* __restrict__ d_bias) {
  const int column = blockIdx.x * blockDim.x + threadIdx.x;
  if (column >= cols) return;
  const int first = blockIdx.y * rows_per_block;
  const int last = min(rows, first + rows_per_block);
  float sum = 0.0f;
  for (std::int64_t row = first; row < last; ++row) sum += device::to_float(dy[row * cols + column]);
  atomicAdd(d_bias + column, sum);
}

}  // namespace

template <StorageType T>
void residual_add(T* x, const T* y, std::int64_t n, cudaStream_t stream) {
  require(n >= 0, "residual_add: n must be >= 0, got ", n);
  if (n == 0) return;
  residual_add_kernel<T><<<device::blocks_for(n, threads), threads, 0, stream>>>(x, y, n);
  check_launch("residual_add_kernel", "residual_add");
}

template <StorageType T>
void bias_gradient(const T* dy, int rows, int cols, float* d_bias, cudaStream_t stream) {
  require(rows >= 0 && cols > 0, "bias_gradient: rows must be >= 0 and cols > 0, got ", rows, " and ", cols);
  if (rows == 0) return;
  const dim3 grid((cols + threads - 1) / threads, (rows + rows_per_block - 1) / rows_per_block);
  bias_gradient_kernel<T><<<grid, threads, 0, stream>>>(dy, rows, cols, d_bias);
  check_launch("bias_gradient_kernel", "bias_gradient");
}

template void residual_add<float>(float*, const float*, std::int64_t, cudaStream_t);
template void residual_add<bf16>(bf16*, const bf16*, std::int64_t, cudaStream_t);
template void bias_gradient<float>(const float*, int, int, float*, cudaStream_t);
template void bias_gradient<bf16>(const bf16*, int, int, float*, cudaStream_t);

}  // namespace r1::gpu
