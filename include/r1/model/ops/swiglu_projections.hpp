#pragma once
// The projections on either side of SwiGLU (swiglu.hpp) with the activation done panel by panel inside the
// GEMM's loop (row_panel_gemm.hpp's epilogue), while the rows just computed are in the cache, instead of as a
// separate pass over all rows that reads them back from memory:
//   forward:  gate_up = x W_gate_up^T, act = swiglu(gate_up)
//   backward: d_act = d_out W_down, d_gate_up = swiglu's backward of d_act
// The results are the same, bit for bit, as the separate linear and swiglu calls, which these fall back to
// when row_panel_gemm does not apply.
#include <Eigen/Core>

#include "r1/model/ops/linear.hpp"
#include "r1/model/ops/swiglu.hpp"

namespace r1 {

// gate_up (N, 2F) = x (N, D) W_gate_up^T, W_gate_up (2F, D); act (N, F) = swiglu(gate_up).
template <class Scalar>
void gate_up_swiglu_forward(const Scalar* x, const Scalar* gate_up_weight, Eigen::Index rows, Eigen::Index in_features,
                            Eigen::Index features, Scalar* gate_up, Scalar* act) {
  const Eigen::Index out_features = 2 * features;
  const int row_chunks = chunk_count(rows, detail::kMinRowsPerChunk);
  if (rows > detail::kFewRows && (row_chunks > 1 || rows >= out_features) &&
      row_panel_gemm_fits<Scalar>(out_features, in_features)) {
    row_panel_gemm<Stored::as_is>(x, gate_up_weight, static_cast<const Scalar*>(nullptr), rows, in_features, out_features,
                                  gate_up, PanelStart<Scalar>::zeros(), row_chunks,
                                  [&](Eigen::Index first, Eigen::Index panel_rows) {
                                    swiglu_forward_rows(gate_up, first, first + panel_rows, features, act);
                                  });
    return;
  }
  linear_forward(x, gate_up_weight, static_cast<const Scalar*>(nullptr), rows, in_features, out_features, gate_up);
  swiglu_forward(gate_up, rows, features, act);
}

// d_act (N, F) = d_out (N, D) W_down, W_down (D, F); d_gate_up (N, 2F) from d_act and the forward's gate_up.
template <class Scalar>
void down_swiglu_backward(const Scalar* d_out, const Scalar* down_weight, const Scalar* gate_up, Eigen::Index rows,
                          Eigen::Index features, Eigen::Index out_features, Scalar* d_act, Scalar* d_gate_up) {
  if (row_panel_gemm_fits<Scalar>(features, out_features)) {
    row_panel_gemm<Stored::transposed>(d_out, down_weight, static_cast<const Scalar*>(nullptr), rows, out_features,
                                       features, d_act, PanelStart<Scalar>::zeros(),
                                       chunk_count(rows, detail::kMinRowsPerChunk),
                                       [&](Eigen::Index first, Eigen::Index panel_rows) {
                                         swiglu_backward_rows(d_act, gate_up, first, first + panel_rows, features, d_gate_up);
                                       });
    return;
  }
  linear_backward_input(d_out, down_weight, rows, features, out_features, d_act);
  swiglu_backward(d_act, gate_up, rows, features, d_gate_up);
}

}  // namespace r1
