#pragma once
// Row-major Eigen maps over raw buffers, with an explicit row stride so a view
// can address one head's columns inside a wider packed row. Shape letters used
// in r1/model: N tokens, D hidden, H query heads, K key/value heads, E head_dim,
// F intermediate, V vocab, M scored rows.
#include <Eigen/Core>

namespace r1 {

template <class Scalar>
using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class Scalar>
using RowVectorOf = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
template <class Scalar>
using StridedMap = Eigen::Map<RowMajorMatrix<Scalar>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class Scalar>
using ConstStridedMap = Eigen::Map<const RowMajorMatrix<Scalar>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class Scalar>
StridedMap<Scalar> view(Scalar* data, Eigen::Index rows, Eigen::Index cols, Eigen::Index row_stride) {
  return StridedMap<Scalar>(data, rows, cols, Eigen::OuterStride<>(row_stride));
}
template <class Scalar>
StridedMap<Scalar> view(Scalar* data, Eigen::Index rows, Eigen::Index cols) {
  return view(data, rows, cols, cols);
}
template <class Scalar>
ConstStridedMap<Scalar> const_view(const Scalar* data, Eigen::Index rows, Eigen::Index cols, Eigen::Index row_stride) {
  return ConstStridedMap<Scalar>(data, rows, cols, Eigen::OuterStride<>(row_stride));
}
template <class Scalar>
ConstStridedMap<Scalar> const_view(const Scalar* data, Eigen::Index rows, Eigen::Index cols) {
  return const_view(data, rows, cols, cols);
}

}  // namespace r1
