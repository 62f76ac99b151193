// Embedding, RMSNorm, RoPE and SwiGLU kernels against double-precision CPU
// references, in fp32 and bf16 storage, on shapes that are not multiples of the
// block size (1000 columns for 256 threads, 300 rows for 256-row weight-grad chunks).
// Inputs are exact in the storage type, so differences come only from the kernel's
// fp32 arithmetic (unit roundoff u32 = 2^-24) and the rounding of its output into
// storage (u16 = 2^-8 for bf16, none for fp32); each bound below adds those up.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/math/rope.hpp"
#include "r1/cuda/ops/embedding.hpp"
#include "r1/cuda/ops/residual.hpp"
#include "r1/cuda/ops/rmsnorm.hpp"
#include "r1/cuda/ops/rope.hpp"
#include "r1/cuda/ops/swiglu.hpp"

using r1::test::u32;

TEST_CASE_TEMPLATE("embedding gathers rows and scatter-adds gradients; bad ids read nothing", T, float, r1::gpu::bf16) {
  const int vocab = 13, dim = 300;
  const std::vector<std::int32_t> tokens{3, 0, 12, 3, -1, 13, 3, 7};  // 3 repeats; -1 and 13 are invalid
  const int n = static_cast<int>(tokens.size());
  const auto table = r1::test::random_values<T>(std::size_t(vocab) * dim, 11);
  const auto d_out = r1::test::random_values<T>(std::size_t(n) * dim, 12);
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_tokens = r1::test::upload_exact(arena, tokens, "tokens");
  auto d_table = r1::test::upload<T>(arena, table, "table");
  auto out = arena.allocate<T>(std::size_t(n) * dim, "out");
  auto d_d_out = r1::test::upload<T>(arena, d_out, "d_out");
  auto d_table_grad = arena.allocate<float>(std::size_t(vocab) * dim, "d_table");
  r1::gpu::fill_zero(d_table_grad, nullptr, "zero d_table");
  r1::gpu::embedding_forward<T>(d_tokens.data, n, d_table.data, vocab, dim, out.data, nullptr);
  r1::gpu::embedding_backward<T>(d_tokens.data, n, d_d_out.data, vocab, dim, d_table_grad.data, nullptr);

  std::vector<double> expected_out(std::size_t(n) * dim, 0.0), expected_grad(std::size_t(vocab) * dim, 0.0),
      grad_magnitude(std::size_t(vocab) * dim, 0.0);
  for (int t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= vocab) continue;
    for (int i = 0; i < dim; ++i) {
      expected_out[std::size_t(t) * dim + i] = table[std::size_t(tokens[t]) * dim + i];
      expected_grad[std::size_t(tokens[t]) * dim + i] += d_out[std::size_t(t) * dim + i];
      grad_magnitude[std::size_t(tokens[t]) * dim + i] += std::abs(d_out[std::size_t(t) * dim + i]);
    }
  }
  CHECK(r1::test::download(out) == expected_out);  // a gather is exact
  // Up to 3 fp32 additions per element (token 3 appears 3 times): error <= 3 u32 * sum |terms|.
  std::vector<double> bound(grad_magnitude.size());
  for (std::size_t i = 0; i < bound.size(); ++i) bound[i] = 3 * u32 * grad_magnitude[i] + 1e-30;
  r1::test::check_within(r1::test::download(d_table_grad), expected_grad, bound, "embedding d_table");
  CHECK_THROWS_AS(r1::gpu::embedding_forward<T>(d_tokens.data, n, d_table.data, 0, dim, out.data, nullptr), r1::Error);
}

TEST_CASE_TEMPLATE("rmsnorm forward and backward match the double reference", T, float, r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  for (const auto& shape : {std::pair{300, 1000}, std::pair{5, 3}, std::pair{1, 1}}) {
    const int rows = shape.first, dim = shape.second;
    INFO("rows ", rows, ", dim ", dim);
    const float eps = 1e-6f;
    const std::size_t n = std::size_t(rows) * dim;
    const auto x = r1::test::random_values<T>(n, 21);
    const auto w = r1::test::random_values<T>(dim, 22);
    const auto dy = r1::test::random_values<T>(n, 23);
    r1::gpu::DeviceArena arena(1 << 24);
    auto d_x = r1::test::upload<T>(arena, x, "x");
    auto d_w = r1::test::upload<T>(arena, w, "weight");
    auto d_dy = r1::test::upload<T>(arena, dy, "dy");
    auto y = arena.allocate<T>(n, "y");
    auto dx = arena.allocate<T>(n, "dx");
    auto inverse_rms = arena.allocate<float>(rows, "inverse_rms");
    auto d_w_grad = arena.allocate<float>(dim, "d_weight");
    r1::gpu::fill_zero(d_w_grad, nullptr, "zero d_weight");
    r1::gpu::rmsnorm_forward<T>(d_x.data, d_w.data, y.data, inverse_rms.data, rows, dim, eps, nullptr);
    r1::gpu::rmsnorm_backward<T>(d_x.data, d_w.data, d_dy.data, inverse_rms.data, dx.data, d_w_grad.data, rows, dim,
                                 nullptr);

    // The sum of squares (dim fp32 additions, gamma_dim <= dim u32 relative) enters r through a
    // square root, halving it; 4 more roundings (divide, add eps, sqrt, reciprocal):
    const double e_r = (dim / 2.0 + 4) * u32;
    std::vector<double> ref_y(n), bound_y(n), ref_dx(n), bound_dx(n), ref_r(rows), bound_r(rows);
    std::vector<double> ref_dw(dim, 0.0), magnitude_dw(dim, 0.0);
    for (int row = 0; row < rows; ++row) {
      double ss = 0, m = 0, a = 0;
      for (int i = 0; i < dim; ++i) {
        const std::size_t k = std::size_t(row) * dim + i;
        ss += x[k] * x[k];
        m += w[i] * dy[k] * x[k];
        a += std::abs(w[i] * dy[k] * x[k]);
      }
      const double r = 1.0 / std::sqrt(ss / dim + eps);
      m /= dim;
      a /= dim;
      ref_r[row] = r;
      bound_r[row] = e_r * r;
      for (int i = 0; i < dim; ++i) {
        const std::size_t k = std::size_t(row) * dim + i;
        ref_y[k] = x[k] * r * w[i];
        // y = x * r * w: e_r plus 2 products, then the storage rounding.
        bound_y[k] = std::abs(ref_y[k]) * (e_r + 2 * u32 + us * (1 + e_r)) + 1e-30;
        ref_dx[k] = r * (w[i] * dy[k] - x[k] * r * r * m);
        // dx = r (g dy) - x r^3 M with M = mean(g dy x) summed in fp32 (abs error (dim + 3) u32 * mean|g dy x|):
        // first term e_r + 4 u32 relative; second 3 e_r + 6 u32 relative plus x r^3 times M's error.
        const double term1 = std::abs(r * w[i] * dy[k]);
        const double term2 = std::abs(x[k]) * r * r * r;
        bound_dx[k] = term1 * (e_r + 4 * u32) + term2 * (std::abs(m) * (3 * e_r + 6 * u32) + (dim + 3) * u32 * a) +
                      us * std::abs(ref_dx[k]) * 1.01 + 1e-30;
        ref_dw[i] += dy[k] * x[k] * r;
        magnitude_dw[i] += std::abs(dy[k] * x[k] * r);
      }
    }
    // d_weight: `rows` fp32 additions (chunk sums, then one atomicAdd per chunk) of terms each off by e_r + 2 u32.
    std::vector<double> bound_dw(dim);
    for (int i = 0; i < dim; ++i) bound_dw[i] = magnitude_dw[i] * (e_r + (rows + 4) * u32) + 1e-30;
    r1::test::check_within(r1::test::download(inverse_rms), ref_r, bound_r, "rmsnorm inverse_rms");
    r1::test::check_within(r1::test::download(y), ref_y, bound_y, "rmsnorm y");
    r1::test::check_within(r1::test::download(dx), ref_dx, bound_dx, "rmsnorm dx");
    r1::test::check_within(r1::test::download(d_w_grad), ref_dw, bound_dw, "rmsnorm d_weight");
  }
}

TEST_CASE_TEMPLATE("rope rotates in place by the table angles; the backward is the inverse rotation", T, float,
                   r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  const int tokens = 9, heads = 3, head_dim = 70, max_positions = 40;  // head_dim/2 = 35: odd pair count
  const auto tables = r1::gpu::make_rope_tables(max_positions, head_dim, 1e6);
  const std::vector<std::int32_t> positions{0, 1, 2, 39, 17, 5, -1, 40, 3};  // -1 and 40 stay unrotated
  const std::size_t n = std::size_t(tokens) * heads * head_dim;
  const auto x = r1::test::random_values<T>(n, 31);
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_x = r1::test::upload<T>(arena, x, "x");
  auto d_g = r1::test::upload<T>(arena, x, "gradient");
  auto d_positions = r1::test::upload_exact(arena, positions, "positions");
  auto d_cos = r1::test::upload_exact(arena, tables.cos, "cos");
  auto d_sin = r1::test::upload_exact(arena, tables.sin, "sin");
  r1::gpu::rope_forward<T>(d_x.data, d_positions.data, d_cos.data, d_sin.data, tokens, heads, head_dim, max_positions,
                           nullptr);
  r1::gpu::rope_backward<T>(d_g.data, d_positions.data, d_cos.data, d_sin.data, tokens, heads, head_dim,
                            max_positions, nullptr);
  std::vector<double> ref_fwd(x), ref_bwd(x), bound(n, 1e-30);
  const int half = head_dim / 2;
  for (int t = 0; t < tokens; ++t) {
    if (positions[t] < 0 || positions[t] >= max_positions) continue;
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        const double c = tables.cos[std::size_t(positions[t]) * half + i];
        const double s = tables.sin[std::size_t(positions[t]) * half + i];
        const std::size_t a = (std::size_t(t) * heads + h) * head_dim + i, b = a + half;
        ref_fwd[a] = x[a] * c - x[b] * s;
        ref_fwd[b] = x[b] * c + x[a] * s;
        ref_bwd[a] = x[a] * c + x[b] * s;
        ref_bwd[b] = x[b] * c - x[a] * s;
        // Two products and one sum in fp32: <= 2 u32 (|x_a c| + |x_b s|), then the storage rounding
        // of a result no larger than that sum.
        const double size = std::abs(x[a] * c) + std::abs(x[b] * s);
        bound[a] = bound[b] = size * (2 * u32 + us * (1 + 2 * u32)) + 1e-30;
      }
  }
  r1::test::check_within(r1::test::download(d_x), ref_fwd, bound, "rope forward");
  r1::test::check_within(r1::test::download(d_g), ref_bwd, bound, "rope backward");
  CHECK_THROWS_AS(r1::gpu::rope_forward<T>(d_x.data, d_positions.data, d_cos.data, d_sin.data, tokens, heads, 7,
                                           max_positions, nullptr),
                  r1::Error);
}

TEST_CASE_TEMPLATE("swiglu forward and backward over packed [gate | up] rows match the double reference", T, float,
                   r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  const int rows = 17, features = 241;  // rows * features = 4097: not a multiple of the 256-thread block
  const std::int64_t n = std::int64_t{rows} * features;
  const auto gate_up = r1::test::random_values<T>(2 * n, 41, 3.0);
  const auto d_out = r1::test::random_values<T>(n, 43);
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_gate_up = r1::test::upload<T>(arena, gate_up, "gate_up");
  auto d_d_out = r1::test::upload<T>(arena, d_out, "d_out");
  auto out = arena.allocate<T>(n, "out");
  auto d_gate_up_grad = arena.allocate<T>(2 * n, "d_gate_up");
  r1::gpu::swiglu_forward<T>(d_gate_up.data, rows, features, out.data, nullptr);
  r1::gpu::swiglu_backward<T>(d_gate_up.data, d_d_out.data, rows, features, d_gate_up_grad.data, nullptr);
  std::vector<double> ref_out(n), bound_out(n), ref_grad(2 * n), bound_grad(2 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t g_at = (i / features) * 2 * features + i % features, u_at = g_at + features;
    const double g = gate_up[g_at], u = gate_up[u_at];
    const double s = 1.0 / (1.0 + std::exp(-g));
    ref_out[i] = g * s * u;
    ref_grad[u_at] = d_out[i] * g * s;
    ref_grad[g_at] = d_out[i] * u * s * (1 + g * (1 - s));
    // sigmoid: expf is within 2 ulp (<= 4 u32 relative, CUDA programming guide, table of
    // single-precision maximum ulp errors), 1 + e and the reciprocal add 2: 6 u32 relative.
    // out and d_up: 2 more products -> 8 u32, then the storage rounding.
    bound_out[i] = std::abs(ref_out[i]) * (8 * u32 + us * 1.01) + 1e-30;
    bound_grad[u_at] = std::abs(ref_grad[u_at]) * (8 * u32 + us * 1.01) + 1e-30;
    // d_gate: 1 - s loses its relative accuracy when s ~ 1: absolute error <= 7 u32 there, times |g|,
    // and the remaining 5 products/sums add 5 u32 relative to each factor.
    const double common = std::abs(d_out[i] * u * s);
    bound_grad[g_at] = common * (std::abs(1 + g * (1 - s)) * 11 * u32 + std::abs(g) * 8 * u32) +
                       us * std::abs(ref_grad[g_at]) * 1.01 + 1e-30;
  }
  r1::test::check_within(r1::test::download(out), ref_out, bound_out, "swiglu out");
  r1::test::check_within(r1::test::download(d_gate_up_grad), ref_grad, bound_grad, "swiglu d_gate_up");
  CHECK_THROWS_AS(r1::gpu::swiglu_forward<T>(d_gate_up.data, rows, 0, out.data, nullptr), r1::Error);
}

TEST_CASE("rope on the CPU model's packed [q | k | v] rows equals rope on dense q and k, bit for bit") {
  const int tokens = 5, H = 4, K = 2, D = 16, width = (H + 2 * K) * D, max_positions = 8;
  const auto tables = r1::gpu::make_rope_tables(max_positions, D, 10000.0);
  const std::vector<std::int32_t> positions{0, 1, 2, 3, 7};
  const auto qkv = r1::test::random_values<float>(std::size_t(tokens) * width, 35);
  std::vector<double> q, k;
  for (int t = 0; t < tokens; ++t) {
    q.insert(q.end(), qkv.begin() + std::ptrdiff_t(t) * width, qkv.begin() + std::ptrdiff_t(t) * width + H * D);
    k.insert(k.end(), qkv.begin() + std::ptrdiff_t(t) * width + H * D,
             qkv.begin() + std::ptrdiff_t(t) * width + (H + K) * D);
  }
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_qkv = r1::test::upload<float>(arena, qkv, "qkv");
  auto d_q = r1::test::upload<float>(arena, q, "q");
  auto d_k = r1::test::upload<float>(arena, k, "k");
  auto d_positions = r1::test::upload_exact(arena, positions, "positions");
  auto d_cos = r1::test::upload_exact(arena, tables.cos, "cos");
  auto d_sin = r1::test::upload_exact(arena, tables.sin, "sin");
  r1::gpu::rope_forward<float>(d_qkv.data, d_positions.data, d_cos.data, d_sin.data, tokens, H, D, max_positions,
                               nullptr, width);
  r1::gpu::rope_forward<float>(d_qkv.data + H * D, d_positions.data, d_cos.data, d_sin.data, tokens, K, D,
                               max_positions, nullptr, width);
  r1::gpu::rope_forward<float>(d_q.data, d_positions.data, d_cos.data, d_sin.data, tokens, H, D, max_positions, nullptr);
  r1::gpu::rope_forward<float>(d_k.data, d_positions.data, d_cos.data, d_sin.data, tokens, K, D, max_positions, nullptr);
  const auto packed = r1::test::download(d_qkv), dense_q = r1::test::download(d_q), dense_k = r1::test::download(d_k);
  int mismatches = 0;
  for (int t = 0; t < tokens; ++t) {
    for (int e = 0; e < H * D; ++e) mismatches += packed[std::size_t(t) * width + e] != dense_q[std::size_t(t) * H * D + e];
    for (int e = 0; e < K * D; ++e)
      mismatches += packed[std::size_t(t) * width + H * D + e] != dense_k[std::size_t(t) * K * D + e];
    for (int e = (H + K) * D; e < width; ++e)  // v is not touched
      mismatches += packed[std::size_t(t) * width + e] != qkv[std::size_t(t) * width + e];
  }
  CHECK(mismatches == 0);
  CHECK_THROWS_AS(r1::gpu::rope_forward<float>(d_qkv.data, d_positions.data, d_cos.data, d_sin.data, tokens, H, D,
                                               max_positions, nullptr, H * D - 1),
                  r1::Error);
}

TEST_CASE_TEMPLATE("residual_add and bias_gradient match the double reference", T, float, r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  const int rows = 300, cols = 37;  // two 256-row chunks, the second partial
  const std::size_t n = std::size_t(rows) * cols;
  const auto x = r1::test::random_values<T>(n, 141), y = r1::test::random_values<T>(n, 142);
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_x = r1::test::upload<T>(arena, x, "x");
  auto d_y = r1::test::upload<T>(arena, y, "y");
  auto d_bias = r1::test::upload<float>(arena, std::vector<double>(cols, 1.0), "d_bias");  // accumulates onto 1
  r1::gpu::residual_add<T>(d_x.data, d_y.data, static_cast<std::int64_t>(n), nullptr);
  r1::gpu::bias_gradient<T>(d_y.data, rows, cols, d_bias.data, nullptr);
  std::vector<double> ref(n), bound(n), ref_bias(cols, 1.0), bound_bias(cols, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    ref[i] = x[i] + y[i];
    // One fp32 addition (u), then the storage rounding.
    bound[i] = std::abs(ref[i]) * (u32 + us * 1.01) + 1e-30;
    ref_bias[i % cols] += y[i];
    bound_bias[i % cols] += std::abs(y[i]);
  }
  // rows + 1 fp32 additions (chunk sums, then one atomicAdd per chunk onto the initial 1).
  for (int c = 0; c < cols; ++c) bound_bias[c] = (bound_bias[c] + 1.0) * (rows + 1) * u32;
  r1::test::check_within(r1::test::download(d_x), ref, bound, "residual_add");
  r1::test::check_within(r1::test::download(d_bias), ref_bias, bound_bias, "bias_gradient");
}
