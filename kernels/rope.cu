// RoPE forward/backward, in place: one thread per (token, head, pair).
#include "common.cuh"
#include "r1/cuda/math/rope.hpp"
#include "r1/cuda/ops/rope.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;

template <class T, bool backward>
__global__ void rope_kernel(T* __restrict__ x, const std::int32_t* __restrict__ positions,
                            const float* __restrict__ cos_table, const float* __restrict__ sin_table, int tokens,
                            int heads, int head_dim, int max_positions, int row_stride) {
  const int half = head_dim / 2;
  const std::int64_t pairs = static_cast<std::int64_t>(tokens) * heads * half;
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; index < pairs;
       index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(index % half);
    const std::int64_t token_head = index / half;
    const std::int64_t token = token_head / heads;
    const std::int32_t position = positions[token];
    if (position < 0 || position >= max_positions) continue;
    const float c = cos_table[static_cast<std::int64_t>(position) * half + i];
    const float s = sin_table[static_cast<std::int64_t>(position) * half + i];
    T* row = x + token * row_stride + (token_head % heads) * head_dim;
    const float first = device::to_float(row[i]);
    const float second = device::to_float(row[i + half]);
    const Rotated r = backward ? rope_rotate_backward(first, second, c, s) : rope_rotate(first, second, c, s);
    row[i] = device::from_float<T>(r.first);
    row[i + half] = device::from_float<T>(r.second);
  }
}

template <class T, bool backward>
void launch(T* x, const std::int32_t* positions, const float* cos_table, const float* sin_table, int tokens, int heads,
            int head_dim, int max_positions, cudaStream_t stream, int row_stride, const char* op) {
  require(tokens >= 0 && heads > 0, op, ": tokens must be >= 0 and heads > 0, got ", tokens, " and ", heads);
  require(head_dim > 0 && head_dim % 2 == 0, op, ": head_dim must be positive and even, got ", head_dim);
  require(max_positions > 0, op, ": max_positions must be positive, got ", max_positions);
  require(row_stride == 0 || row_stride >= heads * head_dim, op, ": row_stride (", row_stride,
          ") must be 0 or at least heads * head_dim (", heads * head_dim, ")");
  if (tokens == 0) return;
  const std::int64_t pairs = static_cast<std::int64_t>(tokens) * heads * (head_dim / 2);
  rope_kernel<T, backward><<<device::blocks_for(pairs, threads), threads, 0, stream>>>(
      x, positions, cos_table, sin_table, tokens, heads, head_dim, max_positions,
      row_stride != 0 ? row_stride : heads * head_dim);
  check_launch("rope_kernel", op);
}

}  // namespace

template <StorageType T>
void rope_forward(T* x, const std::int32_t* positions, const float* cos_table, const float* sin_table, int tokens,
                  int heads, int head_dim, int max_positions, cudaStream_t stream, int row_stride) {
  launch<T, false>(x, positions, cos_table, sin_table, tokens, heads, head_dim, max_positions, stream, row_stride,
                   "rope_forward");
}

template <StorageType T>
void rope_backward(T* d_x, const std::int32_t* positions, const float* cos_table, const float* sin_table, int tokens,
                   int heads, int head_dim, int max_positions, cudaStream_t stream, int row_stride) {
  launch<T, true>(d_x, positions, cos_table, sin_table, tokens, heads, head_dim, max_positions, stream, row_stride,
                  "rope_backward");
}

#define R1_INSTANTIATE_ROPE(T)                                                                                  \
  template void rope_forward<T>(T*, const std::int32_t*, const float*, const float*, int, int, int, int,         \
                                cudaStream_t, int);                                                              \
  template void rope_backward<T>(T*, const std::int32_t*, const float*, const float*, int, int, int, int,        \
                                 cudaStream_t, int);
R1_INSTANTIATE_ROPE(float)
R1_INSTANTIATE_ROPE(bf16)
#undef R1_INSTANTIATE_ROPE

}  // namespace r1::gpu
