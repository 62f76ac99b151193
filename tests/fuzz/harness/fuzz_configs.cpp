// Run configuration files: the trainer (GRPO, SFT), objective, sampler,
// optimizer, learning-rate schedule, evaluation, rejection-sampling and code
// verifier configs. The input is one JSON document; each reader gets the whole
// document and, as `r1 grpo` lays its config out, the member of its own name.
// Property: a config that loads writes back (to_json, where it has one) and
// loads again to the same JSON.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/optim/sgd.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "r1/rl/grpo_config.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "r1/train/rejection_sampling.hpp"
#include "r1/train/sft_trainer.hpp"

namespace {
using Json = r1::Json;

template <class Config>
void check_round_trip(const Config& config) {
  const Json written = config.to_json();
  if (Config::from_json(written).to_json() != written) r1::fuzz::property_failed("a config's round trip changed it");
}

void read_all(const Json& json) {
  using r1::fuzz::run_expecting_errors;
  run_expecting_errors([&] { check_round_trip(r1::GrpoTrainerConfig::from_json(json, "trainer")); });
  run_expecting_errors([&] { check_round_trip(r1::GrpoConfig::from_json(json, "objective")); });
  run_expecting_errors([&] { check_round_trip(r1::SftConfig::from_json(json, "sft")); });
  run_expecting_errors([&] { (void)r1::sampler_config_from_json(json, "sampling"); });
  run_expecting_errors([&] { (void)r1::AdamWConfig::from_json(json, "optimizer"); });
  run_expecting_errors([&] { (void)r1::SgdConfig::from_json(json, "sgd"); });
  run_expecting_errors([&] {
    const auto schedule = r1::LrSchedule::from_json(json, "schedule");
    for (const std::int64_t step : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1} << 40})
      (void)schedule(step);
  });
  run_expecting_errors([&] { (void)r1::EvaluationConfig::from_json(json, "evaluation"); });
  run_expecting_errors([&] { (void)r1::RejectionSamplingConfig::from_json(json, "distill"); });
  run_expecting_errors([&] { (void)r1::code::CodeVerifierConfig::from_json(json, "code"); });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  r1::fuzz::run_expecting_errors([&] {
    const auto json = r1::parse_json(r1::fuzz::as_text(data, size), "config.json");
    read_all(json);
    if (json.is_object())
      for (const auto& [key, value] : json.items()) read_all(value);
  });
  return 0;
}
