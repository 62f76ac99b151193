// attention.hpp against a direct double-precision evaluation of causal softmax attention and its gradient
// (the formulas at the top of attention.hpp, evaluated entry by entry), in float and double, over sequence
// lengths around multiples of the query block and of the kernel's panel width (both 48 with AVX-512 floats),
// grouped heads, head sizes that are not a multiple of a vector, and queries at the end of a longer key range
// (a prefill after cached tokens).
//
// Tolerance, per query row i of one head (u = epsilon / 2, gamma_n = n u / (1 - n u), Higham eq. 3.5):
//   score s_ij = scale q_i . k_j carries |ds| <= gamma_E a_i, a_i = max_j scale sum_e |q_ie k_je|;
//   p_ij = exp(s_ij - m_i) / sum: the max is one of the computed scores, so the exponent carries 2 gamma_E a_i
//   plus u |s_ij - m_i| for the subtraction, the exponential 4 u (Eigen's exp is within 2-3 ulp), the sum
//   gamma_S and the division u: relative error of P entries eps_i = 2 gamma_E a_i + u r_i + 6 u + gamma_S,
//   r_i = max_j |s_ij - m_i|;
//   O_ie = sum_j P_ij v_je: |dO_ie| <= (eps_i + gamma_S) sum_j P_ij |v_je|.
// The gradients chain three more reductions (dP over E, the row dot over E, dQ/dK/dV over S or T) onto
// quantities with relative errors <= eps: each entry's error is bounded by 4 (max_i eps_i + gamma_{S+E}) times
// the same sum evaluated on absolute values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/ops/attention.hpp"

namespace {

template <class Scalar>
double gamma(std::int64_t terms) {
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  return static_cast<double>(terms) * u / (1.0 - static_cast<double>(terms) * u);
}

struct Reference {
  std::vector<double> out, out_bound, d_qkv, d_qkv_magnitude;
  double gradient_relative = 0;  // 4 (max eps + gamma_{S+E})
};

// qkv rows [q (H*E) | k (K*E) | v (K*E)] of packed sequences; d_out (N, H*E).
template <class Scalar>
Reference reference(const std::vector<Scalar>& qkv, const std::vector<Scalar>& d_out, const std::vector<std::int64_t>& offsets,
                    const r1::AttentionHeads& shape) {
  const std::int64_t E = shape.head_dim, width = shape.qkv_width(), A = shape.q_width(), N = offsets.back();
  const double scale = 1.0 / std::sqrt(static_cast<double>(E)), u = std::numeric_limits<Scalar>::epsilon() / 2;
  Reference ref;
  ref.out.assign(static_cast<std::size_t>(N * A), 0);
  ref.out_bound.assign(ref.out.size(), 0);
  ref.d_qkv.assign(static_cast<std::size_t>(N * width), 0);
  ref.d_qkv_magnitude.assign(ref.d_qkv.size(), 0);
  double worst_eps = 0;
  const auto get = [&](std::int64_t row, std::int64_t col) { return static_cast<double>(qkv[static_cast<std::size_t>(row * width + col)]); };
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::int64_t first = offsets[s], T = offsets[s + 1] - offsets[s];
    for (std::int64_t h = 0; h < shape.heads; ++h) {
      const std::int64_t g = h / shape.group(), qc = h * E, kc = A + g * E, vc = A + shape.kv_width() + g * E;
      std::vector<double> P(static_cast<std::size_t>(T * T), 0), dP(P.size(), 0), Pabs(P.size(), 0);
      for (std::int64_t i = 0; i < T; ++i) {
        double m = -INFINITY, a = 0;
        std::vector<double> scores(static_cast<std::size_t>(i + 1));
        for (std::int64_t j = 0; j <= i; ++j) {
          double dot = 0, magnitude = 0;
          for (std::int64_t e = 0; e < E; ++e) {
            dot += get(first + i, qc + e) * get(first + j, kc + e);
            magnitude += std::abs(get(first + i, qc + e) * get(first + j, kc + e));
          }
          scores[static_cast<std::size_t>(j)] = dot * scale;
          m = std::max(m, dot * scale);
          a = std::max(a, magnitude * scale);
        }
        double sum = 0, spread = 0;
        for (std::int64_t j = 0; j <= i; ++j) {
          sum += std::exp(scores[static_cast<std::size_t>(j)] - m);
          spread = std::max(spread, m - scores[static_cast<std::size_t>(j)]);
        }
        const double eps = 2 * gamma<Scalar>(E) * a + u * spread + 6 * u + gamma<Scalar>(T);
        worst_eps = std::max(worst_eps, eps);
        for (std::int64_t j = 0; j <= i; ++j) P[static_cast<std::size_t>(i * T + j)] = std::exp(scores[static_cast<std::size_t>(j)] - m) / sum;
        for (std::int64_t e = 0; e < E; ++e) {
          double o = 0, bound = 0;
          for (std::int64_t j = 0; j <= i; ++j) {
            o += P[static_cast<std::size_t>(i * T + j)] * get(first + j, vc + e);
            bound += P[static_cast<std::size_t>(i * T + j)] * std::abs(get(first + j, vc + e));
          }
          ref.out[static_cast<std::size_t>((first + i) * A + qc + e)] = o;
          ref.out_bound[static_cast<std::size_t>((first + i) * A + qc + e)] = (eps + gamma<Scalar>(T)) * bound;
        }
      }
      // dP = dO V^T; dS = P (dP - sum_k P_ik dP_ik) scale; dQ = dS K; dK += dS^T Q; dV += P^T dO.
      const auto d_o = [&](std::int64_t i, std::int64_t e) { return static_cast<double>(d_out[static_cast<std::size_t>((first + i) * A + qc + e)]); };
      std::vector<double> dS(P.size(), 0), dS_abs(P.size(), 0);
      for (std::int64_t i = 0; i < T; ++i) {
        double row_dot = 0, row_dot_abs = 0;
        std::vector<double> dp(static_cast<std::size_t>(i + 1)), dp_abs(static_cast<std::size_t>(i + 1));
        for (std::int64_t j = 0; j <= i; ++j) {
          for (std::int64_t e = 0; e < E; ++e) {
            dp[static_cast<std::size_t>(j)] += d_o(i, e) * get(first + j, vc + e);
            dp_abs[static_cast<std::size_t>(j)] += std::abs(d_o(i, e) * get(first + j, vc + e));
          }
          row_dot += P[static_cast<std::size_t>(i * T + j)] * dp[static_cast<std::size_t>(j)];
          row_dot_abs += P[static_cast<std::size_t>(i * T + j)] * dp_abs[static_cast<std::size_t>(j)];
        }
        for (std::int64_t j = 0; j <= i; ++j) {
          const double p = P[static_cast<std::size_t>(i * T + j)];
          dS[static_cast<std::size_t>(i * T + j)] = p * (dp[static_cast<std::size_t>(j)] - row_dot) * scale;
          dS_abs[static_cast<std::size_t>(i * T + j)] = p * (dp_abs[static_cast<std::size_t>(j)] + row_dot_abs) * scale;
        }
      }
      const auto add = [&](std::int64_t row, std::int64_t col, double value, double magnitude) {
        ref.d_qkv[static_cast<std::size_t>(row * width + col)] += value;
        ref.d_qkv_magnitude[static_cast<std::size_t>(row * width + col)] += magnitude;
      };
      for (std::int64_t i = 0; i < T; ++i)
        for (std::int64_t j = 0; j <= i; ++j) {
          const std::size_t ij = static_cast<std::size_t>(i * T + j);
          for (std::int64_t e = 0; e < E; ++e) {
            add(first + i, qc + e, dS[ij] * get(first + j, kc + e), dS_abs[ij] * std::abs(get(first + j, kc + e)));
            add(first + j, kc + e, dS[ij] * get(first + i, qc + e), dS_abs[ij] * std::abs(get(first + i, qc + e)));
            add(first + j, vc + e, P[ij] * d_o(i, e), P[ij] * std::abs(d_o(i, e)));
          }
        }
    }
  }
  const std::int64_t longest = [&] {
    std::int64_t l = 0;
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) l = std::max(l, offsets[s + 1] - offsets[s]);
    return l;
  }();
  ref.gradient_relative = 4 * (worst_eps + gamma<Scalar>(longest + E));
  return ref;
}

template <class Scalar>
void check_attention(const std::vector<std::int64_t>& lengths, const r1::AttentionHeads& shape, int threads) {
  CAPTURE(shape.heads);
  CAPTURE(shape.kv_heads);
  CAPTURE(shape.head_dim);
  CAPTURE(threads);
  r1::ThreadLimit limit{threads};
  std::vector<std::int64_t> offsets{0};
  for (const auto length : lengths) offsets.push_back(offsets.back() + length);
  const std::int64_t N = offsets.back();
  r1::Philox rng(static_cast<std::uint64_t>(N * 131 + shape.heads * 17 + shape.head_dim));
  std::vector<Scalar> qkv(static_cast<std::size_t>(N * shape.qkv_width())), d_out(static_cast<std::size_t>(N * shape.q_width()));
  for (auto& value : qkv) value = static_cast<Scalar>(rng.normal());
  for (auto& value : d_out) value = static_cast<Scalar>(rng.normal());
  std::vector<Scalar> out(d_out.size()), lse(static_cast<std::size_t>(N * shape.heads)), d_qkv(qkv.size(), Scalar(7));
  r1::AttentionScratch<Scalar> scratch;
  r1::attention_forward_packed(qkv.data(), std::span<const std::int64_t>(offsets), shape, out.data(), lse.data(), scratch);
  r1::attention_backward_packed(d_out.data(), qkv.data(), out.data(), lse.data(), std::span<const std::int64_t>(offsets), shape,
                                d_qkv.data(), scratch);
  const Reference ref = reference(qkv, d_out, offsets, shape);
  std::int64_t out_failures = 0, grad_failures = 0;
  for (std::size_t k = 0; k < out.size(); ++k) out_failures += !(std::abs(double(out[k]) - ref.out[k]) <= ref.out_bound[k]);
  for (std::size_t k = 0; k < d_qkv.size(); ++k)
    grad_failures += !(std::abs(double(d_qkv[k]) - ref.d_qkv[k]) <= ref.gradient_relative * ref.d_qkv_magnitude[k]);
  CHECK(out_failures == 0);
  CHECK(grad_failures == 0);
}

}  // namespace

TEST_CASE("attention forward and backward equal a direct double evaluation (float)") {
  for (const int threads : {1, 2}) {
    check_attention<float>({1, 5, 15, 16, 17, 47, 48, 49}, r1::AttentionHeads{4, 2, 8}, threads);
    check_attention<float>({63, 64, 65, 95, 96, 97, 150}, r1::AttentionHeads{2, 2, 64}, threads);
    check_attention<float>({97, 130}, r1::AttentionHeads{3, 1, 24}, threads);
    // Sequences under 16 tokens take the few-query path: head size 64 is whole groups of four vectors (AVX-512
    // and AVX2), 40 leaves single vectors and, with AVX-512, a scalar tail; key counts of and off multiples of 4.
    check_attention<float>({1, 2, 4, 5, 9, 15}, r1::AttentionHeads{2, 1, 64}, threads);
    check_attention<float>({3, 8, 14}, r1::AttentionHeads{2, 2, 40}, threads);
  }
}

TEST_CASE("attention forward and backward equal a direct double evaluation (double)") {
  check_attention<double>({1, 16, 40, 129}, r1::AttentionHeads{4, 2, 12}, 2);
}

TEST_CASE("attention of queries after cached keys: the blocked kernel and the few-query path equal the full causal run") {
  // Queries T at the end of S keys see keys j <= i + (S - T): the last T rows of a causal run over S tokens.
  for (const auto& [queries, E] : {std::pair<std::int64_t, std::int64_t>{3, 20}, {1, 64}, {5, 64}, {40, 20}, {100, 20}}) {
    CAPTURE(queries);
    CAPTURE(E);
    const std::int64_t S = 120;
    r1::Philox rng(static_cast<std::uint64_t>(queries));
    std::vector<float> q(static_cast<std::size_t>(S * E)), k(q.size()), v(q.size());
    for (auto* values : {&q, &k, &v})
      for (auto& value : *values) value = static_cast<float>(rng.normal());
    std::vector<float> full_out(q.size()), full_lse(static_cast<std::size_t>(S)), part_out(q.size()), part_lse(full_lse.size());
    r1::AttentionWorkspace<float> work;
    r1::attention_head_forward(r1::AttentionHeadInputs<float>{q.data(), E, k.data(), v.data(), E, S, S, E}, full_out.data(), E,
                               full_lse.data(), 1, work);
    const std::int64_t first = S - queries;
    r1::attention_head_forward(r1::AttentionHeadInputs<float>{q.data() + first * E, E, k.data(), v.data(), E, queries, S, E},
                               part_out.data(), E, part_lse.data(), 1, work);
    // Both runs compute the same sums in possibly different orders (blocks, GEMV vs GEMM), each within the
    // forward's bound above of the exact values, so they differ by at most twice it. From the data:
    // a = max scale sum_e |q_ie k_je| bounds every score, so r_i <= 2a; V = max |v|.
    const double u = std::ldexp(1.0, -24), scale = 1.0 / std::sqrt(double(E));
    double a = 0, V = 0;
    for (std::int64_t i = 0; i < S; ++i)
      for (std::int64_t j = 0; j < S; ++j) {
        double magnitude = 0;
        for (std::int64_t e = 0; e < E; ++e)
          magnitude += std::abs(double(q[static_cast<std::size_t>(i * E + e)]) * double(k[static_cast<std::size_t>(j * E + e)]));
        a = std::max(a, scale * magnitude);
      }
    for (const float value : v) V = std::max(V, double(std::abs(value)));
    const double eps = 2 * gamma<float>(E) * a + u * 2 * a + 6 * u + gamma<float>(S);
    // lse = max + log(sum): the max carries gamma_E a, log(sum) the relative error of the sum (eps) plus one
    // rounding of |lse| <= a + log S.
    const double out_bound = 2 * (eps + gamma<float>(S)) * V;
    const double lse_bound = 2 * (gamma<float>(E) * a + eps + u * (a + std::log(double(S))));
    double worst_out = 0, worst_lse = 0;
    for (std::int64_t i = 0; i < queries; ++i) {
      for (std::int64_t e = 0; e < E; ++e)
        worst_out = std::max(worst_out, double(std::abs(part_out[static_cast<std::size_t>(i * E + e)] - full_out[static_cast<std::size_t>((first + i) * E + e)])));
      worst_lse = std::max(worst_lse, double(std::abs(part_lse[static_cast<std::size_t>(i)] - full_lse[static_cast<std::size_t>(first + i)])));
    }
    CHECK(worst_out <= out_bound);
    CHECK(worst_lse <= lse_bound);
  }
}
