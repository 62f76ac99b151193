// The fused forms (swiglu_projections.hpp, linear_forward_residual) against the separate calls they replace:
// the same operations on the same values in the same order, so equal bit for bit, at 1 and 2 threads, over
// many rows (row_panel_gemm's panels, with a partial last panel) and few rows (the fallbacks). Buffers are
// 64-byte aligned as in the model: Eigen's vectorised exp starts at the first aligned element and takes the
// ones before it one by one, with another rounding, so the same values at another alignment differ in the
// last bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/ops/swiglu_projections.hpp"

namespace {

using Buffer = r1::AlignedVector<float>;

Buffer random_values(std::int64_t count, r1::Philox& rng) {
  Buffer values(static_cast<std::size_t>(count));
  for (auto& value : values) value = static_cast<float>(rng.normal());
  return values;
}

void check_fused(std::int64_t rows, int threads) {
  CAPTURE(rows);
  CAPTURE(threads);
  r1::ThreadLimit limit{threads};
  const std::int64_t D = 40, F = 72;
  r1::Philox rng(static_cast<std::uint64_t>(rows));
  const auto x = random_values(rows * D, rng), w_gate_up = random_values(2 * F * D, rng), w_down = random_values(D * F, rng);
  const auto residual = random_values(rows * D, rng), d_out = random_values(rows * D, rng);

  Buffer gate_up(static_cast<std::size_t>(rows * 2 * F)), act(static_cast<std::size_t>(rows * F));
  r1::gate_up_swiglu_forward(x.data(), w_gate_up.data(), rows, D, F, gate_up.data(), act.data());
  Buffer gate_up_apart(gate_up.size()), act_apart(act.size());
  r1::linear_forward(x.data(), w_gate_up.data(), static_cast<const float*>(nullptr), rows, D, 2 * F, gate_up_apart.data());
  r1::swiglu_forward(gate_up_apart.data(), rows, F, act_apart.data());
  CHECK(gate_up == gate_up_apart);
  CHECK(act == act_apart);

  Buffer d_act(act.size()), d_gate_up(gate_up.size());
  r1::down_swiglu_backward(d_out.data(), w_down.data(), gate_up.data(), rows, F, D, d_act.data(), d_gate_up.data());
  Buffer d_act_apart(act.size()), d_gate_up_apart(gate_up.size());
  r1::linear_backward_input(d_out.data(), w_down.data(), rows, F, D, d_act_apart.data());
  r1::swiglu_backward(d_act_apart.data(), gate_up.data(), rows, F, d_gate_up_apart.data());
  CHECK(d_act == d_act_apart);
  CHECK(d_gate_up == d_gate_up_apart);

  Buffer y(static_cast<std::size_t>(rows * D)), y_apart = residual;
  r1::linear_forward_residual(act.data(), w_down.data(), static_cast<const float*>(nullptr), residual.data(), rows, F, D, y.data());
  r1::linear_forward(act.data(), w_down.data(), static_cast<const float*>(nullptr), rows, F, D, y_apart.data(), true);
  CHECK(y == y_apart);
}

}  // namespace

TEST_CASE("fused SwiGLU projections and the residual forward equal the separate calls bit for bit") {
  for (const int threads : {1, 2})
    for (const std::int64_t rows : {std::int64_t{300}, std::int64_t{10}}) check_fused(rows, threads);
}
