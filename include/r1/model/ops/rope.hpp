#pragma once
// Rotary position embedding (Su et al. 2021, RoFormer, eq. 34) in HF's
// "rotate half" layout: for i < E/2, with angle = position * inv_freq[i]
// (theta^(-2i/E), or its rope_scaling variant: r1/model/rope_frequencies.hpp),
//   x'_i       = x_i cos - x_{i+E/2} sin
//   x'_{i+E/2} = x_{i+E/2} cos + x_i sin
// The backward is the transposed rotation (the same with -angle).
#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/error.hpp"
#include "r1/model/rope_frequencies.hpp"

namespace r1 {

// cos / sin of every (position, frequency) pair, grown on demand (HF computes them in fp32
// as inv_freq then position * inv_freq; the same steps in Scalar here).
template <class Scalar>
class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(Eigen::Index head_dim, double theta, const RopeScaling& scaling = {})
      : half_(head_dim / 2), inv_freq_(rope_inverse_frequencies<Scalar>(head_dim, theta, scaling)) {}

  // Makes positions [0, positions) available; allocates only when it grows.
  void reserve(Eigen::Index positions) {
    if (positions <= positions_) return;
    cos_.resize(static_cast<std::size_t>(positions * half_));
    sin_.resize(static_cast<std::size_t>(positions * half_));
    for (Eigen::Index i = 0; i < half_; ++i) {
      const Scalar inv_freq = inv_freq_[static_cast<std::size_t>(i)];
      for (Eigen::Index p = positions_; p < positions; ++p) {
        const Scalar angle = Scalar(p) * inv_freq;
        cos_[static_cast<std::size_t>(p * half_ + i)] = std::cos(angle);
        sin_[static_cast<std::size_t>(p * half_ + i)] = std::sin(angle);
      }
    }
    positions_ = positions;
  }
  Eigen::Index positions() const { return positions_; }
  Eigen::Index half() const { return half_; }
  const Scalar* cos(Eigen::Index position) const { return cos_.data() + position * half_; }
  const Scalar* sin(Eigen::Index position) const { return sin_.data() + position * half_; }

 private:
  Eigen::Index half_ = 0;
  std::vector<Scalar> inv_freq_;  // (E/2)
  Eigen::Index positions_ = 0;
  AlignedVector<Scalar> cos_, sin_;
};

// Rotates, in place, `heads` head vectors of E = 2 * table.half() values in each of `rows` rows
// (row r at x + r * row_stride, at position first_position + r). `inverse` applies the backward.
template <class Scalar>
void rope_rotate(Scalar* x, Eigen::Index rows, Eigen::Index row_stride, Eigen::Index heads,
                 Eigen::Index first_position, const RopeTable<Scalar>& table, bool inverse) {
  const Eigen::Index half = table.half();
  require(first_position + rows <= table.positions(), "rope_rotate: position ", first_position + rows - 1,
          " is beyond the table (", table.positions(), " positions)");
  const Scalar direction = inverse ? Scalar(-1) : Scalar(1);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> c(table.cos(first_position + r), half);
    const auto s = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(table.sin(first_position + r), half) * direction;
    for (Eigen::Index h = 0; h < heads; ++h) {
      Scalar* head = x + r * row_stride + h * 2 * half;
      Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> lo(head, half), hi(head + half, half);
      for (Eigen::Index i = 0; i < half; ++i) {
        const Scalar a = lo[i], b = hi[i];
        lo[i] = a * c[i] - b * s[i];
        hi[i] = b * c[i] + a * s[i];
      }
    }
  }
}

}  // namespace r1
