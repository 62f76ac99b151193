// The math the CUDA kernels run (r1/cuda/math, in fp32) against the CPU model's ops
// (r1/model/ops, the kernels' twins, run in double) on the CPU model's layouts:
// same formulas, same conventions (eps inside the root, rotate-half pairs, packed
// [gate | up] rows, entropy and its gradient at a temperature). Runs everywhere.
// Inputs are exact in fp32; bounds count the fp32 roundings (u = 2^-24) as in the
// kernel tests, and the twin's double arithmetic is ~2^-53: negligible against them.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "r1/cuda/math/log_softmax.hpp"
#include "r1/cuda/math/rmsnorm.hpp"
#include "r1/cuda/math/rope.hpp"
#include "r1/cuda/math/swiglu.hpp"
#include "r1/model/ops/log_softmax_gather.hpp"
#include "r1/model/ops/rmsnorm.hpp"
#include "r1/model/ops/rope.hpp"
#include "r1/model/ops/swiglu.hpp"

namespace {

constexpr double u = 1.0 / 16777216.0;

std::vector<double> random_floats(std::size_t n, unsigned seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(n);
  for (auto& v : values) v = static_cast<float>(normal(rng));
  return values;
}

void check_close(double got, double expected, double bound, const char* what) {
  INFO(what, ": got ", got, " expected ", expected, " bound ", bound);
  CHECK(std::abs(got - expected) <= bound);
}

}  // namespace

TEST_CASE("rmsnorm: the kernel math equals the CPU model's rmsnorm, forward and backward") {
  const int rows = 3, dim = 50;
  const double eps = 1e-6;
  const auto x = random_floats(rows * dim, 1), w = random_floats(dim, 2), dy = random_floats(rows * dim, 3);
  std::vector<double> y(rows * dim), rstd(rows), dx(rows * dim, 0.0), dw(dim, 0.0);
  r1::rmsnorm_forward(x.data(), w.data(), rows, dim, eps, y.data(), rstd.data());
  r1::rmsnorm_backward(dy.data(), x.data(), w.data(), rstd.data(), rows, dim, dx.data(), dw.data());
  const double e_r = (dim / 2.0 + 4) * u;  // as in the kernel test: the sum of squares, halved by the root, + 4
  for (int row = 0; row < rows; ++row) {
    float ss = 0, gdyx = 0;
    double mag = 0;
    for (int i = 0; i < dim; ++i) {
      const float xi = static_cast<float>(x[row * dim + i]);
      ss += xi * xi;
      gdyx += static_cast<float>(w[i]) * static_cast<float>(dy[row * dim + i]) * xi;
      mag += std::abs(w[i] * dy[row * dim + i] * x[row * dim + i]);
    }
    const float r = r1::gpu::rmsnorm_inverse_rms(ss, dim, static_cast<float>(eps));
    check_close(r, rstd[row], e_r * rstd[row], "inverse rms");
    const float mean = gdyx / static_cast<float>(dim);
    for (int i = 0; i < dim; ++i) {
      const int k = row * dim + i;
      const float got_y = r1::gpu::rmsnorm_output(static_cast<float>(x[k]), static_cast<float>(w[i]), r);
      check_close(got_y, y[k], std::abs(y[k]) * (e_r + 2 * u), "y");
      const float got_dx = r1::gpu::rmsnorm_input_grad(static_cast<float>(x[k]), static_cast<float>(w[i]),
                                                       static_cast<float>(dy[k]), r, mean);
      const double r3 = rstd[row] * rstd[row] * rstd[row];
      const double bound = std::abs(rstd[row] * w[i] * dy[k]) * (e_r + 4 * u) +
                           std::abs(x[k]) * r3 * ((mag / dim) * (3 * e_r + 6 * u) + (dim + 3) * u * mag / dim);
      check_close(got_dx, dx[k], bound, "dx");
    }
  }
}

TEST_CASE("rope: the kernel's tables and rotation equal the CPU model's rope_rotate") {
  const int rows = 6, heads = 2, head_dim = 16, first_position = 40;
  const double theta = 1e6;
  const auto tables = r1::gpu::make_rope_tables(first_position + rows, head_dim, theta);
  r1::RopeTable<double> table(head_dim, theta);
  table.reserve(first_position + rows);
  const auto x = random_floats(rows * heads * head_dim, 4);
  for (const bool inverse : {false, true}) {
    auto twin = x;
    r1::rope_rotate(twin.data(), rows, heads * head_dim, heads, first_position, table, inverse);
    const int half = head_dim / 2;
    for (int r = 0; r < rows; ++r)
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < half; ++i) {
          const std::size_t a = (r * heads + h) * head_dim + i, b = a + half;
          const float c = tables.cos[(first_position + r) * half + i], s = tables.sin[(first_position + r) * half + i];
          const auto got = inverse ? r1::gpu::rope_rotate_backward(float(x[a]), float(x[b]), c, s)
                                   : r1::gpu::rope_rotate(float(x[a]), float(x[b]), c, s);
          // cos and sin rounded to fp32 (u each) and 2 products and a sum (2 u): 3 u of the terms.
          const double size = std::abs(x[a]) + std::abs(x[b]);
          check_close(got.first, twin[a], 3 * u * size + 1e-12, "rope first half");
          check_close(got.second, twin[b], 3 * u * size + 1e-12, "rope second half");
        }
  }
}

TEST_CASE("rope with llama3 scaling: the kernel's tables are the CPU model's table rounded once to fp32") {
  // Llama 3.1's scaling with a short original context so that head_dim 16 at theta 1e4 (wavelengths
  // 2π 10^(i/2)) has all three regions: kept (i <= 3), blended (i = 4, 5), divided by 8 (i >= 6).
  const int positions = 50, head_dim = 16, half = head_dim / 2;
  const r1::RopeScaling scaling{r1::RopeScaling::Kind::llama3, 8.0, 1.0, 4.0, 2000};
  const auto tables = r1::gpu::make_rope_tables(positions, head_dim, 10000.0, scaling);
  const auto unscaled = r1::gpu::make_rope_tables(positions, head_dim, 10000.0);
  r1::RopeTable<double> table(head_dim, 10000.0, scaling);
  table.reserve(positions);
  // Both take inv_freq from rope_inverse_frequencies<double> and the angle as position * inv_freq in
  // double, so the only difference is the one rounding to fp32.
  for (int pos = 0; pos < positions; ++pos)
    for (int i = 0; i < half; ++i) {
      const std::size_t k = static_cast<std::size_t>(pos) * half + i;
      CHECK(tables.cos[k] == static_cast<float>(table.cos(pos)[i]));
      CHECK(tables.sin[k] == static_cast<float>(table.sin(pos)[i]));
    }
  // And the scaling reached the tables: the last (low-frequency) pair turns 8 times slower.
  CHECK(tables.sin[(positions - 1) * half + half - 1] != unscaled.sin[(positions - 1) * half + half - 1]);
  CHECK(tables.sin[(positions - 1) * half] == unscaled.sin[(positions - 1) * half]);
}

TEST_CASE("swiglu: the kernel math on packed [gate | up] rows equals the CPU model's swiglu") {
  const int rows = 4, features = 9;
  const auto gate_up = random_floats(rows * 2 * features, 5, 3.0), d_act = random_floats(rows * features, 6);
  std::vector<double> act(rows * features), d_gate_up(rows * 2 * features);
  r1::swiglu_forward(gate_up.data(), rows, features, act.data());
  r1::swiglu_backward(d_act.data(), gate_up.data(), rows, features, d_gate_up.data());
  for (int row = 0; row < rows; ++row)
    for (int f = 0; f < features; ++f) {
      const int g_at = row * 2 * features + f, u_at = g_at + features, i = row * features + f;
      const float g = static_cast<float>(gate_up[g_at]), up = static_cast<float>(gate_up[u_at]);
      // 8 u relative for out and d_up; d_gate as derived in the kernel test.
      check_close(r1::gpu::swiglu_output(g, up), act[i], 8 * u * std::abs(act[i]), "act");
      const auto grads = r1::gpu::swiglu_backward(g, up, static_cast<float>(d_act[i]));
      check_close(grads.d_up, d_gate_up[u_at], 8 * u * std::abs(d_gate_up[u_at]), "d_up");
      const double s = 1.0 / (1.0 + std::exp(-gate_up[g_at]));
      const double common = std::abs(d_act[i] * gate_up[u_at] * s);
      check_close(grads.d_gate, d_gate_up[g_at],
                  common * (std::abs(1 + gate_up[g_at] * (1 - s)) * 11 * u + std::abs(gate_up[g_at]) * 8 * u),
                  "d_gate");
    }
}

TEST_CASE("log-softmax-gather: the kernel's online statistics and gradient equal the CPU model's") {
  const int vocab = 300, target = 123;
  const double temperature = 0.6, d_logprob = -0.8, d_entropy = 0.3;
  const auto logits = random_floats(vocab, 7, 3.0);
  const auto twin = r1::log_softmax_gather_forward(logits.data(), vocab, temperature, target);
  auto twin_grad = logits;
  r1::log_softmax_gather_backward(twin_grad.data(), vocab, temperature, target, twin, d_logprob, d_entropy);
  const float inverse_t = static_cast<float>(1.0 / temperature);
  r1::gpu::SoftmaxStats stats;
  int max_moves = 0;
  double z_abs = 0;
  for (double l : logits) {
    const float z = static_cast<float>(l) * inverse_t;
    if (z > stats.max) ++max_moves;
    z_abs = std::max(z_abs, std::abs(l / temperature));
    stats = r1::gpu::softmax_stats_add(stats, z);
  }
  // The kernel test's budget with K = the number of times the running max moved (counted above).
  const double e_term = u * (4 * z_abs + 5) + max_moves * u * (5 + 2 * z_abs);
  const double e_s = e_term + vocab * u;
  const float lse = r1::gpu::softmax_stats_logsumexp(stats);
  const double e_lse = e_s + 2 * u * std::abs(twin.log_normalizer);
  check_close(lse, twin.log_normalizer, e_lse, "logsumexp");
  check_close(static_cast<float>(logits[target]) * inverse_t - lse, twin.logprob,
              e_lse + 2 * u * std::abs(logits[target] / temperature) + u * std::abs(twin.logprob), "logprob");
  // E_p|z - m| <= 2 z_abs bounds the weighted-sum terms.
  const double e_ws = 2 * z_abs * (e_term + vocab * u) + 4 * u * z_abs + 2 * z_abs * e_s;
  check_close(r1::gpu::softmax_stats_entropy(stats), twin.entropy, e_s + e_ws + 2 * u * twin.entropy, "entropy");
  const float mean_z = r1::gpu::softmax_stats_mean(stats);
  for (int j = 0; j < vocab; ++j) {
    const float got = r1::gpu::log_softmax_gather_logit_grad(static_cast<float>(logits[j]), j == target, inverse_t,
                                                             lse, mean_z, static_cast<float>(d_logprob),
                                                             static_cast<float>(d_entropy));
    const double z = logits[j] / temperature, p = std::exp(z - twin.log_normalizer);
    const double e_p = e_lse + 2 * u * std::abs(z) + u * std::abs(z - twin.log_normalizer) + 4 * u;
    const double size = (std::abs(d_logprob) + std::abs(d_entropy) * (std::abs(z) + z_abs)) * p;
    const double bound = (size * e_p + std::abs(d_entropy) * p * (e_ws + 2 * u * std::abs(z)) +
                          6 * u * (size + std::abs(d_logprob))) / temperature;
    check_close(got, twin_grad[j], bound, "d logit");
  }
}
