#pragma once
// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization",
// Algorithm 2), in the form of torch.optim.AdamW:
//   θ ← θ (1 − lr λ)                       only where ParameterView::weight_decay
//   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
//   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// State (m, v) is fp32, one pair per parameter, sized on the first step or by init().
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

struct AdamWConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;  // torch.optim.AdamW's default

  void validate(std::string_view where = "adamw config") const {
    require(std::isfinite(lr) && lr >= 0, where, ": field 'lr' must be finite and ≥ 0, got ", lr);
    require(beta1 >= 0 && beta1 < 1, where, ": field 'beta1' must be in [0, 1), got ", beta1);
    require(beta2 >= 0 && beta2 < 1, where, ": field 'beta2' must be in [0, 1), got ", beta2);
    require(std::isfinite(eps) && eps > 0, where, ": field 'eps' must be finite and > 0, got ", eps);
    require(std::isfinite(weight_decay) && weight_decay >= 0, where, ": field 'weight_decay' must be finite and ≥ 0, got ",
            weight_decay);
  }
  static AdamWConfig from_json(const Json& json, std::string_view where = "adamw config") {
    require_known_fields(json, {"lr", "beta1", "beta2", "eps", "weight_decay"}, where);
    AdamWConfig config;
    config.lr = json_field_or<float>(json, "lr", config.lr, where);
    config.beta1 = json_field_or<float>(json, "beta1", config.beta1, where);
    config.beta2 = json_field_or<float>(json, "beta2", config.beta2, where);
    config.eps = json_field_or<float>(json, "eps", config.eps, where);
    config.weight_decay = json_field_or<float>(json, "weight_decay", config.weight_decay, where);
    config.validate(where);
    return config;
  }
};

class AdamW : public OptimizerBase<AdamWConfig> {
 public:
  static constexpr std::string_view format_tag = "r1.AdamW";
  static constexpr std::uint32_t format_version = 2;  // 2: CRC-32 trailer (1: FNV-1a 64)
  static constexpr std::size_t parallel_grain = 1 << 15;  // values per task

  // The state header shared by AdamW and gpu::CudaAdamW (r1/cuda/cuda_adamw.hpp): tag, version, lr, β1, β2,
  // ε, λ, step. Only lr and step are restored; β1, β2, ε, λ are read past and stay as configured.
  struct StateHeader {
    float lr = 0;
    std::int64_t step = 0;
  };
  static void write_state_header(StateWriter& writer, const AdamWConfig& config, std::int64_t step) {
    writer.bytes(format_tag.data(), format_tag.size());
    writer.scalar<std::uint32_t>(format_version);
    writer.scalar<float>(config.lr);
    writer.scalar<float>(config.beta1);
    writer.scalar<float>(config.beta2);
    writer.scalar<float>(config.eps);
    writer.scalar<float>(config.weight_decay);
    writer.scalar<std::int64_t>(step);
  }
  // Throws, naming `who`, on another tag or version, a negative step, or an lr that `config` would reject.
  static StateHeader read_state_header(StateReader& reader, const AdamWConfig& config, std::string_view who) {
    reader.expect_tag(format_tag, format_version);
    AdamWConfig loaded = config;
    loaded.lr = reader.scalar<float>("lr");
    reader.scalar<float>("beta1");
    reader.scalar<float>("beta2");
    reader.scalar<float>("eps");
    reader.scalar<float>("weight_decay");
    const auto step = reader.scalar<std::int64_t>("step");
    require(step >= 0, who, ": negative step count ", step);
    loaded.validate(who);
    return {loaded.lr, step};
  }

  AdamW() : AdamW(AdamWConfig{}) {}
  explicit AdamW(const AdamWConfig& config) : OptimizerBase(config, "AdamW") {}

  // Sizes the state for `parameters` now rather than on the first step.
  void init(std::span<const ParameterView> parameters) { moments_.bind(parameters, "AdamW::init"); }

  void step(std::span<const ParameterView> parameters) {
    moments_.bind(parameters, "AdamW::step");
    ++step_;
    const double t = static_cast<double>(step_);
    const auto step_size = static_cast<float>(config_.lr / (1 - std::pow(static_cast<double>(config_.beta1), t)));
    const auto bias_correction2_sqrt =
        static_cast<float>(std::sqrt(1 - std::pow(static_cast<double>(config_.beta2), t)));
    const auto decay = static_cast<float>(1 - static_cast<double>(config_.lr) * config_.weight_decay);
    const float beta1 = config_.beta1, beta2 = config_.beta2, eps = config_.eps;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const ParameterView& p = parameters[i];
      std::span<float> m = moments_.slot(i, 0), v = moments_.slot(i, 1);
      // Multiplying by 1 is exact, so parameters without decay take the same loop. Eigen's arrays vectorise
      // it; a plain loop does not, because std::sqrt may set errno (BM_AdamWStep in bench_model_train_step times
      // this loop). Fixed blocks (r1/optim/fixed_blocks.hpp): the same bits at any thread count and address.
      const float decay_factor = p.weight_decay && config_.weight_decay != 0 ? decay : 1.0f;
      update_in_fixed_blocks(
          parallel_grain,
          [&](UpdateBlockMap value, UpdateBlockMap g, UpdateBlockMap m_k, UpdateBlockMap v_k) {
            m_k = beta1 * m_k + (1 - beta1) * g;
            v_k = beta2 * v_k + (1 - beta2) * g * g;
            value = value * decay_factor - step_size * m_k / (v_k.sqrt() / bias_correction2_sqrt + eps);
          },
          p.value, p.grad, m, v);
    }
  }

  // Layout (r1/optim/state_io.hpp): tag, version, lr, β1, β2, ε, λ, step, buffers, checksum.
  void save_state(std::ostream& out) const {
    moments_.require_usable("AdamW::save_state");  // before a byte is written
    StateWriter writer(out, "AdamW state");
    write_state_header(writer, config_, step_);
    moments_.save(writer, "AdamW::save_state");
    writer.finish();
  }

  // Restores the learning rate, step count and moments; β1, β2, ε, λ stay as configured. The header is
  // checked first, then the moments are read in place, never into a copy (r1/optim/slot_buffers.hpp). A
  // failure leaves the optimizer as it was, except one after part of a bound state's moments were
  // overwritten: then step() and save_state() throw, naming the failed load, until a load succeeds or
  // reset(). The learning rate and step count change only when the whole state read back intact.
  void load_state(std::istream& in) {
    StateReader reader(in, "AdamW state");
    const StateHeader header = read_state_header(reader, config_, "AdamW state");
    moments_.load(reader, "AdamW state");  // through the trailing checksum
    config_.lr = header.lr;
    step_ = header.step;
  }

  // Starts over: zero moments for the same parameters and step 0, as after init(); clears a failed load.
  void reset() {
    moments_.reset();
    step_ = 0;
  }

 private:
  SlotBuffers moments_{2};
};

}  // namespace r1
