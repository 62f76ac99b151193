// r1 sft: supervised fine-tuning on completion tokens only (cold start, distillation).
//   r1 sft --config sft.json [--model DIR] [--data FILE] [--out DIR] [--steps N] [--lr X] [--seed N]
//          [--max-shard-size 5GB] [--memory-limit 20GB]
// Prints the planned memory at start and refuses a run that cannot fit (r1/train/memory_plan.hpp).
// Data: JSONL with "prompt" and "completion" text (the model's tokenizer encodes them), or
// "prompt_ids" and "completion_ids". The tokenizer's EOS is appended to text completions.
// Config: model/tokenizer/template/out as in training_setup.hpp, plus "trainer" (SftConfig:
// steps, batch_size, micro_batch_sequences, max_grad_norm, seed), "optimizer" (AdamW), "schedule",
// "lora" and "gradient_checkpointing" (training_setup.hpp; with LoRA the adapter is saved as OUT/adapter).
// --device cuda trains Transformer<cuda> (device.hpp): no "lora", no "gradient_checkpointing", and the memory
// plan (the CPU model's) is not checked.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "device.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/tasks/jsonl_dataset.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/standard_hooks.hpp"
#include "training_setup.hpp"

namespace {

struct SftOptions {
  std::string config;
  std::optional<std::string> model, data, out, tokenizer, chat_template, max_shard_size, memory_limit;
  std::optional<std::int64_t> steps;
  std::optional<float> lr;
  std::optional<std::uint64_t> seed;
  std::string device = "cpu";
};

// Ids must lie in the tokenizer's vocabulary (the true one: a padded embedding has more rows, issue 22)
// and in the model's.
std::vector<r1::SftExample> load_examples(const std::string& path, const r1::cli::AnyTokenizer& tokenizer,
                                          const r1::Json& config, std::int64_t model_vocab_size) {
  const auto text_of = r1::cli::prompt_template(config);
  std::vector<r1::SftExample> examples;
  r1::for_each_jsonl(path, [&](const r1::Json& record, const std::string& where) {
    r1::SftExample example;
    if (record.contains("prompt_ids")) {
      example.prompt = r1::json_field<std::vector<r1::TokenId>>(record, "prompt_ids", where);
      example.completion = r1::json_field<std::vector<r1::TokenId>>(record, "completion_ids", where);
    } else {
      r1::Problem problem;
      // A string, or a conversation rendered with the model's chat template (training_setup.hpp).
      const r1::Json prompt = record.contains("prompt") ? record["prompt"] : r1::Json();
      problem.prompt = r1::detail::prompt_text(prompt, "prompt", where);
      problem.extra = r1::Json::object();
      if (prompt.is_array()) problem.extra["prompt_messages"] = prompt;
      example.prompt = tokenizer.encode(text_of(problem));
      example.completion = tokenizer.encode(r1::json_field<std::string>(record, "completion", where));
      if (tokenizer.eos_token_id()) example.completion.push_back(*tokenizer.eos_token_id());
    }
    const std::int64_t vocab = tokenizer.vocab_size();
    for (const auto* ids : {&example.prompt, &example.completion}) {
      const char* field = ids == &example.prompt ? "prompt_ids" : "completion_ids";
      for (std::size_t t = 0; t < ids->size(); ++t) {
        const auto id = (*ids)[t];
        r1::require(id >= 0 && id < vocab, where, ": field '", field, "': token ", t, " = ", id,
                    " is outside the tokenizer's vocabulary [0, ", vocab, ")");
        r1::require(id < model_vocab_size, where, ": field '", field, "': token ", t, " = ", id,
                    " is outside the model's vocabulary [0, ", model_vocab_size, ")");
      }
    }
    examples.push_back(std::move(example));
  });
  r1::require(!examples.empty(), path, ": no examples");
  return examples;
}

// The examples' longest prompt + completion, for the memory plan.
std::int64_t longest_example(const std::vector<r1::SftExample>& examples) {
  std::int64_t longest = 1;
  for (const auto& example : examples)
    longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(example.prompt.size() + example.completion.size()));
  return longest;
}

template <class Model>
void train(const SftOptions& options, const r1::Json& config, const r1::cli::SftSettings& settings,
           const std::string& model_dir, const std::string& out, std::int64_t max_shard_bytes) {
  using Trainer = r1::SftTrainer<Model, r1::cli::OptimizerFor<Model>, r1::AnyCommunicator>;
  const auto tokenizer = r1::cli::load_tokenizer(config, model_dir);
  const auto load = [&] {
    if constexpr (r1::cli::is_gpu_model<Model>) {
      r1::cli::require_cpu_only_fields_absent(config, "r1 sft");
      r1::require(!options.memory_limit, "r1 sft --device cuda: --memory-limit checks the CPU model's memory plan");
      return Model::load(model_dir);
    } else {
      return r1::cli::load_for_training(model_dir, config).model;
    }
  };
  Model model = load();
  const auto examples =
      load_examples(r1::cli::required_string(config, "train", "--data"), tokenizer, config, model.vocab_size());
  if constexpr (!r1::cli::is_gpu_model<Model>) {
    r1::MemoryPlanInputs plan;
    plan.model = model.config();
    plan.parameters = model.parameter_count();
    plan.optimizer_slots = 2;  // AdamW
    plan.micro_batch_sequences = settings.sft.micro_batch_sequences > 0 ? settings.sft.micro_batch_sequences
                                                                        : settings.sft.batch_size;
    plan.sequence_tokens = longest_example(examples);
    plan.logits_budget = model.logits_budget();
    plan.gradient_checkpointing = model.gradient_checkpointing();
    if (config.contains("lora") && !config["lora"].is_null())
      plan.lora = r1::LoraConfig::from_json(config["lora"], "config: 'lora'");
    r1::cli::check_memory_plan(r1::plan_memory(plan), options.memory_limit, "r1 sft");
  }
  auto& comm = r1::cli::communicator();
  Trainer trainer{settings.sft, model, r1::cli::OptimizerFor<Model>{settings.adam}, settings.schedule, comm};
  if (comm.rank() == 0)
    trainer.add_hook(std::make_unique<r1::MetricsHook<Trainer>>(out + "/metrics.jsonl", stderr, settings.sft.steps));
  trainer.fit(examples);
  if (comm.rank() != 0) return;  // rank 0 alone writes
  std::string saved = out + "/model";
  if constexpr (r1::cli::is_gpu_model<Model>)
    model.save(saved, r1::SafetensorsDtype::f32, max_shard_bytes);
  else
    saved = r1::cli::save_trained_model(model, out, model_dir, max_shard_bytes);
  std::printf("r1 sft: %lld steps on %zu examples, final loss %.4f; wrote %s\n",
              static_cast<long long>(trainer.current_step()), examples.size(), trainer.evaluate_loss(examples),
              saved.c_str());
}

void run_sft(const SftOptions& options) {
  r1::Json config = r1::cli::read_config(options.config);
  r1::cli::override_field(config, "model", options.model);
  r1::cli::override_field(config, "train", options.data);
  r1::cli::override_field(config, "out", options.out);
  r1::cli::override_field(config, "tokenizer", options.tokenizer);
  r1::cli::override_field(config, "chat_template", options.chat_template);
  const auto settings = r1::cli::sft_settings(config, options.steps, options.seed, options.lr);
  const auto model_dir = r1::cli::required_string(config, "model", "--model");
  const auto out = r1::cli::config_string(config, "out", "out/sft");
  const auto max_shard_bytes = r1::cli::max_shard_bytes(config, options.max_shard_size);
  r1::cli::with_model_type(options.device, "r1 sft", [&]<class Model>(r1::cli::ModelType<Model>) {
    std::filesystem::create_directories(out);
    train<Model>(options, config, settings, model_dir, out, max_shard_bytes);
  });
}

const bool registered = r1::cli::register_command("sft", [](CLI::App& app) {
  auto options = std::make_shared<SftOptions>();
  auto* command = app.add_subcommand("sft", "Supervised fine-tuning on completion tokens (cold start, distillation)");
  command->add_option("--config", options->config, "JSON config file (flags override its fields)");
  command->add_option("--model", options->model, "Model folder (HF layout)");
  command->add_option("--data", options->data, "Examples (JSONL: prompt + completion, or prompt_ids + completion_ids)");
  command->add_option("--tokenizer", options->tokenizer, "tokenizer.json (default: in the model folder)");
  command->add_option("--chat-template", options->chat_template,
                      "Template of conversational prompts: chatml, llama3, llama3_1, deepseek_r1 (default: the "
                      "tokenizer_config.json's, recognised)");
  command->add_option("--out", options->out, "Output folder");
  command->add_option("--steps", options->steps, "Optimiser steps");
  command->add_option("--lr", options->lr, "AdamW learning rate");
  command->add_option("--seed", options->seed, "Seed");
  command->add_option("--max-shard-size", options->max_shard_size,
                      "Largest weight file of the saved model (bytes, or e.g. 500MB, 2GiB; default 5GB)");
  command->add_option("--memory-limit", options->memory_limit,
                      "Refuse to start when the planned memory exceeds this (e.g. 20GB; default: MemAvailable)");
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options] { run_sft(*options); });
});

}  // namespace
