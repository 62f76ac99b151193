// Causal GQA attention (forward, backward) and decode attention over a KV cache,
// against a double-precision reference, on packed sequences whose lengths sit on
// and around the scalar kernels' 16-query and 32-key tile edges and the tensor-core
// kernels' 64-row tiles, with a head dim that is not a multiple of 32, and head dims
// 64 and 128 (the tensor-core kernels' for bf16) at GQA groups of 1 and 7.
//
// Error budget (u = 2^-24; fp32 arithmetic inside the kernels, inputs exact in storage):
//  - a score s_ij = (scale q_i) . k_j: D products and sums, +1 for the scale product:
//    |ds_ij| <= (D + 1) u scale sum_d |q_id k_jd|  (E_i: its max over j)
//  - p_ij = exp(s_ij - m_i): both scores' errors, expf's 2 ulp (4u, CUDA guide), the
//    subtraction, and per 32-key tile one rescale by expf(m - m') (6u each):
//    e_p = 2 E_i + (5 + 6 tiles) u relative
//  - O_i = sum_j p_ij v_j / l_i: sums of n_i terms: (n_i + 4) u on top of 2 e_p, relative
//    to sum_j P_ij |v_j|;  lse_i = m_i + log l_i: E_i + e_p + n_i u + u |lse_i|
//  - then the rounding into storage (u16 = 2^-8 for bf16).
//
// bf16 storage with head dim 64 or 128 runs on tensor cores (kernels/attention_mma.cu),
// which changes three things in the budget above:
//  - the sums inside mma.sync (Q K^T, dO V^T, P V, P^T dO, dS^T Q, dS K) are fp32 whose
//    rounding mode NVIDIA does not document; products of bf16 are exact in fp32, and
//    measurements (Fasi, Higham, Mikaitis, Pranesh 2021, "Numerical behavior of NVIDIA
//    tensor cores", PeerJ CS 7:e330) show the terms aligned to the largest one and
//    truncated: each addition errs by < 2^-23 = 2u of the largest term, which is at
//    most the sum of magnitudes these bounds scale with, so those sums are budgeted
//    with u_acc = 2u per term instead of u;
//  - P is rounded to bf16 before P V (forward) and P^T dO (backward): relative u16 per
//    weight, so |dO| gains u16 sum_j P_ij |v_j| (the normaliser l sums the fp32 weights);
//  - dS is rounded to bf16 before dS^T Q and dS K: relative u16 per dS_ij term of dK, dQ.
// The exp, rescale and dS arithmetic stays in fp32 registers (u), as in the scalar kernels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/ops/attention.hpp"
#include "r1/cuda/ops/decode_attention.hpp"
#include "r1/model/ops/attention.hpp"

using r1::test::u32;

namespace {

struct Config {
  std::vector<std::int64_t> lengths;
  int heads, kv_heads, head_dim;
  bool allow_tensor_cores = true;  // AttentionShape::tensor_cores
};

template <class T>
void check_attention(const Config& config) {
  const double us = r1::test::storage_roundoff<T>;
  const int H = config.heads, K = config.kv_heads, D = config.head_dim, group = H / K;
  // The dispatch rule of attention_forward/backward (dense, aligned arena buffers here).
  const bool tensor_cores = config.allow_tensor_cores && std::is_same_v<T, r1::gpu::bf16> && (D == 64 || D == 128);
  const double u_acc = tensor_cores ? 2 * u32 : u32;          // a sum inside the product kernels
  const double u_operand = tensor_cores ? r1::test::u16 : 0;  // P and dS rounded to bf16 as mma operands
  const int key_tile = tensor_cores ? 64 : 32;
  std::vector<std::int64_t> offsets{0};
  for (auto length : config.lengths) offsets.push_back(offsets.back() + length);
  const int N = static_cast<int>(offsets.back());
  const int max_length = static_cast<int>(*std::max_element(config.lengths.begin(), config.lengths.end()));
  const double scale = 1.0 / std::sqrt(double(D));
  const auto q = r1::test::random_values<T>(std::size_t(N) * H * D, 91);
  const auto k = r1::test::random_values<T>(std::size_t(N) * K * D, 92);
  const auto v = r1::test::random_values<T>(std::size_t(N) * K * D, 93);
  const auto d_out = r1::test::random_values<T>(std::size_t(N) * H * D, 94);
  r1::gpu::AttentionShape shape{N, static_cast<int>(config.lengths.size()), max_length, H, K, D,
                                static_cast<float>(scale)};
  shape.tensor_cores = config.allow_tensor_cores;
  r1::gpu::DeviceArena arena(std::size_t{64} << 20);
  auto d_q = r1::test::upload<T>(arena, q, "q");
  auto d_k = r1::test::upload<T>(arena, k, "k");
  auto d_v = r1::test::upload<T>(arena, v, "v");
  auto d_do = r1::test::upload<T>(arena, d_out, "d_out");
  auto d_offsets = r1::test::upload_exact(arena, offsets, "offsets");
  auto out = arena.allocate<T>(q.size(), "out");
  auto lse = arena.allocate<float>(std::size_t(N) * H, "lse");
  auto workspace = arena.allocate<float>(r1::gpu::attention_backward_workspace_floats(shape), "workspace");
  auto dq = arena.allocate<T>(q.size(), "dq");
  auto dk = arena.allocate<T>(k.size(), "dk");
  auto dv = arena.allocate<T>(v.size(), "dv");
  r1::gpu::attention_forward<T>(d_q.data, d_k.data, d_v.data, d_offsets.data, shape, out.data, lse.data, nullptr);
  r1::gpu::attention_backward<T>(d_q.data, d_k.data, d_v.data, out.data, d_do.data, lse.data, d_offsets.data, shape,
                                 workspace.data, dq.data, dk.data, dv.data, nullptr);
  const auto got_out = r1::test::download(out), got_lse = r1::test::download(lse);
  const auto got_dq = r1::test::download(dq), got_dk = r1::test::download(dk), got_dv = r1::test::download(dv);

  std::vector<double> ref_out(q.size(), 0.0), bound_out(q.size(), 1e-30), ref_lse(std::size_t(N) * H),
      bound_lse(ref_lse.size());
  std::vector<double> ref_dq(q.size(), 0.0), bound_dq(q.size(), 1e-30), ref_dk(k.size(), 0.0),
      bound_dk(k.size(), 1e-30), ref_dv(v.size(), 0.0), bound_dv(v.size(), 1e-30);
  auto qi = [&](std::int64_t n, int h, int d) { return q[(std::size_t(n) * H + h) * D + d]; };
  auto kj = [&](std::int64_t n, int g, int d) { return k[(std::size_t(n) * K + g) * D + d]; };
  auto vj = [&](std::int64_t n, int g, int d) { return v[(std::size_t(n) * K + g) * D + d]; };
  auto doi = [&](std::int64_t n, int h, int d) { return d_out[(std::size_t(n) * H + h) * D + d]; };
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::int64_t start = offsets[s];
    const int length = static_cast<int>(offsets[s + 1] - start);
    for (int h = 0; h < H; ++h) {
      const int g = h / group;
      for (int i = 0; i < length; ++i) {
        const std::int64_t ni = start + i;
        std::vector<double> score(i + 1), score_err(i + 1), p(i + 1);
        double m = -INFINITY, E = 0;
        for (int j = 0; j <= i; ++j) {
          double dot = 0, mag = 0;
          for (int d = 0; d < D; ++d) dot += qi(ni, h, d) * kj(start + j, g, d), mag += std::abs(qi(ni, h, d) * kj(start + j, g, d));
          score[j] = dot * scale;
          score_err[j] = (D + 1) * u_acc * scale * mag;
          m = std::max(m, score[j]);
          E = std::max(E, score_err[j]);
        }
        double l = 0;
        for (int j = 0; j <= i; ++j) l += (p[j] = std::exp(score[j] - m));
        for (auto& pj : p) pj /= l;
        const double row_lse = m + std::log(l);
        const int tiles = i / key_tile + 1;
        const double e_p = 2 * E + (5 + 6 * tiles) * u32;
        const std::size_t row = std::size_t(ni) * H + h;
        ref_lse[row] = row_lse;
        bound_lse[row] = E + e_p + (i + 1) * u32 + u32 * std::abs(row_lse) + 1e-30;
        std::vector<double> o(D, 0.0), o_err(D, 0.0);
        for (int d = 0; d < D; ++d) {
          double mag = 0;
          for (int j = 0; j <= i; ++j) o[d] += p[j] * vj(start + j, g, d), mag += p[j] * std::abs(vj(start + j, g, d));
          o_err[d] = mag * (2 * e_p + u_operand + (i + 5) * u_acc) + us * std::abs(o[d]) * 1.01;
          ref_out[row * D + d] = o[d];
          bound_out[row * D + d] = o_err[d] + 1e-30;
        }
        // Backward, FlashAttention-2 algorithm 2, with P recomputed from the GPU's lse:
        // P's relative error adds the lse error. Delta_i = dO_i . O_i uses the GPU's O.
        double delta = 0, delta_err = 0;
        for (int d = 0; d < D; ++d) {
          delta += doi(ni, h, d) * o[d];
          delta_err += std::abs(doi(ni, h, d)) * (o_err[d] + D * u32 * std::abs(o[d]));
        }
        for (int j = 0; j <= i; ++j) {
          double dp = 0, dp_mag = 0;
          for (int d = 0; d < D; ++d) dp += doi(ni, h, d) * vj(start + j, g, d), dp_mag += std::abs(doi(ni, h, d) * vj(start + j, g, d));
          const double e_pij = score_err[j] + bound_lse[row] + 5 * u32;
          const double ds = p[j] * (dp - delta);
          const double ds_err = p[j] * (std::abs(dp - delta) * (e_pij + 2 * u32) + D * u_acc * dp_mag + delta_err);
          // Sums over queries (dK, dV: up to group * length terms) and keys (dQ: up to length terms).
          const double n_sum = double(group) * length + 4;
          for (int d = 0; d < D; ++d) {
            const std::size_t kv_index = (std::size_t(start + j) * K + g) * D + d;
            ref_dv[kv_index] += p[j] * doi(ni, h, d);
            bound_dv[kv_index] += p[j] * std::abs(doi(ni, h, d)) * (e_pij + u_operand + n_sum * u_acc);
            ref_dk[kv_index] += scale * ds * qi(ni, h, d);
            bound_dk[kv_index] +=
                scale * std::abs(qi(ni, h, d)) * (ds_err + std::abs(ds) * (u_operand + n_sum * u_acc));
            ref_dq[row * D + d] += scale * ds * kj(start + j, g, d);
            bound_dq[row * D + d] +=
                scale * std::abs(kj(start + j, g, d)) * (ds_err + std::abs(ds) * (u_operand + (length + 4) * u_acc));
          }
        }
      }
    }
  }
  for (std::size_t i = 0; i < ref_dq.size(); ++i) bound_dq[i] += us * std::abs(ref_dq[i]) * 1.01;
  for (std::size_t i = 0; i < ref_dk.size(); ++i) {
    bound_dk[i] += us * std::abs(ref_dk[i]) * 1.01;
    bound_dv[i] += us * std::abs(ref_dv[i]) * 1.01;
  }
  r1::test::check_within(got_out, ref_out, bound_out, "attention out");
  r1::test::check_within(got_lse, ref_lse, bound_lse, "attention lse");
  r1::test::check_within(got_dv, ref_dv, bound_dv, "attention dv");
  r1::test::check_within(got_dk, ref_dk, bound_dk, "attention dk");
  r1::test::check_within(got_dq, ref_dq, bound_dq, "attention dq");
}

}  // namespace

TEST_CASE_TEMPLATE("causal GQA attention matches the double reference on tile-edge lengths", T, float, r1::gpu::bf16) {
  SUBCASE("6 query heads over 2 kv heads, head dim 40") { check_attention<T>({{1, 17, 33, 70, 16, 32}, 6, 2, 40}); }
  SUBCASE("4 heads, no grouping, head dim 128") { check_attention<T>({{45, 3}, 4, 4, 128}); }
}

// The head dims the tensor-core kernels take (bf16: kernels/attention_mma.cu; fp32: the
// scalar kernels), at Qwen2.5-0.5B's grouping (14 query heads over 2 kv heads: groups of
// 7) and without grouping, on packed sequences of >= 512 tokens next to length 1 and
// lengths on and off the 64-row tiles.
TEST_CASE_TEMPLATE("causal GQA attention at head dims 64 and 128, groups of 1 and 7, long packed sequences", T, float,
                   r1::gpu::bf16) {
  SUBCASE("14 heads over 2 kv heads, head dim 64") { check_attention<T>({{1, 513, 64, 130, 63}, 14, 2, 64}); }
  SUBCASE("14 heads over 2 kv heads, head dim 128") { check_attention<T>({{600, 1, 65, 127}, 14, 2, 128}); }
  SUBCASE("4 heads, no grouping, head dim 64") { check_attention<T>({{129, 1, 520, 191}, 4, 4, 64}); }
  SUBCASE("4 heads, no grouping, head dim 128") { check_attention<T>({{2, 512, 1, 200}, 4, 4, 128}); }
  SUBCASE("the scalar kernels on request (tensor_cores = false), 14 heads over 2, head dim 64") {
    check_attention<T>({{1, 100, 33}, 14, 2, 64, false});
  }
}

TEST_CASE("attention refuses shapes it does not support") {
  r1::gpu::AttentionShape shape{4, 1, 4, 6, 4, 64, 0.125f};  // 6 heads are not a multiple of 4 kv heads
  CHECK_THROWS_AS(r1::gpu::attention_forward<float>(nullptr, nullptr, nullptr, nullptr, shape, nullptr, nullptr, nullptr),
                  r1::Error);
  shape = {4, 1, 4, 4, 4, 160, 0.125f};  // head dim over 128
  CHECK_THROWS_AS(r1::gpu::attention_forward<float>(nullptr, nullptr, nullptr, nullptr, shape, nullptr, nullptr, nullptr),
                  r1::Error);
}

TEST_CASE_TEMPLATE("decode attention over a KV cache matches the double reference", T, float, r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  const r1::gpu::KvCacheShape cache{3, 100, 2, 72};
  const int H = 6, D = cache.head_dim, K = cache.kv_heads, rows = 4;
  const std::vector<std::int32_t> slots{2, 0, 2, 1}, lengths{1, 100, 37, 129};  // 129 > max: row 3 untouched
  const std::size_t cache_size = std::size_t(cache.slots) * cache.max_positions * K * D;
  const auto ck = r1::test::random_values<T>(cache_size, 101), cv = r1::test::random_values<T>(cache_size, 102);
  const auto q = r1::test::random_values<T>(std::size_t(rows) * H * D, 103);
  const auto k_new = r1::test::random_values<T>(std::size_t(rows) * K * D, 104);
  const auto v_new = r1::test::random_values<T>(std::size_t(rows) * K * D, 105);
  const std::vector<std::int32_t> write_positions{0, 99, 36, 100};  // the last is outside: ignored
  r1::gpu::DeviceArena arena(std::size_t{16} << 20);
  auto d_ck = r1::test::upload<T>(arena, ck, "cache k"), d_cv = r1::test::upload<T>(arena, cv, "cache v");
  auto d_q = r1::test::upload<T>(arena, q, "q");
  auto d_kn = r1::test::upload<T>(arena, k_new, "k new"), d_vn = r1::test::upload<T>(arena, v_new, "v new");
  auto d_slots = r1::test::upload_exact(arena, slots, "slots");
  auto d_lengths = r1::test::upload_exact(arena, lengths, "lengths");
  auto d_positions = r1::test::upload_exact(arena, write_positions, "positions");
  auto out = r1::test::upload<T>(arena, std::vector<double>(q.size(), 7.0), "out");
  const double scale = 1.0 / std::sqrt(double(D));
  r1::gpu::kv_cache_write<T>(d_kn.data, d_vn.data, d_slots.data, d_positions.data, rows, cache, d_ck.data, d_cv.data,
                             nullptr);
  r1::gpu::decode_attention<T>(d_q.data, d_ck.data, d_cv.data, d_slots.data, d_lengths.data, rows, H, cache,
                               static_cast<float>(scale), out.data, nullptr);
  // The cache write is a copy: exact.
  auto expected_k = ck, expected_v = cv;
  for (int r = 0; r < rows; ++r) {
    if (write_positions[r] >= cache.max_positions) continue;
    for (int e = 0; e < K * D; ++e) {
      const std::size_t at = (std::size_t(slots[r]) * cache.max_positions + write_positions[r]) * K * D + e;
      expected_k[at] = k_new[std::size_t(r) * K * D + e];
      expected_v[at] = v_new[std::size_t(r) * K * D + e];
    }
  }
  CHECK(r1::test::download(d_ck) == expected_k);
  CHECK(r1::test::download(d_cv) == expected_v);
  std::vector<double> ref(q.size(), 7.0), bound(q.size(), 1e-30);
  for (int r = 0; r < rows; ++r) {
    if (lengths[r] > cache.max_positions) continue;  // left untouched
    for (int h = 0; h < H; ++h) {
      const int g = h / (H / K);
      auto key = [&](int j, int d) { return expected_k[((std::size_t(slots[r]) * cache.max_positions + j) * K + g) * D + d]; };
      auto value = [&](int j, int d) { return expected_v[((std::size_t(slots[r]) * cache.max_positions + j) * K + g) * D + d]; };
      std::vector<double> score(lengths[r]);
      double m = -INFINITY, E = 0;
      for (int j = 0; j < lengths[r]; ++j) {
        double dot = 0, mag = 0;
        for (int d = 0; d < D; ++d) {
          const double qd = q[(std::size_t(r) * H + h) * D + d];
          dot += qd * key(j, d), mag += std::abs(qd * key(j, d));
        }
        score[j] = dot * scale;
        E = std::max(E, (D + 1) * u32 * scale * mag);
        m = std::max(m, score[j]);
      }
      double l = 0;
      for (auto& s : score) l += (s = std::exp(s - m));
      // As the forward, plus the 4-way merge: one more expf rescale and sum (6u + 4u).
      const double e_p = 2 * E + (5 + 6 * (lengths[r] / 32 + 1) + 10) * u32;
      for (int d = 0; d < D; ++d) {
        double o = 0, mag = 0;
        for (int j = 0; j < lengths[r]; ++j) o += score[j] / l * value(j, d), mag += score[j] / l * std::abs(value(j, d));
        const std::size_t at = (std::size_t(r) * H + h) * D + d;
        ref[at] = o;
        bound[at] = mag * (2 * e_p + (lengths[r] + 5) * u32) + us * std::abs(o) * 1.01 + 1e-30;
      }
    }
  }
  r1::test::check_within(r1::test::download(out), ref, bound, "decode attention out");
}

// The CPU model stores q, k, v packed in one row per token, [q (H*D) | k (K*D) | v (K*D)],
// and takes d_qkv in the same layout (r1/model/ops/attention.hpp). With row strides the
// kernels read and write that layout directly; addressing is all that changes, so the
// results must equal the dense-layout results bit for bit, and the forward must agree
// with the CPU twin run in double.
TEST_CASE("attention on the CPU model's packed qkv rows equals the dense layout and the CPU twin") {
  const int H = 4, K = 2, D = 40, width = (H + 2 * K) * D;
  const std::vector<std::int64_t> offsets{0, 19, 19 + 40};
  const int N = static_cast<int>(offsets.back());
  const auto qkv = r1::test::random_values<float>(std::size_t(N) * width, 131);
  const auto d_out = r1::test::random_values<float>(std::size_t(N) * H * D, 132);
  std::vector<double> q(std::size_t(N) * H * D), k(std::size_t(N) * K * D), v(k.size());
  for (int n = 0; n < N; ++n) {
    for (int e = 0; e < H * D; ++e) q[std::size_t(n) * H * D + e] = qkv[std::size_t(n) * width + e];
    for (int e = 0; e < K * D; ++e) {
      k[std::size_t(n) * K * D + e] = qkv[std::size_t(n) * width + H * D + e];
      v[std::size_t(n) * K * D + e] = qkv[std::size_t(n) * width + (H + K) * D + e];
    }
  }
  const float scale = 1.0f / std::sqrt(float(D));
  r1::gpu::AttentionShape dense{N, 2, 40, H, K, D, scale};
  r1::gpu::AttentionShape packed = dense;
  packed.q_row_stride = packed.kv_row_stride = width;
  r1::gpu::DeviceArena arena(std::size_t{16} << 20);
  auto d_qkv = r1::test::upload<float>(arena, qkv, "qkv");
  auto d_q = r1::test::upload<float>(arena, q, "q"), d_k = r1::test::upload<float>(arena, k, "k"),
       d_v = r1::test::upload<float>(arena, v, "v");
  auto d_do = r1::test::upload<float>(arena, d_out, "d_out");
  auto d_offsets = r1::test::upload_exact(arena, offsets, "offsets");
  auto out_dense = arena.allocate<float>(q.size(), "out dense"), out_packed = arena.allocate<float>(q.size(), "out");
  auto lse_dense = arena.allocate<float>(std::size_t(N) * H, "lse dense");
  auto lse_packed = arena.allocate<float>(std::size_t(N) * H, "lse");
  auto workspace = arena.allocate<float>(r1::gpu::attention_backward_workspace_floats(dense), "workspace");
  auto dq = arena.allocate<float>(q.size(), "dq"), dk = arena.allocate<float>(k.size(), "dk"),
       dv = arena.allocate<float>(v.size(), "dv");
  auto d_qkv_grad = arena.allocate<float>(qkv.size(), "d_qkv");
  r1::gpu::attention_forward<float>(d_q.data, d_k.data, d_v.data, d_offsets.data, dense, out_dense.data,
                                    lse_dense.data, nullptr);
  r1::gpu::attention_forward<float>(d_qkv.data, d_qkv.data + H * D, d_qkv.data + (H + K) * D, d_offsets.data, packed,
                                    out_packed.data, lse_packed.data, nullptr);
  r1::gpu::attention_backward<float>(d_q.data, d_k.data, d_v.data, out_dense.data, d_do.data, lse_dense.data,
                                     d_offsets.data, dense, workspace.data, dq.data, dk.data, dv.data, nullptr);
  r1::gpu::fill_zero(d_qkv_grad, nullptr, "d_qkv");
  r1::gpu::attention_backward<float>(d_qkv.data, d_qkv.data + H * D, d_qkv.data + (H + K) * D, out_packed.data,
                                     d_do.data, lse_packed.data, d_offsets.data, packed, workspace.data,
                                     d_qkv_grad.data, d_qkv_grad.data + H * D, d_qkv_grad.data + (H + K) * D, nullptr);
  const auto got_out = r1::test::download(out_packed);
  CHECK(got_out == r1::test::download(out_dense));
  CHECK(r1::test::download(lse_packed) == r1::test::download(lse_dense));
  const auto grad = r1::test::download(d_qkv_grad);
  const auto got_dq = r1::test::download(dq), got_dk = r1::test::download(dk), got_dv = r1::test::download(dv);
  int mismatches = 0;
  for (int n = 0; n < N; ++n) {
    for (int e = 0; e < H * D; ++e) mismatches += grad[std::size_t(n) * width + e] != got_dq[std::size_t(n) * H * D + e];
    for (int e = 0; e < K * D; ++e) {
      mismatches += grad[std::size_t(n) * width + H * D + e] != got_dk[std::size_t(n) * K * D + e];
      mismatches += grad[std::size_t(n) * width + (H + K) * D + e] != got_dv[std::size_t(n) * K * D + e];
    }
  }
  CHECK(mismatches == 0);

  // The CPU twin in double. Per element, |O_gpu - O| <= sum_j P_j |v_j| (2 e_p + (n + 4) u)
  // (the forward budget at the top of this file), and sum_j P_j |v_j| <= max |v|; the score
  // error E <= (D + 1) u scale D max|q| max|k|; at most 2 key tiles of 32 here.
  std::vector<double> twin_out(q.size()), twin_lse(std::size_t(N) * H);
  r1::AttentionScratch<double> scratch;
  r1::attention_forward_packed(qkv.data(), std::span<const std::int64_t>(offsets),
                               r1::AttentionHeads{H, K, D}, twin_out.data(), twin_lse.data(), scratch);
  double max_q = 0, max_k = 0, max_v = 0;
  for (double x : q) max_q = std::max(max_q, std::abs(x));
  for (double x : k) max_k = std::max(max_k, std::abs(x));
  for (double x : v) max_v = std::max(max_v, std::abs(x));
  const double E = (D + 1) * u32 * double(scale) * D * max_q * max_k;
  const double e_p = 2 * E + (5 + 6 * 2) * u32;
  std::vector<double> bound(q.size(), max_v * (2 * e_p + (40 + 4) * u32));
  r1::test::check_within(got_out, twin_out, bound, "attention vs CPU twin");
}

// The tensor-core kernels on the packed [q | k | v] rows the transformer passes
// (row strides (H + 2K) D): the same arithmetic as the dense layout, so out, lse, dk
// and dv (no atomics) are equal bit for bit. dq is summed with fp32 atomics in an
// order that may differ between runs; two orders of the same fp32 sum differ by far
// less than a bf16 spacing, so after rounding to bf16 they are equal or adjacent:
// |a - b| <= 2^-7 max(|a|, |b|) (u16 = 2^-8 is half the spacing).
TEST_CASE("tensor-core attention on packed qkv rows equals the dense layout") {
  using r1::gpu::bf16;
  const int H = 14, K = 2, D = 64, width = (H + 2 * K) * D;
  const std::vector<std::int64_t> offsets{0, 70, 71, 71 + 200};
  const int N = static_cast<int>(offsets.back());
  const auto qkv = r1::test::random_values<bf16>(std::size_t(N) * width, 141);
  const auto d_out = r1::test::random_values<bf16>(std::size_t(N) * H * D, 142);
  std::vector<double> q(std::size_t(N) * H * D), k(std::size_t(N) * K * D), v(k.size());
  for (int n = 0; n < N; ++n) {
    for (int e = 0; e < H * D; ++e) q[std::size_t(n) * H * D + e] = qkv[std::size_t(n) * width + e];
    for (int e = 0; e < K * D; ++e) {
      k[std::size_t(n) * K * D + e] = qkv[std::size_t(n) * width + H * D + e];
      v[std::size_t(n) * K * D + e] = qkv[std::size_t(n) * width + (H + K) * D + e];
    }
  }
  r1::gpu::AttentionShape dense{N, 3, 200, H, K, D, 0.125f};
  r1::gpu::AttentionShape packed = dense;
  packed.q_row_stride = packed.kv_row_stride = width;
  r1::gpu::DeviceArena arena(std::size_t{16} << 20);
  auto d_qkv = r1::test::upload<bf16>(arena, qkv, "qkv");
  auto d_q = r1::test::upload<bf16>(arena, q, "q"), d_k = r1::test::upload<bf16>(arena, k, "k"),
       d_v = r1::test::upload<bf16>(arena, v, "v");
  auto d_do = r1::test::upload<bf16>(arena, d_out, "d_out");
  auto d_offsets = r1::test::upload_exact(arena, offsets, "offsets");
  auto out_dense = arena.allocate<bf16>(q.size(), "out dense"), out_packed = arena.allocate<bf16>(q.size(), "out");
  auto lse_dense = arena.allocate<float>(std::size_t(N) * H, "lse dense");
  auto lse_packed = arena.allocate<float>(std::size_t(N) * H, "lse");
  auto workspace = arena.allocate<float>(r1::gpu::attention_backward_workspace_floats(dense), "workspace");
  auto dq = arena.allocate<bf16>(q.size(), "dq"), dk = arena.allocate<bf16>(k.size(), "dk"),
       dv = arena.allocate<bf16>(v.size(), "dv");
  auto d_qkv_grad = arena.allocate<bf16>(qkv.size(), "d_qkv");
  r1::gpu::attention_forward<bf16>(d_q.data, d_k.data, d_v.data, d_offsets.data, dense, out_dense.data,
                                   lse_dense.data, nullptr);
  r1::gpu::attention_forward<bf16>(d_qkv.data, d_qkv.data + H * D, d_qkv.data + (H + K) * D, d_offsets.data, packed,
                                   out_packed.data, lse_packed.data, nullptr);
  r1::gpu::attention_backward<bf16>(d_q.data, d_k.data, d_v.data, out_dense.data, d_do.data, lse_dense.data,
                                    d_offsets.data, dense, workspace.data, dq.data, dk.data, dv.data, nullptr);
  r1::gpu::fill_zero(d_qkv_grad, nullptr, "d_qkv");
  r1::gpu::attention_backward<bf16>(d_qkv.data, d_qkv.data + H * D, d_qkv.data + (H + K) * D, out_packed.data,
                                    d_do.data, lse_packed.data, d_offsets.data, packed, workspace.data,
                                    d_qkv_grad.data, d_qkv_grad.data + H * D, d_qkv_grad.data + (H + K) * D, nullptr);
  CHECK(r1::test::download(out_packed) == r1::test::download(out_dense));
  CHECK(r1::test::download(lse_packed) == r1::test::download(lse_dense));
  const auto grad = r1::test::download(d_qkv_grad);
  const auto got_dq = r1::test::download(dq), got_dk = r1::test::download(dk), got_dv = r1::test::download(dv);
  int mismatches = 0, dq_apart = 0;
  for (int n = 0; n < N; ++n) {
    for (int e = 0; e < H * D; ++e) {
      const double a = grad[std::size_t(n) * width + e], b = got_dq[std::size_t(n) * H * D + e];
      dq_apart += std::abs(a - b) > 0x1p-7 * std::max(std::abs(a), std::abs(b));
    }
    for (int e = 0; e < K * D; ++e) {
      mismatches += grad[std::size_t(n) * width + H * D + e] != got_dk[std::size_t(n) * K * D + e];
      mismatches += grad[std::size_t(n) * width + (H + K) * D + e] != got_dv[std::size_t(n) * K * D + e];
    }
  }
  CHECK(mismatches == 0);
  CHECK(dq_apart == 0);
}
