#pragma once
// Causal scaled dot-product attention (Vaswani et al. 2017, eq. 1) with grouped
// key/value heads (Ainslie et al. 2023, GQA): query head h reads key/value head
// h / (H / K). For one head, Q (T, E), keys K and values V (S, E), S >= T, the T
// queries sitting at the last T of the S positions:
//   P = softmax(Q K^T / sqrt(E)) with query i seeing keys j <= i + (S - T);  O = P V.
// The forward keeps lse = log sum exp of each score row; the backward recomputes
// P from it (as FlashAttention-2, Dao 2023, Alg. 2) instead of storing T x S per head:
//   dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dO * O));  dQ = dS K / sqrt(E);  dK += dS^T Q / sqrt(E).
// Queries go in blocks; a block needs only the keys its last query can see. A head's keys and values are
// packed once for all its blocks (packed_gemm.hpp); a block's score rows are padded to whole cache lines,
// the masked keys set to -inf, so the softmax runs on whole vectors.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/ops/matrix_views.hpp"
#include "r1/model/ops/packed_gemm.hpp"
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
// The reference model's attention (8 sequences of 257, 4 heads of 64, forward + backward, 2 threads, x4
// layers; best of 40 runs of a one-off driver rebuilt per block size) took 27.5 ms per step with blocks of 48
// against 29.8 with 64, 29.6 with 32, 29.2 with 96 and 32.4 with 128 (AVX2 build: 39.3 against 43.6 with 64).
// BM_Attention in bench_model_train_step times the same work for one layer (a mean, not a best).
inline constexpr Eigen::Index kAttentionQueryBlock = 48;
// Below this many queries (a decode step) the forward uses Eigen's products, a GEMV for one query, instead of
// packing the head's keys and values for a handful of rows.
inline constexpr Eigen::Index kPackedAttentionMinQueries = 16;
template <class Scalar>
inline constexpr Eigen::Index kScalarsPerLine = 64 / static_cast<Eigen::Index>(sizeof(Scalar));
template <class Scalar>
Eigen::Index round_up_to_line(Eigen::Index n) {
  return (n + kScalarsPerLine<Scalar> - 1) / kScalarsPerLine<Scalar> * kScalarsPerLine<Scalar>;
}
}  // namespace detail

// One parallel chunk's buffers, grown to the longest head they served and then reused (64-byte aligned: the
// GEMM kernel loads packed operands with aligned loads, and Eigen's vectorised reductions start at the first
// aligned element, so an unaligned buffer would also change the rounding of a softmax sum from run to run).
template <class Scalar>
struct AttentionWorkspace {
  AlignedVector<Scalar> scores, d_scores;                     // (block, ld) score rows
  AlignedVector<Scalar> keys_as_b, values_as_b;                 // K^T (E, S) and V (S, E): S = Q K^T, O = P V
  AlignedVector<Scalar> values_t_as_b, keys_k_as_b;             // V^T and K for dP = dO V^T, dQ = dS K
  AlignedVector<Scalar> block_as_a, scores_as_a, block_as_b;    // one block's packed operands

  // Room for heads of up to `keys` keys (and queries) of `head_dim`.
  void reserve(Eigen::Index keys, Eigen::Index head_dim) {
    const Eigen::Index ld = detail::round_up_to_line<Scalar>(keys), block = detail::kAttentionQueryBlock;
    for (auto* buffer : {&scores, &d_scores, &scores_as_a}) grow_to(*buffer, block * ld);
    for (auto* buffer : {&keys_as_b, &values_as_b, &values_t_as_b, &keys_k_as_b}) grow_to(*buffer, keys * head_dim);
    for (auto* buffer : {&block_as_a, &block_as_b}) grow_to(*buffer, block * head_dim);
  }
};

namespace detail {
// row[begin, end) = value, vectorised and inline.
template <class Scalar>
void fill_segment(Scalar* row, Eigen::Index begin, Eigen::Index end, Scalar value) {
  using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
  constexpr Eigen::Index lanes = Eigen::internal::packet_traits<Scalar>::size;
  const Packet packet = Eigen::internal::pset1<Packet>(value);
  Eigen::Index j = begin;
  for (; j + lanes <= end; j += lanes) Eigen::internal::pstoreu(row + j, packet);
  for (; j < end; ++j) row[j] = value;
}
// The zero that short rows are cleared with: -0.0. A fill with +0.0 compiles to a call to memset per row, and
// the calls for rows of a few dozen elements cost a tenth of the attention's time; -0.0 is not a byte
// pattern memset can write. It is an additive identity like +0.0 (-0 + x = x; -0 + +0 = +0), so what
// accumulates into it, or is multiplied by it, comes out as from +0.0, up to the sign of an exact zero.
template <class Scalar>
inline constexpr Scalar kClearedZero = -Scalar(0);
// Clears the first `cols` of `rows` rows at row stride ld.
template <class Scalar>
void clear_rows(Scalar* data, Eigen::Index rows, Eigen::Index cols, Eigen::Index ld) {
  for (Eigen::Index i = 0; i < rows; ++i) fill_segment(data + i * ld, 0, cols, kClearedZero<Scalar>);
}

// The forward for few queries: Eigen's products (a GEMV for one query). scores: queries x keys.
template <class Scalar>
void attention_head_forward_few_queries(const AttentionHeadInputs<Scalar>& in, Scalar* out, Eigen::Index out_stride,
                                        Scalar* lse, Eigen::Index lse_stride, Scalar* scores) {
  const auto Q = const_view(in.q, in.queries, in.head_dim, in.q_stride);
  const auto K = const_view(in.k, in.keys, in.head_dim, in.kv_stride);
  const auto V = const_view(in.v, in.keys, in.head_dim, in.kv_stride);
  auto O = view(out, in.queries, in.head_dim, out_stride);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(in.head_dim));
  const Eigen::Index shift = in.keys - in.queries;
  auto P = view(scores, in.queries, in.keys, in.keys);
  // The scale is applied row by row below: written into the product, Eigen would evaluate it into a temporary.
  P.noalias() = Q * K.transpose();
  for (Eigen::Index i = 0; i < in.queries; ++i) {
    const Eigen::Index visible = i + shift + 1;
    auto row = P.row(i).head(visible).array();
    row *= scale;
    const Scalar max_score = row.maxCoeff();
    row = (row - max_score).exp();
    const Scalar sum = row.sum();
    row /= sum;
    P.row(i).tail(in.keys - visible).setZero();
    lse[i * lse_stride] = max_score + std::log(sum);
  }
  O.noalias() = P * V;
}
}  // namespace detail

// out (T, E) at out_stride, lse (T) at lse_stride.
template <class Scalar>
void attention_head_forward(const AttentionHeadInputs<Scalar>& in, Scalar* out, Eigen::Index out_stride, Scalar* lse,
                            Eigen::Index lse_stride, AttentionWorkspace<Scalar>& work) {
  using Gemm = PackedGemm<Scalar>;
  using Index = Eigen::Index;
  work.reserve(in.keys, in.head_dim);
  if (in.queries < detail::kPackedAttentionMinQueries) {
    detail::attention_head_forward_few_queries(in, out, out_stride, lse, lse_stride, work.scores.data());
    return;
  }
  const Index T = in.queries, S = in.keys, E = in.head_dim, shift = S - T;
  const Index ld = detail::round_up_to_line<Scalar>(S);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(E));
  Gemm::template pack_b<Stored::transposed>(work.keys_as_b.data(), in.k, in.kv_stride, E, S);  // K^T (E, S)
  Gemm::template pack_b<Stored::as_is>(work.values_as_b.data(), in.v, in.kv_stride, S, E);     // V (S, E)
  Scalar* P = work.scores.data();
  for (Index first = 0; first < T; first += detail::kAttentionQueryBlock) {
    const Index rows = std::min(detail::kAttentionQueryBlock, T - first);
    const Index seen = first + rows + shift;                    // keys visible to the block's last query
    const Index width = Gemm::usable_columns(seen, S);          // keys scored: seen, rounded up to whole panels
    const Index padded = std::min(ld, detail::round_up_to_line<Scalar>(width));
    std::memset(P, 0, sizeof(Scalar) * static_cast<std::size_t>(rows * ld));
    Gemm::template pack_a<Stored::as_is>(work.block_as_a.data(), in.q + first * in.q_stride, in.q_stride, rows, E);
    Gemm::multiply_add(P, ld, work.block_as_a.data(), work.keys_as_b.data(), rows, E, width);  // Q K^T
    for (Index i = 0; i < rows; ++i) {
      const Index visible = first + i + shift + 1;
      Scalar* row_data = P + i * ld;
      detail::fill_segment(row_data, visible, padded, -std::numeric_limits<Scalar>::infinity());
      auto row = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(row_data, padded);
      row *= scale;
      const Scalar max_score = row.maxCoeff();
      row = (row - max_score).exp();
      detail::fill_segment(row_data, visible, padded, detail::kClearedZero<Scalar>);  // Eigen's exp(-inf) may be tiny, not 0
      const Scalar sum = row.sum();
      row /= sum;
      lse[(first + i) * lse_stride] = max_score + std::log(sum);
    }
    Scalar* O = out + first * out_stride;
    detail::clear_rows(O, rows, E, out_stride);
    Gemm::template pack_a<Stored::as_is>(work.scores_as_a.data(), P, ld, rows, width);
    Gemm::multiply_add(O, out_stride, work.scores_as_a.data(), work.values_as_b.data(), rows, width, E, width, S);  // P V
  }
}

// dq (T, E) = (set); dk, dv (S, E) += .
template <class Scalar>
void attention_head_backward(const AttentionHeadInputs<Scalar>& in, const Scalar* out, Eigen::Index out_stride,
                             const Scalar* lse, Eigen::Index lse_stride, const Scalar* d_out, Eigen::Index d_out_stride,
                             Scalar* dq, Eigen::Index dq_stride, Scalar* dk, Scalar* dv, Eigen::Index dkv_stride,
                             AttentionWorkspace<Scalar>& work) {
  using Gemm = PackedGemm<Scalar>;
  using Index = Eigen::Index;
  work.reserve(in.keys, in.head_dim);
  const Index T = in.queries, S = in.keys, E = in.head_dim, shift = S - T;
  const Index ld = detail::round_up_to_line<Scalar>(S);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(E));
  Gemm::template pack_b<Stored::transposed>(work.keys_as_b.data(), in.k, in.kv_stride, E, S);      // K^T
  Gemm::template pack_b<Stored::transposed>(work.values_t_as_b.data(), in.v, in.kv_stride, E, S);  // V^T
  Gemm::template pack_b<Stored::as_is>(work.keys_k_as_b.data(), in.k, in.kv_stride, S, E);         // K
  Scalar* P = work.scores.data();
  Scalar* dS = work.d_scores.data();
  for (Index first = 0; first < T; first += detail::kAttentionQueryBlock) {
    const Index rows = std::min(detail::kAttentionQueryBlock, T - first);
    const Index seen = first + rows + shift;
    const Index width = Gemm::usable_columns(seen, S);
    const Index padded = std::min(ld, detail::round_up_to_line<Scalar>(width));
    const Scalar* q_block = in.q + first * in.q_stride;
    const Scalar* d_out_block = d_out + first * d_out_stride;
    std::memset(P, 0, sizeof(Scalar) * static_cast<std::size_t>(rows * ld));
    std::memset(dS, 0, sizeof(Scalar) * static_cast<std::size_t>(rows * ld));
    Gemm::template pack_a<Stored::as_is>(work.block_as_a.data(), q_block, in.q_stride, rows, E);
    Gemm::multiply_add(P, ld, work.block_as_a.data(), work.keys_as_b.data(), rows, E, width);  // Q K^T
    Gemm::template pack_a<Stored::as_is>(work.block_as_a.data(), d_out_block, d_out_stride, rows, E);
    Gemm::multiply_add(dS, ld, work.block_as_a.data(), work.values_t_as_b.data(), rows, E, width);  // dP = dO V^T
    for (Index i = 0; i < rows; ++i) {
      const Index visible = first + i + shift + 1;
      Scalar* p_data = P + i * ld;
      // Every entry is finite (scored or zeroed), so the masked ones can be cleared after the exp.
      auto p = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(p_data, padded);
      p = (p * scale - lse[(first + i) * lse_stride]).exp();
      detail::fill_segment(p_data, visible, padded, detail::kClearedZero<Scalar>);
      const Scalar row_dot = Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(d_out_block + i * d_out_stride, E)
                                 .dot(Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(out + (first + i) * out_stride, E));
      // dS carries the 1/sqrt(E) of dQ and dK. Masked and padding entries: p = 0 and dP finite (zeroed or
      // scored), so dS = 0 there.
      auto d_scores = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(dS + i * ld, padded);
      d_scores = p * (d_scores - row_dot) * scale;
    }
    Scalar* dq_block = dq + first * dq_stride;
    detail::clear_rows(dq_block, rows, E, dq_stride);
    Gemm::template pack_a<Stored::as_is>(work.scores_as_a.data(), dS, ld, rows, width);
    Gemm::multiply_add(dq_block, dq_stride, work.scores_as_a.data(), work.keys_k_as_b.data(), rows, width, E, width, S);  // dS K
    // Keys [seen, width) were scored but masked for every query of the block: their rows of dK and dV get zeros.
    Gemm::template pack_a<Stored::transposed>(work.scores_as_a.data(), P, ld, width, rows);
    Gemm::template pack_b<Stored::as_is>(work.block_as_b.data(), d_out_block, d_out_stride, rows, E);
    Gemm::multiply_add(dv, dkv_stride, work.scores_as_a.data(), work.block_as_b.data(), width, rows, E);  // P^T dO
    Gemm::template pack_a<Stored::transposed>(work.scores_as_a.data(), dS, ld, width, rows);
    Gemm::template pack_b<Stored::as_is>(work.block_as_b.data(), q_block, in.q_stride, rows, E);
    Gemm::multiply_add(dk, dkv_stride, work.scores_as_a.data(), work.block_as_b.data(), width, rows, E);  // dS^T Q
  }
}

// One workspace per parallel chunk; grown, never shrunk.
template <class Scalar>
class AttentionScratch {
 public:
  // Makes `chunks` workspaces with room for heads of up to `keys` keys of `head_dim`.
  void reserve(int chunks, Eigen::Index keys, Eigen::Index head_dim) {
    if (static_cast<int>(workspaces_.size()) < chunks) workspaces_.resize(static_cast<std::size_t>(chunks));
    for (auto& workspace : workspaces_) workspace.reserve(keys, head_dim);
  }
  AttentionWorkspace<Scalar>& chunk(int index) { return workspaces_[static_cast<std::size_t>(index)]; }

 private:
  std::vector<AttentionWorkspace<Scalar>> workspaces_;
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
  scratch.reserve(chunks, longest, shape.head_dim);
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
  scratch.reserve(chunks, longest, shape.head_dim);
  const Eigen::Index width = shape.qkv_width();
  parallel_dealt(sequences * shape.kv_heads, chunks, [&](int chunk, std::int64_t item) {
    const std::int64_t s = item / shape.kv_heads, g = item % shape.kv_heads;
    const Eigen::Index first = offsets[s], length = offsets[s + 1] - offsets[s];
    if (length == 0) return;
    const Scalar* rows = qkv + first * width;
    Scalar* d_rows = d_qkv + first * width;
    Scalar* dk = d_rows + shape.q_width() + g * shape.head_dim;
    Scalar* dv = d_rows + shape.q_width() + shape.kv_width() + g * shape.head_dim;
    detail::clear_rows(dk, length, shape.head_dim, width);
    detail::clear_rows(dv, length, shape.head_dim, width);
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
