// The __host__ __device__ math the CUDA kernels share, checked on the CPU against
// values worked out by hand and against finite differences of a double-precision
// forward. Runs everywhere (no device needed): the kernels call exactly these functions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "r1/cuda/math/adamw.hpp"
#include "r1/cuda/math/attention.hpp"
#include "r1/cuda/math/bf16.hpp"
#include "r1/cuda/math/log_softmax.hpp"
#include "r1/cuda/math/rmsnorm.hpp"
#include "r1/cuda/math/rope.hpp"
#include "r1/cuda/math/swiglu.hpp"

namespace {

constexpr double u32 = r1::gpu::fp32_unit_roundoff;

// Central difference of f at x with step h. Its truncation error is h^2/6 |f'''|
// and its rounding error ~ 2^-52 |f| / h; with h = 1e-4 and O(1) functions both
// are below 1e-8, far under the fp32 tolerances used against it.
template <class F>
double central_difference(F f, double x, double h = 1e-4) {
  return (f(x + h) - f(x - h)) / (2 * h);
}

std::vector<double> random_row(int n, unsigned seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> row(n);
  for (auto& v : row) v = static_cast<float>(normal(rng));  // exactly representable in fp32
  return row;
}

}  // namespace

TEST_CASE("round_to_bf16 rounds to nearest, ties to even, and passes inf and NaN") {
  using r1::gpu::round_to_bf16;
  CHECK(round_to_bf16(1.0f) == 1.0f);
  CHECK(round_to_bf16(1.0f + 0x1p-8f) == 1.0f);                 // tie between 1 and 1+2^-7: even is 1
  CHECK(round_to_bf16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);   // tie between 1+2^-7 and 1+2^-6: even is 1+2^-6
  CHECK(round_to_bf16(1.0f + 0x1p-8f + 0x1p-12f) == 1.0f + 0x1p-7f);  // above the tie: up
  CHECK(round_to_bf16(-3.0f) == -3.0f);
  CHECK(std::isinf(round_to_bf16(INFINITY)));
  CHECK(std::isnan(round_to_bf16(NAN)));
  // Relative error of any finite value is at most the unit roundoff 2^-8.
  for (float v : {0.1f, 3.14159f, -1234.567f, 1e-20f, 6.5e4f}) {
    CHECK(std::abs(round_to_bf16(v) - v) <= r1::gpu::bf16_unit_roundoff * std::abs(v));
  }
}

TEST_CASE("rmsnorm forward matches a hand-worked row") {
  // x = (3, 4), g = (1, 2), eps = 0: mean(x^2) = 12.5, 1/rms = 1/sqrt(12.5) = 0.28284271...
  const float r = r1::gpu::rmsnorm_inverse_rms(9.0f + 16.0f, 2, 0.0f);
  CHECK(r == doctest::Approx(0.282842712474619).epsilon(4 * u32));
  CHECK(r1::gpu::rmsnorm_output(3.0f, 1.0f, r) == doctest::Approx(0.848528137423857).epsilon(6 * u32));
  CHECK(r1::gpu::rmsnorm_output(4.0f, 2.0f, r) == doctest::Approx(2.262741699796952).epsilon(6 * u32));
}

TEST_CASE("rmsnorm backward equals the finite-difference gradient of sum_i dy_i y_i") {
  const int n = 7;
  const double eps = 1e-5;
  const auto x = random_row(n, 1);
  const auto g = random_row(n, 2);
  const auto dy = random_row(n, 3);
  auto loss = [&](const std::vector<double>& xs) {
    double ss = 0;
    for (double v : xs) ss += v * v;
    const double r = 1.0 / std::sqrt(ss / n + eps);
    double l = 0;
    for (int i = 0; i < n; ++i) l += dy[i] * xs[i] * r * g[i];
    return l;
  };
  double ss = 0, gdyx = 0;
  for (int i = 0; i < n; ++i) ss += x[i] * x[i], gdyx += g[i] * dy[i] * x[i];
  const float r = r1::gpu::rmsnorm_inverse_rms(static_cast<float>(ss), n, static_cast<float>(eps));
  const float mean_gdy_x = static_cast<float>(gdyx / n);
  for (int i = 0; i < n; ++i) {
    auto perturbed = [&](double xi) {
      auto xs = x;
      xs[i] = xi;
      return loss(xs);
    };
    const double expected = central_difference(perturbed, x[i]);
    const float got = r1::gpu::rmsnorm_input_grad(static_cast<float>(x[i]), static_cast<float>(g[i]),
                                                  static_cast<float>(dy[i]), r, mean_gdy_x);
    // fp32 helper: ~10 roundings of O(|g dy r| + |x r^3 mean|) terms; 1e-5 absolute
    // covers 64 u32 on terms of size <= ~10 for unit-normal inputs, plus 1e-8 of FD error.
    CHECK(std::abs(got - expected) <= 1e-5);
  }
}

TEST_CASE("rope rotates pairs by the table angle and the backward undoes it") {
  const auto tables = r1::gpu::make_rope_tables(5, 8, 10000.0);
  // Position 3, pair i = 1: angle = 3 * 10000^(-2/8) = 3 / 10 = 0.3.
  CHECK(tables.cos[3 * 4 + 1] == doctest::Approx(std::cos(0.3)).epsilon(u32));
  CHECK(tables.sin[3 * 4 + 1] == doctest::Approx(std::sin(0.3)).epsilon(u32));
  CHECK(tables.cos[0] == 1.0f);
  CHECK(tables.sin[0] == 0.0f);
  const float c = std::cos(0.3f), s = std::sin(0.3f);
  const auto y = r1::gpu::rope_rotate(2.0f, -1.0f, c, s);
  CHECK(y.first == doctest::Approx(2.0 * std::cos(0.3) + std::sin(0.3)).epsilon(4 * u32));
  CHECK(y.second == doctest::Approx(-std::cos(0.3) + 2.0 * std::sin(0.3)).epsilon(8 * u32));
  // The backward is the transpose (inverse) rotation: applied to y it returns x to a few ulps.
  const auto back = r1::gpu::rope_rotate_backward(y.first, y.second, c, s);
  CHECK(back.first == doctest::Approx(2.0f).epsilon(8 * u32));
  CHECK(back.second == doctest::Approx(-1.0f).epsilon(8 * u32));
  CHECK_THROWS_AS(r1::gpu::make_rope_tables(4, 7, 10000.0), r1::Error);
  CHECK_THROWS_AS(r1::gpu::make_rope_tables(0, 8, 10000.0), r1::Error);
}

TEST_CASE("swiglu forward and backward match the definition and finite differences") {
  // silu(1) * 2 = 2 / (1 + e^-1) = 1.46211715726...
  CHECK(r1::gpu::swiglu_output(1.0f, 2.0f) == doctest::Approx(1.4621171572600098).epsilon(8 * u32));
  for (double gate : {-3.0, -0.5, 0.0, 0.7, 4.0}) {
    const double up = 1.3, d_out = -0.6;
    auto f_gate = [&](double gv) { return d_out * gv / (1 + std::exp(-gv)) * up; };
    auto f_up = [&](double uv) { return d_out * gate / (1 + std::exp(-gate)) * uv; };
    const auto grads = r1::gpu::swiglu_backward(static_cast<float>(gate), static_cast<float>(up),
                                                static_cast<float>(d_out));
    // Terms are O(1); a dozen fp32 roundings and expf's few ulps stay below 1e-6.
    CHECK(std::abs(grads.d_gate - central_difference(f_gate, gate)) <= 1e-6);
    CHECK(std::abs(grads.d_up - central_difference(f_up, up)) <= 1e-6);
  }
}

TEST_CASE("online log-softmax statistics match the direct computation in any merge order") {
  const int vocab = 37;
  const double temperature = 0.7;
  const auto logits = random_row(vocab, 4, 3.0);
  double m = -INFINITY;
  for (double v : logits) m = std::max(m, v / temperature);
  double s = 0, ez = 0;
  for (double v : logits) s += std::exp(v / temperature - m);
  const double lse = m + std::log(s);
  double entropy = 0;
  for (double v : logits) {
    const double p = std::exp(v / temperature - lse);
    entropy -= p * (v / temperature - lse);
    ez += p * v / temperature;
  }
  // Fold in three chunks (as three threads would) and merge them in two orders.
  r1::gpu::SoftmaxStats a, b, c;
  for (int j = 0; j < vocab; ++j) {
    const float z = static_cast<float>(logits[j]) * static_cast<float>(1.0 / temperature);
    if (j % 3 == 0) a = r1::gpu::softmax_stats_add(a, z);
    if (j % 3 == 1) b = r1::gpu::softmax_stats_add(b, z);
    if (j % 3 == 2) c = r1::gpu::softmax_stats_add(c, z);
  }
  const auto left = r1::gpu::softmax_stats_merge(r1::gpu::softmax_stats_merge(a, b), c);
  const auto right = r1::gpu::softmax_stats_merge(a, r1::gpu::softmax_stats_merge(c, b));
  // |z| <= ~15 here; fp32 sums of 37 terms: error <= (37 + 10) u32 * 15 < 5e-5 absolute.
  for (const auto& stats : {left, right}) {
    CHECK(std::abs(r1::gpu::softmax_stats_logsumexp(stats) - lse) <= 5e-5);
    CHECK(std::abs(r1::gpu::softmax_stats_entropy(stats) - entropy) <= 5e-5);
    CHECK(std::abs(r1::gpu::softmax_stats_mean(stats) - ez) <= 5e-5);
  }
  // The empty state is the identity of the merge.
  const auto same = r1::gpu::softmax_stats_merge(r1::gpu::SoftmaxStats{}, left);
  CHECK(same.max == left.max);
  CHECK(same.sum == left.sum);
}

TEST_CASE("log-softmax-gather logit gradient equals finite differences of d_lp * log p_t + d_H * H") {
  const int vocab = 11, target = 4;
  const double temperature = 0.8, d_logprob = 0.7, d_entropy = -0.3;
  const auto logits = random_row(vocab, 5, 2.0);
  auto objective = [&](const std::vector<double>& l) {
    double m = -INFINITY;
    for (double v : l) m = std::max(m, v / temperature);
    double s = 0;
    for (double v : l) s += std::exp(v / temperature - m);
    const double lse = m + std::log(s);
    double h = 0;
    for (double v : l) h -= std::exp(v / temperature - lse) * (v / temperature - lse);
    return d_logprob * (l[target] / temperature - lse) + d_entropy * h;
  };
  r1::gpu::SoftmaxStats stats;
  for (double v : logits) stats = r1::gpu::softmax_stats_add(stats, static_cast<float>(v / temperature));
  const float lse = r1::gpu::softmax_stats_logsumexp(stats);
  const float mean_z = r1::gpu::softmax_stats_mean(stats);
  for (int j = 0; j < vocab; ++j) {
    auto perturbed = [&](double v) {
      auto l = logits;
      l[j] = v;
      return objective(l);
    };
    const float got = r1::gpu::log_softmax_gather_logit_grad(static_cast<float>(logits[j]), j == target,
                                                             static_cast<float>(1.0 / temperature), lse, mean_z,
                                                             static_cast<float>(d_logprob),
                                                             static_cast<float>(d_entropy));
    // Gradient terms are O(1) with |z| <= ~8: lse and mean_z carry ~(11 + 10) u32 * 8 = 1e-5
    // absolute error, which exp(z - lse) passes on relatively; 2e-5 bounds it.
    CHECK(std::abs(got - central_difference(perturbed, logits[j])) <= 2e-5);
  }
}

TEST_CASE("adamw's first step moves each weight by lr * g / (|g| + eps) after decoupled decay") {
  r1::gpu::AdamWHyper base;
  base.learning_rate = 0.01f;
  base.weight_decay = 0.1f;
  const auto hyper = r1::gpu::adamw_hyper_for_step(base, 1);
  CHECK(hyper.bias_correction1 == doctest::Approx(0.1).epsilon(u32));
  CHECK(hyper.bias_correction2 == doctest::Approx(0.001).epsilon(u32 * 1e3));  // 1 - 0.999 loses 10 bits
  const auto s = r1::gpu::adamw_update({2.0f, 0.0f, 0.0f}, -0.5f, hyper);
  // m = 0.05, v = 0.00025; m_hat = -0.5, v_hat = 0.25: step = 0.01 * -0.5 / (0.5 + 1e-8).
  const double expected = 2.0 * (1 - 0.01 * 0.1) + 0.01 * 0.5 / (0.5 + 1e-8);
  CHECK(s.param == doctest::Approx(expected).epsilon(16 * u32));
  CHECK(s.m == doctest::Approx(-0.05).epsilon(4 * u32));
  CHECK(s.v == doctest::Approx(0.00025).epsilon(8 * u32));
  // grad_scale (the clip coefficient) scales g before the moments.
  auto clipped = hyper;
  clipped.grad_scale = 0.5f;
  CHECK(r1::gpu::adamw_update({2.0f, 0.0f, 0.0f}, -1.0f, clipped).m == doctest::Approx(-0.05).epsilon(4 * u32));
}

TEST_CASE("online softmax of attention: blockwise rescaling reproduces the full softmax") {
  const auto scores = random_row(19, 6, 4.0);
  const auto values = random_row(19, 7);
  double m = -INFINITY;
  for (double s : scores) m = std::max(m, s);
  double l = 0, o = 0;
  for (int j = 0; j < 19; ++j) l += std::exp(scores[j] - m), o += std::exp(scores[j] - m) * values[j];
  r1::gpu::OnlineSoftmax state;
  float acc = 0;
  for (int start = 0; start < 19; start += 5) {  // blocks of 5 keys, the last one partial
    float block_max = -INFINITY;
    for (int j = start; j < std::min(start + 5, 19); ++j) block_max = std::max(block_max, static_cast<float>(scores[j]));
    acc *= r1::gpu::online_softmax_rescale(state, block_max);
    for (int j = start; j < std::min(start + 5, 19); ++j) {
      const float p = std::exp(static_cast<float>(scores[j]) - state.max);
      state.sum += p;
      acc += p * static_cast<float>(values[j]);
    }
  }
  // 19-term fp32 sums of O(1) terms with scores up to ~12: (19 + 10) u32 relative, ~2e-6.
  CHECK(acc / state.sum == doctest::Approx(o / l).epsilon(1e-5));
  CHECK(r1::gpu::online_softmax_logsumexp(state) == doctest::Approx(m + std::log(l)).epsilon(1e-6));
  CHECK(r1::gpu::gqa_kv_head(5, 8, 2) == 1);
  CHECK(r1::gpu::gqa_kv_head(3, 8, 2) == 0);
  CHECK(r1::gpu::gqa_kv_head(7, 14, 2) == 1);
}
