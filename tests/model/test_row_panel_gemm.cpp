// linear_forward and linear_backward_input (linear.hpp) against double-precision sums, in float and double, at
// 1 and 2 threads, on shapes that reach every path of row_panel_gemm.hpp: output widths that are not a whole
// number of the kernel's panels, several depth blocks (K above kMaxDepthBlock, and a wide weight, which the
// register tiles split into blocks of columns as well and Eigen's kernel into shorter depth blocks) whose packed
// offsets are not multiples of a cache line, rows that leave a partial panel, bias, accumulate, a residual
// (linear_forward_residual), and a weight too large for row_panel_gemm (Eigen's product).
//
// Tolerance: each entry is a dot product of K terms, plus the value already there (accumulate) and the bias:
// |error| <= gamma_{K+2} (sum |x w| + |before| + |bias|) (Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., eq. 3.5, plus two roundings), gamma_n = n u / (1 - n u), u = epsilon / 2.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/ops/linear.hpp"

namespace {

template <class Scalar>
std::vector<Scalar> random_values(std::int64_t count, r1::Philox& rng) {
  std::vector<Scalar> values(static_cast<std::size_t>(count));
  for (auto& value : values) value = static_cast<Scalar>(rng.normal());
  return values;
}

template <class Scalar>
double gamma(std::int64_t terms) {
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  return static_cast<double>(terms) * u / (1.0 - static_cast<double>(terms) * u);
}

// Forward y (N, out) (=|+=) x (N, in) W^T + b, then dx (N, in) (=|+=) dy (N, out) W, against double sums; with
// `accumulate`, also linear_forward_residual: y = residual + x W^T + b, the residual being the y it starts from.
template <class Scalar>
void check_linear(std::int64_t N, std::int64_t in, std::int64_t out, int threads, bool accumulate, bool with_bias) {
  CAPTURE(N);
  CAPTURE(in);
  CAPTURE(out);
  CAPTURE(threads);
  CAPTURE(accumulate);
  CAPTURE(with_bias);
  r1::ThreadLimit limit{threads};
  r1::Philox rng(static_cast<std::uint64_t>(N * 7919 + in * 31 + out));
  const auto x = random_values<Scalar>(N * in, rng), w = random_values<Scalar>(out * in, rng);
  const auto bias = random_values<Scalar>(out, rng), dy = random_values<Scalar>(N * out, rng);
  const auto y_before = random_values<Scalar>(N * out, rng), dx_before = random_values<Scalar>(N * in, rng);
  auto y = y_before, dx = dx_before;
  r1::linear_forward(x.data(), w.data(), with_bias ? bias.data() : nullptr, N, in, out, y.data(), accumulate);
  r1::linear_backward_input(dy.data(), w.data(), N, in, out, dx.data(), accumulate);
  std::vector<Scalar> y_residual(y.size());
  if (accumulate)
    r1::linear_forward_residual(x.data(), w.data(), with_bias ? bias.data() : nullptr, y_before.data(), N, in, out,
                                y_residual.data());
  const auto at = [](const std::vector<Scalar>& v, std::int64_t i) { return static_cast<double>(v[static_cast<std::size_t>(i)]); };
  std::int64_t failures = 0;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < out; ++o) {
      double exact = 0, magnitude = 0;
      for (std::int64_t i = 0; i < in; ++i) {
        exact += at(x, n * in + i) * at(w, o * in + i);
        magnitude += std::abs(at(x, n * in + i) * at(w, o * in + i));
      }
      if (accumulate) exact += at(y_before, n * out + o), magnitude += std::abs(at(y_before, n * out + o));
      if (with_bias) exact += at(bias, o), magnitude += std::abs(at(bias, o));
      failures += !(std::abs(at(y, n * out + o) - exact) <= gamma<Scalar>(in + 2) * magnitude);
      if (accumulate) failures += !(std::abs(at(y_residual, n * out + o) - exact) <= gamma<Scalar>(in + 2) * magnitude);
    }
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t i = 0; i < in; ++i) {
      double exact = 0, magnitude = 0;
      for (std::int64_t o = 0; o < out; ++o) {
        exact += at(dy, n * out + o) * at(w, o * in + i);
        magnitude += std::abs(at(dy, n * out + o) * at(w, o * in + i));
      }
      if (accumulate) exact += at(dx_before, n * in + i), magnitude += std::abs(at(dx_before, n * in + i));
      failures += !(std::abs(at(dx, n * in + i) - exact) <= gamma<Scalar>(out + 2) * magnitude);
    }
  CHECK(failures == 0);
}

template <class Scalar>
void check_shapes() {
  for (const int threads : {1, 2})
    for (const bool accumulate : {false, true}) {
      check_linear<Scalar>(130, 37, 101, threads, accumulate, true);    // widths off the panels, a partial row panel
      check_linear<Scalar>(70, 1000, 45, threads, accumulate, false);   // forward: 3 depth blocks of 334
      check_linear<Scalar>(40, 45, 1000, threads, accumulate, false);   // input gradient: 3 depth blocks
      // Wide weight: register tiles in 2 depth blocks of 150 x column blocks of 1296 and 1204; Eigen's kernel in
      // short depth blocks.
      check_linear<Scalar>(66, 300, 2500, threads, accumulate, true);
      // The same with depth blocks of 151 and 150: the last block's packed panels are laid out at its own depth.
      check_linear<Scalar>(66, 301, 2500, threads, accumulate, false);
      check_linear<Scalar>(33, 2, 3, threads, accumulate, true);        // tiny
    }
  check_linear<Scalar>(40, 1100, 1100, 2, false, true);  // 1.2M entries: beyond row_panel_gemm, Eigen's product
}

}  // namespace

TEST_CASE("linear forward and input gradient equal double-precision sums (float)") { check_shapes<float>(); }

TEST_CASE("linear forward and input gradient equal double-precision sums (double)") { check_shapes<double>(); }

TEST_CASE("row_panel_gemm_fits: whole packed weights up to 4 MiB") {
  CHECK(r1::row_panel_gemm_fits<float>(1024, 1024));
  CHECK_FALSE(r1::row_panel_gemm_fits<float>(1024, 1025));
  CHECK_FALSE(r1::row_panel_gemm_fits<double>(1024, 1024));
}
