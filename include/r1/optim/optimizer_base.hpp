#pragma once
// What r1's optimizers keep besides their buffers: the config they were built
// with, whose `lr` a schedule sets between steps, and the count of steps taken.
// Config needs a float `lr` and `validate()`.
//
//   class AdamW : public OptimizerBase<AdamWConfig> {
//    public:
//     explicit AdamW(const AdamWConfig& config) : OptimizerBase(config, "AdamW") {}
//   };
#include <cmath>
#include <cstdint>
#include <string_view>

#include "r1/core/error.hpp"

namespace r1 {

template <class Config>
class OptimizerBase {
 public:
  const Config& config() const { return config_; }
  float learning_rate() const { return config_.lr; }
  void set_learning_rate(float lr) {
    require(std::isfinite(lr) && lr >= 0, name_, "::set_learning_rate: expected a finite rate ≥ 0, got ", lr);
    config_.lr = lr;
  }
  std::int64_t steps() const { return step_; }

 protected:
  // `name` (a string literal) opens the errors.
  OptimizerBase(const Config& config, std::string_view name) : config_(config), name_(name) { config_.validate(); }

  Config config_;
  std::int64_t step_ = 0;

 private:
  std::string_view name_;
};

}  // namespace r1
