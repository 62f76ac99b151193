// r1 grpo: GRPO with rule-based rewards (the R1-Zero recipe) on an HF-layout model.
//   r1 grpo --config grpo.json [--model DIR] [--train FILE] [--eval FILE] [--out DIR]
//           [--steps N] [--lr X] [--preset deepseekmath|r1_paper|dapo|dr_grpo] [--seed N] [--resume]
//           [--max-shard-size 5GB] [--memory-limit 20GB]
// Prints the planned memory at start (r1/train/memory_plan.hpp) and refuses a run that exceeds
// --memory-limit, else what the machine has (MemAvailable), naming the setting to turn.
// Config (training_setup.hpp for model/tokenizer/template/train/eval/reward/out), plus:
//   "trainer":   {"steps", "prompts_per_step", "group_size", "minibatches_per_rollout", "epochs_per_rollout",
//                 "micro_batch_sequences", "temperature", "max_grad_norm", "seed", ...}
//   "objective": {"preset": "dapo", "beta": 0, ...}        r1/rl/grpo_config.hpp (G is the trainer's group_size)
//   "optimizer": {"lr": 1e-6, "weight_decay": 0, ...}        AdamW
//   "schedule":  {"type": "cosine", "lr": ..., "total_steps": ...}   default: cosine to 0 over the steps
//   "sampling":  {"max_new_tokens": 1024, ...}              temperature comes from "trainer"
//   "evaluation": {"samples_per_problem": 4, ...}, "eval_every": N, "checkpoint_every": N
//   "lora": {...}, "gradient_checkpointing": true            training_setup.hpp
//   "sampling_weights": "bf16"     the sampler reads a bf16 copy of the weights (half the bytes per decoded token);
//                                  training and the old log-probs stay fp32 (see README: ratio at mu = 1)
// The KL reference is kept in bf16 unless "trainer": {"reference_dtype": "fp32"}; with LoRA it is the frozen base.
// Writes DIR/metrics.jsonl, DIR/checkpoint.r1ckpt, DIR/model/ (DIR/adapter/ with LoRA) and DIR/curves.svg.
// --device cuda trains Transformer<cuda> (device.hpp) once GrpoTrainer can hold it (grpo_trainable below): no
// "lora", "gradient_checkpointing" or "sampling_weights", and the memory plan (the CPU model's) is not checked.
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>

#include "command.hpp"
#include "device.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/plot.hpp"
#include "r1/train/standard_hooks.hpp"
#include "training_setup.hpp"

namespace {

struct GrpoOptions {
  std::string config;
  std::optional<std::string> model, train, eval, out, tokenizer, chat_template, preset, max_shard_size, memory_limit;
  std::optional<std::int64_t> steps;
  std::optional<float> lr;
  std::optional<std::uint64_t> seed;
  bool resume = false;
  std::string device = "cpu";
};

template <class Policy>
using GrpoTrainerFor = r1::GrpoTrainer<r1::Grpo<Policy, r1::KvSampler, r1::RewardList, r1::cli::OptimizerFor<Policy>,
                                         r1::GrpoObjective>,
                                r1::AnyCommunicator>;

// GrpoTrainer keeps a copy of the policy as the KL reference (and resets it from the policy): it needs
// Policy::frozen_copy or a copy constructor.
template <class Policy>
inline constexpr bool grpo_trainable =
    std::is_copy_constructible_v<Policy> || requires(const Policy& policy) {
      Policy::frozen_copy(policy, r1::WeightStorage::bf16);
    };

// The run's memory (r1/train/memory_plan.hpp), from the longest rendered prompt of the training set.
r1::MemoryPlan grpo_memory_plan(const r1::Transformer<r1::cpu>& policy, std::span<const r1::Problem> train, const r1::TextCodec& codec,
                                const r1::GrpoTrainerConfig& trainer, const r1::GrpoConfig& objective,
                                const r1::SamplerConfig& sampling, const std::optional<r1::LoraConfig>& lora) {
  std::int64_t longest_prompt = 1;
  for (const auto& problem : train)
    longest_prompt = std::max<std::int64_t>(longest_prompt, static_cast<std::int64_t>(codec.render_prompt(problem).size()));
  const std::int64_t rollout = std::int64_t{trainer.prompts_per_step} * trainer.group_size;
  // GrpoTrainer scores micro_batch_sequences at once; 0 means a minibatch, or the whole rollout when the
  // old log-probs are recomputed (several updates per rollout) or the KL goes into the reward.
  std::int64_t micro = trainer.micro_batch_sequences;
  if (micro == 0) {
    const bool single_pass = trainer.epochs_per_rollout == 1 && trainer.minibatches_per_rollout == 1;
    const bool kl_in_reward = objective.kl_placement == r1::KlPlacement::reward && objective.beta != 0;
    micro = (trainer.use_behaviour_logprobs || single_pass) && !kl_in_reward
                ? (rollout + trainer.minibatches_per_rollout - 1) / trainer.minibatches_per_rollout
                : rollout;
  }
  std::int64_t wave_prompts = trainer.prompts_per_step;
  if (sampling.max_batch_sequences > 0)
    wave_prompts = std::clamp<std::int64_t>(sampling.max_batch_sequences / trainer.group_size, 1, trainer.prompts_per_step);
  r1::MemoryPlanInputs in;
  in.model = policy.config();
  in.parameters = policy.parameter_count();
  in.optimizer_slots = 2;  // AdamW
  in.reference = objective.beta != 0;
  in.reference_dtype = trainer.reference_dtype == "bf16" ? r1::ReferenceDtype::bf16 : r1::ReferenceDtype::fp32;
  in.gradient_checkpointing = policy.gradient_checkpointing();
  in.lora = lora;
  in.sampling_bf16 = policy.sampling_storage() == r1::WeightStorage::bf16;
  in.micro_batch_sequences = micro;
  in.sequence_tokens = longest_prompt + sampling.max_new_tokens;
  in.logits_budget = policy.logits_budget();
  in.sampler_sequences = wave_prompts * trainer.group_size;
  in.sampler_prompts = wave_prompts;
  in.prompt_tokens = longest_prompt;
  in.max_new_tokens = sampling.max_new_tokens;
  in.sampling_threads = tbb::this_task_arena::max_concurrency();
  return r1::plan_memory(in);
}

template <class Policy>
void run_grpo(const GrpoOptions& options) {
  constexpr bool on_gpu = r1::cli::is_gpu_model<Policy>;
  using Trainer = GrpoTrainerFor<Policy>;
  r1::Json config = r1::cli::read_config(options.config);
  r1::cli::override_field(config, "model", options.model);
  r1::cli::override_field(config, "train", options.train);
  r1::cli::override_field(config, "eval", options.eval);
  r1::cli::override_field(config, "out", options.out);
  r1::cli::override_field(config, "tokenizer", options.tokenizer);
  r1::cli::override_field(config, "chat_template", options.chat_template);
  r1::Json trainer_json = config.value("trainer", r1::Json::object());
  if (options.steps) trainer_json["steps"] = *options.steps;
  if (options.seed) trainer_json["seed"] = *options.seed;
  if (trainer_json.is_object() && !trainer_json.contains("reference_dtype")) trainer_json["reference_dtype"] = "bf16";
  const auto trainer_config = r1::GrpoTrainerConfig::from_json(trainer_json, "config: 'trainer'");
  r1::Json objective_json = config.value("objective", r1::Json::object());
  if (options.preset) objective_json["preset"] = *options.preset;
  auto objective = r1::GrpoConfig::from_json(objective_json, "config: 'objective'");
  r1::Json optimizer_json = config.value("optimizer", r1::Json::object());
  if (options.lr) optimizer_json["lr"] = *options.lr;
  const auto adam = r1::AdamWConfig::from_json(optimizer_json, "config: 'optimizer'");
  const r1::LrSchedule schedule =
      config.contains("schedule")
          ? r1::LrSchedule::from_json(config["schedule"], "config: 'schedule'")
          : r1::LrSchedule(r1::CosineSchedule{adam.lr, 0, std::max<std::int64_t>(1, trainer_config.steps), 0.0f});

  const auto model_dir = r1::cli::required_string(config, "model", "--model");
  const auto out = r1::cli::config_string(config, "out", "out/grpo");
  const auto max_shard_bytes = r1::cli::max_shard_bytes(config, options.max_shard_size);
  std::filesystem::create_directories(out);
  std::optional<r1::LoraConfig> lora;
  Policy policy = [&] {
    if constexpr (on_gpu) {
      r1::cli::require_cpu_only_fields_absent(config, "r1 grpo");
      r1::require(!config.contains("sampling_weights"), "r1 grpo --device cuda: config field 'sampling_weights' is "
                                                        "the CPU model's choice; Transformer<cuda> samples from bf16");
      r1::require(!options.memory_limit, "r1 grpo --device cuda: --memory-limit checks the CPU model's memory plan");
      return Policy::load(model_dir);
    } else {
      auto loaded = r1::cli::load_for_training(model_dir, config);
      lora = loaded.lora;
      return std::move(loaded.model);
    }
  }();
  if constexpr (!on_gpu) {
    const auto sampling_weights = r1::cli::config_string(config, "sampling_weights", "fp32");
    r1::require(sampling_weights == "fp32" || sampling_weights == "bf16", "config: field 'sampling_weights' = '",
                sampling_weights, "': expected \"fp32\" or \"bf16\"");
    if (sampling_weights == "bf16") policy.set_sampling_storage(r1::WeightStorage::bf16);
  }
  const auto tokenizer = r1::cli::load_tokenizer(config, model_dir);
  const auto codec = r1::cli::make_codec(tokenizer, config);
  const auto reward = r1::cli::make_reward(config);
  const auto train = r1::cli::load_problems(r1::cli::required_string(config, "train", "--train"));

  auto sampling = r1::sampler_config_from_json(config.value("sampling", r1::Json::object()), "config: 'sampling'");
  sampling.temperature = trainer_config.temperature;
  sampling.decodable_vocab_size = tokenizer.vocab_size();  // never a padded row's id (issue 22)
  if (sampling.eos_token_ids.empty() && tokenizer.eos_token_id()) sampling.eos_token_ids = {*tokenizer.eos_token_id()};
  if constexpr (!on_gpu)
    r1::cli::check_memory_plan(grpo_memory_plan(policy, train, codec, trainer_config, objective, sampling, lora),
                               options.memory_limit, "r1 grpo");

  auto& comm = r1::cli::communicator();
  const bool writer = comm.rank() == 0;
  Trainer trainer{trainer_config, policy, r1::KvSampler{sampling, codec.decode}, reward, r1::cli::OptimizerFor<Policy>{adam},
                  r1::GrpoObjective{objective}, codec, schedule, comm};
  const std::string checkpoint = out + "/checkpoint.r1ckpt", metrics = out + "/metrics.jsonl";
  auto mode = r1::JsonlWriter::Mode::truncate;
  if (options.resume && std::filesystem::exists(checkpoint)) {
    r1::load_trainer_checkpoint(checkpoint, trainer);  // every rank, at any rank count
    comm.barrier();  // every rank has read it before rank 0 may write the next one
    if (writer) r1::keep_metrics_through_step(metrics, trainer.current_step() - 1);
    mode = r1::JsonlWriter::Mode::append;
    std::fprintf(stderr, "r1 grpo: resumed from %s at step %lld\n", checkpoint.c_str(),
                 static_cast<long long>(trainer.current_step()));
  }
  // Evaluation first (outermost), so its numbers reach the metrics line of the same step.
  const auto eval_every = r1::json_field_or<std::int64_t>(config, "eval_every", 0, "config");
  std::vector<r1::Problem> held_out;
  if (eval_every > 0) {
    held_out = r1::cli::load_problems(r1::cli::required_string(config, "eval", "--eval"));
    auto evaluation = r1::EvaluationConfig::from_json(config.value("evaluation", r1::Json::object()),
                                                      "config: 'evaluation'");
    evaluation.sampling.decodable_vocab_size = tokenizer.vocab_size();
    trainer.add_hook(std::make_unique<r1::EvaluationHook<Trainer>>(eval_every, [&, evaluation](Trainer& t) {
      return r1::evaluate(t.communicator(), t.policy(), held_out, codec, reward, evaluation).to_json();
    }));
  }
  const auto checkpoint_every = r1::json_field_or<std::int64_t>(config, "checkpoint_every", 50, "config");
  if (writer) {  // rank 0 alone writes metrics and checkpoints
    trainer.add_hook(std::make_unique<r1::MetricsHook<Trainer>>(metrics, stderr, trainer_config.steps, mode));
    trainer.add_hook(std::make_unique<r1::CheckpointHook<Trainer>>(checkpoint, checkpoint_every));
  }
  trainer.fit(train);
  if (!writer) return;
  // The CheckpointHook has just written the last step's checkpoint when the step count is a multiple of
  // checkpoint_every (a 0.5B run's is 7 GB: writing it twice cost a minute).
  if (checkpoint_every <= 0 || trainer.current_step() % checkpoint_every != 0)
    r1::save_trainer_checkpoint(checkpoint, trainer);
  std::string saved = out + "/model";
  if constexpr (on_gpu)
    policy.save(saved, r1::SafetensorsDtype::f32, max_shard_bytes);
  else
    saved = r1::cli::save_trained_model(policy, out, model_dir, max_shard_bytes);
  r1::write_training_plot(out + "/curves.svg", r1::read_metrics_log(metrics), "r1 grpo");
  std::printf("r1 grpo: %lld steps; wrote %s, %s, %s/curves.svg\n", static_cast<long long>(trainer.current_step()),
              saved.c_str(), metrics.c_str(), out.c_str());
}

const bool registered = r1::cli::register_command("grpo", [](CLI::App& app) {
  auto options = std::make_shared<GrpoOptions>();
  auto* command = app.add_subcommand("grpo", "GRPO with rule-based rewards (R1-Zero) on an HF-layout model");
  command->add_option("--config", options->config, "JSON config file (flags override its fields)");
  command->add_option("--model", options->model, "Policy model folder (HF layout)");
  command->add_option("--tokenizer", options->tokenizer, "tokenizer.json (default: in the model folder)");
  command->add_option("--chat-template", options->chat_template,
                      "Template of conversational prompts: chatml, llama3, llama3_1, deepseek_r1 (default: the "
                      "tokenizer_config.json's, recognised)");
  command->add_option("--train", options->train, "Training problems (JSONL)");
  command->add_option("--eval", options->eval, "Held-out problems (JSONL), evaluated every 'eval_every' steps");
  command->add_option("--out", options->out, "Output folder");
  command->add_option("--steps", options->steps, "GRPO steps");
  command->add_option("--lr", options->lr, "AdamW learning rate");
  command->add_option("--preset", options->preset, "Objective preset: deepseekmath, r1_paper, dapo, dr_grpo");
  command->add_option("--seed", options->seed, "Seed");
  command->add_flag("--resume", options->resume, "Continue from OUT/checkpoint.r1ckpt when it exists");
  command->add_option("--max-shard-size", options->max_shard_size,
                      "Largest weight file of the saved model (bytes, or e.g. 500MB, 2GiB; default 5GB)");
  command->add_option("--memory-limit", options->memory_limit,
                      "Refuse to start when the planned memory exceeds this (e.g. 20GB; default: MemAvailable)");
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options] {
    r1::cli::with_model_type(options->device, "r1 grpo", [&]<class Policy>(r1::cli::ModelType<Policy>) {
      if constexpr (grpo_trainable<Policy>)
        run_grpo<Policy>(*options);
      else
        r1::fail("r1 grpo --device cuda: GrpoTrainer keeps a KL-reference copy of the policy, and Transformer<cuda> "
                 "has neither frozen_copy nor a copy constructor yet; use --device cpu");
    });
  });
});

}  // namespace
