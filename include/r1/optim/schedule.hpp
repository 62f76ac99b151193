#pragma once
// Learning-rate schedules: small value types with `float operator()(step)`,
// step counted from 0 (the first optimizer step), plus `LrSchedule`, a variant
// of them built from JSON:
//   {"type": "cosine", "lr": 3e-6, "warmup_steps": 10, "total_steps": 1000, "min_lr": 0}
//
//   constant        lr
//   linear_warmup   lr · min(1, step / warmup)                     HF get_constant_schedule_with_warmup
//   cosine          warm-up, then min + (lr − min) ½(1 + cos(π p)),  SGDR (Loshchilov & Hutter 2017, Eq. 5)
//                   p = (step − warmup) / (total − warmup)        in the form of HF get_cosine_schedule_with_warmup
//   wsd             warm-up, stable at lr, then a linear or cosine  MiniCPM (Hu et al. 2024, §4)
//                   decay to min over the last decay_steps
// Warm-up starts at 0 at step 0, as in HF transformers. Past total_steps the rate stays at min_lr.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <initializer_list>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

namespace detail {
inline double warmup_factor(std::int64_t step, std::int64_t warmup_steps) {
  return warmup_steps > 0 && step < warmup_steps ? static_cast<double>(step) / static_cast<double>(warmup_steps) : 1.0;
}
}  // namespace detail

struct ConstantSchedule {
  float lr = 1e-3f;
  float operator()(std::int64_t) const { return lr; }
};

struct LinearWarmupSchedule {
  float lr = 1e-3f;
  std::int64_t warmup_steps = 0;
  float operator()(std::int64_t step) const { return static_cast<float>(lr * detail::warmup_factor(step, warmup_steps)); }
};

struct CosineSchedule {
  float lr = 1e-3f;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  float min_lr = 0;  // the floor the cosine decays to
  float operator()(std::int64_t step) const {
    if (step < warmup_steps) return static_cast<float>(lr * detail::warmup_factor(step, warmup_steps));
    const double progress =
        std::clamp(static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps), 0.0, 1.0);
    return static_cast<float>(min_lr + (static_cast<double>(lr) - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
  }
};

struct WsdSchedule {
  enum class Decay { linear, cosine };
  float lr = 1e-3f;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  std::int64_t decay_steps = 0;  // the last decay_steps of total_steps
  float min_lr = 0;
  Decay decay = Decay::linear;
  float operator()(std::int64_t step) const {
    if (step < warmup_steps) return static_cast<float>(lr * detail::warmup_factor(step, warmup_steps));
    const std::int64_t decay_start = total_steps - decay_steps;
    if (step < decay_start) return lr;
    const double progress =
        decay_steps > 0 ? std::clamp(static_cast<double>(step - decay_start) / static_cast<double>(decay_steps), 0.0, 1.0)
                        : 1.0;
    const double shape = decay == Decay::linear ? 1 - progress : 0.5 * (1 + std::cos(std::numbers::pi * progress));
    return static_cast<float>(min_lr + (static_cast<double>(lr) - min_lr) * shape);
  }
};

class LrSchedule {
 public:
  using Variant = std::variant<ConstantSchedule, LinearWarmupSchedule, CosineSchedule, WsdSchedule>;
  LrSchedule() = default;
  template <class Schedule>
    requires std::is_constructible_v<Variant, Schedule>
  LrSchedule(Schedule schedule) : schedule_(schedule) {}

  float operator()(std::int64_t step) const {
    return std::visit([step](const auto& schedule) { return schedule(step); }, schedule_);
  }
  const Variant& variant() const { return schedule_; }

  static LrSchedule from_json(const Json& json, std::string_view where = "lr schedule") {
    require(json.is_object(), where, ": expected a JSON object");
    const auto type = json_field<std::string>(json, "type", where);
    auto allow_only = [&](std::initializer_list<std::string_view> fields) {
      for (const auto& [key, value] : json.items())
        require(key == "type" || std::find(fields.begin(), fields.end(), key) != fields.end(), where,
                ": unknown field '", key, "' for a ", type, " schedule");
    };
    auto nonnegative_steps = [&](std::string_view field, std::int64_t fallback) {
      const auto steps = json_field_or<std::int64_t>(json, field, fallback, where);
      require(steps >= 0, where, ": field '", field, "' must be ≥ 0, got ", steps);
      return steps;
    };
    auto rate = [&](std::string_view field, float fallback) {
      const auto value = json_field_or<float>(json, field, fallback, where);
      require(std::isfinite(value) && value >= 0, where, ": field '", field, "' must be finite and ≥ 0, got ", value);
      return value;
    };
    const float lr = rate("lr", 1e-3f);
    if (type == "constant") {
      allow_only({"lr"});
      return ConstantSchedule{lr};
    }
    if (type == "linear_warmup") {
      allow_only({"lr", "warmup_steps"});
      return LinearWarmupSchedule{lr, nonnegative_steps("warmup_steps", 0)};
    }
    if (type == "cosine") {
      allow_only({"lr", "warmup_steps", "total_steps", "min_lr"});
      CosineSchedule s{lr, nonnegative_steps("warmup_steps", 0), json_field<std::int64_t>(json, "total_steps", where),
                       rate("min_lr", 0)};
      require(s.total_steps > s.warmup_steps, where, ": 'total_steps' (", s.total_steps,
              ") must exceed 'warmup_steps' (", s.warmup_steps, ")");
      return s;
    }
    if (type == "wsd") {
      allow_only({"lr", "warmup_steps", "total_steps", "decay_steps", "min_lr", "decay"});
      WsdSchedule s{lr, nonnegative_steps("warmup_steps", 0), json_field<std::int64_t>(json, "total_steps", where),
                    nonnegative_steps("decay_steps", 0), rate("min_lr", 0)};
      const auto decay = json_field_or<std::string>(json, "decay", "linear", where);
      require(decay == "linear" || decay == "cosine", where, ": field 'decay' must be linear or cosine, got '", decay, "'");
      s.decay = decay == "linear" ? WsdSchedule::Decay::linear : WsdSchedule::Decay::cosine;
      require(s.warmup_steps + s.decay_steps <= s.total_steps, where, ": warmup_steps (", s.warmup_steps,
              ") + decay_steps (", s.decay_steps, ") must not exceed total_steps (", s.total_steps, ")");
      return s;
    }
    fail(where, ": unknown schedule type '", type, "' (expected constant, linear_warmup, cosine or wsd)");
  }

 private:
  Variant schedule_{ConstantSchedule{}};
};

}  // namespace r1
