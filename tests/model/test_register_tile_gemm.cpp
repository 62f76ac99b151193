// register_tile_gemm.hpp against double-precision sums: every row count of a tile (1-8) and past it, panel
// widths around the 16-lane vectors and the 48-column panels, A read row-major and transposed, C starting from
// zeros, from itself and from another matrix; entries of C outside the product (a guard column and row) stay
// untouched. With AVX-512 this runs r1's register tiles, otherwise the plain loops (the test says which).
//
// Tolerance: each entry is a dot product of `depth` terms plus the starting value:
// |error| <= gamma_{depth+1} (sum |a b| + |c_in|) (Higham, Accuracy and Stability of Numerical Algorithms,
// 2nd ed., eq. 3.5, plus one rounding), gamma_n = n u / (1 - n u), u = 2^-24.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/rng.hpp"
#include "r1/model/gemm/register_tile_gemm.hpp"

namespace {

using Index = Eigen::Index;

double gamma(Index terms) {
  const double u = std::numeric_limits<float>::epsilon() / 2;
  return static_cast<double>(terms) * u / (1.0 - static_cast<double>(terms) * u);
}

enum class Start { zeros, itself, other };

// C (rows, cols) = start + A (rows, depth) B (depth, cols), checked entry by entry.
void check(Index rows, Index depth, Index cols, bool a_transposed, bool b_transposed, Start start) {
  CAPTURE(rows);
  CAPTURE(depth);
  CAPTURE(cols);
  CAPTURE(a_transposed);
  CAPTURE(b_transposed);
  CAPTURE(static_cast<int>(start));
  r1::Philox rng(static_cast<std::uint64_t>(rows * 1000003 + depth * 1009 + cols));
  const auto random = [&](Index n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = static_cast<float>(rng.normal());
    return v;
  };
  // A stored row-major (rows x depth, stride depth + 3) or transposed (depth x rows, stride rows + 5).
  const Index a_stride = a_transposed ? rows + 5 : depth + 3;
  const auto a = random((a_transposed ? depth : rows) * a_stride);
  const auto A = [&](Index r, Index k) {
    return static_cast<double>(a[static_cast<std::size_t>(a_transposed ? k * a_stride + r : r * a_stride + k)]);
  };
  // B stored as itself (depth x cols, stride cols + 2) or as B^T (cols x depth, stride depth + 1).
  const Index b_stride = b_transposed ? depth + 1 : cols + 2;
  const auto b = random((b_transposed ? cols : depth) * b_stride);
  const auto B = [&](Index k, Index j) {
    return static_cast<double>(b[static_cast<std::size_t>(b_transposed ? j * b_stride + k : k * b_stride + j)]);
  };
  r1::AlignedVector<float> packed(static_cast<std::size_t>(r1::register_tile::packed_size(depth, cols)));
  r1::register_tile::pack_b(packed.data(), b.data(), b_stride, depth, cols, b_transposed);
  // C has one guard column and one guard row around the product.
  const Index c_stride = cols + 1;
  const auto c_before = random((rows + 1) * c_stride);
  const auto other = random(rows * cols);
  auto c = c_before;
  const float* c_in = start == Start::zeros ? nullptr : start == Start::itself ? c.data() : other.data();
  const Index c_in_stride = start == Start::other ? cols : c_stride;
  r1::register_tile::multiply(a.data(), a_transposed ? 1 : a_stride, a_transposed ? a_stride : 1, packed.data(), depth,
                              cols, rows, c_in, c_in_stride, c.data(), c_stride);
  Index failures = 0, guards_changed = 0;
  for (Index r = 0; r <= rows; ++r)
    for (Index j = 0; j <= cols; ++j) {
      const auto at = static_cast<std::size_t>(r * c_stride + j);
      if (r == rows || j == cols) {
        guards_changed += std::memcmp(&c[at], &c_before[at], sizeof(float)) != 0;
        continue;
      }
      double exact = 0, magnitude = 0;
      for (Index k = 0; k < depth; ++k) exact += A(r, k) * B(k, j), magnitude += std::abs(A(r, k) * B(k, j));
      const double begin = start == Start::zeros   ? 0.0
                           : start == Start::itself ? static_cast<double>(c_before[at])
                                                    : static_cast<double>(other[static_cast<std::size_t>(r * cols + j)]);
      exact += begin, magnitude += std::abs(begin);
      failures += !(std::abs(static_cast<double>(c[at]) - exact) <= gamma(depth + 1) * magnitude);
    }
  CHECK(failures == 0);
  CHECK(guards_changed == 0);
}

}  // namespace

TEST_CASE("register tiles equal double-precision sums") {
  MESSAGE(std::string(r1::kHasRegisterTileGemm ? "AVX-512 register tiles" : "no AVX-512: the plain loops"));
  for (const Index rows : {1, 2, 3, 4, 5, 6, 7, 8, 9, 17})
    for (const Index cols : {1, 7, 8, 9, 15, 16, 17, 33, 47, 48, 49, 64, 96, 100, 112})
      for (const bool a_transposed : {false, true})
        for (const Start start : {Start::zeros, Start::itself, Start::other}) check(rows, 37, cols, a_transposed, false, start);
  for (const Index depth : {1, 15, 16, 17, 64, 300})
    for (const Index cols : {5, 48, 61}) {
      check(11, depth, cols, false, true, Start::zeros);
      check(8, depth, cols, true, true, Start::other);
    }
}

TEST_CASE("pack_b: B and B^T give the same packing, zero-padded to whole vectors") {
  const Index depth = 19, cols = 53;  // panels of 48 and 5 (padded to 16)
  std::vector<float> b(static_cast<std::size_t>(depth * cols)), bt(b.size());
  for (Index k = 0; k < depth; ++k)
    for (Index j = 0; j < cols; ++j) {
      const float value = static_cast<float>(k * 100 + j + 1);
      b[static_cast<std::size_t>(k * cols + j)] = value;
      bt[static_cast<std::size_t>(j * depth + k)] = value;
    }
  const Index size = r1::register_tile::packed_size(depth, cols);
  constexpr Index P = r1::register_tile::kPanelColumns, L = r1::register_tile::kLanes;
  CHECK(size == depth * ((cols + L - 1) / L * L));
  r1::AlignedVector<float> from_b(static_cast<std::size_t>(size)), from_bt(static_cast<std::size_t>(size));
  r1::register_tile::pack_b(from_b.data(), b.data(), cols, depth, cols, false);
  r1::register_tile::pack_b(from_bt.data(), bt.data(), depth, depth, cols, true);
  CHECK(std::memcmp(from_b.data(), from_bt.data(), sizeof(float) * static_cast<std::size_t>(size)) == 0);
  // Panel 0: its k-th row holds columns 0..P-1. The last panel starts at `last * depth` and its rows hold the
  // remaining columns, then zeros up to a whole vector.
  CHECK(from_b[0] == 1.0f);
  CHECK(from_b[static_cast<std::size_t>(P * 2 + P - 1)] == static_cast<float>(2 * 100 + P - 1 + 1));
  const Index last = (cols - 1) / P * P, last_width = (cols - last + L - 1) / L * L;
  CHECK(from_b[static_cast<std::size_t>(last * depth + last_width * 3 + (cols - 1 - last))] == static_cast<float>(3 * 100 + cols - 1 + 1));
  CHECK(from_b[static_cast<std::size_t>(last * depth + last_width * 3 + (cols - last))] == 0.0f);
}
