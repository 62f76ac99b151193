#pragma once
// y (M, J) = x (M, K) W^T (+ y), W row-major (J, K) as in HF checkpoints, for few rows M: the decode step,
// where M is the number of live sequences. A general GEMM (Eigen's gebp) first copies W into packed panels;
// at M = 8 that copy reads and writes every weight for only 8 multiply-adds per weight and takes more time
// than the multiply. This kernel reads W where it lies, once per block of kRowBlock rows of x: a tile of
// (rows of x) x (rows of W) dot products runs along K in SIMD lanes and is summed across lanes at the end.
// Rows of x stay in L1 while W streams through.
//
// One tiling serves every storage of W: it is written against a weight loader, which says how one step along
// K of a row of x and of a row of W is loaded and multiplied into an accumulator, and how an accumulator and
// the remainder of K (fewer than a step) become the output. SameTypeWeights (here) reads W in x's scalar
// type with Eigen's packet of the build's widest vector; few_rows_linear_bf16.hpp has the loaders of bf16 W.
// A loader L provides:
//   L::Input, L::Weight, L::Output   element types of x, of W and of y;
//   L::Accumulator, L::Inputs, L::Weights   the accumulator and the loaded operands of one step;
//   L::kStep                     elements of K per step;
//   L::zero()                    an empty accumulator;
//   L::load_inputs(const Input*), L::load_weights(const Weight*)   one step of a row;
//   L::madd(inputs, weights, acc)   acc plus the step's products;
//   L::finish(acc, x_row, w_row, k, K)   the dot product: acc summed, plus the terms k <= i < K.
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

// W in x's scalar type: Eigen's packet loads and multiply-add, a lane sum, then a scalar tail.
template <class Scalar>
struct SameTypeWeights {
  using Input = Scalar;
  using Weight = Scalar;
  using Output = Scalar;
  using Accumulator = SimdPacket<Scalar>;
  using Inputs = Accumulator;
  using Weights = Accumulator;
  static constexpr Eigen::Index kStep = Eigen::internal::unpacket_traits<Accumulator>::size;
  static Accumulator zero() { return Eigen::internal::pset1<Accumulator>(Scalar(0)); }
  static Inputs load_inputs(const Scalar* x) { return Eigen::internal::ploadu<Accumulator>(x); }
  static Weights load_weights(const Scalar* w) { return Eigen::internal::ploadu<Accumulator>(w); }
  static Accumulator madd(const Inputs& x, const Weights& w, const Accumulator& acc) {
    return Eigen::internal::pmadd(x, w, acc);
  }
  static Scalar finish(const Accumulator& acc, const Scalar* x, const Scalar* w, Eigen::Index k, Eigen::Index K) {
    Scalar sum = Eigen::internal::predux(acc);
    for (; k < K; ++k) sum += x[k] * w[k];
    return sum;
  }
};

// out[m * out_stride + j] (+)= sum_k x[m * x_stride + k] * w[j * K + k] for m < RowsX, j < RowsW.
template <class Loader, int RowsX, int RowsW>
inline void few_rows_tile(const typename Loader::Input* x, Eigen::Index x_stride, const typename Loader::Weight* w,
                          Eigen::Index K, typename Loader::Output* out, Eigen::Index out_stride, bool accumulate) {
  using Accumulator = typename Loader::Accumulator;
  Accumulator acc[RowsX][RowsW];
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) acc[m][j] = Loader::zero();
  Eigen::Index k = 0;
  for (; k + Loader::kStep <= K; k += Loader::kStep) {
    typename Loader::Weights weights[RowsW];
    for (int j = 0; j < RowsW; ++j) weights[j] = Loader::load_weights(w + j * K + k);
    for (int m = 0; m < RowsX; ++m) {
      const typename Loader::Inputs inputs = Loader::load_inputs(x + m * x_stride + k);
      for (int j = 0; j < RowsW; ++j) acc[m][j] = Loader::madd(inputs, weights[j], acc[m][j]);
    }
  }
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) {
      const typename Loader::Output sum = Loader::finish(acc[m][j], x + m * x_stride, w + j * K, k, K);
      typename Loader::Output& target = out[m * out_stride + j];
      target = accumulate ? target + sum : sum;
    }
}

// All M rows of x (row-major, K wide) against RowsW rows of W, 4 rows of x at a time: the W rows
// are loaded from memory once and stay in L1 for the following blocks.
template <class Loader, int RowsW>
inline void few_rows_weight_rows(const typename Loader::Input* x, Eigen::Index M, Eigen::Index K,
                                 const typename Loader::Weight* w, typename Loader::Output* y, Eigen::Index y_stride,
                                 bool accumulate) {
  constexpr int kBlock = 4;
  Eigen::Index m = 0;
  for (; m + kBlock <= M; m += kBlock)
    few_rows_tile<Loader, kBlock, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate);
  switch (M - m) {
    case 3: few_rows_tile<Loader, 3, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 2: few_rows_tile<Loader, 2, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 1: few_rows_tile<Loader, 1, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    default: break;
  }
}

// The kernel for any loader: tiles of 4 rows of x by 3 rows of W (12 accumulators and 4 live vectors fit the
// 16 registers of AVX2), then the J % 3 remaining rows of W one at a time.
template <class Loader>
void few_rows_linear_with(const typename Loader::Input* x, Eigen::Index M, Eigen::Index K,
                          const typename Loader::Weight* w, Eigen::Index J, typename Loader::Output* y,
                          Eigen::Index y_stride, bool accumulate) {
  constexpr int kRowsW = 3;
  Eigen::Index j = 0;
  for (; j + kRowsW <= J; j += kRowsW)
    few_rows_weight_rows<Loader, kRowsW>(x, M, K, w + j * K, y + j, y_stride, accumulate);
  for (; j < J; ++j) few_rows_weight_rows<Loader, 1>(x, M, K, w + j * K, y + j, y_stride, accumulate);
}

}  // namespace detail

// y (M, J) at row stride y_stride = x (M, K) W^T, or y += x W^T when `accumulate`; W (J, K) row-major, x (M, K)
// row-major and contiguous.
template <class Scalar>
void few_rows_linear(const Scalar* x, Eigen::Index M, Eigen::Index K, const Scalar* w, Eigen::Index J, Scalar* y,
                     Eigen::Index y_stride, bool accumulate) {
  detail::few_rows_linear_with<detail::SameTypeWeights<Scalar>>(x, M, K, w, J, y, y_stride, accumulate);
}

}  // namespace r1

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
