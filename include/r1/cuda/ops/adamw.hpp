#pragma once
// Fused AdamW over a contiguous group of parameters with fp32 master weights
// (kernels/adamw.cu; math in r1/cuda/math/adamw.hpp). Updates master, m and v in
// place and, when `param_copy` is not null, writes the new weights in storage
// precision there (the bf16 weights the forward reads). Call once per group
// (e.g. decayed matrices, then norms/biases with weight_decay = 0).
// `grad_scale_device`, when not null, points at a device float that multiplies
// the gradient (the clip coefficient from clip_coefficient), so clipping needs
// no host round trip; it multiplies hyper.grad_scale.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"
#include "r1/cuda/math/adamw.hpp"

namespace r1::gpu {

template <StorageType T>
void adamw_step(float* master, float* m, float* v, const float* grad, T* param_copy, std::int64_t n,
                const AdamWHyper& hyper, const float* grad_scale_device, cudaStream_t stream);

}  // namespace r1::gpu
