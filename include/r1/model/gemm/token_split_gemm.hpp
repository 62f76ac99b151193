#pragma once
// The weight gradient of a linear layer, dW (out, in) += dY^T (out, N) X (N, in), for a weight of a few MiB,
// split over the N tokens: each chunk of tokens sums its share into its own accumulator (the first chunk
// straight into dW), and the accumulators are added into dW at the end. Splitting the output or input
// features instead, as Eigen's product would be split, makes every chunk pack the whole of the other operand;
// here each token's row of dY and X is packed once. The kernel (gemm.hpp says which runs where): the register
// tiles (register_tile_gemm.hpp) over blocks of kTokenBlock tokens, or Eigen's (packed_gemm.hpp) in blocks of
// kTokenBlock tokens x kOutputBlock output features, which keep the block of dW being summed in the L2 cache.
// bench/model/bench_linear measures it against Eigen's feature split.
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
// Blocks of 256 tokens x 256 output features; bench_model_linear's weight gradients measure the choice.
inline constexpr Eigen::Index kTokenBlock = 256, kOutputBlock = 256;
// The register-tile path transposes a block of dY up to this many output features at a time (2 MiB at 256 tokens).
inline constexpr Eigen::Index kDyTransposeRows = 2048;
// Each chunk but the first sums into a buffer the size of the weight: up to this many bytes.
inline constexpr Eigen::Index kTokenSplitWeightBytes = Eigen::Index{4} << 20;
// A chunk takes at least this many tokens: fewer, and adding its accumulator costs more than it saves.
inline constexpr Eigen::Index kMinTokensPerChunk = 256;

template <class Scalar>
struct TokenSplitScratch {
  std::vector<AlignedVector<Scalar>> accumulators;  // one per chunk after the first
  std::vector<AlignedVector<Scalar>> packed_x, packed_dy;  // one per chunk
};
// The calling thread's: the accumulators outlive the chunks (the sum at the end reads them), and a concurrent
// caller on another thread has its own.
template <class Scalar>
TokenSplitScratch<Scalar>& token_split_scratch() {
  thread_local TokenSplitScratch<Scalar> scratch;
  return scratch;
}
}  // namespace detail

template <class Scalar>
bool token_split_weight_gradient_fits(Eigen::Index out_features, Eigen::Index in_features) {
  return out_features * in_features * static_cast<Eigen::Index>(sizeof(Scalar)) <= detail::kTokenSplitWeightBytes;
}

// Chunks token_split_weight_gradient uses for `rows` tokens.
inline int token_split_chunks(Eigen::Index rows) { return chunk_count(rows, detail::kMinTokensPerChunk); }

// dweight (out, in) += dy^T x; dbias (out) += column sums of dy when not null. Requires
// token_split_weight_gradient_fits(out, in).
template <class Scalar>
void token_split_weight_gradient(const Scalar* dy, const Scalar* x, Eigen::Index rows, Eigen::Index in_features,
                                 Eigen::Index out_features, Scalar* dweight, Scalar* dbias) {
  using Gemm = PackedGemm<Scalar>;
  using Index = Eigen::Index;
  const Index in = in_features, out = out_features;
  const int chunks = token_split_chunks(rows);
  auto& scratch = detail::token_split_scratch<Scalar>();
  if (static_cast<int>(scratch.packed_x.size()) < chunks) {
    scratch.packed_x.resize(static_cast<std::size_t>(chunks));
    scratch.packed_dy.resize(static_cast<std::size_t>(chunks));
  }
  if (static_cast<int>(scratch.accumulators.size()) < chunks - 1) scratch.accumulators.resize(static_cast<std::size_t>(chunks - 1));
  // Each chunk's packed blocks of X and dY, as the kernel below lays them out.
  Index packed_x_size = detail::kTokenBlock * in, packed_dy_size = detail::kOutputBlock * detail::kTokenBlock;
  if constexpr (kUsesRegisterTiles<Scalar>) {
    packed_x_size = register_tile::packed_size(detail::kTokenBlock, in);
    constexpr Index kGroupRows = register_tile::kTileRows;  // dY^T is transposed in groups of a tile's rows
    packed_dy_size = std::min(detail::kDyTransposeRows, (out + kGroupRows - 1) / kGroupRows * kGroupRows) *
                     detail::kTokenBlock;
  }
  for (int c = 0; c < chunks; ++c) {
    grow_to(scratch.packed_x[static_cast<std::size_t>(c)], packed_x_size);
    grow_to(scratch.packed_dy[static_cast<std::size_t>(c)], packed_dy_size);
    if (c > 0) grow_to(scratch.accumulators[static_cast<std::size_t>(c - 1)], out * in);
  }
  if constexpr (kUsesRegisterTiles<Scalar>) {
    constexpr Index kRows = register_tile::kTileRows;
    constexpr Index kTransposeTokens = 8;
    static_assert(detail::kDyTransposeRows % kRows == 0);
    // r1's register-tile kernel: C = dW (out, in), A = a block of dY^T (copied a tile's rows together) and B the
    // same block of X, packed; a chunk's accumulator starts from its first block's product, without a zeroing pass
    // (a chunk holds at least kMinTokensPerChunk tokens, so every chunk has a first block).
    parallel_chunks(rows, chunks, [&](int chunk, Index begin, Index end) {
      Scalar* sum = chunk == 0 ? dweight : scratch.accumulators[static_cast<std::size_t>(chunk - 1)].data();
      Scalar* packed_x = scratch.packed_x[static_cast<std::size_t>(chunk)].data();
      Scalar* packed_dy = scratch.packed_dy[static_cast<std::size_t>(chunk)].data();
      for (Index k = begin; k < end; k += detail::kTokenBlock) {
        const Index tokens = std::min(detail::kTokenBlock, end - k);
        register_tile::pack_b(packed_x, x + k * in, in, tokens, in, false);
        const Scalar* start = chunk > 0 && k == begin ? nullptr : sum;
        // The block of dY^T, kDyTransposeRows output features at a time, in one pass along dY's rows: tile row group
        // g (features r0 + [kRows g, kRows g + kRows)) holds its kRows values per token at packed_dy + g tokens kRows,
        // so each tile reads its A contiguously (a strided copy of each group's column of dY just before its tile
        // stalls on cache misses). The pass takes kTransposeTokens tokens at a time, so each group's
        // kRows x kTransposeTokens values fill whole lines of packed_dy in a row, rather than half lines 8 KiB
        // apart that are evicted between their two halves.
        for (Index r0 = 0; r0 < out; r0 += detail::kDyTransposeRows) {
          const Index features = std::min(detail::kDyTransposeRows, out - r0), groups = (features + kRows - 1) / kRows;
          for (Index t0 = 0; t0 < tokens; t0 += kTransposeTokens) {
            const Index t_end = std::min(tokens, t0 + kTransposeTokens);
            const Scalar* dy_rows = dy + (k + t0) * out + r0;
            Index g = 0;
            for (; g < features / kRows; ++g)  // fixed-size copies, which the compiler turns into vector moves
              for (Index t = t0; t < t_end; ++t)
                for (Index i = 0; i < kRows; ++i)
                  packed_dy[(g * tokens + t) * kRows + i] = dy_rows[(t - t0) * out + g * kRows + i];
            if (g < groups)
              for (Index t = t0; t < t_end; ++t)
                for (Index i = 0; i < features - g * kRows; ++i)
                  packed_dy[(g * tokens + t) * kRows + i] = dy_rows[(t - t0) * out + g * kRows + i];
          }
          for (Index g = 0; g < groups; ++g) {
            const Index r = r0 + g * kRows;
            register_tile::multiply(packed_dy + g * tokens * kRows, 1, kRows, packed_x, tokens, in,
                                    std::min(kRows, out - r), start == nullptr ? nullptr : start + r * in, in,
                                    sum + r * in, in);
          }
        }
      }
    });
  } else {
    parallel_chunks(rows, chunks, [&](int chunk, Index begin, Index end) {
      Scalar* sum = dweight;
      if (chunk > 0) {
        sum = scratch.accumulators[static_cast<std::size_t>(chunk - 1)].data();
        std::memset(sum, 0, sizeof(Scalar) * static_cast<std::size_t>(out * in));
      }
      Scalar* packed_x = scratch.packed_x[static_cast<std::size_t>(chunk)].data();
      Scalar* packed_dy = scratch.packed_dy[static_cast<std::size_t>(chunk)].data();
      // C = dW (out, in) += A B with A = dY^T (dy holds A^T) and B = X.
      for (Index k = begin; k < end; k += detail::kTokenBlock) {
        const Index tokens = std::min(detail::kTokenBlock, end - k);
        Gemm::template pack_b<Stored::as_is>(packed_x, x + k * in, in, tokens, in);
        for (Index j = 0; j < out; j += detail::kOutputBlock) {
          const Index outputs = std::min(detail::kOutputBlock, out - j);
          Gemm::template pack_a<Stored::transposed>(packed_dy, dy + k * out + j, out, outputs, tokens);
          Gemm::multiply_add(sum + j * in, in, packed_dy, packed_x, outputs, tokens, in);
        }
      }
    });
  }
  // The chunks' sums and the bias gradient, by ranges of output features.
  parallel_chunks(out, chunk_count(out, 16), [&](int, Index begin, Index end) {
    auto dW = view(dweight + begin * in, end - begin, in);
    for (int c = 1; c < chunks; ++c)
      dW += const_view(scratch.accumulators[static_cast<std::size_t>(c - 1)].data() + begin * in, end - begin, in);
    if (dbias != nullptr)
      Eigen::Map<RowVectorOf<Scalar>>(dbias + begin, end - begin) += const_view(dy + begin, rows, end - begin, out).colwise().sum();
  });
}

}  // namespace r1
