// r1 distill: the teacher generates, the verifier keeps correct completions, the
// student is trained by SFT on them (DeepSeek-R1 §2.4).
//   r1 distill --teacher DIR --student DIR --data FILE [--out DIR] [--config distill.json]
//              [--samples K] [--steps N] [--lr X] [--seed N] [--max-shard-size 5GB]
// Config: tokenizer/template/reward as in training_setup.hpp (the tokenizer is shared), "sampling"
// (RejectionSamplingConfig: samples_per_prompt, sampling, keep_per_prompt, prefer_shortest, deduplicate),
// "trainer" (SftConfig), "optimizer" (AdamW), "schedule".
// Writes DIR/traces.jsonl (the verified teacher completions), DIR/metrics.jsonl and DIR/student/.
// --device cuda runs the teacher and the student as Transformer<cuda> on the GPU (device.hpp).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.hpp"
#include "device.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/distillation.hpp"
#include "r1/train/standard_hooks.hpp"
#include "training_setup.hpp"

namespace {

struct DistillOptions {
  std::string config;
  std::optional<std::string> teacher, student, data, out, tokenizer, chat_template, max_shard_size;
  std::optional<int> samples;
  std::optional<std::int64_t> steps;
  std::optional<float> lr;
  std::optional<std::uint64_t> seed;
  std::string device = "cpu";
};

template <class Model>
void run_distill(const DistillOptions& options) {
  r1::Json config = r1::cli::read_config(options.config);
  r1::cli::override_field(config, "teacher", options.teacher);
  r1::cli::override_field(config, "student", options.student);
  r1::cli::override_field(config, "train", options.data);
  r1::cli::override_field(config, "out", options.out);
  r1::cli::override_field(config, "tokenizer", options.tokenizer);
  r1::cli::override_field(config, "chat_template", options.chat_template);
  r1::Json sampling_json = config.value("sampling", r1::Json::object());
  if (options.samples) sampling_json["samples_per_prompt"] = *options.samples;
  if (options.seed) sampling_json["seed"] = *options.seed;
  auto sampling = r1::RejectionSamplingConfig::from_json(sampling_json, "config: 'sampling'");
  const auto [sft, adam, schedule] = r1::cli::sft_settings(config, options.steps, options.seed, options.lr);

  const auto teacher_dir = r1::cli::required_string(config, "teacher", "--teacher");
  const auto student_dir = r1::cli::required_string(config, "student", "--student");
  const auto out = r1::cli::config_string(config, "out", "out/distill");
  const auto max_shard_bytes = r1::cli::max_shard_bytes(config, options.max_shard_size);
  std::filesystem::create_directories(out);
  Model teacher = Model::load(teacher_dir);
  Model student = Model::load(student_dir);
  r1::require(teacher.vocab_size() == student.vocab_size(), "distill: the teacher's vocabulary (", teacher.vocab_size(),
              ") differs from the student's (", student.vocab_size(), "): they must share a tokenizer");
  const auto tokenizer = r1::cli::load_tokenizer(config, teacher_dir);
  sampling.sampling.decodable_vocab_size = tokenizer.vocab_size();  // never a padded row's id
  if (sampling.sampling.eos_token_ids.empty() && tokenizer.eos_token_id())
    sampling.sampling.eos_token_ids = {*tokenizer.eos_token_id()};
  const auto codec = r1::cli::make_codec(tokenizer, config);
  const auto reward = r1::cli::make_reward(config);
  const auto problems = r1::cli::load_problems(r1::cli::required_string(config, "train", "--data"));

  r1::RejectionSamplingStats stats;
  auto& comm = r1::cli::communicator();
  const bool writer = comm.rank() == 0;
  r1::KvSampler teacher_sampler{sampling.sampling, codec.decode};
  const auto kept = r1::rejection_sample(comm, teacher, teacher_sampler, problems, codec, reward, sampling, &stats);
  if (writer) r1::write_sft_jsonl(out + "/traces.jsonl", kept);
  if (writer) std::fprintf(stderr, "r1 distill: %zu completions generated, %zu verified, %zu kept (%zu of %zu prompts)\n",
               stats.generated, stats.accepted, stats.kept, stats.prompts_with_any, problems.size());
  r1::require(!kept.empty(), "distill: the teacher produced no verified completion; nothing to train on");
  const auto examples = r1::to_sft_examples(kept);
  using Trainer = r1::SftTrainer<Model, r1::cli::OptimizerFor<Model>, r1::AnyCommunicator>;
  Trainer trainer{sft, student, r1::cli::OptimizerFor<Model>{adam}, schedule, comm};
  if (writer) trainer.add_hook(std::make_unique<r1::MetricsHook<Trainer>>(out + "/metrics.jsonl", stderr, sft.steps));
  trainer.fit(examples);
  if (!writer) return;  // rank 0 alone writes
  student.save(out + "/student", r1::SafetensorsDtype::f32, max_shard_bytes);
  std::printf("r1 distill: student trained %lld steps on %zu traces, loss %.4f; wrote %s/student and %s/traces.jsonl\n",
              static_cast<long long>(trainer.current_step()), examples.size(), trainer.evaluate_loss(examples),
              out.c_str(), out.c_str());
}

const bool registered = r1::cli::register_command("distill", [](CLI::App& app) {
  auto options = std::make_shared<DistillOptions>();
  auto* command = app.add_subcommand("distill", "Teacher generates, verifier filters, student learns by SFT");
  command->add_option("--config", options->config, "JSON config file (flags override its fields)");
  command->add_option("--teacher", options->teacher, "Teacher model folder (HF layout)");
  command->add_option("--student", options->student, "Student model folder (HF layout, same tokenizer)");
  command->add_option("--data", options->data, "Problems (JSONL) the teacher solves");
  command->add_option("--tokenizer", options->tokenizer, "tokenizer.json (default: in the teacher's folder)");
  command->add_option("--chat-template", options->chat_template,
                      "Template of conversational prompts: chatml, llama3, llama3_1, deepseek_r1 (default: the "
                      "tokenizer_config.json's, recognised)");
  command->add_option("--out", options->out, "Output folder");
  command->add_option("--samples", options->samples, "Teacher samples per problem")->check(CLI::PositiveNumber);
  command->add_option("--steps", options->steps, "Student SFT steps");
  command->add_option("--lr", options->lr, "Student AdamW learning rate");
  command->add_option("--seed", options->seed, "Seed");
  command->add_option("--max-shard-size", options->max_shard_size,
                      "Largest weight file of the saved student (bytes, or e.g. 500MB, 2GiB; default 5GB)");
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options] {
    r1::cli::with_model_type(options->device, "r1 distill",
                             [&]<class Model>(r1::cli::ModelType<Model>) { run_distill<Model>(*options); });
  });
});

}  // namespace
