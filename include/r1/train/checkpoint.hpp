#pragma once
// Trainer checkpoints: everything a resumed run needs to continue exactly as an
// uninterrupted one would: the policy (and KL reference) parameters, the
// optimiser state and the step counters. Data order and sampling noise are pure
// functions of (seed, step) (DataOrder, RandomStream), so the counters restore them.
// Written atomically in one checksummed container (io/checksummed_container.hpp): a crash
// mid-write leaves the previous checkpoint intact; a corrupt one is an r1::Error.
//
//   r1::save_trainer_checkpoint("run/checkpoint.r1ckpt", trainer);
//   r1::load_trainer_checkpoint("run/checkpoint.r1ckpt", trainer);   // before fit()
#include <algorithm>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/checksummed_container.hpp"

namespace r1 {

namespace detail {
// What training changes in the model: a LoRA policy's adapters, else all its parameters.
template <class ModelT>
std::span<float> trainable_values(ModelT& model) {
  if constexpr (requires { model.trainable_values(); }) return model.trainable_values();
  else return model.flat_parameters();
}

// A KL reference's weights as stored: bf16 ones in section "reference_bf16" (empty for a model that keeps
// none, or cannot), fp32 ones in "reference".
template <class ModelT>
std::span<std::uint16_t> bf16_values(ModelT& model) {
  if constexpr (requires { model.bf16_parameters(); }) return model.bf16_parameters();
  else return {};
}
template <class ModelT>
bool stores_bf16(ModelT& model) {
  return !bf16_values(model).empty();
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
             {"skipped_updates", trainer.skipped_updates()},
             {"parameters", detail::trainable_values(model).size()}};
  if constexpr (requires { trainer.optimizer_steps(); }) state["optimizer_steps"] = trainer.optimizer_steps();
  writer.add_json("state", state);
  // Parameters borrowed and the optimiser's state streamed: the file is written without a copy of
  // either (a 0.5B model's checkpoint is 8 GB; copying it killed a 24 GB machine, issue 22).
  writer.add_view("policy", std::span<const float>(detail::trainable_values(model)));
  if constexpr (requires { trainer.reference(); }) {
    if (auto* reference = trainer.reference(); reference != nullptr) {
      if (detail::stores_bf16(*reference))
        writer.add_view("reference_bf16", std::span<const std::uint16_t>(detail::bf16_values(*reference)));
      else
        writer.add_view("reference", std::span<const float>(reference->flat_parameters()));
    }
  }
  writer.add_stream("optimizer", [&trainer](std::ostream& out) { trainer.optimizer().save_state(out); });
  writer.write(path);
}

template <class TrainerT>
void load_trainer_checkpoint(const std::string& path, TrainerT& trainer) {
  // The whole-file checksum is verified on opening; sections are then read in place, never the whole file
  // or a copy of the model in memory (CheckpointFileReader).
  CheckpointFileReader reader(path);
  const Json state = reader.section_json("state");
  // json_field_or, not Json::value: value() throws nlohmann's type_error for {"version": "1"}.
  require(state.is_object() && json_field_or<std::string>(state, "format", "", path) == "r1.trainer_checkpoint", path,
          ": not an r1 trainer checkpoint");
  const auto version = json_field_or<std::int64_t>(state, "version", 0, path);
  require(version == 1, path, ": unsupported checkpoint version ", version);
  auto& model = detail::checkpoint_model(trainer);
  // Check every size and field before changing anything, so a bad file leaves the trainer as it was (the
  // checksum already held: what follows fails only on a read error). The optimiser's state is read in
  // place: a read error after that point leaves an optimiser that refuses to step until a load succeeds.
  const auto same_size = [&](std::string_view section, auto values) {
    require(reader.has(section), path, ": no section '", section, "' (a checkpoint of another reference_dtype or "
            "LoRA setting?)");
    require(reader.section_size(section) == values.size_bytes(), path, ": section '", section, "' holds ",
            reader.section_size(section) / sizeof(values[0]), " parameters, the model has ", values.size(),
            " (a checkpoint of another model, LoRA rank or targets?)");
  };
  same_size("policy", detail::trainable_values(model));
  auto* reference = [&] {
    if constexpr (requires { trainer.reference(); }) return trainer.reference();
    else return static_cast<std::remove_reference_t<decltype(model)>*>(nullptr);
  }();
  const bool reference_bf16 = reference != nullptr && detail::stores_bf16(*reference);
  if (reference != nullptr) {
    if (reference_bf16) same_size("reference_bf16", detail::bf16_values(*reference));
    else same_size("reference", reference->flat_parameters());
  }
  const auto step = json_field<std::int64_t>(state, "step", path);
  const auto skipped = json_field<std::int64_t>(state, "skipped_updates", path);
  std::int64_t optimizer_steps = 0;
  if constexpr (requires { trainer.optimizer_steps(); })
    optimizer_steps = json_field<std::int64_t>(state, "optimizer_steps", path);
  reader.stream_section("optimizer", [&](std::istream& in) { trainer.optimizer().load_state(in); });
  reader.read_array<float>("policy", detail::trainable_values(model));
  if (reference != nullptr) {
    if (reference_bf16) reader.read_array<std::uint16_t>("reference_bf16", detail::bf16_values(*reference));
    else reader.read_array<float>("reference", reference->flat_parameters());
  }
  if constexpr (requires { trainer.optimizer_steps(); })
    trainer.restore_counters(step, optimizer_steps, skipped);
  else
    trainer.restore_counters(step, skipped);
}

}  // namespace r1
