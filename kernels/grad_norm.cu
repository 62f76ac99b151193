// Global gradient norm: each of a fixed number of blocks reduces a grid-stride
// share in fp32 and stores it as a double; one block adds the partials in
// double, in a fixed order.
#include "common.cuh"
#include "r1/cuda/ops/grad_norm.hpp"

#include <cmath>

namespace r1::gpu {
namespace {

constexpr int threads = 256;

__global__ void sum_of_squares_kernel(const float* __restrict__ x, std::int64_t n, double* __restrict__ partials) {
  __shared__ float scratch[32];
  float sum = 0.0f;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    sum += x[i] * x[i];
  sum = device::block_sum(sum, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = static_cast<double>(sum);
}

__global__ void finish_norm_kernel(const double* __restrict__ partials, int count, float* __restrict__ norm,
                                   float* __restrict__ clip, float max_norm) {
  __shared__ double sums[threads];
  double sum = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += partials[i];
  sums[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) sums[threadIdx.x] += sums[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const float value = static_cast<float>(sqrt(sums[0]));
    *norm = value;
    if (clip != nullptr) *clip = fminf(1.0f, max_norm / (value + 1e-6f));
  }
}

__global__ void scale_kernel(float* __restrict__ x, std::int64_t n, float factor) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    x[i] *= factor;
}

}  // namespace

void global_grad_norm(const float* grads, std::int64_t n, float* workspace, float* norm_device, float* clip_device,
                      float max_norm, cudaStream_t stream) {
  require(n >= 0, "global_grad_norm: n must be >= 0, got ", n);
  require(clip_device == nullptr || max_norm > 0.0f, "global_grad_norm: max_norm must be > 0, got ", max_norm);
  require(reinterpret_cast<std::uintptr_t>(workspace) % alignof(double) == 0,
          "global_grad_norm: workspace must be 8-byte aligned");
  double* partials = reinterpret_cast<double*>(workspace);
  sum_of_squares_kernel<<<grad_norm_blocks, threads, 0, stream>>>(grads, n, partials);
  check_launch("sum_of_squares_kernel", "global_grad_norm");
  finish_norm_kernel<<<1, threads, 0, stream>>>(partials, grad_norm_blocks, norm_device, clip_device, max_norm);
  check_launch("finish_norm_kernel", "global_grad_norm");
}

void scale_gradients(float* grads, std::int64_t n, float factor, cudaStream_t stream) {
  require(n >= 0, "scale_gradients: n must be >= 0, got ", n);
  require(std::isfinite(factor), "scale_gradients: factor must be finite, got ", factor);
  if (n == 0) return;
  scale_kernel<<<device::blocks_for(n, threads), threads, 0, stream>>>(grads, n, factor);
  check_launch("scale_kernel", "scale_gradients");
}

}  // namespace r1::gpu
