#pragma once
// Causal attention with grouped key/value heads over packed variable-length
// sequences, FlashAttention-style (kernels/attention.cu): tiles of keys stream
// through shared memory with an online softmax (r1/cuda/math/attention.hpp), so
// no (T, T) score matrix is ever stored; the backward recomputes P from the
// saved logsumexp (FlashAttention-2, Dao 2023, algorithms 1 and 2).
// Layout (N = total tokens of all sequences, H query heads, K kv heads, D head dim):
//   out, d_out: (N, H, D);  lse: (N, H) fp32
//   q, dq: N rows of H*D values, q_row_stride apart;  k, v, dk, dv: N rows of K*D values,
//   kv_row_stride apart. With strides 0 (dense) they are (N, H, D) and (N, K, D); with both
//   strides = (H + 2K) D they address the packed [q | k | v] rows of the CPU model
//   (r1/model/ops/attention.hpp), so one QKV GEMM feeds the kernel and dq, dk, dv land
//   in a packed d_qkv.
//   sequence_offsets: device int64 (sequences + 1), TokenBatch::offsets; token i of
//   sequence s attends to tokens offsets[s] .. i of the same sequence.
// Limits: D <= 128, H a multiple of K.
// Kernels: bf16 storage with D = 64 or 128 on sm_80 or later, row strides multiples of 8, 16-byte
// aligned pointers runs on tensor cores (mma.sync bf16, fp32 accumulation; P and dS
// are rounded to bf16 as mma operands, kernels/attention_mma.cu); anything else, and
// any call with tensor_cores = false, runs scalar fp32 kernels (kernels/attention.cu).
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

struct AttentionShape {
  int tokens = 0;        // N
  int sequences = 0;
  int max_sequence_length = 0;  // longest sequence: sizes the grid
  int heads = 0;         // H
  int kv_heads = 0;      // K
  int head_dim = 0;      // D
  float scale = 0.0f;    // usually 1 / sqrt(D)
  int q_row_stride = 0;   // elements between token rows of q and dq; 0: H * D
  int kv_row_stride = 0;  // elements between token rows of k, v, dk, dv; 0: K * D
  bool tensor_cores = true;  // false: the scalar kernels even where the tensor-core ones apply
};

inline constexpr int attention_max_head_dim = 128;

// fp32 scratch the backward needs: dQ accumulated in fp32, and D_i = dO_i . O_i.
inline std::int64_t attention_backward_workspace_floats(const AttentionShape& shape) {
  return static_cast<std::int64_t>(shape.tokens) * shape.heads * (shape.head_dim + 1);
}

template <StorageType T>
void attention_forward(const T* q, const T* k, const T* v, const std::int64_t* sequence_offsets,
                       const AttentionShape& shape, T* out, float* lse, cudaStream_t stream);

// dq, dk, dv are overwritten.
template <StorageType T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* d_out, const float* lse,
                        const std::int64_t* sequence_offsets, const AttentionShape& shape, float* workspace, T* dq,
                        T* dk, T* dv, cudaStream_t stream);

}  // namespace r1::gpu
