#pragma once
// Dense layer y = x W^T (+ b) with W row-major (out_features, in_features) as in HF checkpoints, and its
// backward. These functions pick the GEMM loop from the shape (r1/model/gemm/gemm.hpp says which runs where
// and why): few rows read the weight in place, many rows go through row panels (forward, input gradient) or a
// token split (weight gradient), and what those do not take goes to Eigen's product, split across r1's threads
// by rows, or by output features when there are few rows.
#include <Eigen/Core>
#include <algorithm>

#include "r1/core/threads.hpp"
#include "r1/model/gemm/gemm.hpp"
#include "r1/model/matrix_views.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace r1 {

namespace detail {
// Below this many rows per chunk a split GEMM costs more in packing than it gains.
inline constexpr Eigen::Index kMinRowsPerChunk = 32;
// Up to this many rows (a decode step's live sequences) the weights are read in place (few_rows_linear.hpp)
// instead of packed for a GEMM; bench_generate (bench/sampling) measures decoding at batch 8 and 64.
inline constexpr Eigen::Index kFewRows = 16;
}  // namespace detail

// y (N, out) = x (N, in) W^T (out, in) + bias, or y += ... when `accumulate`. bias may be null.
template <class Scalar>
void linear_forward(const Scalar* x, const Scalar* weight, const Scalar* bias, Eigen::Index rows,
                    Eigen::Index in_features, Eigen::Index out_features, Scalar* y, bool accumulate = false) {
  if (rows <= detail::kFewRows) {
    parallel_chunks(out_features, chunk_count(out_features, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
      few_rows_linear(x, rows, in_features, weight + begin * in_features, end - begin, y + begin, out_features,
                      accumulate);
      if (bias != nullptr)
        view(y + begin, rows, end - begin, out_features).rowwise() +=
            Eigen::Map<const RowVectorOf<Scalar>>(bias + begin, end - begin);
    });
    return;
  }
  const int row_chunks = chunk_count(rows, detail::kMinRowsPerChunk);
  if ((row_chunks > 1 || rows >= out_features) && row_panel_gemm_fits<Scalar>(out_features, in_features)) {
    row_panel_gemm<Stored::as_is>(x, weight, bias, rows, in_features, out_features, y,
                                  accumulate ? PanelStart<Scalar>::accumulate() : PanelStart<Scalar>::zeros(), row_chunks);
    return;
  }
  const auto W = const_view(weight, out_features, in_features);
  if (row_chunks > 1 || rows >= out_features) {
    parallel_chunks(rows, row_chunks, [&](int, Eigen::Index begin, Eigen::Index end) {
      const auto X = const_view(x + begin * in_features, end - begin, in_features);
      auto Y = view(y + begin * out_features, end - begin, out_features);
      if (accumulate) Y.noalias() += X * W.transpose();
      else Y.noalias() = X * W.transpose();
      if (bias != nullptr) Y.rowwise() += Eigen::Map<const RowVectorOf<Scalar>>(bias, out_features);
    });
    return;
  }
  // Few rows (decoding): split the output features instead.
  const auto X = const_view(x, rows, in_features);
  parallel_chunks(out_features, chunk_count(out_features, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    auto Y = view(y + begin, rows, end - begin, out_features);
    const auto Wpart = const_view(weight + begin * in_features, end - begin, in_features);
    if (accumulate) Y.noalias() += X * Wpart.transpose();
    else Y.noalias() = X * Wpart.transpose();
    if (bias != nullptr) Y.rowwise() += Eigen::Map<const RowVectorOf<Scalar>>(bias + begin, end - begin);
  });
}

// y (N, out) = residual (N, out) + x (N, in) W^T (+ bias): a residual connection; y and residual are distinct
// buffers. Over many rows each panel of residual is copied into y right before its product is added.
template <class Scalar>
void linear_forward_residual(const Scalar* x, const Scalar* weight, const Scalar* bias, const Scalar* residual,
                             Eigen::Index rows, Eigen::Index in_features, Eigen::Index out_features, Scalar* y) {
  const int row_chunks = chunk_count(rows, detail::kMinRowsPerChunk);
  if (rows > detail::kFewRows && (row_chunks > 1 || rows >= out_features) &&
      row_panel_gemm_fits<Scalar>(out_features, in_features)) {
    row_panel_gemm<Stored::as_is>(x, weight, bias, rows, in_features, out_features, y, PanelStart<Scalar>::copy(residual),
                                  row_chunks);
    return;
  }
  std::copy_n(residual, rows * out_features, y);
  linear_forward(x, weight, bias, rows, in_features, out_features, y, true);
}

// dx (N, in) = dy (N, out) W (out, in), or dx += ... when `accumulate`.
template <class Scalar>
void linear_backward_input(const Scalar* dy, const Scalar* weight, Eigen::Index rows, Eigen::Index in_features,
                           Eigen::Index out_features, Scalar* dx, bool accumulate = false) {
  const int row_chunks = chunk_count(rows, detail::kMinRowsPerChunk);
  if (row_panel_gemm_fits<Scalar>(in_features, out_features)) {
    row_panel_gemm<Stored::transposed>(dy, weight, static_cast<const Scalar*>(nullptr), rows, out_features, in_features,
                                       dx, accumulate ? PanelStart<Scalar>::accumulate() : PanelStart<Scalar>::zeros(),
                                       row_chunks);
    return;
  }
  const auto W = const_view(weight, out_features, in_features);
  parallel_chunks(rows, row_chunks, [&](int, Eigen::Index begin, Eigen::Index end) {
    const auto dY = const_view(dy + begin * out_features, end - begin, out_features);
    auto dX = view(dx + begin * in_features, end - begin, in_features);
    if (accumulate) dX.noalias() += dY * W;
    else dX.noalias() = dY * W;
  });
}

// dW (out, in) += dy^T (out, N) x (N, in); dbias (out) += column sums of dy when dbias is not null.
// Over many tokens and a weight of a few MiB, the tokens are split (token_split_gemm.hpp). Otherwise each
// chunk packs its share of one operand and all of the other, so the split runs along the wider side: output
// features when out >= in (each chunk packs all of x), input features otherwise (all of dy).
template <class Scalar>
void linear_backward_weight(const Scalar* dy, const Scalar* x, Eigen::Index rows, Eigen::Index in_features,
                            Eigen::Index out_features, Scalar* dweight, Scalar* dbias) {
  // One chunk too on a single thread when the register tiles run: they beat Eigen's product, which also allocates
  // its blocking buffers on every call (bench_model_linear at 1 thread). With more threads and too few tokens for
  // two chunks, Eigen's feature split uses them all.
  const bool token_split = token_split_chunks(rows) > 1 || (kUsesRegisterTiles<Scalar> && active_threads() == 1 &&
                                                            rows >= detail::kMinTokensPerChunk);
  if (token_split && token_split_weight_gradient_fits<Scalar>(out_features, in_features)) {
    token_split_weight_gradient(dy, x, rows, in_features, out_features, dweight, dbias);
    return;
  }
  if (out_features >= in_features) {
    const auto X = const_view(x, rows, in_features);
    parallel_chunks(out_features, chunk_count(out_features, detail::kMinRowsPerChunk),
                    [&](int, Eigen::Index begin, Eigen::Index end) {
                      const auto dY = const_view(dy + begin, rows, end - begin, out_features);
                      auto dW = view(dweight + begin * in_features, end - begin, in_features);
                      dW.noalias() += dY.transpose() * X;
                      if (dbias != nullptr)
                        Eigen::Map<RowVectorOf<Scalar>>(dbias + begin, end - begin) += dY.colwise().sum();
                    });
    return;
  }
  const auto dY = const_view(dy, rows, out_features);
  parallel_chunks(in_features, chunk_count(in_features, detail::kMinRowsPerChunk),
                  [&](int chunk, Eigen::Index begin, Eigen::Index end) {
                    const auto X = const_view(x + begin, rows, end - begin, in_features);
                    auto dW = view(dweight + begin, out_features, end - begin, in_features);
                    dW.noalias() += dY.transpose() * X;
                    if (dbias != nullptr && chunk == 0)
                      Eigen::Map<RowVectorOf<Scalar>>(dbias, out_features) += dY.colwise().sum();
                  });
}

}  // namespace r1
