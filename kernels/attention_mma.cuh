#pragma once
// Tensor-core (mma.sync m16n8k16, bf16 in, fp32 accumulation) causal GQA attention
// over packed sequences, FlashAttention-2 style (Dao 2023, algorithms 1 and 2), for
// head_dim 64 and 128. Internal to kernels/: attention.cu dispatches here for bf16
// storage when attention_mma_eligible() holds, and owns the delta (D_i = dO_i . O_i),
// the fp32 dQ workspace and its conversion to storage.
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"
#include "r1/cuda/ops/attention.hpp"

namespace r1::gpu::detail {

// head_dim 64 or 128, a device of compute capability 8.0 or later, row strides
// multiples of 8 elements, every pointer 16-byte aligned (16-byte vector loads of rows).
bool attention_mma_eligible(const AttentionShape& shape, int q_stride, int kv_stride, const void* const* pointers,
                            int count);

void attention_forward_mma(const bf16* q, const bf16* k, const bf16* v, const std::int64_t* offsets,
                           const AttentionShape& shape, int q_stride, int kv_stride, bf16* out, float* lse,
                           cudaStream_t stream);

// Adds scale * dS K into dq_accum ((N, H, D) fp32, zeroed by the caller) with fp32
// atomics; writes dk and dv (no atomics: a block owns its keys for the whole group).
void attention_backward_mma(const bf16* q, const bf16* k, const bf16* v, const bf16* d_out, const float* lse,
                            const float* delta, const std::int64_t* offsets, const AttentionShape& shape, int q_stride,
                            int kv_stride, float* dq_accum, bf16* dk, bf16* dv, cudaStream_t stream);

}  // namespace r1::gpu::detail
