#pragma once
// The residual stream's addition, x += y over n values (kernels/residual.cu), fp32
// arithmetic then one rounding into storage; and the bias gradient of a linear
// layer, d_bias[c] += sum_r dy[r, c] over (rows, cols) row-major dy, accumulated in fp32.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void residual_add(T* x, const T* y, std::int64_t n, cudaStream_t stream);

template <StorageType T>
void bias_gradient(const T* dy, int rows, int cols, float* d_bias, cudaStream_t stream);

}  // namespace r1::gpu
