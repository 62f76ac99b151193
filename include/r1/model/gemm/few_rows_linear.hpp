#pragma once
// y (M, J) = x (M, K) W^T (+ y), W row-major (J, K) as in HF checkpoints, for few rows M: the decode step,
// where M is the number of live sequences. A general GEMM (Eigen's gebp) first copies W into packed panels;
// at M = 8 that copy reads and writes every weight for only 8 multiply-adds per weight and takes more time
// than the multiply. This kernel reads W where it lies, once per block of kRowBlock rows of x: a tile of
// (rows of x) x (rows of W) dot products runs along K in SIMD lanes (Eigen's packet of the build's widest
// vector) and is summed across lanes at the end. Rows of x stay in L1 while W streams through.
#include <Eigen/Core>
#include <algorithm>

// Eigen's packet types are vector types with attributes; naming them as template arguments makes GCC warn.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace r1 {

namespace detail {

template <class Scalar>
using SimdPacket = typename Eigen::internal::packet_traits<Scalar>::type;

// out[m * out_stride + j] (+)= sum_k x[m * x_stride + k] * w[j * K + k] for m < RowsX, j < RowsW.
template <class Scalar, int RowsX, int RowsW>
inline void few_rows_tile(const Scalar* x, Eigen::Index x_stride, const Scalar* w, Eigen::Index K, Scalar* out,
                          Eigen::Index out_stride, bool accumulate) {
  using Packet = SimdPacket<Scalar>;
  constexpr Eigen::Index kLanes = Eigen::internal::unpacket_traits<Packet>::size;
  Packet acc[RowsX][RowsW];
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) acc[m][j] = Eigen::internal::pset1<Packet>(Scalar(0));
  Eigen::Index k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    Packet weights[RowsW];
    for (int j = 0; j < RowsW; ++j) weights[j] = Eigen::internal::ploadu<Packet>(w + j * K + k);
    for (int m = 0; m < RowsX; ++m) {
      const Packet inputs = Eigen::internal::ploadu<Packet>(x + m * x_stride + k);
      for (int j = 0; j < RowsW; ++j) acc[m][j] = Eigen::internal::pmadd(inputs, weights[j], acc[m][j]);
    }
  }
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) {
      Scalar sum = Eigen::internal::predux(acc[m][j]);
      for (Eigen::Index tail = k; tail < K; ++tail) sum += x[m * x_stride + tail] * w[j * K + tail];
      Scalar& target = out[m * out_stride + j];
      target = accumulate ? target + sum : sum;
    }
}

// All M rows of x (row-major, K wide) against RowsW rows of W, 4 rows of x at a time: the W rows
// are loaded from memory once and stay in L1 for the following blocks.
template <class Scalar, int RowsW>
inline void few_rows_weight_rows(const Scalar* x, Eigen::Index M, Eigen::Index K, const Scalar* w, Scalar* y,
                                 Eigen::Index y_stride, bool accumulate) {
  constexpr int kBlock = 4;
  Eigen::Index m = 0;
  for (; m + kBlock <= M; m += kBlock) few_rows_tile<Scalar, kBlock, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate);
  switch (M - m) {
    case 3: few_rows_tile<Scalar, 3, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 2: few_rows_tile<Scalar, 2, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 1: few_rows_tile<Scalar, 1, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    default: break;
  }
}

}  // namespace detail

// y (M, J) at row stride y_stride = x (M, K) W^T, or y += x W^T when `accumulate`; W (J, K) row-major, x (M, K)
// row-major and contiguous. Tiles of 4 rows of x by 3 rows of W: 12 accumulators and 4 live vectors fit the 16
// registers of AVX2.
template <class Scalar>
void few_rows_linear(const Scalar* x, Eigen::Index M, Eigen::Index K, const Scalar* w, Eigen::Index J, Scalar* y,
                     Eigen::Index y_stride, bool accumulate) {
  constexpr int kRowsW = 3;
  Eigen::Index j = 0;
  for (; j + kRowsW <= J; j += kRowsW)
    detail::few_rows_weight_rows<Scalar, kRowsW>(x, M, K, w + j * K, y + j, y_stride, accumulate);
  for (; j < J; ++j) detail::few_rows_weight_rows<Scalar, 1>(x, M, K, w + j * K, y + j, y_stride, accumulate);
}

}  // namespace r1

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
