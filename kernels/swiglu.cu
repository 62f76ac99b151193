// SwiGLU forward/backward: grid-stride elementwise.
#include "common.cuh"
#include "r1/cuda/math/swiglu.hpp"
#include "r1/cuda/ops/swiglu.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;

template <class T>
__global__ void swiglu_forward_kernel(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ out,
                                      std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    out[i] = device::from_float<T>(swiglu_output(device::to_float(gate[i]), device::to_float(up[i])));
}

template <class T>
__global__ void swiglu_backward_kernel(const T* __restrict__ gate, const T* __restrict__ up,
                                       const T* __restrict__ d_out, T* __restrict__ d_gate, T* __restrict__ d_up,
                                       std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const SwigluGrads g =
        swiglu_backward(device::to_float(gate[i]), device::to_float(up[i]), device::to_float(d_out[i]));
    d_gate[i] = device::from_float<T>(g.d_gate);
    d_up[i] = device::from_float<T>(g.d_up);
  }
}

}  // namespace

template <StorageType T>
void swiglu_forward(const T* gate, const T* up, T* out, std::int64_t n, cudaStream_t stream) {
  require(n >= 0, "swiglu_forward: n must be >= 0, got ", n);
  if (n == 0) return;
  swiglu_forward_kernel<T><<<device::blocks_for(n, threads), threads, 0, stream>>>(gate, up, out, n);
  check_launch("swiglu_forward_kernel", "swiglu_forward");
}

template <StorageType T>
void swiglu_backward(const T* gate, const T* up, const T* d_out, T* d_gate, T* d_up, std::int64_t n,
                     cudaStream_t stream) {
  require(n >= 0, "swiglu_backward: n must be >= 0, got ", n);
  if (n == 0) return;
  swiglu_backward_kernel<T><<<device::blocks_for(n, threads), threads, 0, stream>>>(gate, up, d_out, d_gate, d_up, n);
  check_launch("swiglu_backward_kernel", "swiglu_backward");
}

template void swiglu_forward<float>(const float*, const float*, float*, std::int64_t, cudaStream_t);
template void swiglu_forward<bf16>(const bf16*, const bf16*, bf16*, std::int64_t, cudaStream_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t,
                                     cudaStream_t);
template void swiglu_backward<bf16>(const bf16*, const bf16*, const bf16*, bf16*, bf16*, std::int64_t, cudaStream_t);

}  // namespace r1::gpu
