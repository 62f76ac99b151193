#pragma once
// Token embedding: row `token` of the (V, D) table, and its backward (scatter-add).
#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <span>

#include "r1/model/parallel_chunks.hpp"

namespace r1 {

// x (N, D) = table rows of `tokens` (ids already validated against V).
template <class Scalar>
void embedding_forward(const Scalar* table, std::span<const std::int32_t> tokens, Eigen::Index dim, Scalar* x) {
  const auto rows = static_cast<Eigen::Index>(tokens.size());
  parallel_chunks(rows, chunk_count(rows, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    for (Eigen::Index row = begin; row < end; ++row)
      std::memcpy(x + row * dim, table + static_cast<Eigen::Index>(tokens[static_cast<std::size_t>(row)]) * dim,
                  sizeof(Scalar) * static_cast<std::size_t>(dim));
  });
}

// d_table rows of `tokens` += dx rows. A token may repeat, so the features (not the rows) are split.
template <class Scalar>
void embedding_backward(const Scalar* dx, std::span<const std::int32_t> tokens, Eigen::Index dim, Scalar* d_table) {
  parallel_chunks(dim, chunk_count(dim, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    for (std::size_t row = 0; row < tokens.size(); ++row) {
      Scalar* out = d_table + static_cast<Eigen::Index>(tokens[row]) * dim;
      const Scalar* in = dx + static_cast<Eigen::Index>(row) * dim;
      for (Eigen::Index i = begin; i < end; ++i) out[i] += in[i];
    }
  });
}

}  // namespace r1
