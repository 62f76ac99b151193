#pragma once
// RMSNorm on the GPU (kernels/rmsnorm.cu); math in r1/cuda/math/rmsnorm.hpp.
//   x, y, dy, dx: (rows, dim) row-major;  weight: (dim);  inverse_rms: (rows) fp32, saved by the forward
//   d_weight: (dim) fp32, ACCUMULATED into (zero it once per step).
#include <cuda_runtime.h>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void rmsnorm_forward(const T* x, const T* weight, T* y, float* inverse_rms, int rows, int dim, float eps,
                     cudaStream_t stream);

template <StorageType T>
void rmsnorm_backward(const T* x, const T* weight, const T* dy, const float* inverse_rms, T* dx, float* d_weight,
                      int rows, int dim, cudaStream_t stream);

}  // namespace r1::gpu
