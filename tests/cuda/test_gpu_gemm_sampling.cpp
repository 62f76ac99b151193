// cuBLASLt GEMM in every transpose combination and precision pair, and top-k /
// top-p sampling, against double-precision references.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/device.hpp"
#include "r1/cuda/gemm_plan.hpp"
#include "r1/cuda/ops/gemm.hpp"
#include "r1/cuda/ops/sampling.hpp"

using r1::test::u32;

namespace {

template <class In, class Out>
// `misaligned`: operands start one element past an aligned address, as weights inside one
// flat parameter buffer may (cuBLASLt must then pick an algorithm that allows it).
// `separate_output`: D = alpha op(A) op(B) + beta C into a buffer other than C, which must stay as it was.
void check_gemm(bool transpose_a, bool transpose_b, bool with_bias = false, bool misaligned = false,
                bool separate_output = false) {
  INFO("transpose_a ", transpose_a, " transpose_b ", transpose_b, " bias ", with_bias, " misaligned ", misaligned,
       " separate output ", separate_output);
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
  // D starts as values unrelated to the result, so a D left unwritten fails.
  auto d_d = r1::test::upload<Out>(arena, r1::test::random_values<Out>(c0.size(), 115), "d");
  r1::gpu::CublasLt blas;
  if (separate_output)
    r1::gpu::gemm<In, Out>(blas, {m, n, k, transpose_a, transpose_b}, static_cast<float>(alpha), d_a.data, d_b.data,
                           static_cast<float>(beta), static_cast<const Out*>(d_c.data), d_d.data, nullptr,
                           with_bias ? d_bias.data : nullptr);
  else
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
  r1::test::check_within(r1::test::download(separate_output ? d_d : d_c), ref, bound, "gemm");
  if (separate_output) CHECK(r1::test::download(d_c) == c0);  // C is only read
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
  // C != D: a residual added into a new buffer, with and without bias, aligned and not.
  check_gemm<float, float>(false, true, false, false, true);
  check_gemm<r1::gpu::bf16, r1::gpu::bf16>(false, true, true, false, true);
  check_gemm<r1::gpu::bf16, float>(true, false, false, true, true);
  r1::gpu::CublasLt blas;
  CHECK_THROWS_AS((r1::gpu::gemm<float, float>(blas, {2, 2, 0}, 1.0f, nullptr, nullptr, 0.0f, nullptr, nullptr)),
                  r1::Error);
}

TEST_CASE("gemm queries cuBLASLt's heuristic once per shape, types and alignments, then reuses the plan") {
  const int m = 64, n = 48, k = 96;
  const auto a = r1::test::random_values<r1::gpu::bf16>(std::size_t(m) * k + 1, 131);
  const auto b = r1::test::random_values<r1::gpu::bf16>(std::size_t(k) * n + 1, 132);
  r1::gpu::DeviceArena arena(1 << 20);
  auto d_a = r1::test::upload<r1::gpu::bf16>(arena, a, "a");
  auto d_b = r1::test::upload<r1::gpu::bf16>(arena, b, "b");
  auto d_c = arena.allocate<r1::gpu::bf16>(std::size_t(m) * n, "c");
  auto d_d = arena.allocate<r1::gpu::bf16>(std::size_t(m) * n, "d");
  r1::gpu::CublasLt blas;
  const auto& plans = blas.plans();
  const r1::gpu::GemmShape shape{m, n, k, false, true};
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, shape, 1.0f, d_a.data, d_b.data, 0.0f, d_c.data, nullptr);
  CHECK((plans.misses() == 1 && plans.hits() == 0));
  // The same GEMM again (the next micro-batch's), and C != D with equally aligned buffers: the same plan.
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, shape, 1.0f, d_a.data, d_b.data, 0.0f, d_c.data, nullptr);
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, shape, 1.0f, d_a.data, d_b.data, 1.0f,
                                              static_cast<const r1::gpu::bf16*>(d_c.data), d_d.data, nullptr);
  CHECK((plans.misses() == 1 && plans.hits() == 2 && plans.size() == 1));
  // A one-element offset (2-byte alignment), the other transpose, an fp32 output: a plan each.
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, shape, 1.0f, d_a.data + 1, d_b.data, 0.0f, d_c.data, nullptr);
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, {m, n, k, false, false}, 1.0f, d_a.data, d_b.data, 0.0f, d_c.data,
                                              nullptr);
  auto d_f = arena.allocate<float>(std::size_t(m) * n, "f");
  r1::gpu::gemm<r1::gpu::bf16, float>(blas, shape, 1.0f, d_a.data, d_b.data, 0.0f, d_f.data, nullptr);
  CHECK((plans.misses() == 4 && plans.hits() == 2 && plans.size() == 4));
  // Moving the handle keeps its plans.
  r1::gpu::CublasLt moved(std::move(blas));
  CHECK(moved.plans().size() == 4);
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(moved, shape, 1.0f, d_a.data, d_b.data, 0.0f, d_c.data, nullptr);
  CHECK((moved.plans().misses() == 4 && moved.plans().hits() == 3));
  r1::gpu::synchronize("plan cache test");
}

TEST_CASE("a long-k bf16 GEMM reduces split-K partial sums in fp32 only") {
  // Few outputs and a long k, where cuBLASLt's heuristic splits k across thread blocks.
  const int m = 32, n = 32, k = 1 << 16;
  const auto a = r1::test::random_values<r1::gpu::bf16>(std::size_t(m) * k, 141);
  const auto b = r1::test::random_values<r1::gpu::bf16>(std::size_t(n) * k, 142);
  r1::gpu::DeviceArena arena(std::size_t(16) << 20);
  auto d_a = r1::test::upload<r1::gpu::bf16>(arena, a, "a");
  auto d_b = r1::test::upload<r1::gpu::bf16>(arena, b, "b");
  auto d_c = arena.allocate<r1::gpu::bf16>(std::size_t(m) * n, "c");
  r1::gpu::CublasLt blas;
  const r1::gpu::GemmShape shape{m, n, k, false, true};
  r1::gpu::gemm<r1::gpu::bf16, r1::gpu::bf16>(blas, shape, 1.0f, d_a.data, d_b.data, 0.0f, d_c.data, nullptr);
  const auto key = r1::gpu::gemm_plan_key(m, n, k, false, true, CUDA_R_16BF, CUDA_R_16BF, d_a.data, d_b.data, d_c.data,
                                          d_c.data, nullptr);
  const r1::gpu::GemmPlan* plan = blas.plans().find(key);
  REQUIRE(plan != nullptr);
  std::uint32_t splits = 1, scheme = 0;
  std::size_t written = 0;
  REQUIRE(cublasLtMatmulAlgoConfigGetAttribute(&plan->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splits, sizeof(splits),
                                               &written) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatmulAlgoConfigGetAttribute(&plan->algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme,
                                               sizeof(scheme), &written) == CUBLAS_STATUS_SUCCESS);
  INFO("split-K ", splits, " reduction scheme ", scheme);
  if (splits > 1) CHECK((scheme & ~r1::gpu::reduction_scheme_mask(CUDA_R_16BF)) == 0);
  // Whatever the split: fp32 accumulation of k exact bf16 products in any order (gamma_k = k u32 of
  // the sum of |products|), then one bf16 rounding. This worst-case bound is loose enough to admit a
  // bf16 partial-sum reduction too: the scheme check above is what pins that; this checks the result.
  std::vector<double> ref(std::size_t(m) * n), bound(ref.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int p = 0; p < k; ++p) {
        const double product = a[std::size_t(i) * k + p] * b[std::size_t(j) * k + p];
        sum += product, mag += std::abs(product);
      }
      ref[std::size_t(i) * n + j] = sum;
      bound[std::size_t(i) * n + j] = (k + 1) * u32 * mag + r1::test::u16 * std::abs(sum) * 1.01 + 1e-30;
    }
  r1::test::check_within(r1::test::download(d_c), ref, bound, "long-k gemm");
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
