// linear_backward_input and linear_backward_weight (linear.hpp) against double-precision sums, at 1 and 2
// threads, on shapes that take each split: rows for the input gradient; tokens (enough of them, at 2 threads,
// or at 1 with AVX-512, whose register tiles take a single chunk of tokens too),
// output features (out >= in) or input features (in > out) for the weight gradient, with and without a bias
// gradient.
//
// Tolerance: each entry is a float dot product of K terms accumulated onto a value already there, so
// |error| <= gamma_{K+1} (sum |a b| + |before|) (Higham, Accuracy and Stability of Numerical Algorithms, 2nd
// ed., eq. 3.5, plus one rounding for the accumulation), with gamma_n = n u / (1 - n u), u = 2^-24.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/ops/linear.hpp"

namespace {

std::vector<float> random_values(std::size_t count, r1::Philox& rng) {
  std::vector<float> values(count);
  for (auto& value : values) value = static_cast<float>(rng.normal());
  return values;
}

double gamma(std::int64_t terms) {
  const double u = std::ldexp(1.0, -24);
  return static_cast<double>(terms) * u / (1.0 - static_cast<double>(terms) * u);
}

void check_backward(std::int64_t N, std::int64_t in, std::int64_t out, int threads, bool with_bias) {
  CAPTURE(N);
  CAPTURE(in);
  CAPTURE(out);
  CAPTURE(threads);
  CAPTURE(with_bias);
  r1::ThreadLimit limit{threads};
  r1::Philox rng(static_cast<std::uint64_t>(N * 1000 + in * 10 + out));
  const auto dy = random_values(static_cast<std::size_t>(N * out), rng);
  const auto x = random_values(static_cast<std::size_t>(N * in), rng);
  const auto w = random_values(static_cast<std::size_t>(out * in), rng);
  const auto dw_before = random_values(static_cast<std::size_t>(out * in), rng);
  const auto db_before = random_values(static_cast<std::size_t>(out), rng);
  const auto dx_before = random_values(static_cast<std::size_t>(N * in), rng);
  auto dw = dw_before, db = db_before, dx = dx_before, dx_set = dx_before;
  r1::linear_backward_weight(dy.data(), x.data(), N, in, out, dw.data(), with_bias ? db.data() : nullptr);
  r1::linear_backward_input(dy.data(), w.data(), N, in, out, dx.data(), /*accumulate=*/true);
  r1::linear_backward_input(dy.data(), w.data(), N, in, out, dx_set.data());
  const auto at = [](const std::vector<float>& v, std::int64_t i) { return static_cast<double>(v[static_cast<std::size_t>(i)]); };
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t i = 0; i < in; ++i) {  // dW[o][i] = before + sum_n dy[n][o] x[n][i]
      double exact = at(dw_before, o * in + i), magnitude = std::abs(exact);
      for (std::int64_t n = 0; n < N; ++n) {
        exact += at(dy, n * out + o) * at(x, n * in + i);
        magnitude += std::abs(at(dy, n * out + o) * at(x, n * in + i));
      }
      REQUIRE(std::abs(at(dw, o * in + i) - exact) <= gamma(N + 1) * magnitude);
    }
  for (std::int64_t o = 0; o < out; ++o) {  // db[o] = before + sum_n dy[n][o], or untouched
    double exact = at(db_before, o), magnitude = std::abs(exact);
    for (std::int64_t n = 0; n < N; ++n) {
      exact += at(dy, n * out + o);
      magnitude += std::abs(at(dy, n * out + o));
    }
    if (with_bias) REQUIRE(std::abs(at(db, o) - exact) <= gamma(N + 1) * magnitude);
    else REQUIRE(db[static_cast<std::size_t>(o)] == db_before[static_cast<std::size_t>(o)]);
  }
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t i = 0; i < in; ++i) {  // dX[n][i] = (before +) sum_o dy[n][o] w[o][i]
      double sum = 0, magnitude = 0;
      for (std::int64_t o = 0; o < out; ++o) {
        sum += at(dy, n * out + o) * at(w, o * in + i);
        magnitude += std::abs(at(dy, n * out + o) * at(w, o * in + i));
      }
      const double before = at(dx_before, n * in + i);
      REQUIRE(std::abs(at(dx, n * in + i) - (before + sum)) <= gamma(out + 1) * (magnitude + std::abs(before)));
      REQUIRE(std::abs(at(dx_set, n * in + i) - sum) <= gamma(out) * magnitude);
    }
}

}  // namespace

TEST_CASE("linear backward equals double-precision sums for both weight-gradient splits, 1 and 2 threads") {
  for (const int threads : {1, 2})
    for (const bool with_bias : {false, true}) {
      check_backward(70, 37, 96, threads, with_bias);   // out >= in: split output features
      check_backward(70, 96, 37, threads, with_bias);   // in > out: split input features
      check_backward(3, 130, 65, threads, with_bias);   // few rows
      check_backward(129, 64, 64, threads, with_bias);  // square
      // Enough tokens for token_split_gemm.hpp at 2 threads: chunks of 300 and 301 tokens (blocks of 256 and
      // a rest of 44 or 45, which the transpose of dY takes 8 tokens at a time and a rest), output blocks of 256
      // and a rest; with AVX-512 at 1 thread one chunk of 601 (blocks of 256, 256 and 89).
      check_backward(601, 37, 300, threads, with_bias);
      check_backward(601, 300, 37, threads, with_bias);
      // Too few tokens for two chunks: Eigen's feature split at 2 threads, one chunk of tiles at 1 with AVX-512.
      check_backward(300, 37, 96, threads, with_bias);
      // More output features than the register-tile path transposes of dY at a time (kDyTransposeRows, 2048):
      // two slabs, the second of 53 features (6 whole groups of 8 and a group of 5).
      check_backward(520, 5, 2101, threads, with_bias);
    }
}
