// r1 eval: evaluation as in the DeepSeek-R1 paper on a JSONL set of problems.
//   r1 eval --model DIR --data FILE [--config eval.json] [--samples K] [--temperature T] [--top-p P]
//           [--max-new-tokens N] [--no-greedy] [--details FILE]
// Prints one JSON object: pass@1 (mean over K samples), pass@K, cons@K, greedy accuracy, lengths.
// Config: model/tokenizer/template/reward as in training_setup.hpp, "evaluation": {...}.
// --device cuda evaluates on the GPU (Transformer<cuda>; device.hpp); --adapter is the CPU model's.
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "device.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/model/transformer.hpp"
#include "r1/train/evaluator.hpp"
#include "training_setup.hpp"

namespace {

struct EvalOptions {
  std::string config;
  std::optional<std::string> model, data, tokenizer, chat_template, details;
  std::optional<int> samples, max_new_tokens;
  std::optional<float> temperature, top_p;
  std::optional<std::uint64_t> seed;
  bool no_greedy = false;
  std::optional<std::string> adapter;
  std::string device = "cpu";
};

template <class Model>
void evaluate_model(const EvalOptions& options, const r1::Json& config, r1::EvaluationConfig evaluation,
                    const std::string& model_dir, Model& model);

void run_eval(const EvalOptions& options) {
  r1::Json config = r1::cli::read_config(options.config);
  r1::cli::override_field(config, "model", options.model);
  r1::cli::override_field(config, "eval", options.data);
  r1::cli::override_field(config, "tokenizer", options.tokenizer);
  r1::cli::override_field(config, "chat_template", options.chat_template);
  r1::Json evaluation_json = config.value("evaluation", r1::Json::object());
  if (options.samples) evaluation_json["samples_per_problem"] = *options.samples;
  if (options.seed) evaluation_json["seed"] = *options.seed;
  if (options.no_greedy) evaluation_json["greedy"] = false;
  r1::Json& sampling = evaluation_json["sampling"];
  if (!sampling.is_object()) sampling = r1::Json{{"temperature", 0.6}, {"top_p", 0.95}};
  if (options.temperature) sampling["temperature"] = *options.temperature;
  if (options.top_p) sampling["top_p"] = *options.top_p;
  if (options.max_new_tokens) sampling["max_new_tokens"] = *options.max_new_tokens;
  auto evaluation = r1::EvaluationConfig::from_json(evaluation_json, "config: 'evaluation'");
  if (evaluation.pass_at_ks.size() == 1 && evaluation.samples_per_problem > 1)
    evaluation.pass_at_ks.push_back(evaluation.samples_per_problem);

  const auto model_dir = r1::cli::required_string(config, "model", "--model");
  r1::cli::with_model_type(options.device, "r1 eval", [&]<class Model>(r1::cli::ModelType<Model>) {
    auto model = Model::load(model_dir);
    if constexpr (r1::cli::is_gpu_model<Model>)
      r1::require(!options.adapter, "r1 eval --device cuda: --adapter: Transformer<cuda> has no LoRA adapters; "
                                    "merge it first (r1 merge-lora) or use --device cpu");
    else if (options.adapter)
      model.load_adapter(*options.adapter);  // PEFT LoRA on the base
    evaluate_model(options, config, evaluation, model_dir, model);
  });
}

template <class Model>
void evaluate_model(const EvalOptions& options, const r1::Json& config, r1::EvaluationConfig evaluation,
                    const std::string& model_dir, Model& model) {
  const auto tokenizer = r1::cli::load_tokenizer(config, model_dir);
  evaluation.sampling.decodable_vocab_size = tokenizer.vocab_size();  // never a padded row's id
  if (evaluation.sampling.eos_token_ids.empty() && tokenizer.eos_token_id())
    evaluation.sampling.eos_token_ids = {*tokenizer.eos_token_id()};
  const auto codec = r1::cli::make_codec(tokenizer, config);
  const auto reward = r1::cli::make_reward(config);
  const auto problems = r1::cli::load_problems(r1::cli::required_string(config, "eval", "--data"));
  std::vector<r1::EvaluatedCompletion> details;
  auto& comm = r1::cli::communicator();
  const auto report =
      r1::evaluate(comm, model, problems, codec, reward, evaluation, options.details ? &details : nullptr);
  if (comm.rank() != 0) return;  // every rank holds the report; rank 0 alone writes it
  if (options.details) {
    r1::JsonlWriter writer{*options.details};
    for (const auto& item : details)
      writer.write(r1::Json{{"problem", item.problem}, {"greedy", item.greedy}, {"completion", item.text},
                            {"score", item.reward.score}, {"extracted", item.reward.extracted},
                            {"length", item.length_tokens}});
  }
  std::printf("%s\n", report.to_json().dump().c_str());
}

const bool registered = r1::cli::register_command("eval", [](CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* command = app.add_subcommand("eval", "pass@1 over k samples, pass@k, cons@k, greedy accuracy on JSONL problems");
  command->add_option("--config", options->config, "JSON config file (flags override its fields)");
  command->add_option("--model", options->model, "Model folder (HF layout)");
  command->add_option("--adapter", options->adapter, "A PEFT LoRA adapter folder applied to --model (r1 grpo/sft write OUT/adapter)");
  command->add_option("--data", options->data, "Problems (JSONL: prompt, answer, ...)");
  command->add_option("--tokenizer", options->tokenizer, "tokenizer.json (default: in the model folder)");
  command->add_option("--chat-template", options->chat_template,
                      "Template of conversational prompts: chatml, llama3, llama3_1, deepseek_r1 (default: the "
                      "tokenizer_config.json's, recognised)");
  command->add_option("--samples", options->samples, "Samples per problem (k)")->check(CLI::PositiveNumber);
  command->add_option("--temperature", options->temperature, "Sampling temperature (paper: 0.6)");
  command->add_option("--top-p", options->top_p, "Nucleus top-p (paper: 0.95)");
  command->add_option("--max-new-tokens", options->max_new_tokens, "Completion length limit");
  command->add_option("--seed", options->seed, "Seed");
  command->add_flag("--no-greedy", options->no_greedy, "Skip the greedy pass");
  command->add_option("--details", options->details, "Write every completion and its verdict to this JSONL file");
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options] { run_eval(*options); });
});

}  // namespace
