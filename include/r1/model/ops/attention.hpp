#pragma once
// Causal scaled dot-product attention (Vaswani et al. 2017, eq. 1) with grouped
// key/value heads (Ainslie et al. 2023, GQA): query head h reads key/value head
// h / (H / K). For one head, Q (T, E), keys K and values V (S, E), S >= T, the T
// queries sitting at the last T of the S positions:
//   P = softmax(Q K^T / sqrt(E)) with query i seeing keys j <= i + (S - T);  O = P V.
// The forward keeps lse = log sum exp of each score row; the backward recomputes
// P from it (as FlashAttention-2, Dao 2023, Alg. 2) instead of storing T x S per head:
//   dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dO * O));  dQ = dS K / sqrt(E);  dK += dS^T Q / sqrt(E).
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/ops/matrix_views.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace r1 {

// One head's inputs: row pointers with their row strides (elements).
template <class Scalar>
struct AttentionHeadInputs {
  const Scalar* q;
  Eigen::Index q_stride;
  const Scalar* k;
  const Scalar* v;
  Eigen::Index kv_stride;
  Eigen::Index queries, keys, head_dim;
};

namespace detail {
// Queries are processed in blocks of this many rows; a block needs only the keys its last row can see, which
// skips most of the masked upper triangle of the score matrix (about half its work for long sequences).
inline constexpr Eigen::Index kAttentionQueryBlock = 64;
}  // namespace detail

// out (T, E) at out_stride, lse (T) at lse_stride; scores: T * S scratch.
template <class Scalar>
void attention_head_forward(const AttentionHeadInputs<Scalar>& in, Scalar* out, Eigen::Index out_stride, Scalar* lse,
                            Eigen::Index lse_stride, Scalar* scores) {
  const auto Q = const_view(in.q, in.queries, in.head_dim, in.q_stride);
  const auto K = const_view(in.k, in.keys, in.head_dim, in.kv_stride);
  const auto V = const_view(in.v, in.keys, in.head_dim, in.kv_stride);
  auto O = view(out, in.queries, in.head_dim, out_stride);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(in.head_dim));
  const Eigen::Index shift = in.keys - in.queries;
  for (Eigen::Index first = 0; first < in.queries; first += detail::kAttentionQueryBlock) {
    const Eigen::Index rows = std::min(detail::kAttentionQueryBlock, in.queries - first);
    const Eigen::Index seen = first + rows + shift;  // keys visible to the block's last query
    auto P = view(scores + first * in.keys, rows, seen, in.keys);
    // The scale is applied row by row below: written into the product, Eigen would evaluate it into a temporary.
    P.noalias() = Q.middleRows(first, rows) * K.topRows(seen).transpose();
    for (Eigen::Index i = 0; i < rows; ++i) {
      const Eigen::Index visible = first + i + shift + 1;
      auto row = P.row(i).head(visible).array();
      row *= scale;
      const Scalar max_score = row.maxCoeff();
      row = (row - max_score).exp();
      const Scalar sum = row.sum();
      row /= sum;
      P.row(i).tail(seen - visible).setZero();
      lse[(first + i) * lse_stride] = max_score + std::log(sum);
    }
    O.middleRows(first, rows).noalias() = P * V.topRows(seen);
  }
}

// dq (T, E) = (set); dk, dv (S, E) += . scratch: 2 * T * S.
template <class Scalar>
void attention_head_backward(const AttentionHeadInputs<Scalar>& in, const Scalar* out, Eigen::Index out_stride,
                             const Scalar* lse, Eigen::Index lse_stride, const Scalar* d_out, Eigen::Index d_out_stride,
                             Scalar* dq, Eigen::Index dq_stride, Scalar* dk, Scalar* dv, Eigen::Index dkv_stride,
                             Scalar* scratch) {
  const auto Q = const_view(in.q, in.queries, in.head_dim, in.q_stride);
  const auto K = const_view(in.k, in.keys, in.head_dim, in.kv_stride);
  const auto V = const_view(in.v, in.keys, in.head_dim, in.kv_stride);
  const auto O = const_view(out, in.queries, in.head_dim, out_stride);
  const auto dO = const_view(d_out, in.queries, in.head_dim, d_out_stride);
  auto dQ = view(dq, in.queries, in.head_dim, dq_stride);
  auto dK = view(dk, in.keys, in.head_dim, dkv_stride);
  auto dV = view(dv, in.keys, in.head_dim, dkv_stride);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(in.head_dim));
  const Eigen::Index shift = in.keys - in.queries;
  for (Eigen::Index first = 0; first < in.queries; first += detail::kAttentionQueryBlock) {
    const Eigen::Index rows = std::min(detail::kAttentionQueryBlock, in.queries - first);
    const Eigen::Index seen = first + rows + shift;
    auto P = view(scratch + first * in.keys, rows, seen, in.keys);
    auto dS = view(scratch + (in.queries + first) * in.keys, rows, seen, in.keys);
    P.noalias() = Q.middleRows(first, rows) * K.topRows(seen).transpose();
    dS.noalias() = dO.middleRows(first, rows) * V.topRows(seen).transpose();  // dP for now
    for (Eigen::Index i = 0; i < rows; ++i) {
      const Eigen::Index visible = first + i + shift + 1;
      auto p = P.row(i).head(visible).array();
      p = (p * scale - lse[(first + i) * lse_stride]).exp();
      P.row(i).tail(seen - visible).setZero();
      const Scalar row_dot = dO.row(first + i).dot(O.row(first + i));
      // dS carries the 1/sqrt(E) of dQ and dK, so the two products below need no scaled temporary.
      dS.row(i).head(visible).array() = p * (dS.row(i).head(visible).array() - row_dot) * scale;
      dS.row(i).tail(seen - visible).setZero();
    }
    dV.topRows(seen).noalias() += P.transpose() * dO.middleRows(first, rows);
    dQ.middleRows(first, rows).noalias() = dS * K.topRows(seen);
    dK.topRows(seen).noalias() += dS.transpose() * Q.middleRows(first, rows);
  }
}

// Grow-only scratch, one buffer per parallel chunk.
template <class Scalar>
class AttentionScratch {
 public:
  // Makes `chunks` buffers of at least `size` elements each; allocates only when growing.
  void reserve(int chunks, Eigen::Index size) {
    if (static_cast<int>(buffers_.size()) < chunks) buffers_.resize(static_cast<std::size_t>(chunks));
    for (auto& buffer : buffers_)
      if (static_cast<Eigen::Index>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
  }
  Scalar* chunk(int index) { return buffers_[static_cast<std::size_t>(index)].data(); }

 private:
  // 64-byte aligned: Eigen's vectorised reductions start at the first aligned element, so the rounding of a
  // softmax sum would otherwise depend on where malloc put the buffer (and a run would not repeat itself).
  std::vector<AlignedVector<Scalar>> buffers_;
};

// Heads of a packed attention layer: rows of qkv are [q (H*E) | k (K*E) | v (K*E)].
struct AttentionHeads {
  Eigen::Index heads = 0, kv_heads = 0, head_dim = 0;
  Eigen::Index q_width() const { return heads * head_dim; }
  Eigen::Index kv_width() const { return kv_heads * head_dim; }
  Eigen::Index qkv_width() const { return q_width() + 2 * kv_width(); }
  Eigen::Index group() const { return heads / kv_heads; }
};

namespace detail {
inline Eigen::Index longest_sequence(std::span<const std::int64_t> offsets) {
  Eigen::Index longest = 0;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) longest = std::max<Eigen::Index>(longest, offsets[s + 1] - offsets[s]);
  return longest;
}
}  // namespace detail

// Self-attention within each packed sequence (offsets as in TokenBatch), causal, no cross-sequence
// attention. out (N, H*E), lse (N, H).
template <class Scalar>
void attention_forward_packed(const Scalar* qkv, std::span<const std::int64_t> offsets, const AttentionHeads& shape,
                              Scalar* out, Scalar* lse, AttentionScratch<Scalar>& scratch) {
  const auto sequences = static_cast<std::int64_t>(offsets.size()) - 1;
  const Eigen::Index longest = detail::longest_sequence(offsets);
  const int chunks = chunk_count(sequences * shape.kv_heads);
  scratch.reserve(chunks, longest * longest);
  const Eigen::Index width = shape.qkv_width();
  parallel_dealt(sequences * shape.kv_heads, chunks, [&](int chunk, std::int64_t item) {
    const std::int64_t s = item / shape.kv_heads, g = item % shape.kv_heads;
    const Eigen::Index first = offsets[s], length = offsets[s + 1] - offsets[s];
    if (length == 0) return;
    const Scalar* rows = qkv + first * width;
    for (Eigen::Index h = g * shape.group(); h < (g + 1) * shape.group(); ++h) {
      const AttentionHeadInputs<Scalar> in{rows + h * shape.head_dim, width,
                                           rows + shape.q_width() + g * shape.head_dim,
                                           rows + shape.q_width() + shape.kv_width() + g * shape.head_dim, width,
                                           length, length, shape.head_dim};
      attention_head_forward(in, out + first * shape.q_width() + h * shape.head_dim, shape.q_width(),
                             lse + first * shape.heads + h, shape.heads, scratch.chunk(chunk));
    }
  });
}

// d_qkv (N, qkv width) = gradient of qkv (overwritten), from d_out (N, H*E) and the forward's out and lse.
template <class Scalar>
void attention_backward_packed(const Scalar* d_out, const Scalar* qkv, const Scalar* out, const Scalar* lse,
                               std::span<const std::int64_t> offsets, const AttentionHeads& shape, Scalar* d_qkv,
                               AttentionScratch<Scalar>& scratch) {
  const auto sequences = static_cast<std::int64_t>(offsets.size()) - 1;
  const Eigen::Index longest = detail::longest_sequence(offsets);
  const int chunks = chunk_count(sequences * shape.kv_heads);
  scratch.reserve(chunks, 2 * longest * longest);
  const Eigen::Index width = shape.qkv_width();
  parallel_dealt(sequences * shape.kv_heads, chunks, [&](int chunk, std::int64_t item) {
    const std::int64_t s = item / shape.kv_heads, g = item % shape.kv_heads;
    const Eigen::Index first = offsets[s], length = offsets[s + 1] - offsets[s];
    if (length == 0) return;
    const Scalar* rows = qkv + first * width;
    Scalar* d_rows = d_qkv + first * width;
    Scalar* dk = d_rows + shape.q_width() + g * shape.head_dim;
    Scalar* dv = d_rows + shape.q_width() + shape.kv_width() + g * shape.head_dim;
    view(dk, length, shape.head_dim, width).setZero();
    view(dv, length, shape.head_dim, width).setZero();
    for (Eigen::Index h = g * shape.group(); h < (g + 1) * shape.group(); ++h) {
      const AttentionHeadInputs<Scalar> in{rows + h * shape.head_dim, width,
                                           rows + shape.q_width() + g * shape.head_dim,
                                           rows + shape.q_width() + shape.kv_width() + g * shape.head_dim, width,
                                           length, length, shape.head_dim};
      const Eigen::Index out_offset = first * shape.q_width() + h * shape.head_dim;
      attention_head_backward(in, out + out_offset, shape.q_width(), lse + first * shape.heads + h, shape.heads,
                              d_out + out_offset, shape.q_width(), d_rows + h * shape.head_dim, width, dk, dv, width,
                              scratch.chunk(chunk));
    }
  });
}

}  // namespace r1
