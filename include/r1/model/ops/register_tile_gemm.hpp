#pragma once
// r1's own GEMM kernel for float with AVX-512: C (rows, cols) = C_in + A (rows, depth) B (depth, cols), where
//   - A is read in place, one element at a time and broadcast, at a[r * row_stride + k * depth_stride], so A
//     may be a row-major matrix or the transpose of one, and needs no packing;
//   - B is packed (pack_b) in panels of kPanelColumns columns, depth-major, the last panel zero-padded to whole
//     vectors;
//   - C is a tile of kTileRows rows x one panel, held in 24 of the 32 vector registers for the whole depth, and
//     written once: it starts from C_in (zeros when null, C itself to accumulate, or another matrix), so C
//     needs no zeroing pass and is never read when it starts from zeros.
// The loop structure is Goto's (K. Goto and R. van de Geijn, "Anatomy of high-performance matrix
// multiplication", ACM TOMS 34(3), 2008, section 4): a register tile fed by a packed operand streamed from the
// L2 cache; the tile shape is this file's: 8 rows x 48 columns, 24 accumulators, 3 vector loads and 8
// broadcasts for every 24 fused multiply-adds. Eigen 3.4's kernel (packed_gemm.hpp) holds 4 x 48 (12
// accumulators, 7 loads per 12 FMAs). bench/model/bench_linear measures both in the same run.
// Each element of C is the sum over k in order, one FMA at a time, as in Eigen's kernel.
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace r1 {

#if defined(__AVX512F__)
inline constexpr bool kHasRegisterTileGemm = true;
#else
inline constexpr bool kHasRegisterTileGemm = false;
#endif

namespace register_tile {

using Index = Eigen::Index;
inline constexpr Index kLanes = 16;                // floats per vector
inline constexpr Index kPanelColumns = 3 * kLanes;  // columns of C per packed panel of B
inline constexpr Index kTileRows = 8;                // rows of C per register tile

// Columns of B as packed: rounded up to whole vectors.
inline Index padded_columns(Index cols) { return (cols + kLanes - 1) / kLanes * kLanes; }
// Floats a packed B of depth x cols takes.
inline Index packed_size(Index depth, Index cols) { return depth * padded_columns(cols); }

// Packs B (depth, cols) into `packed` (packed_size floats, 64-byte aligned): b holds B itself (b[k * stride + j],
// b_is_transposed false) or B^T (b[j * stride + k], true). Panel p (columns [48p, 48p + w)) starts at
// 48p * depth and holds, for each k, its w columns, w = 48 except the last (padded_columns of what is left).
inline void pack_b(float* packed, const float* b, Index stride, Index depth, Index cols, bool b_is_transposed) {
  for (Index first = 0; first < cols; first += kPanelColumns) {
    const Index width = std::min(kPanelColumns, cols - first);
    const Index padded = padded_columns(width);
    float* panel = packed + first * depth;
#if !defined(__AVX512F__)
    for (Index k = 0; k < depth; ++k)
      for (Index j = 0; j < padded; ++j)
        panel[k * padded + j] = j >= width ? 0.0f : b_is_transposed ? b[(first + j) * stride + k] : b[k * stride + first + j];
#else
    if (!b_is_transposed) {
      // Row k of the panel is a stretch of B's row k: whole vectors, the last one masked.
      for (Index k = 0; k < depth; ++k) {
        const float* row = b + k * stride + first;
        float* out = panel + k * padded;
        for (Index j = 0; j < padded; j += kLanes) {
          const Index left = width - j;
          const auto lanes = static_cast<__mmask16>(left >= kLanes ? 0xFFFF : (1u << left) - 1u);
          _mm512_store_ps(out + j, _mm512_maskz_loadu_ps(lanes, row + j));
        }
      }
      continue;
    }
    // B^T's rows are B's columns: 16 of them x 16 depths at a time, transposed in registers.
    for (Index j = 0; j < padded; j += kLanes) {
      const Index columns = std::min(kLanes, width - j);
      for (Index k0 = 0; k0 < depth; k0 += kLanes) {
        const Index depths = std::min(kLanes, depth - k0);
        const auto lanes = static_cast<__mmask16>(depths == kLanes ? 0xFFFF : (1u << depths) - 1u);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // __m512's alignment attribute, on PacketBlock's argument
        Eigen::internal::PacketBlock<Eigen::internal::Packet16f, 16> block;
#pragma GCC diagnostic pop
        for (Index c = 0; c < kLanes; ++c)
          block.packet[c] = c < columns ? _mm512_maskz_loadu_ps(lanes, b + (first + j + c) * stride + k0) : _mm512_setzero_ps();
        Eigen::internal::ptranspose(block);
        for (Index k = 0; k < depths; ++k) _mm512_store_ps(panel + (k0 + k) * padded + j, block.packet[k]);
      }
    }
#endif
  }
}

#if defined(__AVX512F__)
namespace detail {

// One tile: kRows rows x kVectors vectors of C; the last vector's lanes outside `tail` are neither read nor
// written. a points at A(0, 0) of the tile, b at the panel, c_in may be null (start from zeros).
template <int kRows, int kVectors>
inline void tile(const float* a, Index a_row_stride, Index a_depth_stride, const float* b, Index depth,
                 const float* c_in, Index c_in_stride, float* c, Index c_stride, __mmask16 tail) {
  constexpr Index kWidth = kVectors * kLanes;
  __m512 sum[kRows][kVectors];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVectors; ++v) sum[r][v] = _mm512_setzero_ps();
  for (Index k = 0; k < depth; ++k) {
    __m512 column[kVectors];
    for (int v = 0; v < kVectors; ++v) column[v] = _mm512_load_ps(b + k * kWidth + v * kLanes);
    const float* a_k = a + k * a_depth_stride;
    for (int r = 0; r < kRows; ++r) {
      const __m512 element = _mm512_set1_ps(a_k[r * a_row_stride]);
      for (int v = 0; v < kVectors; ++v) sum[r][v] = _mm512_fmadd_ps(element, column[v], sum[r][v]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      const __mmask16 lanes = v == kVectors - 1 ? tail : static_cast<__mmask16>(0xFFFF);
      __m512 value = sum[r][v];
      if (c_in != nullptr) value = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, c_in + r * c_in_stride + v * kLanes), value);
      _mm512_mask_storeu_ps(c + r * c_stride + v * kLanes, lanes, value);
    }
  }
}

template <int kRows>
inline void row_tiles(const float* a, Index a_row_stride, Index a_depth_stride, const float* packed_b, Index depth,
                      Index cols, const float* c_in, Index c_in_stride, float* c, Index c_stride) {
  for (Index first = 0; first < cols; first += kPanelColumns) {
    const Index width = std::min(kPanelColumns, cols - first);
    const float* panel = packed_b + first * depth;
    const float* panel_c_in = c_in == nullptr ? nullptr : c_in + first;
    const Index rem = width % kLanes;
    const auto tail = static_cast<__mmask16>(rem == 0 ? 0xFFFF : (1u << rem) - 1u);
    switch ((width + kLanes - 1) / kLanes) {
      case 3: tile<kRows, 3>(a, a_row_stride, a_depth_stride, panel, depth, panel_c_in, c_in_stride, c + first, c_stride, tail); break;
      case 2: tile<kRows, 2>(a, a_row_stride, a_depth_stride, panel, depth, panel_c_in, c_in_stride, c + first, c_stride, tail); break;
      default: tile<kRows, 1>(a, a_row_stride, a_depth_stride, panel, depth, panel_c_in, c_in_stride, c + first, c_stride, tail); break;
    }
  }
}

}  // namespace detail
#endif

// C (rows, cols), row stride c_stride, = C_in + A B over `depth`, with A(r, k) = a[r * a_row_stride + k *
// a_depth_stride] and B packed by pack_b with this depth and cols. c_in (row stride c_in_stride) may be null
// (zeros) or equal to c. With AVX-512 (kHasRegisterTileGemm) it runs the register tiles; otherwise plain loops.
inline void multiply(const float* a, Index a_row_stride, Index a_depth_stride, const float* packed_b, Index depth,
                     Index cols, Index rows, const float* c_in, Index c_in_stride, float* c, Index c_stride) {
#if defined(__AVX512F__)
  if (rows <= 0 || cols <= 0) return;
  Index r = 0;
  for (; r + kTileRows <= rows; r += kTileRows)
    detail::row_tiles<kTileRows>(a + r * a_row_stride, a_row_stride, a_depth_stride, packed_b, depth, cols,
                                 c_in == nullptr ? nullptr : c_in + r * c_in_stride, c_in_stride, c + r * c_stride, c_stride);
  const float* a_rest = a + r * a_row_stride;
  const float* c_in_rest = c_in == nullptr ? nullptr : c_in + r * c_in_stride;
  float* c_rest = c + r * c_stride;
  switch (rows - r) {
    case 7: detail::row_tiles<7>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 6: detail::row_tiles<6>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 5: detail::row_tiles<5>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 4: detail::row_tiles<4>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 3: detail::row_tiles<3>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 2: detail::row_tiles<2>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    case 1: detail::row_tiles<1>(a_rest, a_row_stride, a_depth_stride, packed_b, depth, cols, c_in_rest, c_in_stride, c_rest, c_stride); break;
    default: break;
  }
#else
  // Without AVX-512 (callers use Eigen's kernel then): plain sums over the same packed layout.
  for (Index r = 0; r < rows; ++r)
    for (Index first = 0; first < cols; first += kPanelColumns) {
      const Index width = std::min(kPanelColumns, cols - first), padded = padded_columns(width);
      const float* panel = packed_b + first * depth;
      for (Index j = 0; j < width; ++j) {
        float sum = 0.0f;
        for (Index k = 0; k < depth; ++k) sum += a[r * a_row_stride + k * a_depth_stride] * panel[k * padded + j];
        c[r * c_stride + first + j] = (c_in == nullptr ? 0.0f : c_in[r * c_in_stride + first + j]) + sum;
      }
    }
#endif
}

}  // namespace register_tile
}  // namespace r1
