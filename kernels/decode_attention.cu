// Decode attention: block = (query head, row), 4 warps split the cached keys in
// 32-key tiles (warp w takes tiles w, w + 4, ...), each with its own online
// softmax (r1/cuda/math/attention.hpp); the 4 partial states merge in shared
// memory (FlashDecoding's split-K merge, Dao et al. 2023). Also the cache write.
#include "common.cuh"
#include "r1/cuda/math/attention.hpp"
#include "r1/cuda/ops/attention.hpp"
#include "r1/cuda/ops/decode_attention.hpp"

namespace r1::gpu {
namespace {

constexpr int warps = 4;
constexpr int threads = warps * 32;
constexpr int max_chunks = attention_max_head_dim / 32;

template <class T>
__global__ void kv_cache_write_kernel(const T* __restrict__ k_new, const T* __restrict__ v_new,
                                      const std::int32_t* __restrict__ slots,
                                      const std::int32_t* __restrict__ positions, KvCacheShape cache,
                                      T* __restrict__ cache_k, T* __restrict__ cache_v, int row_stride) {
  const int row = blockIdx.x;
  const std::int32_t slot = slots[row], position = positions[row];
  if (slot < 0 || slot >= cache.slots || position < 0 || position >= cache.max_positions) return;
  const int width = cache.kv_heads * cache.head_dim;
  const std::int64_t base = (static_cast<std::int64_t>(slot) * cache.max_positions + position) * width;
  for (int e = threadIdx.x; e < width; e += blockDim.x) {
    cache_k[base + e] = k_new[static_cast<std::int64_t>(row) * row_stride + e];
    cache_v[base + e] = v_new[static_cast<std::int64_t>(row) * row_stride + e];
  }
}

template <class T>
__global__ void decode_attention_kernel(const T* __restrict__ q, const T* __restrict__ cache_k,
                                        const T* __restrict__ cache_v, const std::int32_t* __restrict__ slots,
                                        const std::int32_t* __restrict__ lengths, int heads, KvCacheShape cache,
                                        float scale, T* __restrict__ out) {
  __shared__ float q_row[attention_max_head_dim];
  __shared__ float partial_max[warps], partial_sum[warps];
  __shared__ float partial_acc[warps][attention_max_head_dim];
  const int head = blockIdx.x, row = blockIdx.y;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int head_dim = cache.head_dim;
  const std::int32_t slot = slots[row];
  const std::int32_t length = lengths[row];
  if (slot < 0 || slot >= cache.slots || length <= 0 || length > cache.max_positions) return;  // block-uniform
  const int kv_head = gqa_kv_head(head, heads, cache.kv_heads);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x)
    q_row[d] = device::to_float(q[(static_cast<std::int64_t>(row) * heads + head) * head_dim + d]) * scale;
  __syncthreads();
  const std::int64_t slot_base = static_cast<std::int64_t>(slot) * cache.max_positions;
  OnlineSoftmax state;
  float acc[max_chunks] = {};
  for (int k0 = warp * 32; k0 < length; k0 += warps * 32) {
    const int j = k0 + lane;
    float s = -INFINITY;
    if (j < length) {
      const T* key = cache_k + ((slot_base + j) * cache.kv_heads + kv_head) * head_dim;
      s = 0.0f;
      for (int d = 0; d < head_dim; ++d) s += q_row[d] * device::to_float(key[d]);
    }
    const float factor = online_softmax_rescale(state, device::warp_max(s));
    const float p = s == -INFINITY ? 0.0f : expf(s - state.max);
    state.sum += device::warp_sum(p);
    for (int c = 0; c < max_chunks; ++c) acc[c] *= factor;
    const int visible = min(32, length - k0);
    for (int jj = 0; jj < visible; ++jj) {
      const float pj = __shfl_sync(device::full_warp, p, jj);
      const T* value = cache_v + ((slot_base + k0 + jj) * cache.kv_heads + kv_head) * head_dim;
      for (int c = 0; c < max_chunks; ++c) {
        const int d = lane + 32 * c;
        if (d < head_dim) acc[c] += pj * device::to_float(value[d]);
      }
    }
  }
  if (lane == 0) {
    partial_max[warp] = state.max;
    partial_sum[warp] = state.sum;
  }
  for (int c = 0; c < max_chunks; ++c) {
    const int d = lane + 32 * c;
    if (d < head_dim) partial_acc[warp][d] = acc[c];
  }
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, partial_max[w]);
  float sum = 0.0f;
  for (int w = 0; w < warps; ++w)
    if (partial_max[w] != -INFINITY) sum += partial_sum[w] * expf(partial_max[w] - m);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float value = 0.0f;
    for (int w = 0; w < warps; ++w)
      if (partial_max[w] != -INFINITY) value += partial_acc[w][d] * expf(partial_max[w] - m);
    out[(static_cast<std::int64_t>(row) * heads + head) * head_dim + d] = device::from_float<T>(value / sum);
  }
}

void check_cache(const KvCacheShape& cache, const char* op) {
  require(cache.slots > 0 && cache.max_positions > 0 && cache.kv_heads > 0, op,
          ": cache slots, max_positions and kv_heads must be positive");
  require(cache.head_dim > 0 && cache.head_dim <= attention_max_head_dim, op, ": head_dim must lie in [1, ",
          attention_max_head_dim, "], got ", cache.head_dim);
}

}  // namespace

template <StorageType T>
void kv_cache_write(const T* k_new, const T* v_new, const std::int32_t* slots, const std::int32_t* positions, int rows,
                    const KvCacheShape& cache, T* cache_k, T* cache_v, cudaStream_t stream, int row_stride) {
  check_cache(cache, "kv_cache_write");
  require(rows >= 0, "kv_cache_write: rows must be >= 0, got ", rows);
  const int width = cache.kv_heads * cache.head_dim;
  require(row_stride == 0 || row_stride >= width, "kv_cache_write: row_stride (", row_stride,
          ") must be 0 or at least kv_heads * head_dim (", width, ")");
  if (rows == 0) return;
  kv_cache_write_kernel<T><<<rows, 256, 0, stream>>>(k_new, v_new, slots, positions, cache, cache_k, cache_v,
                                                     row_stride != 0 ? row_stride : width);
  check_launch("kv_cache_write_kernel", "kv_cache_write");
}

template <StorageType T>
void decode_attention(const T* q, const T* cache_k, const T* cache_v, const std::int32_t* slots,
                      const std::int32_t* lengths, int rows, int heads, const KvCacheShape& cache, float scale, T* out,
                      cudaStream_t stream) {
  check_cache(cache, "decode_attention");
  require(rows >= 0 && rows <= 65535, "decode_attention: rows must lie in [0, 65535], got ", rows);
  require(heads > 0 && heads % cache.kv_heads == 0, "decode_attention: heads (", heads,
          ") must be a positive multiple of kv_heads (", cache.kv_heads, ")");
  require(scale > 0.0f, "decode_attention: scale must be > 0, got ", scale);
  if (rows == 0) return;
  decode_attention_kernel<T><<<dim3(heads, rows), threads, 0, stream>>>(q, cache_k, cache_v, slots, lengths, heads,
                                                                        cache, scale, out);
  check_launch("decode_attention_kernel", "decode_attention");
}

#define R1_INSTANTIATE_DECODE(T)                                                                                 \
  template void kv_cache_write<T>(const T*, const T*, const std::int32_t*, const std::int32_t*, int,            \
                                  const KvCacheShape&, T*, T*, cudaStream_t, int);                               \
  template void decode_attention<T>(const T*, const T*, const T*, const std::int32_t*, const std::int32_t*, int, \
                                    int, const KvCacheShape&, float, T*, cudaStream_t);
R1_INSTANTIATE_DECODE(float)
R1_INSTANTIATE_DECODE(bf16)
#undef R1_INSTANTIATE_DECODE

}  // namespace r1::gpu
