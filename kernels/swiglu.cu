// SwiGLU forward/backward over packed [g | u] rows: grid-stride elementwise.
#include "common.cuh"
#include "r1/cuda/math/swiglu.hpp"
#include "r1/cuda/ops/swiglu.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;

template <class T>
__global__ void swiglu_forward_kernel(const T* __restrict__ gate_up, T* __restrict__ out, std::int64_t n,
                                      int features) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t gate = (i / features) * 2 * features + i % features;
    out[i] = device::from_float<T>(swiglu_output(device::to_float(gate_up[gate]), device::to_float(gate_up[gate + features])));
  }
}

template <class T>
__global__ void swiglu_backward_kernel(const T* __restrict__ gate_up, const T* __restrict__ d_out,
                                       T* __restrict__ d_gate_up, std::int64_t n, int features) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t gate = (i / features) * 2 * features + i % features;
    const SwigluGrads g = swiglu_backward(device::to_float(gate_up[gate]), device::to_float(gate_up[gate + features]),
                                          device::to_float(d_out[i]));
    d_gate_up[gate] = device::from_float<T>(g.d_gate);
    d_gate_up[gate + features] = device::from_float<T>(g.d_up);
  }
}

void check_shape(int rows, int features, const char* op) {
  require(rows >= 0, op, ": rows must be >= 0, got ", rows);
  require(features > 0, op, ": features must be positive, got ", features);
}

}  // namespace

template <StorageType T>
void swiglu_forward(const T* gate_up, int rows, int features, T* out, cudaStream_t stream) {
  check_shape(rows, features, "swiglu_forward");
  const std::int64_t n = static_cast<std::int64_t>(rows) * features;
  if (n == 0) return;
  swiglu_forward_kernel<T><<<device::blocks_for(n, threads), threads, 0, stream>>>(gate_up, out, n, features);
  check_launch("swiglu_forward_kernel", "swiglu_forward");
}

template <StorageType T>
void swiglu_backward(const T* gate_up, const T* d_out, int rows, int features, T* d_gate_up, cudaStream_t stream) {
  check_shape(rows, features, "swiglu_backward");
  const std::int64_t n = static_cast<std::int64_t>(rows) * features;
  if (n == 0) return;
  swiglu_backward_kernel<T><<<device::blocks_for(n, threads), threads, 0, stream>>>(gate_up, d_out, d_gate_up, n,
                                                                                    features);
  check_launch("swiglu_backward_kernel", "swiglu_backward");
}

template void swiglu_forward<float>(const float*, int, int, float*, cudaStream_t);
template void swiglu_forward<bf16>(const bf16*, int, int, bf16*, cudaStream_t);
template void swiglu_backward<float>(const float*, const float*, int, int, float*, cudaStream_t);
template void swiglu_backward<bf16>(const bf16*, const bf16*, int, int, bf16*, cudaStream_t);

}  // namespace r1::gpu
