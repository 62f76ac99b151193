#pragma once
// Rotary position embedding on the GPU (kernels/rope.cu), IN PLACE.
//   x: tokens rows of `heads` head vectors of head_dim values (rotate-half layout), rows
//   `row_stride` elements apart (0: heads * head_dim, dense). For the CPU model's packed
//   [q | k | v] rows call it on x = qkv (H heads) and on x = qkv + H * head_dim (K heads),
//   both with row_stride = (H + 2K) * head_dim.
//   positions: (tokens) position of each token
//   cos_table, sin_table: (max_positions, head_dim / 2) from make_rope_tables (r1/cuda/math/rope.hpp)
// The backward rotates a gradient by the opposite angle. Positions are validated
// by the caller; a position outside [0, max_positions) leaves its row unchanged.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void rope_forward(T* x, const std::int32_t* positions, const float* cos_table, const float* sin_table, int tokens,
                  int heads, int head_dim, int max_positions, cudaStream_t stream, int row_stride = 0);

template <StorageType T>
void rope_backward(T* d_x, const std::int32_t* positions, const float* cos_table, const float* sin_table, int tokens,
                   int heads, int head_dim, int max_positions, cudaStream_t stream, int row_stride = 0);

}  // namespace r1::gpu
