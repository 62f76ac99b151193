// The decode-step GEMM (few_rows_linear.hpp) and linear_forward's few-rows path against a double-precision
// dot product, on shapes with every remainder of the 4-row x 3-column tiles and of the SIMD width.
//
// Tolerance: a float dot product of K terms, however it is associated (here: lanes, then a lane sum, then
// the scalar tail), has |error| <= gamma_K * sum_k |x_k w_k| with gamma_K = K u / (1 - K u), u = 2^-24
// (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5). `accumulate` adds one
// rounding of the sum into y (u |y + s|); the bias adds one more (u |y + s + b|). The test allows
// gamma_{K+2} * (sum |x w| + |y| + |b|), which covers both.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/ops/linear.hpp"

namespace {

std::vector<float> random_values(std::size_t count, r1::Philox& rng) {
  std::vector<float> values(count);
  for (auto& value : values) value = static_cast<float>(rng.normal());
  return values;
}

// gamma_n for unit roundoff u (2^-24 for float, 2^-53 for double).
double gamma(std::int64_t terms, double u = std::ldexp(1.0, -24)) {
  return static_cast<double>(terms) * u / (1.0 - static_cast<double>(terms) * u);
}

// y (M x J at row stride) from before and after, against sum_k x w (+ y before) (+ bias) in double.
void check_against_reference(const std::vector<float>& x, const std::vector<float>& w, const float* bias,
                             std::int64_t M, std::int64_t K, std::int64_t J, std::int64_t stride,
                             const std::vector<float>& before, const std::vector<float>& after, bool accumulate) {
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t j = 0; j < J; ++j) {
      double exact = 0.0, magnitude = 0.0;
      for (std::int64_t k = 0; k < K; ++k) {
        const double product = static_cast<double>(x[static_cast<std::size_t>(m * K + k)]) * w[static_cast<std::size_t>(j * K + k)];
        exact += product;
        magnitude += std::abs(product);
      }
      const auto at = static_cast<std::size_t>(m * stride + j);
      if (accumulate) {
        exact += before[at];
        magnitude += std::abs(before[at]);
      }
      if (bias != nullptr) {
        exact += bias[j];
        magnitude += std::abs(bias[j]);
      }
      INFO("M ", M, " K ", K, " J ", J, " row ", m, " column ", j, " accumulate ", accumulate);
      CHECK(std::abs(after[at] - exact) <= gamma(K + 2) * magnitude);
    }
  // Columns past J in each row (the row stride's padding) are left alone.
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t j = J; j < stride; ++j) CHECK(after[static_cast<std::size_t>(m * stride + j)] == before[static_cast<std::size_t>(m * stride + j)]);
}

}  // namespace

TEST_CASE("few_rows_linear equals the double dot products for every tile and lane remainder") {
  r1::Philox rng(5);
  for (const std::int64_t M : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16})
    for (const std::int64_t K : {1, 7, 8, 9, 16, 17, 33, 256})
      for (const std::int64_t J : {1, 2, 3, 4, 5, 6, 7, 97})
        for (const bool accumulate : {false, true}) {
          const std::int64_t stride = J + 3;
          const auto x = random_values(static_cast<std::size_t>(M * K), rng);
          const auto w = random_values(static_cast<std::size_t>(J * K), rng);
          const auto before = random_values(static_cast<std::size_t>(M * stride), rng);
          auto after = before;
          r1::few_rows_linear(x.data(), M, K, w.data(), J, after.data(), stride, accumulate);
          check_against_reference(x, w, nullptr, M, K, J, stride, before, after, accumulate);
        }
}

TEST_CASE("few_rows_linear's tile shapes and prefetching leave every output bitwise the same") {
  // Each output is one lane-wise sum along K summed across lanes whatever the tile, so the in-cache tiles (4 x 3)
  // and the streaming ones (8 x 3, prefetching) must equal 1 x 1 tiles without prefetching, bit for bit.
  using Loader = r1::detail::SameTypeWeights<float>;
  r1::Philox rng(13);
  for (const std::int64_t M : {1, 3, 8, 13, 16})
    for (const std::int64_t K : {5, 64, 100})
      for (const std::int64_t J : {2, 6, 11}) {
        const auto x = random_values(static_cast<std::size_t>(M * K), rng);
        const auto w = random_values(static_cast<std::size_t>(J * K), rng);
        std::vector<float> single(static_cast<std::size_t>(M * J)), in_cache(single.size()), streaming(single.size());
        r1::detail::few_rows_linear_tiled<Loader, 1, 1, false>(x.data(), M, K, w.data(), J, single.data(), J, false);
        r1::detail::few_rows_linear_tiled<Loader, 4, 3, false>(x.data(), M, K, w.data(), J, in_cache.data(), J, false);
        r1::detail::few_rows_linear_tiled<Loader, 8, 3, true>(x.data(), M, K, w.data(), J, streaming.data(), J, false);
        for (std::size_t i = 0; i < single.size(); ++i) {
          REQUIRE(std::bit_cast<std::uint32_t>(in_cache[i]) == std::bit_cast<std::uint32_t>(single[i]));
          REQUIRE(std::bit_cast<std::uint32_t>(streaming[i]) == std::bit_cast<std::uint32_t>(single[i]));
        }
      }
}

TEST_CASE("few_rows_linear over a weight larger than kFewRowsStreamingBytes (the streaming tiles) matches the reference") {
  r1::Philox rng(17);
  const std::int64_t K = 1000, J = 301;  // 1.2 MB of fp32 weights
  REQUIRE(static_cast<std::size_t>(J * K) * sizeof(float) > r1::detail::kFewRowsStreamingBytes);
  const auto w = random_values(static_cast<std::size_t>(J * K), rng);
  for (const std::int64_t M : {1, 7, 8, 13})
    for (const bool accumulate : {false, true}) {
      const std::int64_t stride = J + 1;
      const auto x = random_values(static_cast<std::size_t>(M * K), rng);
      const auto before = random_values(static_cast<std::size_t>(M * stride), rng);
      auto after = before;
      r1::few_rows_linear(x.data(), M, K, w.data(), J, after.data(), stride, accumulate);
      check_against_reference(x, w, nullptr, M, K, J, stride, before, after, accumulate);
    }
}

TEST_CASE("linear_forward's few-rows path (decode) and GEMM path (prefill) agree with the reference, bias included") {
  r1::Philox rng(9);
  for (const int threads : {1, 2}) {
    r1::ThreadLimit limit{threads};
    // 8 rows take the few-rows kernel, split over output features; 40 rows take Eigen's GEMM.
    for (const std::int64_t M : {1, 8, 40})
      for (const bool accumulate : {false, true}) {
        const std::int64_t K = 67, J = 131;
        const auto x = random_values(static_cast<std::size_t>(M * K), rng);
        const auto w = random_values(static_cast<std::size_t>(J * K), rng);
        const auto bias = random_values(static_cast<std::size_t>(J), rng);
        const auto before = random_values(static_cast<std::size_t>(M * J), rng);
        auto after = before;
        r1::linear_forward(x.data(), w.data(), bias.data(), M, K, J, after.data(), accumulate);
        check_against_reference(x, w, bias.data(), M, K, J, J, before, after, accumulate);
      }
  }
}

TEST_CASE("few_rows_linear in double (the gradient-check scalar) is exact to double rounding") {
  r1::Philox rng(2);
  const std::int64_t M = 5, K = 19, J = 7;
  std::vector<double> x(M * K), w(J * K), y(M * J, 0.0);
  for (auto& value : x) value = rng.normal();
  for (auto& value : w) value = rng.normal();
  r1::few_rows_linear(x.data(), M, K, w.data(), J, y.data(), J, false);
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t j = 0; j < J; ++j) {
      long double exact = 0.0L, magnitude = 0.0L;
      for (std::int64_t k = 0; k < K; ++k) {
        exact += static_cast<long double>(x[m * K + k]) * w[j * K + k];
        magnitude += std::abs(static_cast<long double>(x[m * K + k]) * w[j * K + k]);
      }
      // gamma_K for the kernel's sum; one more u covers the long double reference's own error (K 2^-64).
      const double bound = gamma(K + 1, std::ldexp(1.0, -53)) * static_cast<double>(magnitude);
      CHECK(std::abs(static_cast<double>(y[m * J + j] - exact)) <= bound);
    }
}
