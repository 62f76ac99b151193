#pragma once
// RMSNorm (Zhang & Sennrich 2019, eq. 4), as HF's LlamaRMSNorm computes it:
//   y = x * r * w,   r = 1 / sqrt(mean(x^2) + eps)        per row of D features.
// Backward (differentiating the same formula):
//   dw += sum_rows dy * x * r
//   dx += r * (dy * w) - x * r^3 / D * sum(dy * w * x)
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/model/matrix_views.hpp"
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
// Each chunk of rows sums its share of the weight gradient while its rows are in the cache; the chunks' sums
// are added into dweight at the end (a second pass over dy and x by feature ranges cost as much again).
template <class Scalar>
void rmsnorm_backward(const Scalar* dy, const Scalar* x, const Scalar* weight, const Scalar* rstd, Eigen::Index rows,
                      Eigen::Index dim, Scalar* dx, Scalar* dweight) {
  const Eigen::Map<const RowVectorOf<Scalar>> w(weight, dim);
  const int chunks = chunk_count(rows, 64);
  // The calling thread's, reached through this reference from the chunks' threads (naming the thread_local
  // inside the lambda would give each thread its own): the sums outlive the chunks, and a concurrent caller
  // has its own.
  thread_local std::vector<AlignedVector<Scalar>> calling_thread_sums;
  std::vector<AlignedVector<Scalar>>& chunk_sums = calling_thread_sums;
  if (static_cast<int>(chunk_sums.size()) < chunks) chunk_sums.resize(static_cast<std::size_t>(chunks));
  for (int chunk = 0; chunk < chunks; ++chunk) {
    grow_to(chunk_sums[static_cast<std::size_t>(chunk)], dim);
    std::fill_n(chunk_sums[static_cast<std::size_t>(chunk)].data(), dim, Scalar(0));
  }
  parallel_chunks(rows, chunks, [&](int chunk, Eigen::Index begin, Eigen::Index end) {
    Eigen::Map<RowVectorOf<Scalar>> dw(chunk_sums[static_cast<std::size_t>(chunk)].data(), dim);
    for (Eigen::Index row = begin; row < end; ++row) {
      const Eigen::Map<const RowVectorOf<Scalar>> in(x + row * dim, dim), grad(dy + row * dim, dim);
      const Scalar r = rstd[row];
      const Scalar dot = grad.cwiseProduct(w).dot(in);
      Eigen::Map<RowVectorOf<Scalar>>(dx + row * dim, dim) += r * grad.cwiseProduct(w) - (r * r * r * dot / Scalar(dim)) * in;
      dw += r * grad.cwiseProduct(in);
    }
  });
  Eigen::Map<RowVectorOf<Scalar>> total(dweight, dim);
  for (int chunk = 0; chunk < chunks; ++chunk)
    total += Eigen::Map<const RowVectorOf<Scalar>>(chunk_sums[static_cast<std::size_t>(chunk)].data(), dim);
}

}  // namespace r1
