#pragma once
// SwiGLU feed-forward activation (Shazeer 2020, "GLU Variants Improve
// Transformer", eq. 6; Llama's MLP): a = silu(g) * u with silu(g) = g * sigmoid(g).
// gate and up come packed in one row [g (F) | u (F)] because r1 stores
// gate_proj and up_proj adjacently and computes both in one GEMM.
// Backward: dg = da * u * sigmoid(g) * (1 + g * (1 - sigmoid(g))),  du = da * silu(g).
#include <Eigen/Core>
#include <cmath>

#include "r1/model/parallel_chunks.hpp"

namespace r1 {

// act (N, F) from gate_up (N, 2F).
// A decode step has a few rows: they are split by feature columns instead, so both cores share the exps.
template <class Scalar>
void swiglu_forward(const Scalar* gate_up, Eigen::Index rows, Eigen::Index features, Scalar* act) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  const bool by_rows = rows >= 16;
  const Eigen::Index items = by_rows ? rows : features;
  parallel_chunks(items, chunk_count(items, by_rows ? 16 : 256), [&](int, Eigen::Index begin, Eigen::Index end) {
    const Eigen::Index first_row = by_rows ? begin : 0, last_row = by_rows ? end : rows;
    const Eigen::Index column = by_rows ? 0 : begin, width = by_rows ? features : end - begin;
    for (Eigen::Index row = first_row; row < last_row; ++row) {
      const Scalar* g_row = gate_up + row * 2 * features + column;
      const Eigen::Map<const Array> g(g_row, width), u(g_row + features, width);
      Eigen::Map<Array>(act + row * features + column, width) = g / (Scalar(1) + (-g).exp()) * u;
    }
  });
}

// d_gate_up (N, 2F) = gradient of the packed [g | u] from d_act (N, F).
template <class Scalar>
void swiglu_backward(const Scalar* d_act, const Scalar* gate_up, Eigen::Index rows, Eigen::Index features,
                     Scalar* d_gate_up) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  parallel_chunks(rows, chunk_count(rows, 16), [&](int, Eigen::Index begin, Eigen::Index end) {
    for (Eigen::Index row = begin; row < end; ++row) {
      const Eigen::Map<const Array> g(gate_up + row * 2 * features, features), u(gate_up + row * 2 * features + features, features);
      const Eigen::Map<const Array> da(d_act + row * features, features);
      Eigen::Map<Array> dg(d_gate_up + row * 2 * features, features), du(d_gate_up + row * 2 * features + features, features);
      // dg first holds sigmoid(g), then becomes the gradient.
      dg = Scalar(1) / (Scalar(1) + (-g).exp());
      du = da * g * dg;
      dg = da * u * dg * (Scalar(1) + g * (Scalar(1) - dg));
    }
  });
}

}  // namespace r1
