// cuBLASLt GEMM in every transpose combination and precision pair, and top-k /
// top-p sampling, against double-precision references.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/ops/gemm.hpp"
#include "r1/cuda/ops/sampling.hpp"

using r1::test::u32;

namespace {

template <class In, class Out>
// `misaligned`: operands start one element past an aligned address, as weights inside one
// flat parameter buffer may (cuBLASLt must then pick an algorithm that allows it).
void check_gemm(bool transpose_a, bool transpose_b, bool with_bias = false, bool misaligned = false) {
  INFO("transpose_a ", transpose_a, " transpose_b ", transpose_b, " bias ", with_bias, " misaligned ", misaligned);
  const int m = 37, n = 45, k = 129;  // none a multiple of 8 or 16 (tensor-core tile edges)
  const double alpha = 1.5, beta = 0.5;
  const auto a = r1::test::random_values<In>(std::size_t(m) * k, 111);
  const auto b = r1::test::random_values<In>(std::size_t(k) * n, 112);
  const auto c0 = r1::test::random_values<Out>(std::size_t(m) * n, 113);
  r1::gpu::DeviceArena arena(1 << 20);
  const std::size_t shift = misaligned ? 1 : 0;
  auto padded = [&](const std::vector<double>& v) {
    std::vector<double> out(shift, 0.0);
    out.insert(out.end(), v.begin(), v.end());
    return out;
  };
  auto d_a = r1::test::upload<In>(arena, padded(a), "a").subspan(shift, a.size());
  auto d_b = r1::test::upload<In>(arena, padded(b), "b").subspan(shift, b.size());
  auto d_c = r1::test::upload<Out>(arena, padded(c0), "c").subspan(shift, c0.size());
  const auto bias = with_bias ? r1::test::random_values<Out>(n, 114) : std::vector<double>(n, 0.0);
  auto d_bias = r1::test::upload<Out>(arena, bias, "bias");
  r1::gpu::CublasLt blas;
  r1::gpu::gemm<In, Out>(blas, {m, n, k, transpose_a, transpose_b}, static_cast<float>(alpha), d_a.data, d_b.data,
                         static_cast<float>(beta), d_c.data, nullptr, with_bias ? d_bias.data : nullptr);
  auto A = [&](int i, int p) { return transpose_a ? a[std::size_t(p) * m + i] : a[std::size_t(i) * k + p]; };
  auto B = [&](int p, int j) { return transpose_b ? b[std::size_t(j) * k + p] : b[std::size_t(p) * n + j]; };
  std::vector<double> ref(c0.size()), bound(c0.size());
  const double us = r1::test::storage_roundoff<Out>;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int p = 0; p < k; ++p) sum += A(i, p) * B(p, j), mag += std::abs(A(i, p) * B(p, j));
      const std::size_t at = std::size_t(i) * n + j;
      ref[at] = alpha * sum + beta * c0[at] + bias[j];
      // Products of fp32/bf16 inputs: <= u each; k-term fp32 accumulation in any order: gamma_k;
      // alpha, beta products and the final sum: 2 u; the bias addition one more u of everything;
      // then the storage rounding.
      bound[at] = (k + 3) * u32 * alpha * mag + 3 * u32 * (std::abs(beta * c0[at]) + std::abs(bias[j])) +
                  us * std::abs(ref[at]) * 1.01 + 1e-30;
    }
  r1::test::check_within(r1::test::download(d_c), ref, bound, "gemm");
}

}  // namespace

TEST_CASE("gemm matches the double reference for every transpose and precision pair") {
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      check_gemm<float, float>(ta, tb);
      check_gemm<r1::gpu::bf16, r1::gpu::bf16>(ta, tb);
      check_gemm<r1::gpu::bf16, float>(ta, tb);
    }
  // A linear layer with bias, y = x W^T + b, as Qwen2's q/k/v projections.
  check_gemm<float, float>(false, true, true);
  check_gemm<r1::gpu::bf16, r1::gpu::bf16>(false, true, true);
  check_gemm<r1::gpu::bf16, float>(false, true, true);
  check_gemm<float, float>(false, true, true, true);
  check_gemm<r1::gpu::bf16, r1::gpu::bf16>(false, false, false, true);
  r1::gpu::CublasLt blas;
  CHECK_THROWS_AS((r1::gpu::gemm<float, float>(blas, {2, 2, 0}, 1.0f, nullptr, nullptr, 0.0f, nullptr, nullptr)),
                  r1::Error);
}

namespace {

// The reference sampler in double: returns the token, or -1 when u * total or the top-p
// cut lies within `margin` (relative to the kept mass) of a boundary, where fp32
// rounding may legitimately decide either way.
int reference_sample(const std::vector<double>& logits, const r1::gpu::SamplingParameters& params, double u,
                     double margin) {
  const int vocab = static_cast<int>(logits.size());
  if (params.temperature == 0.0f)
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<double> sorted(logits);
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  double cut = -INFINITY;
  if (params.top_k > 0 && params.top_k < vocab) cut = sorted[params.top_k - 1];
  const double m = sorted[0];
  auto e = [&](double l) { return std::exp((l - m) / params.temperature); };
  double kept_total = 0;
  for (double l : sorted)
    if (l >= cut) kept_total += e(l);
  if (params.top_p < 1.0f) {
    const double target = params.top_p * kept_total;
    double mass = 0;
    for (std::size_t i = 0; i < sorted.size() && sorted[i] >= cut; ++i) {
      // all values tied with sorted[i] enter together
      std::size_t j = i;
      double tied = 0;
      while (j < sorted.size() && sorted[j] == sorted[i]) tied += e(sorted[j]), ++j;
      if (std::abs(mass + tied - target) <= margin * kept_total) return -1;
      mass += tied;
      if (mass >= target) {
        cut = sorted[i];
        break;
      }
      i = j - 1;
    }
  }
  double total = 0;
  for (double l : logits)
    if (l >= cut) total += e(l);
  double cumulative = 0;
  for (int j = 0; j < vocab; ++j) {
    if (logits[j] < cut) continue;
    const double next = cumulative + e(logits[j]);
    if (std::abs(next - u * total) <= margin * total) return -1;
    if (u * total < next) return j;
    cumulative = next;
  }
  return -1;
}

}  // namespace

TEST_CASE("sample_tokens draws the token the double reference draws, for top-k, top-p, both and greedy") {
  const int rows = 64, vocab = 1000;
  const auto logits = r1::test::random_values<float>(std::size_t(rows) * vocab, 121, 2.0);
  std::vector<double> uniforms(rows);
  for (int r = 0; r < rows; ++r) uniforms[r] = (r + 0.37) / rows;
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_logits = r1::test::upload<float>(arena, logits, "logits");
  auto d_uniforms = r1::test::upload<float>(arena, uniforms, "uniforms");
  auto d_tokens = arena.allocate<std::int32_t>(rows, "tokens");
  // The kernel's sums of vocab exp terms (each within 4 u of expf and 2 u of its argument
  // scaled by |l - m| / T <= ~16) are within (vocab + 40) u of the truth, relatively.
  const double margin = (vocab + 40) * u32 * 4;
  for (const r1::gpu::SamplingParameters params :
       {r1::gpu::SamplingParameters{0.7f, 50, 0.9f}, r1::gpu::SamplingParameters{1.0f, 0, 1.0f},
        r1::gpu::SamplingParameters{1.3f, 5, 1.0f}, r1::gpu::SamplingParameters{1.0f, 0, 0.5f},
        r1::gpu::SamplingParameters{0.0f, 0, 1.0f}}) {
    INFO("temperature ", params.temperature, " top_k ", params.top_k, " top_p ", params.top_p);
    r1::gpu::sample_tokens(d_logits.data, rows, vocab, params, d_uniforms.data, d_tokens.data, nullptr);
    const auto got = r1::gpu::copy_to_host(d_tokens, nullptr, "tokens");
    int checked = 0;
    for (int r = 0; r < rows; ++r) {
      const std::vector<double> row(logits.begin() + std::ptrdiff_t(r) * vocab,
                                    logits.begin() + std::ptrdiff_t(r + 1) * vocab);
      const int expected = reference_sample(row, params, uniforms[r], margin);
      if (expected < 0) continue;
      ++checked;
      CHECK(got[r] == expected);
    }
    CHECK(checked >= rows * 9 / 10);  // boundary cases are rare at this margin
  }
  CHECK_THROWS_AS(r1::gpu::sample_tokens(d_logits.data, rows, vocab, {1.0f, 0, 0.0f}, d_uniforms.data, d_tokens.data,
                                         nullptr),
                  r1::Error);
}
