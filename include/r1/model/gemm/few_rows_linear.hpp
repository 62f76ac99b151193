#pragma once
// y (M, J) = x (M, K) W^T (+ y), W row-major (J, K) as in HF checkpoints, for few rows M: the decode step,
// where M is the number of live sequences. A general GEMM (Eigen's gebp) first copies W into packed panels;
// at M = 8 that copy reads and writes every weight for only 8 multiply-adds per weight and takes more time
// than the multiply. This kernel reads W where it lies, once per block of 4 or 8 rows of x: a tile of
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
#include <cstddef>

#include "r1/model/gemm/bf16_instructions.hpp"

// Eigen's packet types are vector types with attributes; naming them as template arguments makes GCC warn.
// The vdpbf16ps loader's AVX-512 vectors pass through these templates in builds that target only AVX2, where
// GCC warns that their ABI differs; they never cross a call there: the whole tiling is inlined into its kernel
// (R1_FEW_ROWS_OUTER_INLINE below).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
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

// GCC left the tile out of line once it took a prefetch pointer, and the decode step at the toy model lost 18%
// (bench_generate, batch 8): inlined, the tile's pointers and flags are constants of the caller's loop. The
// loop over a tile's rows of x (few_rows_weight_rows) is forced inline too: once few_rows_linear had a second
// caller GCC left it out of line, and the same step lost 20% (bench/RESULTS.md, 2026-12-07).
#if defined(__GNUC__)
#define R1_FEW_ROWS_INLINE inline __attribute__((always_inline))
#else
#define R1_FEW_ROWS_INLINE inline
#endif
// The layers above the tile are forced inline too where the vdpbf16ps kernel is compiled by a target attribute
// (bf16_instructions.hpp): its AVX-512 accumulators must never be passed or returned by a function compiled for
// the build's narrower target, whose calling convention for them differs (at -O0 the results were wrong, or a
// crash). Inlined whole into the kernel, which is compiled for AVX-512, the tiling has no such call.
#if R1_BF16_DOT_COMPILED && !R1_BF16_DOT_TARGETED
#define R1_FEW_ROWS_OUTER_INLINE R1_FEW_ROWS_INLINE
#else
#define R1_FEW_ROWS_OUTER_INLINE inline
#endif

// out[m * out_stride + j] (+)= sum_k x[m * x_stride + k] * w[j * K + k] for m < RowsX, j < RowsW.
template <class Loader, int RowsX, int RowsW>
R1_FEW_ROWS_INLINE void few_rows_tile(const typename Loader::Input* x, Eigen::Index x_stride,
                                      const typename Loader::Weight* w, Eigen::Index K, typename Loader::Output* out,
                                      Eigen::Index out_stride, bool accumulate,
                                      const typename Loader::Weight* prefetch = nullptr) {
  using Accumulator = typename Loader::Accumulator;
  Accumulator acc[RowsX][RowsW];
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) acc[m][j] = Loader::zero();
  Eigen::Index k = 0;
  for (; k + Loader::kStep <= K; k += Loader::kStep) {
    typename Loader::Weights weights[RowsW];
    for (int j = 0; j < RowsW; ++j) weights[j] = Loader::load_weights(w + j * K + k);
    if (prefetch != nullptr)  // (address, read, locality 2: into L2 and the caches below it)
      for (int j = 0; j < RowsW; ++j) __builtin_prefetch(prefetch + j * K + k, 0, 2);
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

// The last `rows` < RowsX rows of x against RowsW rows of W as one tile of that many rows.
template <class Loader, int RowsX, int RowsW>
R1_FEW_ROWS_OUTER_INLINE void few_rows_last_tile(int rows, const typename Loader::Input* x, Eigen::Index K,
                                                 const typename Loader::Weight* w, typename Loader::Output* y,
                                                 Eigen::Index y_stride, bool accumulate,
                                                 const typename Loader::Weight* prefetch) {
  if constexpr (RowsX > 1) {
    if (rows == RowsX - 1)
      few_rows_tile<Loader, RowsX - 1, RowsW>(x, K, w, K, y, y_stride, accumulate, prefetch);
    else
      few_rows_last_tile<Loader, RowsX - 1, RowsW>(rows, x, K, w, y, y_stride, accumulate, prefetch);
  }
}

// All M rows of x (row-major, K wide) against RowsW rows of W, RowsX rows of x at a time and the rest as one
// smaller tile: the W rows are loaded from memory once and stay in L1 for the following blocks.
template <class Loader, int RowsX, int RowsW>
R1_FEW_ROWS_INLINE void few_rows_weight_rows(const typename Loader::Input* x, Eigen::Index M, Eigen::Index K,
                                             const typename Loader::Weight* w, typename Loader::Output* y,
                                             Eigen::Index y_stride, bool accumulate,
                                             const typename Loader::Weight* prefetch = nullptr) {
  Eigen::Index m = 0;
  for (; m + RowsX <= M; m += RowsX, prefetch = nullptr)
    few_rows_tile<Loader, RowsX, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate, prefetch);
  if (m < M)
    few_rows_last_tile<Loader, RowsX, RowsW>(static_cast<int>(M - m), x + m * K, K, w, y + m * y_stride, y_stride,
                                             accumulate, prefetch);
}

// The kernel for any loader and tile shape: tiles of RowsX rows of x by RowsW rows of W, then the J % RowsW
// remaining rows of W one at a time. With PrefetchNextTile, the first pass over a tile's rows of W also
// prefetches the next tile's, so that the memory streams while the tile multiplies.
template <class Loader, int RowsX, int RowsW, bool PrefetchNextTile>
R1_FEW_ROWS_OUTER_INLINE void few_rows_linear_tiled(const typename Loader::Input* x, Eigen::Index M, Eigen::Index K,
                                                    const typename Loader::Weight* w, Eigen::Index J,
                                                    typename Loader::Output* y, Eigen::Index y_stride,
                                                    bool accumulate) {
  Eigen::Index j = 0;
  for (; j + RowsW <= J; j += RowsW)
    few_rows_weight_rows<Loader, RowsX, RowsW>(x, M, K, w + j * K, y + j, y_stride, accumulate,
                                               PrefetchNextTile && j + 2 * RowsW <= J ? w + (j + RowsW) * K : nullptr);
  for (; j < J; ++j) few_rows_weight_rows<Loader, RowsX, 1>(x, M, K, w + j * K, y + j, y_stride, accumulate);
}

// Above this many bytes a chunk of W cannot stay in a core's L2 (1 MiB on Zen 4, 2 MiB on the Xeon) from one
// decode step to the next: it streams from L3 or memory.
inline constexpr std::size_t kFewRowsStreamingBytes = std::size_t{1} << 20;

// The kernel for any loader. A W that streams (larger than kFewRowsStreamingBytes): tiles of 8 rows of x by 3
// rows of W that prefetch the next 3 rows, so that the memory streams while the tile multiplies. On this
// project's AVX-512 Xeon (bench/RESULTS.md, 2026-12-07) that took a 9,728 x 896 bf16 product at 8 rows from 4.1
// to 2.0 ms and at one row from 1.6 to 1.2 ms; once W arrives in time 8-row tiles (24 accumulators: AVX-512 has
// 32 registers, AVX2's 16 spill to L1) beat 4-row tiles in both builds. A W that stays in cache (the toy model's
// layers): tiles of 4 rows of x by 3 rows of W (12 accumulators and 4 live vectors fit AVX2's 16 registers), no
// prefetch; the streaming tiles took its decode step at batch 8 from 11.4 to 8.7 thousand tokens/s there (the
// prefetches compete for the load ports the in-cache tile is bound by). Neither changes any output's arithmetic:
// each is the same lane-wise sum along K, summed across lanes.
template <class Loader>
R1_FEW_ROWS_OUTER_INLINE void few_rows_linear_with(const typename Loader::Input* x, Eigen::Index M, Eigen::Index K,
                                                   const typename Loader::Weight* w, Eigen::Index J,
                                                   typename Loader::Output* y, Eigen::Index y_stride,
                                                   bool accumulate) {
  if (static_cast<std::size_t>(J * K) * sizeof(typename Loader::Weight) > kFewRowsStreamingBytes)
    few_rows_linear_tiled<Loader, 8, 3, true>(x, M, K, w, J, y, y_stride, accumulate);
  else
    few_rows_linear_tiled<Loader, 4, 3, false>(x, M, K, w, J, y, y_stride, accumulate);
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
