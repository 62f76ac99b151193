#pragma once
// The Optimizer concept (one of the five policies of a recipe, r1/concepts.hpp).
#include <concepts>
#include <istream>
#include <ostream>
#include <span>

#include "r1/core/parameter_view.hpp"

namespace r1 {

// Updates parameters from their gradients; its state can be saved and restored.
template <class O>
concept Optimizer = requires(O& optimizer, const O& const_optimizer, std::span<const ParameterView> parameters,
                             float learning_rate, std::ostream& out, std::istream& in) {
  { optimizer.step(parameters) };
  { optimizer.set_learning_rate(learning_rate) };
  { const_optimizer.learning_rate() } -> std::convertible_to<float>;
  { const_optimizer.save_state(out) };
  { optimizer.load_state(in) };
};

}  // namespace r1
