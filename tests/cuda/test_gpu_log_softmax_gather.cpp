// Log-softmax-gather + entropy at a temperature, forward and backward, against a
// double-precision reference, with a 5003-token vocabulary (not a multiple of the
// 512-thread block), a masked row, and fp32 and bf16 logits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/ops/log_softmax_gather.hpp"

using r1::test::u32;

TEST_CASE_TEMPLATE("log_softmax_gather matches the double reference, forward and backward", T, float, r1::gpu::bf16) {
  const double us = r1::test::storage_roundoff<T>;
  const int rows = 6, vocab = 5003, threads = 512;
  const double temperature = 0.7;
  const std::vector<std::int32_t> targets{0, 5002, 17, -1, 2500, 4};  // row 3 is not scored
  const auto logits = r1::test::random_values<T>(std::size_t(rows) * vocab, 51, 3.0);
  std::vector<double> d_logprobs{0.5, -1.0, 0.25, 9.0, 2.0, -0.75}, d_entropies{0.1, 0.0, -0.3, 9.0, 0.05, 1.0};
  r1::gpu::DeviceArena arena(1 << 24);
  auto d_logits = r1::test::upload<T>(arena, logits, "logits");
  auto d_targets = r1::test::upload_exact(arena, targets, "targets");
  auto d_dlp = r1::test::upload<float>(arena, d_logprobs, "d_logprobs");
  auto d_dh = r1::test::upload<float>(arena, d_entropies, "d_entropies");
  auto logprobs = arena.allocate<float>(rows, "logprobs");
  auto entropies = arena.allocate<float>(rows, "entropies");
  auto lse = arena.allocate<float>(rows, "logsumexp");
  auto mean_z = arena.allocate<float>(rows, "mean_z");
  auto d_logits_out = arena.allocate<T>(std::size_t(rows) * vocab, "d_logits");
  r1::gpu::log_softmax_gather_forward<T>(d_logits.data, d_targets.data, rows, vocab, static_cast<float>(temperature),
                                         logprobs.data, entropies.data, lse.data, mean_z.data, nullptr);
  r1::gpu::log_softmax_gather_backward<T>(d_logits.data, d_targets.data, lse.data, mean_z.data, d_dlp.data,
                                          d_dh.data, rows, vocab, static_cast<float>(temperature),
                                          d_logits_out.data, nullptr);
  const auto got_lp = r1::test::download(logprobs);
  const auto got_h = r1::test::download(entropies);
  const auto got_lse = r1::test::download(lse);
  const auto got_mean = r1::test::download(mean_z);
  const auto got_grad = r1::test::download(d_logits_out);

  std::vector<double> ref_lp(rows, 0.0), ref_h(rows, 0.0), bound_lp(rows, 1e-30), bound_h(rows, 1e-30);
  std::vector<double> ref_grad(std::size_t(rows) * vocab, 0.0), bound_grad(ref_grad.size(), 1e-30);
  for (int row = 0; row < rows; ++row) {
    if (targets[row] < 0) continue;
    const double* l = logits.data() + std::size_t(row) * vocab;
    double m = -INFINITY, z_abs = 0;
    for (int j = 0; j < vocab; ++j) m = std::max(m, l[j] / temperature), z_abs = std::max(z_abs, std::abs(l[j] / temperature));
    double s = 0, w = 0, spread = 0;
    for (int j = 0; j < vocab; ++j) {
      const double e = std::exp(l[j] / temperature - m);
      s += e;
      w += e * (l[j] / temperature - m);
      spread += e * std::abs(l[j] / temperature - m);
    }
    const double row_lse = m + std::log(s), mean = m + w / s;
    spread /= s;  // E_p |z - m|
    ref_lp[row] = l[targets[row]] / temperature - row_lse;
    ref_h[row] = std::log(s) - w / s;
    // Error budget of the kernel (u = u32). z = logit * (1/T): 2u relative. Each term e^{z-m}
    // carries 2u(|z| + |m|) <= 4uZ from its argument, 4u from expf (2 ulp, CUDA guide) and u
    // from the product, then passes through at most K rescalings (max moves within a thread,
    // <= vocab/threads + 1, plus 5 + 5 shuffle merges), each off by expf's 4u, a product's u
    // and 2uZ from its argument: e_term = u(4Z + 5) + K u (5 + 2Z). Summing vocab terms adds
    // vocab*u relative: e_s. log s and m + log s add u|lse|.
    const double K = vocab / threads + 1 + 10;
    const double e_term = u32 * (4 * z_abs + 5) + K * u32 * (5 + 2 * z_abs);
    const double e_s = e_term + vocab * u32;
    const double e_lse = e_s + 2 * u32 * std::abs(row_lse);
    bound_lp[row] = e_lse + 2 * u32 * std::abs(l[targets[row]] / temperature) + u32 * std::abs(ref_lp[row]);
    // H = log s - w/s: w's terms e^{z-m}(z-m) are off by e_term relatively and 4uZ e^{z-m}
    // absolutely, its sum by vocab*u; w/s by those plus e_s relative.
    const double e_ws = spread * (e_term + vocab * u32) + 4 * u32 * z_abs + std::abs(w / s) * e_s;
    bound_h[row] = e_s + e_ws + 2 * u32 * std::abs(ref_h[row]);
    // The backward reads lse and E[z] as the GPU forward saved them, so their errors carry over:
    // p_j = expf(z_j - lse) is off relatively by e_lse + 2u|z_j| + u|z_j - lse| + 4u.
    const double e_mean = e_ws + 2 * u32 * std::abs(mean);
    for (int j = 0; j < vocab; ++j) {
      const double z = l[j] / temperature;
      const double p = std::exp(z - row_lse);
      const double dz = d_logprobs[row] * ((j == targets[row] ? 1.0 : 0.0) - p) - d_entropies[row] * p * (z - mean);
      const std::size_t k = std::size_t(row) * vocab + j;
      ref_grad[k] = dz / temperature;
      const double e_p = e_lse + 2 * u32 * std::abs(z) + u32 * std::abs(z - row_lse) + 4 * u32;
      const double size = (std::abs(d_logprobs[row]) + std::abs(d_entropies[row] * (z - mean))) * p;
      // 6 more roundings over the terms of dz (subtractions, products, the 1/T product).
      bound_grad[k] = (size * e_p + std::abs(d_entropies[row]) * p * (e_mean + 2 * u32 * std::abs(z)) +
                       6 * u32 * (size + std::abs(d_logprobs[row]))) / temperature +
                      us * std::abs(ref_grad[k]) * 1.01 + 1e-30;
    }
  }
  r1::test::check_within(got_lp, ref_lp, bound_lp, "log-probs");
  r1::test::check_within(got_h, ref_h, bound_h, "entropies");
  r1::test::check_within(got_grad, ref_grad, bound_grad, "d_logits");
  CHECK(got_lse[3] == 0.0);  // the unscored row
  CHECK(got_mean[3] == 0.0);
  CHECK_THROWS_AS(r1::gpu::log_softmax_gather_forward<T>(d_logits.data, d_targets.data, rows, vocab, 0.0f,
                                                         logprobs.data, entropies.data, lse.data, mean_z.data, nullptr),
                  r1::Error);
}

TEST_CASE("log_softmax_gather_backward in place, and from fp32 logits into bf16 d_logits (the fused LM head)") {
  const int rows = 3, vocab = 1031;
  const std::vector<std::int32_t> targets{7, -1, 1030};
  const auto logits = r1::test::random_values<float>(std::size_t(rows) * vocab, 57, 2.0);
  const std::vector<double> d_logprobs{1.0, 3.0, -0.5}, d_entropies{0.2, 3.0, -0.1};
  r1::gpu::DeviceArena arena(1 << 22);
  auto in = r1::test::upload<float>(arena, logits, "logits");
  auto in_place = r1::test::upload<float>(arena, logits, "logits, overwritten");
  auto d_targets = r1::test::upload_exact(arena, targets, "targets");
  auto dlp = r1::test::upload<float>(arena, d_logprobs, "d_logprobs");
  auto dh = r1::test::upload<float>(arena, d_entropies, "d_entropies");
  auto stats = arena.allocate<float>(4 * rows, "logprobs, entropies, lse, mean");
  auto separate = arena.allocate<float>(std::size_t(rows) * vocab, "d_logits fp32");
  auto narrow = arena.allocate<r1::gpu::bf16>(std::size_t(rows) * vocab, "d_logits bf16");
  float* s = stats.data;
  r1::gpu::log_softmax_gather_forward<float>(in.data, d_targets.data, rows, vocab, 0.9f, s, s + rows, s + 2 * rows,
                                             s + 3 * rows, nullptr);
  r1::gpu::log_softmax_gather_backward<float>(in.data, d_targets.data, s + 2 * rows, s + 3 * rows, dlp.data, dh.data,
                                              rows, vocab, 0.9f, separate.data, nullptr);
  r1::gpu::log_softmax_gather_backward<float>(in_place.data, d_targets.data, s + 2 * rows, s + 3 * rows, dlp.data,
                                              dh.data, rows, vocab, 0.9f, in_place.data, nullptr);
  r1::gpu::log_softmax_gather_backward<float, r1::gpu::bf16>(in.data, d_targets.data, s + 2 * rows, s + 3 * rows,
                                                             dlp.data, dh.data, rows, vocab, 0.9f, narrow.data,
                                                             nullptr);
  const auto expected = r1::test::download(separate);
  // The same fp32 arithmetic per element whatever the output: in place gives the same bits, and
  // bf16 output is that fp32 value rounded to nearest even.
  CHECK(r1::test::download(in_place) == expected);
  const auto got_narrow = r1::test::download(narrow);
  int mismatches = 0, nonzero = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    mismatches += got_narrow[k] != r1::gpu::round_to_bf16(float(expected[k]));
    nonzero += expected[k] != 0.0;
  }
  CHECK(mismatches == 0);
  CHECK(nonzero >= 2 * vocab - 2);  // rows 0 and 2 carry gradients (row 1 is unscored: zeros)
}
