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
// packed once for all its blocks; a block's score rows are padded to whole cache lines, the masked keys set to
// -inf, so the softmax runs on whole vectors. The products run on r1's register tiles (register_tile_gemm.hpp:
// the left operand, P^T and dS^T included, read in place) or Eigen's kernel (packed_gemm.hpp), as gemm.hpp says.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/gemm/packed_gemm.hpp"
#include "r1/model/gemm/register_tile_gemm.hpp"
#include "r1/model/matrix_views.hpp"
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
// 48 was the fastest of 32-128 on the reference model; BM_Attention in bench_model_train_step times its
// attention, forward and backward.
inline constexpr Eigen::Index kAttentionQueryBlock = 48;
// Below this many queries (a decode step) the forward runs attention_head_forward_few_queries, one pass over
// the keys and one over the values per query, instead of packing the head's keys and values for a handful of rows.
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

  // Room for heads of up to `keys` keys (and queries) of `head_dim`. Packed operands take up to a whole cache
  // line more per row and column than the matrix (register_tile_gemm.hpp pads its panels' columns).
  void reserve(Eigen::Index keys, Eigen::Index head_dim) {
    const Eigen::Index ld = detail::round_up_to_line<Scalar>(keys), block = detail::kAttentionQueryBlock;
    const Eigen::Index line_dim = detail::round_up_to_line<Scalar>(head_dim);
    for (auto* buffer : {&scores, &d_scores, &scores_as_a}) grow_to(*buffer, block * ld);
    for (auto* buffer : {&keys_as_b, &values_as_b, &values_t_as_b, &keys_k_as_b}) grow_to(*buffer, ld * line_dim);
    for (auto* buffer : {&block_as_a, &block_as_b}) grow_to(*buffer, block * line_dim);
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

// A head's products, C (rows, cols) = [C +] A (rows, depth) B (depth, cols), with B packed once by `pack` and
// used at a smaller depth or a prefix of its columns, and A(r, k) = a[r * a_row_stride + k * a_depth_stride]
// (one stride is 1). Float with AVX-512: r1's register tiles, A read in place and C written from zeros or
// itself. Otherwise Eigen's kernel: A packed into `a_room`, C cleared first, and only whole panels of B's
// columns usable (`scored_columns`).
template <class Scalar>
struct HeadProducts {
  using Index = Eigen::Index;
  static constexpr bool kTiles = kUsesRegisterTiles<Scalar>;
  struct Packed {
    const Scalar* data;
    Index depth, cols;
  };
  // Packs B (depth, cols) from b at row stride `stride`: B itself (as_is) or B^T (transposed).
  template <Stored stored>
  static Packed pack(Scalar* packed, const Scalar* b, Index stride, Index depth, Index cols) {
    if constexpr (kTiles) register_tile::pack_b(packed, b, stride, depth, cols, stored == Stored::transposed);
    else PackedGemm<Scalar>::template pack_b<stored>(packed, b, stride, depth, cols);
    return {packed, depth, cols};
  }
  static void product(const Scalar* a, Index a_row_stride, Index a_depth_stride, const Packed& b, Index rows,
                      Index depth, Index cols, Scalar* c, Index ldc, bool accumulate, Scalar* a_room) {
    if constexpr (kTiles) {
      register_tile::multiply(a, a_row_stride, a_depth_stride, register_tile::PackedB{b.data, b.depth, b.cols}, depth,
                              cols, rows, accumulate ? c : nullptr, ldc, c, ldc);
    } else {
      if (!accumulate) clear_rows(c, rows, cols, ldc);
      if (a_depth_stride == 1) PackedGemm<Scalar>::template pack_a<Stored::as_is>(a_room, a, a_row_stride, rows, depth);
      else PackedGemm<Scalar>::template pack_a<Stored::transposed>(a_room, a, a_depth_stride, rows, depth);
      PackedGemm<Scalar>::multiply_add(c, ldc, a_room, b.data, rows, depth, cols, depth, b.depth);
    }
  }
  // Columns of a packed K^T (S keys) to score when the first `seen` keys are visible.
  static Index scored_columns(Index seen, Index keys) {
    if constexpr (kTiles) return seen;
    else return PackedGemm<Scalar>::usable_columns(seen, keys);
  }
};

// The forward for few queries (a decode step): one query row at a time, a pass over its visible keys for the
// scores and one over their values for the output, both in SIMD packets along the head dimension and with no
// temporary but the row's scores (`scores`, at least `keys` long). Four keys share each load of the query;
// the values are summed into two sets of register accumulators (even and odd keys) that are added at the end.
// The output is O = (sum_j exp(s_j - m) v_j) / sum_j exp(s_j - m): E divisions instead of the S of P / sum,
// still one rounding per output, so the bound of test_attention.cpp (derived from the formulas above) holds.
template <class Scalar>
void attention_head_forward_few_queries(const AttentionHeadInputs<Scalar>& in, Scalar* out, Eigen::Index out_stride,
                                        Scalar* lse, Eigen::Index lse_stride, Scalar* scores) {
  using Index = Eigen::Index;
  using Packet = SimdPacket<Scalar>;
  using Eigen::internal::pmadd;
  using Eigen::internal::ploadu;
  using Eigen::internal::predux;
  using Eigen::internal::pset1;
  constexpr Index lanes = Eigen::internal::packet_traits<Scalar>::size;
  constexpr Index kKeysAtOnce = 4, kOutputPackets = 4;
  const Index E = in.head_dim, stride = in.kv_stride, whole = E / lanes * lanes;
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(E));
  const Index shift = in.keys - in.queries;
  const Packet zero = pset1<Packet>(Scalar(0));
  for (Index i = 0; i < in.queries; ++i) {
    const Scalar* q = in.q + i * in.q_stride;
    const Index visible = i + shift + 1;
    // scores[j] = scale * q . k_j
    Index j = 0;
    for (; j + kKeysAtOnce <= visible; j += kKeysAtOnce) {
      const Scalar* k = in.k + j * stride;
      Packet acc[kKeysAtOnce] = {zero, zero, zero, zero};
      for (Index e = 0; e < whole; e += lanes) {
        const Packet query = ploadu<Packet>(q + e);
        for (Index r = 0; r < kKeysAtOnce; ++r) acc[r] = pmadd(query, ploadu<Packet>(k + r * stride + e), acc[r]);
      }
      for (Index r = 0; r < kKeysAtOnce; ++r) {
        Scalar dot = predux(acc[r]);
        for (Index e = whole; e < E; ++e) dot += q[e] * k[r * stride + e];
        scores[j + r] = dot * scale;
      }
    }
    for (; j < visible; ++j) {
      const Scalar* k = in.k + j * stride;
      Packet acc = zero;
      for (Index e = 0; e < whole; e += lanes) acc = pmadd(ploadu<Packet>(q + e), ploadu<Packet>(k + e), acc);
      Scalar dot = predux(acc);
      for (Index e = whole; e < E; ++e) dot += q[e] * k[e];
      scores[j] = dot * scale;
    }
    auto row = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(scores, visible);
    const Scalar max_score = row.maxCoeff();
    row = (row - max_score).exp();
    const Scalar sum = row.sum();
    lse[i * lse_stride] = max_score + std::log(sum);
    // out = (sum_j scores[j] v_j) / sum, kOutputPackets packets of the row at a time, then the rest.
    Scalar* o = out + i * out_stride;
    Index e = 0;
    const auto weigh_values = [&]<Index packets>(std::integral_constant<Index, packets>) {
      Packet even[packets], odd[packets];
      for (Index c = 0; c < packets; ++c) even[c] = odd[c] = zero;
      Index key = 0;
      for (; key + 2 <= visible; key += 2) {
        const Scalar* v = in.v + key * stride + e;
        const Packet p0 = pset1<Packet>(scores[key]), p1 = pset1<Packet>(scores[key + 1]);
        for (Index c = 0; c < packets; ++c) {
          even[c] = pmadd(p0, ploadu<Packet>(v + c * lanes), even[c]);
          odd[c] = pmadd(p1, ploadu<Packet>(v + stride + c * lanes), odd[c]);
        }
      }
      if (key < visible) {
        const Packet p0 = pset1<Packet>(scores[key]);
        for (Index c = 0; c < packets; ++c) even[c] = pmadd(p0, ploadu<Packet>(in.v + key * stride + e + c * lanes), even[c]);
      }
      const Packet total = pset1<Packet>(sum);
      for (Index c = 0; c < packets; ++c)
        Eigen::internal::pstoreu(o + e + c * lanes, Eigen::internal::pdiv(Eigen::internal::padd(even[c], odd[c]), total));
      e += packets * lanes;
    };
    while (e + kOutputPackets * lanes <= whole) weigh_values(std::integral_constant<Index, kOutputPackets>{});
    while (e < whole) weigh_values(std::integral_constant<Index, 1>{});
    for (; e < E; ++e) {
      Scalar dot = 0;
      for (Index key = 0; key < visible; ++key) dot += scores[key] * in.v[key * stride + e];
      o[e] = dot / sum;
    }
  }
}
}  // namespace detail

// out (T, E) at out_stride, lse (T) at lse_stride.
template <class Scalar>
void attention_head_forward(const AttentionHeadInputs<Scalar>& in, Scalar* out, Eigen::Index out_stride, Scalar* lse,
                            Eigen::Index lse_stride, AttentionWorkspace<Scalar>& work) {
  using Products = detail::HeadProducts<Scalar>;
  using Index = Eigen::Index;
  work.reserve(in.keys, in.head_dim);
  if (in.queries < detail::kPackedAttentionMinQueries) {
    detail::attention_head_forward_few_queries(in, out, out_stride, lse, lse_stride, work.scores.data());
    return;
  }
  const Index T = in.queries, S = in.keys, E = in.head_dim, shift = S - T;
  const Index ld = detail::round_up_to_line<Scalar>(S);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(E));
  const auto keys_t = Products::template pack<Stored::transposed>(work.keys_as_b.data(), in.k, in.kv_stride, E, S);  // K^T (E, S)
  const auto values = Products::template pack<Stored::as_is>(work.values_as_b.data(), in.v, in.kv_stride, S, E);     // V (S, E)
  Scalar* P = work.scores.data();
  for (Index first = 0; first < T; first += detail::kAttentionQueryBlock) {
    const Index rows = std::min(detail::kAttentionQueryBlock, T - first);
    const Index seen = first + rows + shift;                      // keys visible to the block's last query
    const Index width = Products::scored_columns(seen, S);        // keys scored
    const Index padded = std::min(ld, detail::round_up_to_line<Scalar>(width));
    Products::product(in.q + first * in.q_stride, in.q_stride, 1, keys_t, rows, E, width, P, ld, false,
                      work.block_as_a.data());  // Q K^T
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
    Products::product(P, ld, 1, values, rows, width, E, out + first * out_stride, out_stride, false,
                      work.scores_as_a.data());  // P V
  }
}

// dq (T, E) = (set); dk, dv (S, E) += .
template <class Scalar>
void attention_head_backward(const AttentionHeadInputs<Scalar>& in, const Scalar* out, Eigen::Index out_stride,
                             const Scalar* lse, Eigen::Index lse_stride, const Scalar* d_out, Eigen::Index d_out_stride,
                             Scalar* dq, Eigen::Index dq_stride, Scalar* dk, Scalar* dv, Eigen::Index dkv_stride,
                             AttentionWorkspace<Scalar>& work) {
  using Products = detail::HeadProducts<Scalar>;
  using Index = Eigen::Index;
  work.reserve(in.keys, in.head_dim);
  const Index T = in.queries, S = in.keys, E = in.head_dim, shift = S - T;
  const Index ld = detail::round_up_to_line<Scalar>(S);
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(E));
  const auto keys_t = Products::template pack<Stored::transposed>(work.keys_as_b.data(), in.k, in.kv_stride, E, S);        // K^T
  const auto values_t = Products::template pack<Stored::transposed>(work.values_t_as_b.data(), in.v, in.kv_stride, E, S);  // V^T
  const auto keys = Products::template pack<Stored::as_is>(work.keys_k_as_b.data(), in.k, in.kv_stride, S, E);             // K
  Scalar* P = work.scores.data();
  Scalar* dS = work.d_scores.data();
  for (Index first = 0; first < T; first += detail::kAttentionQueryBlock) {
    const Index rows = std::min(detail::kAttentionQueryBlock, T - first);
    const Index seen = first + rows + shift;
    const Index width = Products::scored_columns(seen, S);
    const Index padded = std::min(ld, detail::round_up_to_line<Scalar>(width));
    const Scalar* q_block = in.q + first * in.q_stride;
    const Scalar* d_out_block = d_out + first * d_out_stride;
    Products::product(q_block, in.q_stride, 1, keys_t, rows, E, width, P, ld, false, work.block_as_a.data());  // Q K^T
    Products::product(d_out_block, d_out_stride, 1, values_t, rows, E, width, dS, ld, false,
                      work.block_as_a.data());  // dP = dO V^T
    for (Index i = 0; i < rows; ++i) {
      const Index visible = first + i + shift + 1;
      Scalar* p_data = P + i * ld;
      // Entries [width, padded) were not scored: cleared, every entry is finite, and the masked ones can be
      // cleared after the exp.
      detail::fill_segment(p_data, width, padded, detail::kClearedZero<Scalar>);
      detail::fill_segment(dS + i * ld, width, padded, detail::kClearedZero<Scalar>);
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
    Products::product(dS, ld, 1, keys, rows, width, E, dq + first * dq_stride, dq_stride, false,
                      work.scores_as_a.data());  // dQ = dS K
    // Keys [seen, width) were scored but masked for every query of the block: their rows of dK and dV get zeros.
    const auto d_out_rows = Products::template pack<Stored::as_is>(work.block_as_b.data(), d_out_block, d_out_stride, rows, E);
    Products::product(P, 1, ld, d_out_rows, width, rows, E, dv, dkv_stride, true, work.scores_as_a.data());  // dV += P^T dO
    const auto q_rows = Products::template pack<Stored::as_is>(work.block_as_b.data(), q_block, in.q_stride, rows, E);
    Products::product(dS, 1, ld, q_rows, width, rows, E, dk, dkv_stride, true, work.scores_as_a.data());  // dK += dS^T Q
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
