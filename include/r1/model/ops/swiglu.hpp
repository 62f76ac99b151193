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

// act rows [first, last) from gate_up (N, 2F), on the calling thread.
template <class Scalar>
void swiglu_forward_rows(const Scalar* gate_up, Eigen::Index first, Eigen::Index last, Eigen::Index features, Scalar* act) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  for (Eigen::Index row = first; row < last; ++row) {
    const Eigen::Map<const Array> g(gate_up + row * 2 * features, features), u(gate_up + row * 2 * features + features, features);
    Eigen::Map<Array>(act + row * features, features) = g / (Scalar(1) + (-g).exp()) * u;
  }
}

// d_gate_up rows [first, last) from d_act and gate_up, on the calling thread.
template <class Scalar>
void swiglu_backward_rows(const Scalar* d_act, const Scalar* gate_up, Eigen::Index first, Eigen::Index last,
                          Eigen::Index features, Scalar* d_gate_up) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  for (Eigen::Index row = first; row < last; ++row) {
    const Eigen::Map<const Array> g(gate_up + row * 2 * features, features), u(gate_up + row * 2 * features + features, features);
    const Eigen::Map<const Array> da(d_act + row * features, features);
    Eigen::Map<Array> dg(d_gate_up + row * 2 * features, features), du(d_gate_up + row * 2 * features + features, features);
    // dg first holds sigmoid(g), then becomes the gradient.
    dg = Scalar(1) / (Scalar(1) + (-g).exp());
    du = da * g * dg;
    dg = da * u * dg * (Scalar(1) + g * (Scalar(1) - dg));
  }
}

// act columns [begin, end) of every row from gate_up (rows, 2F), on the calling thread.
template <class Scalar>
void swiglu_forward_columns(const Scalar* gate_up, Eigen::Index rows, Eigen::Index features, Eigen::Index begin,
                            Eigen::Index end, Scalar* act) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  for (Eigen::Index row = 0; row < rows; ++row) {
    const Scalar* g_row = gate_up + row * 2 * features + begin;
    const Eigen::Map<const Array> g(g_row, end - begin), u(g_row + features, end - begin);
    Eigen::Map<Array>(act + row * features + begin, end - begin) = g / (Scalar(1) + (-g).exp()) * u;
  }
}

// act (N, F) from gate_up (N, 2F).
// A decode step has a few rows: they are split by feature columns instead, so both cores share the exps.
template <class Scalar>
void swiglu_forward(const Scalar* gate_up, Eigen::Index rows, Eigen::Index features, Scalar* act) {
  if (rows >= 16) {
    parallel_chunks(rows, chunk_count(rows, 16), [&](int, Eigen::Index begin, Eigen::Index end) {
      swiglu_forward_rows(gate_up, begin, end, features, act);
    });
    return;
  }
  parallel_chunks(features, chunk_count(features, 256), [&](int, Eigen::Index begin, Eigen::Index end) {
    swiglu_forward_columns(gate_up, rows, features, begin, end, act);
  });
}

// d_gate_up (N, 2F) = gradient of the packed [g | u] from d_act (N, F).
template <class Scalar>
void swiglu_backward(const Scalar* d_act, const Scalar* gate_up, Eigen::Index rows, Eigen::Index features,
                     Scalar* d_gate_up) {
  parallel_chunks(rows, chunk_count(rows, 16), [&](int, Eigen::Index begin, Eigen::Index end) {
    swiglu_backward_rows(d_act, gate_up, begin, end, features, d_gate_up);
  });
}

}  // namespace r1
