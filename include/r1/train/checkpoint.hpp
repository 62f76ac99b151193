#pragma once
// Trainer checkpoints: everything a resumed run needs to continue exactly as an
// uninterrupted one would: the policy (and KL reference) parameters, the
// optimiser state and the step counters. Data order and sampling noise are pure
// functions of (seed, step) (DataOrder, RandomStream), so the counters restore them.
// Written atomically in one checksummed container (atomic_file.hpp): a crash
// mid-write leaves the previous checkpoint intact; a corrupt one is an r1::Error.
//
//   r1::save_trainer_checkpoint("run/checkpoint.r1ckpt", trainer);
//   r1::load_trainer_checkpoint("run/checkpoint.r1ckpt", trainer);   // before fit()
#include <algorithm>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/train/atomic_file.hpp"

namespace r1 {

namespace detail {
inline std::vector<float> copy_floats(std::span<const float> values) { return {values.begin(), values.end()}; }

inline void restore_floats(std::span<float> into, const std::vector<float>& from, const std::string& path,
                           std::string_view section) {
  require(from.size() == into.size(), path, ": section '", section, "' holds ", from.size(),
          " parameters, the model has ", into.size());
  std::copy(from.begin(), from.end(), into.begin());
}

template <class TrainerT>
auto& checkpoint_model(TrainerT& trainer) {
  if constexpr (requires { trainer.policy(); })
    return trainer.policy();
  else
    return trainer.model();
}
}  // namespace detail

template <class TrainerT>
void save_trainer_checkpoint(const std::string& path, TrainerT& trainer) {
  CheckpointWriter writer;
  auto& model = detail::checkpoint_model(trainer);
  Json state{{"format", "r1.trainer_checkpoint"}, {"version", 1}, {"step", trainer.current_step()},
             {"skipped_updates", trainer.skipped_updates()}, {"parameters", model.flat_parameters().size()}};
  if constexpr (requires { trainer.optimizer_steps(); }) state["optimizer_steps"] = trainer.optimizer_steps();
  writer.add_json("state", state);
  writer.add_array("policy", detail::copy_floats(model.flat_parameters()));
  if constexpr (requires { trainer.reference(); }) {
    if (auto* reference = trainer.reference(); reference != nullptr)
      writer.add_array("reference", detail::copy_floats(reference->flat_parameters()));
  }
  std::ostringstream optimizer;
  trainer.optimizer().save_state(optimizer);
  writer.add("optimizer", optimizer.str());
  write_file_atomically(path, writer.serialize());
}

template <class TrainerT>
void load_trainer_checkpoint(const std::string& path, TrainerT& trainer) {
  const auto reader = CheckpointReader::from_file(path);
  const Json state = reader.section_json("state");
  // json_field_or, not Json::value: value() throws nlohmann's type_error for {"version": "1"}.
  require(state.is_object() && json_field_or<std::string>(state, "format", "", path) == "r1.trainer_checkpoint", path,
          ": not an r1 trainer checkpoint");
  const auto version = json_field_or<std::int64_t>(state, "version", 0, path);
  require(version == 1, path, ": unsupported checkpoint version ", version);
  auto& model = detail::checkpoint_model(trainer);
  // Read everything before changing anything, so a bad file leaves the trainer as it was.
  const auto policy = reader.section_array<float>("policy");
  require(policy.size() == model.flat_parameters().size(), path, ": section 'policy' holds ", policy.size(),
          " parameters, the model has ", model.flat_parameters().size());
  std::istringstream optimizer{std::string(reader.section("optimizer"))};
  trainer.optimizer().load_state(optimizer);
  detail::restore_floats(model.flat_parameters(), policy, path, "policy");
  if constexpr (requires { trainer.reference(); }) {
    if (auto* reference = trainer.reference(); reference != nullptr)
      detail::restore_floats(reference->flat_parameters(), reader.section_array<float>("reference"), path, "reference");
  }
  const auto step = json_field<std::int64_t>(state, "step", path);
  const auto skipped = json_field<std::int64_t>(state, "skipped_updates", path);
  if constexpr (requires { trainer.optimizer_steps(); })
    trainer.restore_counters(step, json_field<std::int64_t>(state, "optimizer_steps", path), skipped);
  else
    trainer.restore_counters(step, skipped);
}

}  // namespace r1
