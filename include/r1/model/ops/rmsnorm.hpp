#pragma once
// RMSNorm (Zhang & Sennrich 2019, eq. 4), as HF's LlamaRMSNorm computes it:
//   y = x * r * w,   r = 1 / sqrt(mean(x^2) + eps)        per row of D features.
// Backward (differentiating the same formula):
//   dw += sum_rows dy * x * r
//   dx += r * (dy * w) - x * r^3 / D * sum(dy * w * x)
#include <Eigen/Core>
#include <cmath>

#include "r1/model/ops/matrix_views.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace r1 {

// y (N, D), rstd (N) = r of each row.
template <class Scalar>
void rmsnorm_forward(const Scalar* x, const Scalar* weight, Eigen::Index rows, Eigen::Index dim, double eps,
                     Scalar* y, Scalar* rstd) {
  const Eigen::Map<const RowVectorOf<Scalar>> w(weight, dim);
  parallel_chunks(rows, chunk_count(rows, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    for (Eigen::Index row = begin; row < end; ++row) {
      const Eigen::Map<const RowVectorOf<Scalar>> in(x + row * dim, dim);
      const Scalar r = Scalar(1) / std::sqrt(in.squaredNorm() / Scalar(dim) + Scalar(eps));
      rstd[row] = r;
      Eigen::Map<RowVectorOf<Scalar>>(y + row * dim, dim) = (in * r).cwiseProduct(w);
    }
  });
}

// dx (N, D) += d input; dweight (D) += d weight. rstd from the forward.
template <class Scalar>
void rmsnorm_backward(const Scalar* dy, const Scalar* x, const Scalar* weight, const Scalar* rstd, Eigen::Index rows,
                      Eigen::Index dim, Scalar* dx, Scalar* dweight) {
  const Eigen::Map<const RowVectorOf<Scalar>> w(weight, dim);
  parallel_chunks(rows, chunk_count(rows, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    for (Eigen::Index row = begin; row < end; ++row) {
      const Eigen::Map<const RowVectorOf<Scalar>> in(x + row * dim, dim), grad(dy + row * dim, dim);
      const Scalar r = rstd[row];
      const Scalar dot = grad.cwiseProduct(w).dot(in);
      Eigen::Map<RowVectorOf<Scalar>>(dx + row * dim, dim) += r * grad.cwiseProduct(w) - (r * r * r * dot / Scalar(dim)) * in;
    }
  });
  // The weight gradient sums over rows: split the features so chunks never share an entry.
  parallel_chunks(dim, chunk_count(dim, 64), [&](int, Eigen::Index begin, Eigen::Index end) {
    const Eigen::Index width = end - begin;
    Eigen::Map<RowVectorOf<Scalar>> dw(dweight + begin, width);
    for (Eigen::Index row = 0; row < rows; ++row)
      dw += rstd[row] * Eigen::Map<const RowVectorOf<Scalar>>(dy + row * dim + begin, width)
                            .cwiseProduct(Eigen::Map<const RowVectorOf<Scalar>>(x + row * dim + begin, width));
  });
}

}  // namespace r1
