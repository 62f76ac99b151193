#pragma once
// Token embedding lookup on the GPU (kernels/embedding.cu).
//   tokens: (n) ids;  table: (vocab, dim);  out, d_out: (n, dim);  d_table: (vocab, dim) fp32, ACCUMULATED.
// Ids are validated on the host (TokenBatch::validate) before upload; an id outside
// [0, vocab) that reaches the kernel still reads nothing: its output row is zero
// and its gradient is dropped.
// The backward uses fp32 atomicAdd, so repeated tokens sum in an unspecified order:
// results agree to rounding, not bit for bit, across runs.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void embedding_forward(const std::int32_t* tokens, int n, const T* table, int vocab, int dim, T* out,
                       cudaStream_t stream);

template <StorageType T>
void embedding_backward(const std::int32_t* tokens, int n, const T* d_out, int vocab, int dim, float* d_table,
                        cudaStream_t stream);

}  // namespace r1::gpu
