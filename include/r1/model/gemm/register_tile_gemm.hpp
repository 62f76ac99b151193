#pragma once
// r1's own GEMM kernel for float with AVX-512: C (rows, cols) = C_in + A (rows, depth) B (depth, cols), where
//   - A is read in place, one element at a time and broadcast, at a[r * row_stride + k * depth_stride], so A
//     may be a row-major matrix or the transpose of one, and needs no packing;
//   - B is packed (pack_b) in panels of kPanelColumns columns, depth-major, the last panel zero-padded to whole
//     vectors;
//   - C is a tile of kTileRows rows x one panel, held in registers for the whole depth, and written once: it
//     starts from C_in (zeros when null, C itself to accumulate, or another matrix), so C needs no zeroing
//     pass and is never read when it starts from zeros.
// The loop structure is Goto's (K. Goto and R. van de Geijn, "Anatomy of high-performance matrix
// multiplication", ACM TOMS 34(3), 2008, section 4): a register tile fed by a packed operand streamed from the
// L2 cache. The tile shape is this file's: 8 rows x 48 columns in 24 of the 32 vector registers; 3 vector
// loads and 8 broadcasts per 24 fused multiply-adds (Eigen 3.4's kernel, packed_gemm.hpp, holds 4 x 48: 12
// accumulators, 7 loads per 12 FMAs). Where it runs and why only with AVX-512: gemm.hpp.
// Each element of C is the sum over k in order, one FMA at a time from zero, then added to C_in (Eigen's kernel
// accumulates onto C itself, so the two round a product that accumulates differently).
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#define R1_REGISTER_TILE_GEMM 1
#endif

namespace r1 {

#if defined(R1_REGISTER_TILE_GEMM)
inline constexpr bool kHasRegisterTileGemm = true;
#else
inline constexpr bool kHasRegisterTileGemm = false;
#endif
// Whether r1's GEMM loops run the register tiles for this scalar type (otherwise Eigen's kernel).
template <class Scalar>
inline constexpr bool kUsesRegisterTiles = std::is_same_v<Scalar, float> && kHasRegisterTileGemm;

namespace register_tile {

using Index = Eigen::Index;

inline constexpr Index kLanes = 16, kPanelVectors = 3, kTileRows = 8;
inline constexpr Index kPanelColumns = kPanelVectors * kLanes;  // columns of C per packed panel of B
// pack_b of a transposed B prefetches this many blocks of kLanes depths ahead.
inline constexpr Index kPackAhead = 8;

// Columns of B as packed: rounded up to whole vectors.
inline Index padded_columns(Index cols) { return (cols + kLanes - 1) / kLanes * kLanes; }
// Floats a packed B of depth x cols takes.
inline Index packed_size(Index depth, Index cols) { return depth * padded_columns(cols); }

// A B packed by pack_b with this depth and number of columns. A product may use it at a smaller depth (the
// first depths of each panel) and a prefix of its columns.
struct PackedB {
  const float* data;
  Index depth, cols;
};

#if defined(R1_REGISTER_TILE_GEMM)
namespace detail {

// The few vector operations the kernel needs. `Tail` selects the first n lanes.
struct VectorOps {
  using Vector = __m512;
  using Tail = __mmask16;
  static Tail tail(Index lanes) { return static_cast<Tail>(lanes >= kLanes ? 0xFFFF : (1u << lanes) - 1u); }
  static Vector zero() { return _mm512_setzero_ps(); }
  static Vector load(const float* p) { return _mm512_load_ps(p); }
  static Vector broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Vector fmadd(Vector a, Vector b, Vector c) { return _mm512_fmadd_ps(a, b, c); }
  static Vector add(Vector a, Vector b) { return _mm512_add_ps(a, b); }
  static Vector load_tail(Tail t, const float* p) { return _mm512_maskz_loadu_ps(t, p); }
  static void store_tail(Tail t, float* p, Vector v) { _mm512_mask_storeu_ps(p, t, v); }
};

// One tile: kRows rows x kVectors vectors of C; the last vector's lanes outside `tail` are neither read nor
// written. a points at A(0, 0) of the tile, b at the panel (b_stride floats per depth), c_in may be null
// (start from zeros).
template <int kRows, int kVectors>
inline void tile(const float* a, Index a_row_stride, Index a_depth_stride, const float* b, Index b_stride, Index depth,
                 const float* c_in, Index c_in_stride, float* c, Index c_stride, VectorOps::Tail tail) {
  using V = VectorOps;
  typename V::Vector sum[kRows][kVectors];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVectors; ++v) sum[r][v] = V::zero();
  for (Index k = 0; k < depth; ++k) {
    typename V::Vector column[kVectors];
    for (int v = 0; v < kVectors; ++v) column[v] = V::load(b + k * b_stride + v * kLanes);
    const float* a_k = a + k * a_depth_stride;
    for (int r = 0; r < kRows; ++r) {
      const auto element = V::broadcast(a_k + r * a_row_stride);
      for (int v = 0; v < kVectors; ++v) sum[r][v] = V::fmadd(element, column[v], sum[r][v]);
    }
  }
  const auto all = V::tail(kLanes);
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      const auto lanes = v == kVectors - 1 ? tail : all;
      auto value = sum[r][v];
      if (c_in != nullptr) value = V::add(V::load_tail(lanes, c_in + r * c_in_stride + v * kLanes), value);
      V::store_tail(lanes, c + r * c_stride + v * kLanes, value);
    }
  }
}

template <int kRows, int kVectors = kPanelVectors>
inline void panel_tile(Index vectors, const float* a, Index a_row_stride, Index a_depth_stride, const float* b,
                       Index b_stride, Index depth, const float* c_in, Index c_in_stride, float* c, Index c_stride,
                       VectorOps::Tail tail) {
  if constexpr (kVectors > 1) {
    if (vectors < kVectors) {
      panel_tile<kRows, kVectors - 1>(vectors, a, a_row_stride, a_depth_stride, b, b_stride, depth, c_in, c_in_stride, c,
                                      c_stride, tail);
      return;
    }
  }
  tile<kRows, kVectors>(a, a_row_stride, a_depth_stride, b, b_stride, depth, c_in, c_in_stride, c, c_stride, tail);
}

// Asks for the cache line holding base[offset]; the address is formed as an integer, since it may lie past the
// end of base's array (a prefetch never faults).
template <int kHint>
inline void prefetch(const float* base, Index offset) {
  using Hint = decltype(_MM_HINT_T0);  // an enum in GCC's headers, an int in Clang's
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(base) +
                                             static_cast<std::uintptr_t>(offset) * sizeof(float)),
               static_cast<Hint>(kHint));
}

// Asks for the next tile's rows of A (kTileRows rows, a_row_stride apart, contiguous over the depth) to be
// brought into the L2 cache, a slice before each of the `panels` panels of the current tile: a tile's first
// panel otherwise waits for its rows of A, which a layer's input brings from beyond the L2 cache. Prefetches
// never fault, so the rows after the last tile of A may be asked for too.
struct NextRowsOfA {
  const float* rows = nullptr;  // the current tile's first row; null: nothing to ask for
  Index row_stride = 0, lines = 0;

  void prefetch_slice(Index panel, Index panels) const {
    if (rows == nullptr) return;
    const Index first = lines * panel / panels, last = lines * (panel + 1) / panels;
    for (Index r = kTileRows; r < 2 * kTileRows; ++r)
      for (Index line = first; line < last; ++line) prefetch<_MM_HINT_T1>(rows, r * row_stride + line * kLanes);
  }
};

template <int kRows>
inline void row_tiles(const float* a, Index a_row_stride, Index a_depth_stride, const PackedB& b, Index depth,
                      Index cols, const float* c_in, Index c_in_stride, float* c, Index c_stride,
                      const NextRowsOfA& next = {}) {
  const Index panels = (cols + kPanelColumns - 1) / kPanelColumns;
  for (Index first = 0; first < cols; first += kPanelColumns) {
    next.prefetch_slice(first / kPanelColumns, panels);
    const Index width = std::min(kPanelColumns, cols - first);
    const Index rem = width % kLanes;
    panel_tile<kRows>((width + kLanes - 1) / kLanes, a, a_row_stride, a_depth_stride, b.data + first * b.depth,
                      padded_columns(std::min(kPanelColumns, b.cols - first)), depth,
                      c_in == nullptr ? nullptr : c_in + first, c_in_stride, c + first, c_stride,
                      VectorOps::tail(rem == 0 ? kLanes : rem));
  }
}

template <int kRows>
inline void rest_rows(Index rows, const float* a, Index a_row_stride, Index a_depth_stride, const PackedB& b,
                      Index depth, Index cols, const float* c_in, Index c_in_stride, float* c, Index c_stride) {
  if constexpr (kRows > 0) {
    if (rows == kRows) {
      row_tiles<kRows>(a, a_row_stride, a_depth_stride, b, depth, cols, c_in, c_in_stride, c, c_stride);
      return;
    }
    rest_rows<kRows - 1>(rows, a, a_row_stride, a_depth_stride, b, depth, cols, c_in, c_in_stride, c, c_stride);
  }
}

}  // namespace detail
#endif

// Packs B (depth, cols) into `packed` (packed_size floats, 64-byte aligned): b holds B itself (b[k * stride + j],
// b_is_transposed false) or B^T (b[j * stride + k], true). Panel p (columns [P p, P p + w), P = kPanelColumns)
// starts at P p depth and holds, for each k, its w columns, w = P except the last (padded_columns of what is
// left), zeros past the last column.
inline void pack_b(float* packed, const float* b, Index stride, Index depth, Index cols, bool b_is_transposed) {
  const auto at = [&](Index k, Index j) { return b_is_transposed ? b[j * stride + k] : b[k * stride + j]; };
  for (Index first = 0; first < cols; first += kPanelColumns) {
    const Index width = std::min(kPanelColumns, cols - first);
    const Index padded = padded_columns(width);
    float* panel = packed + first * depth;
    if (!b_is_transposed) {
      // Row k of the panel is a stretch of B's row k.
      for (Index k = 0; k < depth; ++k) {
        const float* row = b + k * stride + first;
        float* out = panel + k * padded;
        for (Index j = 0; j < width; ++j) out[j] = row[j];
        for (Index j = width; j < padded; ++j) out[j] = 0.0f;
      }
      continue;
    }
    // B^T's rows are B's columns: kLanes of them x kLanes depths at a time, transposed in registers when whole.
    for (Index j = 0; j < padded; j += kLanes) {
      for (Index k0 = 0; k0 < depth; k0 += kLanes) {
        const Index columns = std::min(kLanes, width - j), depths = std::min(kLanes, depth - k0);
#if defined(R1_REGISTER_TILE_GEMM)
        if (columns == kLanes && depths == kLanes) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // the vector type's alignment attribute, on PacketBlock's argument
          using Packet = Eigen::internal::Packet16f;
          Eigen::internal::PacketBlock<Packet, kLanes> block;
#pragma GCC diagnostic pop
          // The lines kPackAhead blocks along each of these kLanes rows are asked for now: the rows of a weight
          // come from beyond the cache, kLanes streams at once.
          for (Index c = 0; c < kLanes; ++c)
            detail::prefetch<_MM_HINT_T0>(b, (first + j + c) * stride + k0 + kPackAhead * kLanes);
          for (Index c = 0; c < kLanes; ++c)
            block.packet[c] = Eigen::internal::ploadu<Packet>(b + (first + j + c) * stride + k0);
          Eigen::internal::ptranspose(block);
          for (Index k = 0; k < kLanes; ++k) Eigen::internal::pstore(panel + (k0 + k) * padded + j, block.packet[k]);
          continue;
        }
#endif
        for (Index k = 0; k < depths; ++k)
          for (Index c = 0; c < kLanes; ++c)
            panel[(k0 + k) * padded + j + c] = c < columns ? at(k0 + k, first + j + c) : 0.0f;
      }
    }
  }
}

// C (rows, cols), row stride c_stride, = C_in + A B over `depth`, with A(r, k) = a[r * a_row_stride + k *
// a_depth_stride] and B packed (depth <= b.depth, cols <= b.cols). c_in (row stride c_in_stride) may be null
// (zeros) or equal to c. With AVX-512 (kHasRegisterTileGemm) it runs the register tiles; otherwise plain loops.
// prefetch_a_rows, for an A read along its rows (a_depth_stride 1) from beyond the L2 cache, such as a layer's
// input: each tile asks for the next tile's rows, and the last for the kTileRows rows after A. The prefetches
// here and in pack_b pay on cold buffers: bench_model_train_step's BM_StepMatmuls measures the step's matmuls.
inline void multiply(const float* a, Index a_row_stride, Index a_depth_stride, const PackedB& b, Index depth,
                     Index cols, Index rows, const float* c_in, Index c_in_stride, float* c, Index c_stride,
                     bool prefetch_a_rows = false) {
  if (rows <= 0 || cols <= 0) return;
#if defined(R1_REGISTER_TILE_GEMM)
  const bool prefetch_a = prefetch_a_rows && a_depth_stride == 1;
  const Index lines = (depth + kLanes - 1) / kLanes;
  Index r = 0;
  for (; r + kTileRows <= rows; r += kTileRows)
    detail::row_tiles<kTileRows>(
        a + r * a_row_stride, a_row_stride, a_depth_stride, b, depth, cols,
        c_in == nullptr ? nullptr : c_in + r * c_in_stride, c_in_stride, c + r * c_stride, c_stride,
        prefetch_a ? detail::NextRowsOfA{a + r * a_row_stride, a_row_stride, lines} : detail::NextRowsOfA{});
  detail::rest_rows<kTileRows - 1>(rows - r, a + r * a_row_stride, a_row_stride, a_depth_stride, b, depth, cols,
                                   c_in == nullptr ? nullptr : c_in + r * c_in_stride, c_in_stride, c + r * c_stride, c_stride);
#else
  static_cast<void>(prefetch_a_rows);  // plain loops: nothing to prefetch for
  for (Index r = 0; r < rows; ++r)
    for (Index first = 0; first < cols; first += kPanelColumns) {
      const Index width = std::min(kPanelColumns, cols - first);
      const Index stride = padded_columns(std::min(kPanelColumns, b.cols - first));
      const float* panel = b.data + first * b.depth;
      for (Index j = 0; j < width; ++j) {
        float sum = 0.0f;
        for (Index k = 0; k < depth; ++k) sum += a[r * a_row_stride + k * a_depth_stride] * panel[k * stride + j];
        c[r * c_stride + first + j] = (c_in == nullptr ? 0.0f : c_in[r * c_in_stride + first + j]) + sum;
      }
    }
#endif
}
// The same with B used whole.
inline void multiply(const float* a, Index a_row_stride, Index a_depth_stride, const float* packed_b, Index depth,
                     Index cols, Index rows, const float* c_in, Index c_in_stride, float* c, Index c_stride) {
  multiply(a, a_row_stride, a_depth_stride, PackedB{packed_b, depth, cols}, depth, cols, rows, c_in, c_in_stride, c,
           c_stride);
}

}  // namespace register_tile
}  // namespace r1
