#pragma once
// fp32 -> storage precision copy (kernels/convert.cu): the bf16 weights the forward
// reads, made from the fp32 master weights (round to nearest even).
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void convert_from_fp32(const float* from, T* to, std::int64_t n, cudaStream_t stream);

}  // namespace r1::gpu
