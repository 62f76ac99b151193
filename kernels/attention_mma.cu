// Causal GQA attention on tensor cores for bf16 storage, FlashAttention-2 (Dao 2023):
// Q K^T and P V (forward), K Q^T, V dO^T, P^T dO, dS^T Q and dS K (backward) as
// mma.sync.m16n8k16 bf16 products with fp32 accumulation; the online softmax, the
// log-sum-exp and dS = P (dP - D) in fp32. P and dS are rounded to bf16 as mma inputs.
//
// Forward (algorithm 1): block = (64-query tile, head, sequence), 4 warps, warp w owns
// query rows 16w .. 16w + 15 of the tile. Its Q fragments stay in registers; 64-key
// tiles of K and V stream through shared memory up to the diagonal. The score
// accumulators are reused as the A operand of P V in registers (section 3.3).
// Backward (algorithm 2): block = (64-key tile, kv head, sequence), warp w owns keys
// 16w .. 16w + 15; it walks every query tile at or below the diagonal of every query
// head of the group, accumulating dK and dV in registers (no atomics: the group's sum
// stays in one block) and adding dQ = scale dS K with fp32 atomics.
//
// Shared rows are D + 8 bf16 long: (D + 8) * 2 bytes = 16 (mod 128), so the 8 rows
// an ldmatrix phase or a fragment load touches fall in distinct banks.
// Fragment indices come from r1/cuda/math/mma_fragment.hpp (tested on the CPU).
#include <cuda_bf16.h>

#include "attention_mma.cuh"
#include "common.cuh"
#include "r1/cuda/math/attention.hpp"
#include "r1/cuda/math/mma_fragment.hpp"

namespace r1::gpu::detail {
namespace {

constexpr int warps = 4;
constexpr int threads = warps * 32;
constexpr int tile = 64;  // query rows and keys per tile; 16 per warp
constexpr int pad = 8;    // bf16 elements of padding per shared row

using u32 = std::uint32_t;

// D = A B + D, A 16 x 16 bf16 (row), B 16 x 8 bf16 (col), D 16 x 8 fp32 (PTX ISA 9.7.13.3).
// bf16 mma.sync needs sm_80 (attention_mma_eligible checks the device; a build for an
// older architecture traps instead of failing to assemble).
__device__ __forceinline__ void mma_bf16(float (&d)[4], const u32 (&a)[4], u32 b0, u32 b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Four transposed 8 x 8 bf16 matrices from shared memory; `row` is this lane's row address.
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], const bf16* row) {
  const auto address = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}

// Two bf16 in one register: `lo` (the lower column) in the low 16 bits.
__device__ __forceinline__ u32 pack_bf16(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const u32*>(&pair);
}

__device__ __forceinline__ u32 shared_word(const bf16* p) { return *reinterpret_cast<const u32*>(p); }

template <int D>
using SharedRows = bf16 (*)[D + pad];

// Rows row0 .. row0 + 63 of one head (D contiguous bf16 at src + row * stride) into a
// shared tile; rows at or past `rows` are zero. 16-byte loads: src and stride are
// 16-byte aligned (attention_mma_eligible).
template <int D>
__device__ __forceinline__ void load_tile(SharedRows<D> dst, const bf16* __restrict__ src, int row0, int rows,
                                          std::int64_t stride) {
  constexpr int chunks = D / 8;
  for (int e = threadIdx.x; e < tile * chunks; e += threads) {
    const int r = e / chunks, c = e % chunks;
    uint4 value = make_uint4(0u, 0u, 0u, 0u);
    if (row0 + r < rows) value = *reinterpret_cast<const uint4*>(src + (row0 + r) * stride + c * 8);
    *reinterpret_cast<uint4*>(&dst[r][c * 8]) = value;
  }
}

// A operand (16 rows from row0, 16 columns from col0) of a row-major shared tile.
template <int D>
__device__ __forceinline__ void load_a(u32 (&a)[4], const bf16 (*rows)[D], int row0, int col0, int lane) {
  for (int r = 0; r < 4; ++r) {
    const FragmentIndex at = mma_a_index(lane, r, 0);
    a[r] = shared_word(&rows[row0 + at.row][col0 + at.col]);
  }
}

// B operand B[k][n] = X[n0 + n][k0 + k] of a row-major shared tile X (rows = n): the
// k pair of each register is contiguous in X's row.
template <int D>
__device__ __forceinline__ void load_b_rows(u32& b0, u32& b1, const bf16 (*rows)[D], int n0, int k0, int lane) {
  const FragmentIndex at0 = mma_b_index(lane, 0, 0), at1 = mma_b_index(lane, 1, 0);
  b0 = shared_word(&rows[n0 + at0.col][k0 + at0.row]);
  b1 = shared_word(&rows[n0 + at1.col][k0 + at1.row]);
}

// B operands of two n-tiles, B[k][n] = X[k0 + k][n0 + n] (n < 8: registers 0, 1;
// n >= 8: registers 2, 3), from the 16 x 16 block of a row-major shared tile X.
template <int D>
__device__ __forceinline__ void load_b_cols(u32 (&b)[4], const bf16 (*rows)[D], int k0, int n0, int lane) {
  const FragmentIndex at = ldmatrix_x4_row_address(lane);
  ldmatrix_x4_trans(b, &rows[k0 + at.row][n0 + at.col]);
}

// The A operand over columns 16 kk .. 16 kk + 15 from fp32 accumulators of 8-column
// n-tiles (FlashAttention-2's register reuse of S as P), rounded to bf16.
template <int Tiles>
__device__ __forceinline__ void a_from_accumulators(u32 (&a)[4], const float (&acc)[Tiles][4], int kk) {
  for (int r = 0; r < 4; ++r) {
    const AccumulatorSlot lo = mma_a_from_accumulators(r, 0), hi = mma_a_from_accumulators(r, 1);
    a[r] = pack_bf16(acc[2 * kk + lo.tile][lo.element], acc[2 * kk + hi.tile][hi.element]);
  }
}

template <int D>
struct ForwardShared {
  bf16 q[tile][D + pad];
  bf16 k[tile][D + pad];
  bf16 v[tile][D + pad];
};

template <int D>
__global__ void __launch_bounds__(threads)
    attention_forward_mma_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                 const std::int64_t* __restrict__ offsets, int heads, int kv_heads, float scale,
                                 int q_stride, int kv_stride, bf16* __restrict__ out, float* __restrict__ lse) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto& sh = *reinterpret_cast<ForwardShared<D>*>(shared_bytes);
  const int sequence = blockIdx.z;
  const std::int64_t start = offsets[sequence];
  const int length = static_cast<int>(offsets[sequence + 1] - start);
  // Last query tiles first: under the causal mask they load the most key tiles, so the
  // longest blocks start earliest (blockIdx.x runs fastest in launch order).
  const int q0 = (gridDim.x - 1 - blockIdx.x) * tile;
  if (q0 >= length) return;  // block-uniform
  const int head = blockIdx.y;
  const int kv_head = gqa_kv_head(head, heads, kv_heads);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int row0 = warp * 16;  // this warp's first query row in the tile

  load_tile<D>(sh.q, q + start * q_stride + head * D, q0, length, q_stride);
  __syncthreads();
  u32 qa[D / 16][4];  // (16 rows, D): this warp's Q as A operands, all key tiles long
  for (int kk = 0; kk < D / 16; ++kk) load_a<D + pad>(qa[kk], sh.q, row0, 16 * kk, lane);

  float o[D / 8][4];  // (16 rows, D) fp32 output accumulator, unnormalised
  for (auto& tile_o : o)
    for (float& x : tile_o) x = 0.0f;
  // Rows g and g + 8 of this lane; `sum` is this lane's share (its 16 columns of each
  // key tile), the max is the row's (reduced over the 4 lanes of the row).
  OnlineSoftmax state[2];

  const std::int64_t kv_offset = start * kv_stride + kv_head * D;
  const int key_tiles = causal_key_tile_count(q0, tile, tile, length);
  for (int kt = 0; kt < key_tiles; ++kt) {  // block-uniform trip count
    const int k0 = kt * tile;
    __syncthreads();  // the previous K, V tiles are no longer read
    load_tile<D>(sh.k, k + kv_offset, k0, length, kv_stride);
    load_tile<D>(sh.v, v + kv_offset, k0, length, kv_stride);
    __syncthreads();

    float s[tile / 8][4];  // S = Q K^T: (16 rows, 64 keys)
    for (int nt = 0; nt < tile / 8; ++nt) {
      for (float& x : s[nt]) x = 0.0f;
      for (int kk = 0; kk < D / 16; ++kk) {
        u32 b0, b1;
        load_b_rows<D + pad>(b0, b1, sh.k, nt * 8, 16 * kk, lane);
        mma_bf16(s[nt], qa[kk], b0, b1);
      }
    }
    float tile_max[2] = {-INFINITY, -INFINITY};
    for (int nt = 0; nt < tile / 8; ++nt)
      for (int c = 0; c < 4; ++c) {
        const FragmentIndex at = mma_c_index(lane, c);
        const bool visible = attention_visible(q0 + row0 + at.row, k0 + nt * 8 + at.col, length);
        s[nt][c] = visible ? s[nt][c] * scale : -INFINITY;
        tile_max[c / 2] = fmaxf(tile_max[c / 2], s[nt][c]);
      }
    float factor[2];
    for (int h = 0; h < 2; ++h) {  // the 4 lanes of a row are lanes 4g .. 4g + 3
      tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(device::full_warp, tile_max[h], 1));
      tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(device::full_warp, tile_max[h], 2));
      factor[h] = online_softmax_rescale(state[h], tile_max[h]);
    }
    for (int nt = 0; nt < tile / 8; ++nt)
      for (int c = 0; c < 4; ++c) {
        s[nt][c] = online_softmax_weight(s[nt][c], state[c / 2].max);
        state[c / 2].sum += s[nt][c];
      }
    for (auto& tile_o : o)
      for (int c = 0; c < 4; ++c) tile_o[c] *= factor[c / 2];
    // O += P V, P rounded to bf16 (the normaliser above sums the fp32 weights).
    for (int kk = 0; kk < tile / 16; ++kk) {
      u32 pa[4];
      a_from_accumulators<tile / 8>(pa, s, kk);
      for (int np = 0; np < D / 16; ++np) {
        u32 b[4];
        load_b_cols<D + pad>(b, sh.v, 16 * kk, 16 * np, lane);
        mma_bf16(o[2 * np], pa, b[0], b[1]);
        mma_bf16(o[2 * np + 1], pa, b[2], b[3]);
      }
    }
  }

  float inverse[2];
  for (int h = 0; h < 2; ++h) {
    float sum = state[h].sum;
    sum += __shfl_xor_sync(device::full_warp, sum, 1);
    sum += __shfl_xor_sync(device::full_warp, sum, 2);
    state[h].sum = sum;
    inverse[h] = 1.0f / sum;  // a real row saw key 0 with weight 1; padding rows are not written
  }
  for (int h = 0; h < 2; ++h) {
    const FragmentIndex at = mma_c_index(lane, 2 * h);
    const int i = q0 + row0 + at.row;
    if (i >= length) continue;
    bf16* row = out + ((start + i) * heads + head) * D;
    for (int nt = 0; nt < D / 8; ++nt)
      *reinterpret_cast<u32*>(row + nt * 8 + at.col) =
          pack_bf16(o[nt][2 * h] * inverse[h], o[nt][2 * h + 1] * inverse[h]);
    if (lane % 4 == 0) lse[(start + i) * heads + head] = online_softmax_logsumexp(state[h]);
  }
}

template <int D>
struct BackwardShared {
  bf16 q[tile][D + pad];
  bf16 d_out[tile][D + pad];
  bf16 k[tile][D + pad];
  bf16 v[tile][D + pad];
  bf16 ds[tile][tile + pad];  // dS, query-major: the A operand of dQ = dS K
  float lse[tile];
  float delta[tile];
};

template <int D>
__global__ void __launch_bounds__(threads)
    attention_backward_mma_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                  const bf16* __restrict__ d_out, const float* __restrict__ lse,
                                  const float* __restrict__ delta, const std::int64_t* __restrict__ offsets,
                                  int heads, int kv_heads, float scale, int q_stride, int kv_stride,
                                  float* __restrict__ dq_accum, bf16* __restrict__ dk, bf16* __restrict__ dv) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto& sh = *reinterpret_cast<BackwardShared<D>*>(shared_bytes);
  const int sequence = blockIdx.z;
  const std::int64_t start = offsets[sequence];
  const int length = static_cast<int>(offsets[sequence + 1] - start);
  const int k0 = blockIdx.x * tile;
  if (k0 >= length) return;  // block-uniform
  const int kv_head = blockIdx.y;
  const int group = heads / kv_heads;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int key0 = warp * 16;  // this warp's first key in the tile

  const std::int64_t kv_offset = start * kv_stride + kv_head * D;
  load_tile<D>(sh.k, k + kv_offset, k0, length, kv_stride);
  load_tile<D>(sh.v, v + kv_offset, k0, length, kv_stride);
  float dk_acc[D / 8][4], dv_acc[D / 8][4];  // (16 keys, D) each, fp32
  for (int nt = 0; nt < D / 8; ++nt)
    for (int c = 0; c < 4; ++c) dk_acc[nt][c] = dv_acc[nt][c] = 0.0f;

  for (int head = kv_head * group; head < (kv_head + 1) * group; ++head) {
    for (int i0 = causal_first_query_tile(k0, tile); i0 < length; i0 += tile) {  // block-uniform
      __syncthreads();  // the previous tile's q, d_out, ds, lse, delta are no longer read
      load_tile<D>(sh.q, q + start * q_stride + head * D, i0, length, q_stride);
      load_tile<D>(sh.d_out, d_out + (start * heads + head) * D, i0, length, static_cast<std::int64_t>(heads) * D);
      if (threadIdx.x < tile) {
        const int i = i0 + threadIdx.x;
        const std::int64_t at = (start + i) * heads + head;
        sh.lse[threadIdx.x] = i < length ? lse[at] : 0.0f;
        sh.delta[threadIdx.x] = i < length ? delta[at] : 0.0f;
      }
      __syncthreads();

      // S^T = K Q^T and dP^T = V dO^T: (16 keys, 64 queries) for this warp.
      float s[tile / 8][4], dp[tile / 8][4];
      for (int nt = 0; nt < tile / 8; ++nt)
        for (int c = 0; c < 4; ++c) s[nt][c] = dp[nt][c] = 0.0f;
      for (int kk = 0; kk < D / 16; ++kk) {
        u32 ka[4], va[4];
        load_a<D + pad>(ka, sh.k, key0, 16 * kk, lane);
        load_a<D + pad>(va, sh.v, key0, 16 * kk, lane);
        for (int nt = 0; nt < tile / 8; ++nt) {
          u32 b0, b1;
          load_b_rows<D + pad>(b0, b1, sh.q, nt * 8, 16 * kk, lane);
          mma_bf16(s[nt], ka, b0, b1);
          load_b_rows<D + pad>(b0, b1, sh.d_out, nt * 8, 16 * kk, lane);
          mma_bf16(dp[nt], va, b0, b1);
        }
      }
      // P_ij = exp(scale S_ij - L_i) (recomputed from the forward's log-sum-exp), and
      // dS_ij = P_ij (dP_ij - D_i) (algorithm 2, lines 13 and 16); s and dp now hold them.
      for (int nt = 0; nt < tile / 8; ++nt)
        for (int c = 0; c < 4; ++c) {
          const FragmentIndex at = mma_c_index(lane, c);  // row: key, col: query
          const int query = nt * 8 + at.col;
          const bool visible = attention_visible(i0 + query, k0 + key0 + at.row, length);
          const float p = visible ? expf(s[nt][c] * scale - sh.lse[query]) : 0.0f;
          s[nt][c] = p;
          dp[nt][c] = p * (dp[nt][c] - sh.delta[query]);
          sh.ds[query][key0 + at.row] = __float2bfloat16_rn(dp[nt][c]);
        }
      // dV += P^T dO and dK += dS^T Q (scale applied at the end), over the 64 queries.
      for (int kk = 0; kk < tile / 16; ++kk) {
        u32 pa[4], dsa[4];
        a_from_accumulators<tile / 8>(pa, s, kk);
        a_from_accumulators<tile / 8>(dsa, dp, kk);
        for (int np = 0; np < D / 16; ++np) {
          u32 b[4];
          load_b_cols<D + pad>(b, sh.d_out, 16 * kk, 16 * np, lane);
          mma_bf16(dv_acc[2 * np], pa, b[0], b[1]);
          mma_bf16(dv_acc[2 * np + 1], pa, b[2], b[3]);
          load_b_cols<D + pad>(b, sh.q, 16 * kk, 16 * np, lane);
          mma_bf16(dk_acc[2 * np], dsa, b[0], b[1]);
          mma_bf16(dk_acc[2 * np + 1], dsa, b[2], b[3]);
        }
      }
      __syncthreads();  // every warp's dS columns are in sh.ds
      // dQ_i += scale sum_j dS_ij K_j: warp w takes query rows 16w .. 16w + 15, 16 dims at a time.
      for (int np = 0; np < D / 16; ++np) {
        float acc[2][4] = {};
        for (int kk = 0; kk < tile / 16; ++kk) {
          u32 a[4], b[4];
          load_a<tile + pad>(a, sh.ds, warp * 16, 16 * kk, lane);
          load_b_cols<D + pad>(b, sh.k, 16 * kk, 16 * np, lane);
          mma_bf16(acc[0], a, b[0], b[1]);
          mma_bf16(acc[1], a, b[2], b[3]);
        }
        for (int half = 0; half < 2; ++half)
          for (int c = 0; c < 4; ++c) {
            const FragmentIndex at = mma_c_index(lane, c);
            const int i = i0 + warp * 16 + at.row;
            if (i < length)
              atomicAdd(dq_accum + ((start + i) * heads + head) * D + 16 * np + 8 * half + at.col, acc[half][c] * scale);
          }
      }
    }
  }

  for (int h = 0; h < 2; ++h) {
    const FragmentIndex at = mma_c_index(lane, 2 * h);
    const int j = k0 + key0 + at.row;
    if (j >= length) continue;
    const std::int64_t row = (start + j) * kv_stride + kv_head * D;
    for (int nt = 0; nt < D / 8; ++nt) {
      *reinterpret_cast<u32*>(dk + row + nt * 8 + at.col) =
          pack_bf16(dk_acc[nt][2 * h] * scale, dk_acc[nt][2 * h + 1] * scale);
      *reinterpret_cast<u32*>(dv + row + nt * 8 + at.col) = pack_bf16(dv_acc[nt][2 * h], dv_acc[nt][2 * h + 1]);
    }
  }
}

template <int D>
void launch_forward(const bf16* q, const bf16* k, const bf16* v, const std::int64_t* offsets,
                    const AttentionShape& shape, int q_stride, int kv_stride, bf16* out, float* lse,
                    cudaStream_t stream) {
  const int bytes = static_cast<int>(sizeof(ForwardShared<D>));  // 52,224 at D = 128: above the 48 KiB default
  R1_CUDA_CHECK(cudaFuncSetAttribute(attention_forward_mma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     bytes),
                "attention_forward");
  const dim3 grid((shape.max_sequence_length + tile - 1) / tile, shape.heads, shape.sequences);
  attention_forward_mma_kernel<D><<<grid, threads, bytes, stream>>>(q, k, v, offsets, shape.heads, shape.kv_heads,
                                                                    shape.scale, q_stride, kv_stride, out, lse);
  check_launch("attention_forward_mma_kernel", "attention_forward");
}

template <int D>
void launch_backward(const bf16* q, const bf16* k, const bf16* v, const bf16* d_out, const float* lse,
                     const float* delta, const std::int64_t* offsets, const AttentionShape& shape, int q_stride,
                     int kv_stride, float* dq_accum, bf16* dk, bf16* dv, cudaStream_t stream) {
  const int bytes = static_cast<int>(sizeof(BackwardShared<D>));  // 79,360 at D = 128
  R1_CUDA_CHECK(cudaFuncSetAttribute(attention_backward_mma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     bytes),
                "attention_backward");
  const dim3 grid((shape.max_sequence_length + tile - 1) / tile, shape.kv_heads, shape.sequences);
  attention_backward_mma_kernel<D><<<grid, threads, bytes, stream>>>(q, k, v, d_out, lse, delta, offsets,
                                                                     shape.heads, shape.kv_heads, shape.scale,
                                                                     q_stride, kv_stride, dq_accum, dk, dv);
  check_launch("attention_backward_mma_kernel", "attention_backward");
}

}  // namespace

bool attention_mma_eligible(const AttentionShape& shape, int q_stride, int kv_stride, const void* const* pointers,
                            int count) {
  if (shape.head_dim != 64 && shape.head_dim != 128) return false;
  int device = 0, major = 0;
  R1_CUDA_CHECK(cudaGetDevice(&device), "attention");
  R1_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "attention");
  if (major < 8) return false;  // bf16 mma.sync: sm_80 and later
  if (q_stride % 8 != 0 || kv_stride % 8 != 0) return false;
  for (int i = 0; i < count; ++i)
    if (reinterpret_cast<std::uintptr_t>(pointers[i]) % 16 != 0) return false;
  return true;
}

void attention_forward_mma(const bf16* q, const bf16* k, const bf16* v, const std::int64_t* offsets,
                           const AttentionShape& shape, int q_stride, int kv_stride, bf16* out, float* lse,
                           cudaStream_t stream) {
  if (shape.head_dim == 64)
    launch_forward<64>(q, k, v, offsets, shape, q_stride, kv_stride, out, lse, stream);
  else
    launch_forward<128>(q, k, v, offsets, shape, q_stride, kv_stride, out, lse, stream);
}

void attention_backward_mma(const bf16* q, const bf16* k, const bf16* v, const bf16* d_out, const float* lse,
                            const float* delta, const std::int64_t* offsets, const AttentionShape& shape, int q_stride,
                            int kv_stride, float* dq_accum, bf16* dk, bf16* dv, cudaStream_t stream) {
  if (shape.head_dim == 64)
    launch_backward<64>(q, k, v, d_out, lse, delta, offsets, shape, q_stride, kv_stride, dq_accum, dk, dv, stream);
  else
    launch_backward<128>(q, k, v, d_out, lse, delta, offsets, shape, q_stride, kv_stride, dq_accum, dk, dv, stream);
}

}  // namespace r1::gpu::detail
