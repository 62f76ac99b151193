#pragma once
// One decoding step of attention over a KV cache (kernels/decode_attention.cu),
// and the write of new keys/values into that cache.
//   cache_k, cache_v: (slots, max_positions, K, D) for one layer
//   q, out: (B, H, D), one query per row;  slots: (B) cache slot of each row
//   lengths: (B) positions of the slot to attend, 0 .. lengths[b] - 1 (the new
//   token's own key included, so write it first with kv_cache_write)
//   k_new, v_new: B rows of K*D values, `row_stride` apart (0: K*D, dense; (H + 2K) D for
//   the k and v parts of packed qkv rows), written at (slots[b], positions[b])
// Slot or position values outside the cache leave the row untouched (the caller
// validates them on the host; kernels cannot throw).
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

struct KvCacheShape {
  int slots = 0;
  int max_positions = 0;
  int kv_heads = 0;
  int head_dim = 0;
};

template <StorageType T>
void kv_cache_write(const T* k_new, const T* v_new, const std::int32_t* slots, const std::int32_t* positions, int rows,
                    const KvCacheShape& cache, T* cache_k, T* cache_v, cudaStream_t stream, int row_stride = 0);

template <StorageType T>
void decode_attention(const T* q, const T* cache_k, const T* cache_v, const std::int32_t* slots,
                      const std::int32_t* lengths, int rows, int heads, const KvCacheShape& cache, float scale, T* out,
                      cudaStream_t stream);

}  // namespace r1::gpu
