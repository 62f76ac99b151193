#pragma once
// SwiGLU on the GPU (kernels/swiglu.cu), in the CPU model's packed layout
// (r1/model/ops/swiglu.hpp: gate_proj and up_proj computed by one GEMM):
//   gate_up: (rows, 2F), each row [g (F) | u (F)];  out, d_out: (rows, F)
//   out = silu(g) * u;  the backward writes d_gate_up (rows, 2F) (overwritten).
// Math: r1/cuda/math/swiglu.hpp.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void swiglu_forward(const T* gate_up, int rows, int features, T* out, cudaStream_t stream);

template <StorageType T>
void swiglu_backward(const T* gate_up, const T* d_out, int rows, int features, T* d_gate_up, cudaStream_t stream);

}  // namespace r1::gpu
