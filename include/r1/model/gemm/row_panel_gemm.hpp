#pragma once
// C (rows, M) = A (rows, K) * L^T, or C += ..., for a weight L (M, K) of a few MiB: the GEMM of a linear
// layer over many tokens, y = x W^T or dx = dy W. Each chunk of rows packs the weight once, and then walks its
// rows in panels of kPanelRows, running an epilogue on each panel while it is in the cache. The kernel
// (gemm.hpp says which runs where):
//   - register tiles (register_tile_gemm.hpp), which read A in place and write each panel's C once, starting
//     from zeros, C itself or a residual, with no zeroing or copying pass;
//   - otherwise Eigen's packing routines and register kernel (packed_gemm.hpp), a panel's slice of C zeroed
//     (or the residual copied in) just before the kernel adds into it, while it sits in the cache.
// Eigen's `C.noalias() = A * B` zeroes all of C first and reads it back cold, and at these shapes packs the
// weight in blocks that it re-packs per block of rows. bench/model/bench_linear measures this loop against
// Eigen's product.
#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/gemm/packed_gemm.hpp"
#include "r1/model/gemm/register_tile_gemm.hpp"
#include "r1/model/matrix_views.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace r1 {

namespace detail {
// Rows of C per panel: 64 rows of the widest reference layer (1536 outputs) are 384 KiB of C, which stays in the
// L2 cache next to the packed weight.
inline constexpr Eigen::Index kPanelRows = 64;
// The weight is packed whole, once per chunk of rows, when it fits this many bytes; a larger one goes through
// Eigen's product, which blocks it.
inline constexpr Eigen::Index kPackedWeightBytes = Eigen::Index{4} << 20;
// The kernel streams one block of the packed weight (of depth; with register tiles, of depth x columns) per panel,
// sized to about a third of the L2 cache so that the panel of C and a block of A stay beside it.
inline constexpr Eigen::Index kWeightBlockBytes = Eigen::Index{768} << 10;
inline constexpr Eigen::Index kMinDepthBlock = 64, kMaxDepthBlock = 384;
// The register-tile path sizes its depth blocks for this many columns and splits wider weights into column blocks.
inline constexpr Eigen::Index kColumnBlock = 768;

// A depth K in near-equal blocks of at most kWeightBlockBytes / (columns x element size) deep, clamped to
// [kMinDepthBlock, kMaxDepthBlock]: how many, and the depth of each (the last may be shorter).
struct DepthBlocks {
  Eigen::Index count, depth;
};
template <class Scalar>
DepthBlocks depth_blocks_for(Eigen::Index K, Eigen::Index columns) {
  const Eigen::Index limit =
      std::clamp(kWeightBlockBytes / (std::max<Eigen::Index>(columns, 1) * static_cast<Eigen::Index>(sizeof(Scalar))),
                 kMinDepthBlock, kMaxDepthBlock);
  const Eigen::Index count = std::max<Eigen::Index>(1, (K + limit - 1) / limit);
  return {count, (K + count - 1) / count};
}

template <class Scalar>
struct RowPanelScratch {
  std::vector<AlignedVector<Scalar>> packed_weight, packed_panel;  // one per chunk
  // Grows the buffers of `chunks` chunks, on the calling thread, before they run.
  void grow(int chunks, Eigen::Index weight_size, Eigen::Index panel_size) {
    const auto count = static_cast<std::size_t>(chunks);
    if (packed_weight.size() < count) packed_weight.resize(count), packed_panel.resize(count);
    for (std::size_t c = 0; c < count; ++c) grow_to(packed_weight[c], weight_size), grow_to(packed_panel[c], panel_size);
  }
};
// The calling thread's, one buffer per chunk, reached through a reference from the chunks' threads and grown before
// they start: once a shape has been seen, no call allocates, whichever thread runs which chunk (per-thread buffers
// grew whenever a thread first ran a chunk of a shape, which test_model_allocations caught). A concurrent caller
// has its own.
template <class Scalar>
RowPanelScratch<Scalar>& row_panel_scratch() {
  thread_local RowPanelScratch<Scalar> scratch;
  return scratch;
}
}  // namespace detail

// Whether row_panel_gemm takes a weight of M x K elements.
template <class Scalar>
bool row_panel_gemm_fits(Eigen::Index weight_rows, Eigen::Index depth) {
  return weight_rows * depth * static_cast<Eigen::Index>(sizeof(Scalar)) <= detail::kPackedWeightBytes;
}

// What a panel of C starts from before the product is added: zeros (c = ...), what c holds (c += ...), or
// the rows of another matrix of C's shape (c = residual + ...), copied in while the panel is in the cache.
template <class Scalar>
struct PanelStart {
  enum class Kind { zeros, accumulate, copy } kind = Kind::zeros;
  const Scalar* residual = nullptr;  // for copy
  static PanelStart zeros() { return {}; }
  static PanelStart accumulate() { return {Kind::accumulate, nullptr}; }
  static PanelStart copy(const Scalar* residual) { return {Kind::copy, residual}; }
};

// After each panel: epilogue(first_row, panel_rows), on the chunk's thread, while the panel's rows of C are in
// the cache (e.g. an activation of the rows just computed). It must not itself call row_panel_gemm, whose
// buffers belong to the calling thread.
struct NoEpilogue {
  void operator()(Eigen::Index, Eigen::Index) const {}
};

// c (rows, M), row stride M  =  start + a (rows, K), row stride K  times  L^T, where L (M, K) is
//   weight_stored == Stored::as_is:      weight (M, K) row-major            (y = x W^T, W (out, in));
//   weight_stored == Stored::transposed: weight (K, M) row-major, i.e. L^T  (dx = dy W, W (out, in)).
// bias (M) is added to every row when not null. Requires row_panel_gemm_fits(M, K).
template <Stored weight_stored, class Scalar, class Epilogue = NoEpilogue>
void row_panel_gemm(const Scalar* a, const Scalar* weight, const Scalar* bias, Eigen::Index rows, Eigen::Index depth,
                    Eigen::Index weight_rows, Scalar* c, PanelStart<Scalar> start, int chunks,
                    const Epilogue& epilogue = {}) {
  using Gemm = PackedGemm<Scalar>;
  using Index = Eigen::Index;
  const Index M = weight_rows, K = depth;
  // The product is C = A B with B = L^T (K, M): stored transposed when the weight is L itself.
  constexpr Stored b_stored = weight_stored == Stored::as_is ? Stored::transposed : Stored::as_is;
  const Index weight_stride = weight_stored == Stored::as_is ? K : M;
  using Kind = typename PanelStart<Scalar>::Kind;
  chunks = static_cast<int>(std::clamp<Index>(chunks, 1, std::max<Index>(rows, 1)));  // as parallel_chunks runs them
  auto& scratch = detail::row_panel_scratch<Scalar>();
  if constexpr (kUsesRegisterTiles<Scalar>) {
    // r1's register-tile kernel: A read in place, C written once per depth block, starting from `start`. A wide
    // weight is split into blocks of columns before depth: the depth of a block is what kWeightBlockBytes allows
    // for kColumnBlock columns, and the columns of a block what it allows for that depth, so each block of the
    // packed weight stays within kWeightBlockBytes and a column block's slice of C stays in the cache across its
    // depth blocks. bench_model_linear's gate/up (256 -> 1536) is the shape that takes this path.
    const detail::DepthBlocks tile_blocks = detail::depth_blocks_for<Scalar>(K, std::min(M, detail::kColumnBlock));
    const Index tile_depth = tile_blocks.depth;
    const Index column_block = std::clamp(
        detail::kWeightBlockBytes / (std::max<Index>(tile_depth, 1) * static_cast<Index>(sizeof(Scalar))) /
            register_tile::kPanelColumns * register_tile::kPanelColumns,
        register_tile::kPanelColumns, std::max<Index>(M, 1));
    const Index tile_block_stride = register_tile::packed_size(tile_depth, M);
    scratch.grow(chunks, tile_block_stride * tile_blocks.count, 0);
    parallel_chunks(rows, chunks, [&](int chunk, Index begin, Index end) {
      Scalar* packed_weight = scratch.packed_weight[static_cast<std::size_t>(chunk)].data();
      for (Index k = 0, block = 0; k < K; k += tile_depth, ++block) {
        const Scalar* rows_k = b_stored == Stored::as_is ? weight + k * weight_stride : weight + k;
        register_tile::pack_b(packed_weight + block * tile_block_stride, rows_k, weight_stride,
                              std::min(tile_depth, K - k), M, b_stored == Stored::transposed);
      }
      for (Index first = begin; first < end; first += detail::kPanelRows) {
        const Index panel_rows = std::min(detail::kPanelRows, end - first);
        Scalar* c_panel = c + first * M;
        const auto panel_bytes = sizeof(Scalar) * static_cast<std::size_t>(panel_rows * M);
        if (K == 0 && start.kind == Kind::zeros) std::memset(c_panel, 0, panel_bytes);
        if (K == 0 && start.kind == Kind::copy) std::memcpy(c_panel, start.residual + first * M, panel_bytes);
        // Column block j0 of a depth block's packed weight starts j0 x its depth floats in (pack_b's panel layout).
        for (Index j0 = 0; j0 < M; j0 += column_block) {
          const Index columns = std::min(column_block, M - j0);
          for (Index k = 0, block = 0; k < K; k += tile_depth, ++block) {
            const Index depth_here = std::min(tile_depth, K - k);
            const Scalar* c_in = c_panel + j0;
            if (k == 0 && start.kind == Kind::zeros) c_in = nullptr;
            else if (k == 0 && start.kind == Kind::copy) c_in = start.residual + first * M + j0;
            const register_tile::PackedB b{packed_weight + block * tile_block_stride + j0 * depth_here, depth_here,
                                           M - j0};
            // A (the layer's input, in place) comes from beyond the cache: its rows are prefetched a tile ahead.
            register_tile::multiply(a + first * K + k, K, 1, b, depth_here, columns, panel_rows, c_in, M, c_panel + j0,
                                    M, /*prefetch_a_rows=*/true);
          }
        }
        if (bias != nullptr) view(c_panel, panel_rows, M).rowwise() += Eigen::Map<const RowVectorOf<Scalar>>(bias, M);
        epilogue(first, panel_rows);
      }
    });
    return;
  }
  // Eigen's kernel: depth blocks sized for all M columns.
  const detail::DepthBlocks blocks = detail::depth_blocks_for<Scalar>(K, M);
  const Index depth_block = blocks.depth;
  // The kernel loads packed operands with aligned loads: every depth block starts on a cache line.
  constexpr Index kLine = 64 / static_cast<Index>(sizeof(Scalar));
  const Index block_stride = (M * depth_block + kLine - 1) / kLine * kLine;
  scratch.grow(chunks, block_stride * blocks.count, depth_block * detail::kPanelRows);
  parallel_chunks(rows, chunks, [&](int chunk, Index begin, Index end) {
    Scalar* packed_weight = scratch.packed_weight[static_cast<std::size_t>(chunk)].data();
    Scalar* packed_panel = scratch.packed_panel[static_cast<std::size_t>(chunk)].data();
    for (Index k = 0, block = 0; k < K; k += depth_block, ++block) {
      const Scalar* rows_k = b_stored == Stored::as_is ? weight + k * weight_stride : weight + k;
      Gemm::template pack_b<b_stored>(packed_weight + block * block_stride, rows_k, weight_stride,
                                      std::min(depth_block, K - k), M);
    }
    for (Index first = begin; first < end; first += detail::kPanelRows) {
      const Index panel_rows = std::min(detail::kPanelRows, end - first);
      Scalar* c_panel = c + first * M;
      const auto panel_bytes = sizeof(Scalar) * static_cast<std::size_t>(panel_rows * M);
      if (start.kind == Kind::zeros) std::memset(c_panel, 0, panel_bytes);
      else if (start.kind == Kind::copy) std::memcpy(c_panel, start.residual + first * M, panel_bytes);
      for (Index k = 0, block = 0; k < K; k += depth_block, ++block) {
        const Index block_depth = std::min(depth_block, K - k);
        Gemm::template pack_a<Stored::as_is>(packed_panel, a + first * K + k, K, panel_rows, block_depth);
        Gemm::multiply_add(c_panel, M, packed_panel, packed_weight + block * block_stride,
                           panel_rows, block_depth, M);
      }
      if (bias != nullptr) view(c_panel, panel_rows, M).rowwise() += Eigen::Map<const RowVectorOf<Scalar>>(bias, M);
      epilogue(first, panel_rows);
    }
  });
}

}  // namespace r1
