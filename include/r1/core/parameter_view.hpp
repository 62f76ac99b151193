#pragma once
// A named view of one parameter tensor and its gradient, as a model exposes
// them to optimizers, checkpoints and gradient clipping.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace r1 {

struct ParameterView {
  std::string name;                 // HF tensor name, e.g. "model.layers.0.mlp.up_proj.weight"
  std::vector<std::int64_t> shape;  // row-major
  std::span<float> value;
  std::span<float> grad;
  bool weight_decay = true;  // false for norms and biases (HF Trainer's convention)
};

}  // namespace r1
