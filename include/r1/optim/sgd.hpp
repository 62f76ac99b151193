#pragma once
// SGD with momentum, in the form of torch.optim.SGD (Sutskever et al. 2013 for
// the Nesterov variant):
//   g ← g + λ θ                       (L2 weight decay, only where ParameterView::weight_decay)
//   b ← g on the first step, else μ b + (1 − dampening) g
//   d ← g + μ b if nesterov, else b;  θ ← θ − lr d
#include <cmath>
#include <cstdint>
#include <istream>
#include <ostream>
#include <span>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/optim/fixed_blocks.hpp"
#include "r1/optim/optimizer_base.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/optim/slot_buffers.hpp"
#include "r1/optim/state_io.hpp"

namespace r1 {

struct SgdConfig {
  float lr = 1e-2f;
  float momentum = 0;
  float dampening = 0;
  float weight_decay = 0;
  bool nesterov = false;

  void validate(std::string_view where = "sgd config") const {
    require(std::isfinite(lr) && lr >= 0, where, ": field 'lr' must be finite and ≥ 0, got ", lr);
    require(momentum >= 0 && momentum < 1, where, ": field 'momentum' must be in [0, 1), got ", momentum);
    require(dampening >= 0 && dampening <= 1, where, ": field 'dampening' must be in [0, 1], got ", dampening);
    require(std::isfinite(weight_decay) && weight_decay >= 0, where, ": field 'weight_decay' must be finite and ≥ 0, got ",
            weight_decay);
    require(!nesterov || (momentum > 0 && dampening == 0), where, ": nesterov needs momentum > 0 and dampening 0");
  }
  static SgdConfig from_json(const Json& json, std::string_view where = "sgd config") {
    require_known_fields(json, {"lr", "momentum", "dampening", "weight_decay", "nesterov"}, where);
    SgdConfig config;
    config.lr = json_field_or<float>(json, "lr", config.lr, where);
    config.momentum = json_field_or<float>(json, "momentum", config.momentum, where);
    config.dampening = json_field_or<float>(json, "dampening", config.dampening, where);
    config.weight_decay = json_field_or<float>(json, "weight_decay", config.weight_decay, where);
    config.nesterov = json_field_or<bool>(json, "nesterov", config.nesterov, where);
    config.validate(where);
    return config;
  }
};

class Sgd : public OptimizerBase<SgdConfig> {
 public:
  static constexpr std::string_view format_tag = "r1.Sgd..";
  static constexpr std::uint32_t format_version = 2;  // 2: CRC-32 trailer (1: FNV-1a 64)
  static constexpr std::size_t parallel_grain = 1 << 15;  // values per task

  Sgd() : Sgd(SgdConfig{}) {}
  explicit Sgd(const SgdConfig& config) : OptimizerBase(config, "Sgd") {}

  void init(std::span<const ParameterView> parameters) { momentum_.bind(parameters, "Sgd::init"); }

  void step(std::span<const ParameterView> parameters) {
    momentum_.bind(parameters, "Sgd::step");
    const bool first = step_ == 0;
    ++step_;
    const float mu = config_.momentum, lr = config_.lr;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const ParameterView& p = parameters[i];
      std::span<float> buffer = momentum_.slot(i, 0);
      const float decay = p.weight_decay ? config_.weight_decay : 0.0f;
      // Fixed blocks (r1/optim/fixed_blocks.hpp): the same bits at any thread count and address.
      const float dampening = config_.dampening;
      const bool nesterov = config_.nesterov;
      update_in_fixed_blocks(
          parallel_grain,
          [&](UpdateBlockMap value, UpdateBlockMap grad, UpdateBlockMap momentum) {
            UpdateBlock g = grad + decay * value;
            if (mu != 0) {
              momentum = first ? g : mu * momentum + (1 - dampening) * g;
              g = nesterov ? UpdateBlock(g + mu * momentum) : UpdateBlock(momentum);
            }
            value -= lr * g;
          },
          p.value, p.grad, buffer);
    }
  }

  // Layout (r1/optim/state_io.hpp): tag, version, lr, step, buffers, checksum.
  void save_state(std::ostream& out) const {
    momentum_.require_usable("Sgd::save_state");  // before a byte is written
    StateWriter writer(out, "Sgd state");
    writer.bytes(format_tag.data(), format_tag.size());
    writer.scalar<std::uint32_t>(format_version);
    writer.scalar<float>(config_.lr);
    writer.scalar<std::int64_t>(step_);
    momentum_.save(writer, "Sgd::save_state");
    writer.finish();
  }
  // Restores the learning rate, step count and momentum buffers, read in place after the header is
  // checked (r1/optim/slot_buffers.hpp). A failure leaves the optimizer as it was, except one after part
  // of a bound state's buffers were overwritten: then step() and save_state() throw, naming the failed
  // load, until a load succeeds or reset().
  void load_state(std::istream& in) {
    StateReader reader(in, "Sgd state");
    reader.expect_tag(format_tag, format_version);
    const auto lr = reader.scalar<float>("lr");
    const auto step = reader.scalar<std::int64_t>("step");
    require(std::isfinite(lr) && lr >= 0, "Sgd state: invalid learning rate ", lr);
    require(step >= 0, "Sgd state: negative step count ", step);
    momentum_.load(reader, "Sgd state");  // through the trailing checksum
    config_.lr = lr;
    step_ = step;
  }

  // Starts over: zero momentum for the same parameters and step 0 (the next step sets the buffer from
  // the gradient, as torch.optim.SGD's first step does); clears a failed load.
  void reset() {
    momentum_.reset();
    step_ = 0;
  }

 private:
  SlotBuffers momentum_{1};
};

}  // namespace r1
