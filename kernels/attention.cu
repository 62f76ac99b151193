// Causal GQA attention forward/backward over packed sequences, tiled with an
// online softmax (FlashAttention-2's algorithms). bf16 storage with head_dim 64 or
// 128 (and 16-byte aligned rows) runs on tensor cores (kernels/attention_mma.cu);
// everything else, fp32 storage included, runs the scalar fp32 kernels below.
//
// Forward: block = (16-query tile, head, sequence), 4 warps, a warp owns 4 query
// rows; 32-key tiles of K and V are staged in shared memory; lane j scores key j.
// Backward: block = (32-key tile, kv head, sequence); it walks every later query
// row of every query head of its group, 4 rows at a time (one per warp), keeps
// dK and dV for its keys in shared memory (no atomics) and adds dQ with fp32
// atomics into a workspace, converted to storage at the end.
#include <type_traits>

#include "attention_mma.cuh"
#include "common.cuh"
#include "r1/cuda/math/attention.hpp"
#include "r1/cuda/ops/attention.hpp"

namespace r1::gpu {
namespace {

constexpr int warps = 4;
constexpr int threads = warps * 32;
constexpr int query_tile = 16;
constexpr int rows_per_warp = query_tile / warps;
constexpr int key_tile = 32;
constexpr int max_chunks = attention_max_head_dim / 32;  // accumulator registers per lane per row

template <class T>
__global__ void attention_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                         const std::int64_t* __restrict__ offsets, int heads, int kv_heads,
                                         int head_dim, float scale, int q_stride, int kv_stride,
                                         T* __restrict__ out, float* __restrict__ lse) {
  __shared__ float q_tile[query_tile][attention_max_head_dim];
  __shared__ float k_tile[key_tile][attention_max_head_dim + 1];  // +1: lane j reads row j, no bank conflicts
  __shared__ float v_tile[key_tile][attention_max_head_dim];
  const int sequence = blockIdx.z;
  const std::int64_t start = offsets[sequence];
  const int length = static_cast<int>(offsets[sequence + 1] - start);
  const int q0 = blockIdx.x * query_tile;
  if (q0 >= length) return;
  const int head = blockIdx.y;
  const int kv_head = gqa_kv_head(head, heads, kv_heads);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  for (int e = threadIdx.x; e < query_tile * head_dim; e += threads) {
    const int r = e / head_dim, d = e % head_dim;
    q_tile[r][d] = q0 + r < length ? device::to_float(q[(start + q0 + r) * q_stride + head * head_dim + d]) * scale : 0.0f;
  }
  OnlineSoftmax state[rows_per_warp];
  float acc[rows_per_warp][max_chunks];
  for (int r = 0; r < rows_per_warp; ++r)
    for (int c = 0; c < max_chunks; ++c) acc[r][c] = 0.0f;

  const int last_query = min(length, q0 + query_tile) - 1;
  for (int k0 = 0; k0 <= last_query; k0 += key_tile) {
    __syncthreads();  // the previous tile is no longer read (and q_tile is written, first time)
    for (int e = threadIdx.x; e < key_tile * head_dim; e += threads) {
      const int j = e / head_dim, d = e % head_dim;
      const bool valid = k0 + j < length;
      const std::int64_t index = (start + k0 + j) * kv_stride + kv_head * head_dim + d;
      k_tile[j][d] = valid ? device::to_float(k[index]) : 0.0f;
      v_tile[j][d] = valid ? device::to_float(v[index]) : 0.0f;
    }
    __syncthreads();
    for (int r = 0; r < rows_per_warp; ++r) {
      const int row = warp + warps * r;  // row within the query tile
      const int i = q0 + row;
      if (i >= length || k0 > i) continue;  // warp-uniform
      const int j = k0 + lane;
      float s = -INFINITY;
      if (j <= i && j < length) {
        s = 0.0f;
        for (int d = 0; d < head_dim; ++d) s += q_tile[row][d] * k_tile[lane][d];
      }
      const float tile_max = device::warp_max(s);
      const float factor = online_softmax_rescale(state[r], tile_max);
      const float p = s == -INFINITY ? 0.0f : expf(s - state[r].max);
      state[r].sum += device::warp_sum(p);
      for (int c = 0; c < max_chunks; ++c) acc[r][c] *= factor;
      const int visible = min(key_tile, i - k0 + 1);
      for (int jj = 0; jj < visible; ++jj) {
        const float pj = __shfl_sync(device::full_warp, p, jj);
        for (int c = 0; c < max_chunks; ++c) {
          const int d = lane + 32 * c;
          if (d < head_dim) acc[r][c] += pj * v_tile[jj][d];
        }
      }
    }
  }
  for (int r = 0; r < rows_per_warp; ++r) {
    const int i = q0 + warp + warps * r;
    if (i >= length) continue;
    const float inverse_sum = 1.0f / state[r].sum;
    for (int c = 0; c < max_chunks; ++c) {
      const int d = lane + 32 * c;
      if (d < head_dim) out[((start + i) * heads + head) * head_dim + d] = device::from_float<T>(acc[r][c] * inverse_sum);
    }
    if (lane == 0) lse[(start + i) * heads + head] = online_softmax_logsumexp(state[r]);
  }
}

// delta[(n, h)] = sum_d dO[n, h, d] * O[n, h, d]: one warp per (token, head).
template <class T>
__global__ void attention_delta_kernel(const T* __restrict__ out, const T* __restrict__ d_out,
                                       float* __restrict__ delta, std::int64_t rows, int head_dim) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps_in_grid = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  for (std::int64_t row = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32; row < rows;
       row += warps_in_grid) {  // warp-uniform loop
    float sum = 0.0f;
    for (int d = lane; d < head_dim; d += 32)
      sum += device::to_float(out[row * head_dim + d]) * device::to_float(d_out[row * head_dim + d]);
    sum = device::warp_sum(sum);
    if (lane == 0) delta[row] = sum;
  }
}

struct BackwardShared {
  float k[key_tile][attention_max_head_dim + 1];
  float v[key_tile][attention_max_head_dim + 1];
  float dk[key_tile][attention_max_head_dim];
  float dv[key_tile][attention_max_head_dim];
  float q[warps][attention_max_head_dim];
  float d_out[warps][attention_max_head_dim];
  float p[warps][key_tile];
  float ds[warps][key_tile];
  float lse[warps];
  float delta[warps];
};

template <class T>
__global__ void attention_backward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                          const T* __restrict__ d_out, const float* __restrict__ lse,
                                          const float* __restrict__ delta, const std::int64_t* __restrict__ offsets,
                                          int heads, int kv_heads, int head_dim, float scale, int q_stride,
                                          int kv_stride, float* __restrict__ dq_accum, T* __restrict__ dk,
                                          T* __restrict__ dv) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  BackwardShared& sh = *reinterpret_cast<BackwardShared*>(shared_bytes);
  const int sequence = blockIdx.z;
  const std::int64_t start = offsets[sequence];
  const int length = static_cast<int>(offsets[sequence + 1] - start);
  const int k0 = blockIdx.x * key_tile;
  if (k0 >= length) return;
  const int kv_head = blockIdx.y;
  const int group = heads / kv_heads;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  for (int e = threadIdx.x; e < key_tile * head_dim; e += threads) {
    const int j = e / head_dim, d = e % head_dim;
    const bool valid = k0 + j < length;
    const std::int64_t index = (start + k0 + j) * kv_stride + kv_head * head_dim + d;
    sh.k[j][d] = valid ? device::to_float(k[index]) : 0.0f;
    sh.v[j][d] = valid ? device::to_float(v[index]) : 0.0f;
    sh.dk[j][d] = 0.0f;
    sh.dv[j][d] = 0.0f;
  }
  for (int head = kv_head * group; head < (kv_head + 1) * group; ++head) {
    for (int i0 = k0; i0 < length; i0 += warps) {  // query rows i >= k0 see some key of this tile
      __syncthreads();  // previous rows' q, d_out, p, ds are no longer read
      for (int e = threadIdx.x; e < warps * head_dim; e += threads) {
        const int w = e / head_dim, d = e % head_dim;
        const bool valid = i0 + w < length;
        const std::int64_t row = start + i0 + w;
        sh.q[w][d] = valid ? device::to_float(q[row * q_stride + head * head_dim + d]) : 0.0f;
        sh.d_out[w][d] = valid ? device::to_float(d_out[(row * heads + head) * head_dim + d]) : 0.0f;
      }
      if (threadIdx.x < warps) {
        const bool valid = i0 + static_cast<int>(threadIdx.x) < length;
        const std::int64_t index = (start + i0 + threadIdx.x) * heads + head;
        sh.lse[threadIdx.x] = valid ? lse[index] : 0.0f;
        sh.delta[threadIdx.x] = valid ? delta[index] : 0.0f;
      }
      __syncthreads();
      {
        const int i = i0 + warp;
        const int j = k0 + lane;
        float p = 0.0f, ds = 0.0f;
        if (i < length && j < length && j <= i) {
          float s = 0.0f, dp = 0.0f;
          for (int d = 0; d < head_dim; ++d) {
            s += sh.q[warp][d] * sh.k[lane][d];
            dp += sh.d_out[warp][d] * sh.v[lane][d];
          }
          p = expf(s * scale - sh.lse[warp]);
          ds = p * (dp - sh.delta[warp]);
        }
        sh.p[warp][lane] = p;
        sh.ds[warp][lane] = ds;
      }
      __syncthreads();
      for (int e = threadIdx.x; e < key_tile * head_dim; e += threads) {
        const int j = e / head_dim, d = e % head_dim;
        float dv_sum = 0.0f, dk_sum = 0.0f;
        for (int w = 0; w < warps; ++w) {
          dv_sum += sh.p[w][j] * sh.d_out[w][d];
          dk_sum += sh.ds[w][j] * sh.q[w][d];
        }
        sh.dv[j][d] += dv_sum;
        sh.dk[j][d] += dk_sum * scale;
      }
      for (int e = threadIdx.x; e < warps * head_dim; e += threads) {
        const int w = e / head_dim, d = e % head_dim;
        if (i0 + w >= length) continue;
        float sum = 0.0f;
        for (int j = 0; j < key_tile; ++j) sum += sh.ds[w][j] * sh.k[j][d];
        atomicAdd(dq_accum + ((start + i0 + w) * heads + head) * head_dim + d, sum * scale);
      }
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < key_tile * head_dim; e += threads) {
    const int j = e / head_dim, d = e % head_dim;
    if (k0 + j >= length) continue;
    const std::int64_t index = (start + k0 + j) * kv_stride + kv_head * head_dim + d;
    dk[index] = device::from_float<T>(sh.dk[j][d]);
    dv[index] = device::from_float<T>(sh.dv[j][d]);
  }
}

// dense (N, width) fp32 -> rows of `width` values `stride` apart in storage precision.
template <class T>
__global__ void convert_rows_kernel(const float* __restrict__ from, T* __restrict__ to, std::int64_t n, int width,
                                    int stride) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    to[(i / width) * stride + i % width] = device::from_float<T>(from[i]);
}

void check_shape(const AttentionShape& s, const char* op) {
  require(s.tokens >= 0 && s.sequences >= 0 && s.max_sequence_length >= 0, op,
          ": tokens, sequences and max_sequence_length must be >= 0");
  require(s.heads > 0 && s.kv_heads > 0 && s.heads % s.kv_heads == 0, op, ": heads (", s.heads,
          ") must be a positive multiple of kv_heads (", s.kv_heads, ")");
  require(s.head_dim > 0 && s.head_dim <= attention_max_head_dim, op, ": head_dim must lie in [1, ",
          attention_max_head_dim, "], got ", s.head_dim);
  require(s.scale > 0.0f, op, ": scale must be > 0, got ", s.scale);
  require(s.sequences <= 65535, op, ": at most 65535 sequences per call, got ", s.sequences);
  require(s.q_row_stride == 0 || s.q_row_stride >= s.heads * s.head_dim, op, ": q_row_stride (", s.q_row_stride,
          ") must be 0 or at least heads * head_dim (", s.heads * s.head_dim, ")");
  require(s.kv_row_stride == 0 || s.kv_row_stride >= s.kv_heads * s.head_dim, op, ": kv_row_stride (",
          s.kv_row_stride, ") must be 0 or at least kv_heads * head_dim (", s.kv_heads * s.head_dim, ")");
}

int q_stride_of(const AttentionShape& s) { return s.q_row_stride != 0 ? s.q_row_stride : s.heads * s.head_dim; }
int kv_stride_of(const AttentionShape& s) { return s.kv_row_stride != 0 ? s.kv_row_stride : s.kv_heads * s.head_dim; }

}  // namespace

template <StorageType T>
void attention_forward(const T* q, const T* k, const T* v, const std::int64_t* sequence_offsets,
                       const AttentionShape& shape, T* out, float* lse, cudaStream_t stream) {
  check_shape(shape, "attention_forward");
  if (shape.tokens == 0 || shape.sequences == 0) return;
  if constexpr (std::is_same_v<T, bf16>) {
    const void* pointers[] = {q, k, v, out};
    if (shape.tensor_cores &&
        detail::attention_mma_eligible(shape, q_stride_of(shape), kv_stride_of(shape), pointers, 4)) {
      detail::attention_forward_mma(q, k, v, sequence_offsets, shape, q_stride_of(shape), kv_stride_of(shape), out,
                                    lse, stream);
      return;
    }
  }
  const dim3 grid((shape.max_sequence_length + query_tile - 1) / query_tile, shape.heads, shape.sequences);
  attention_forward_kernel<T><<<grid, threads, 0, stream>>>(q, k, v, sequence_offsets, shape.heads, shape.kv_heads,
                                                            shape.head_dim, shape.scale, q_stride_of(shape),
                                                            kv_stride_of(shape), out, lse);
  check_launch("attention_forward_kernel", "attention_forward");
}

template <StorageType T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* d_out, const float* lse,
                        const std::int64_t* sequence_offsets, const AttentionShape& shape, float* workspace, T* dq,
                        T* dk, T* dv, cudaStream_t stream) {
  check_shape(shape, "attention_backward");
  if (shape.tokens == 0 || shape.sequences == 0) return;
  const std::int64_t rows = static_cast<std::int64_t>(shape.tokens) * shape.heads;
  float* dq_accum = workspace;
  float* delta = workspace + rows * shape.head_dim;
  R1_CUDA_CHECK(cudaMemsetAsync(dq_accum, 0, sizeof(float) * rows * shape.head_dim, stream), "attention_backward");
  attention_delta_kernel<T><<<device::blocks_for(rows * 32, 256), 256, 0, stream>>>(out, d_out, delta, rows,
                                                                                     shape.head_dim);
  check_launch("attention_delta_kernel", "attention_backward");
  bool on_tensor_cores = false;
  if constexpr (std::is_same_v<T, bf16>) {
    const void* pointers[] = {q, k, v, d_out, dk, dv};
    on_tensor_cores = shape.tensor_cores &&
                      detail::attention_mma_eligible(shape, q_stride_of(shape), kv_stride_of(shape), pointers, 6);
    if (on_tensor_cores)
      detail::attention_backward_mma(q, k, v, d_out, lse, delta, sequence_offsets, shape, q_stride_of(shape),
                                     kv_stride_of(shape), dq_accum, dk, dv, stream);
  }
  if (!on_tensor_cores) {
    const int shared_bytes = static_cast<int>(sizeof(BackwardShared));
    R1_CUDA_CHECK(cudaFuncSetAttribute(attention_backward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       shared_bytes),
                  "attention_backward");
    const dim3 grid((shape.max_sequence_length + key_tile - 1) / key_tile, shape.kv_heads, shape.sequences);
    attention_backward_kernel<T><<<grid, threads, shared_bytes, stream>>>(q, k, v, d_out, lse, delta, sequence_offsets,
                                                                          shape.heads, shape.kv_heads, shape.head_dim,
                                                                          shape.scale, q_stride_of(shape),
                                                                          kv_stride_of(shape), dq_accum, dk, dv);
    check_launch("attention_backward_kernel", "attention_backward");
  }
  const std::int64_t n = rows * shape.head_dim;
  convert_rows_kernel<T><<<device::blocks_for(n, 256), 256, 0, stream>>>(dq_accum, dq, n, shape.heads * shape.head_dim,
                                                                          q_stride_of(shape));
  check_launch("convert_rows_kernel", "attention_backward");
}

#define R1_INSTANTIATE_ATTENTION(T)                                                                              \
  template void attention_forward<T>(const T*, const T*, const T*, const std::int64_t*, const AttentionShape&, T*, \
                                     float*, cudaStream_t);                                                      \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const float*,            \
                                      const std::int64_t*, const AttentionShape&, float*, T*, T*, T*, cudaStream_t);
R1_INSTANTIATE_ATTENTION(float)
R1_INSTANTIATE_ATTENTION(bf16)
#undef R1_INSTANTIATE_ATTENTION

}  // namespace r1::gpu
