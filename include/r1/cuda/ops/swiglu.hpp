#pragma once
// SwiGLU on the GPU (kernels/swiglu.cu), elementwise over n values:
//   out = silu(gate) * up;   backward writes d_gate and d_up (overwritten, not accumulated).
// Math: r1/cuda/math/swiglu.hpp.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void swiglu_forward(const T* gate, const T* up, T* out, std::int64_t n, cudaStream_t stream);

template <StorageType T>
void swiglu_backward(const T* gate, const T* up, const T* d_out, T* d_gate, T* d_up, std::int64_t n,
                     cudaStream_t stream);

}  // namespace r1::gpu
