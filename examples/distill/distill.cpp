// Distillation at toy scale (DeepSeek-R1 §2.4 / Table 5's finding): a smaller
// student trained by SFT on the RL teacher's verified reasoning traces, against
// the same student trained with RL alone from the same base.
//
//   r1_distill --teacher out/r1_zero/policy --out out/distill
//
// Both students start from one small base, pretrained like the R1-Zero base
// (mostly direct answers, a minority of scratchpads). Then:
//   distilled: the teacher solves training problems, the verifier keeps the
//              correct completions, the student is trained on them by SFT;
//   RL alone:  the student base is trained by GRPO with the same rewards and
//              the same number of problems seen as the R1-Zero run.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "r1/core/threads.hpp"
#include "r1/core/timer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/distillation.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "toy_multiplication.hpp"
#include "toy_training.hpp"

namespace {

using toy::Policy;
using toy::Reward;

struct Options {
  std::string teacher = "out/r1_zero/policy";
  std::string out = "out/distill";
  std::int64_t student_hidden = 96;
  std::int64_t student_layers = 3;
  std::int64_t pretrain_steps = 800;
  std::int64_t distill_steps = 800;
  int traces_problems = 4000;
  std::int64_t grpo_steps = 120;
  int held_out = 500;
  int samples = 4;
  std::uint64_t seed = 1;
  int threads = 0;
  bool quick = false;
};

int run(const Options& options) {
  r1::ThreadLimit threads{options.threads};
  r1::Stopwatch total;
  std::filesystem::create_directories(options.out);
  const auto tokenizer = toy::make_tokenizer();
  const r1::TokenId eos = *tokenizer.eos_token_id();
  const auto codec = toy::make_codec(tokenizer);
  const Reward reward{{1.0, 0.1}};
  r1::PaddedMultiplicationConfig task;
  const auto held_out = r1::padded_multiplication_problems(task, r1::Split::held_out, options.held_out, options.seed);
  const auto train = r1::padded_multiplication_problems(task, r1::Split::train, 20000, options.seed + 1);

  Policy teacher = Policy::load(options.teacher);
  Policy student_base{toy::model_config(tokenizer.vocab_size(), options.student_hidden, options.student_layers)};
  std::printf("teacher %s: %lld parameters; student: %lld parameters (d %lld, %lld layers)\n", options.teacher.c_str(),
              static_cast<long long>(teacher.parameter_count()), static_cast<long long>(student_base.parameter_count()),
              static_cast<long long>(options.student_hidden), static_cast<long long>(options.student_layers));

  // The student's base: pretrained on the same kind of corpus as the teacher's base.
  student_base.init_random(options.seed + 10);
  {
    const auto examples = toy::pretraining_examples(tokenizer, task, 0.2, 60000, options.seed + 2);
    r1::Stopwatch timer;
    toy::pretrain(student_base, examples, options.pretrain_steps, 128, 3e-3f, options.seed, "");
    std::printf("student base pretrained: %.1f s\n", timer.elapsed_seconds());
  }
  const toy::Stage base = toy::evaluate(student_base, held_out, codec, reward, options.samples, options.seed + 777, eos);
  const toy::Stage teacher_stage = toy::evaluate(teacher, held_out, codec, reward, options.samples, options.seed + 777, eos);

  // Distilled: SFT on the teacher's verified traces (one sample per training problem).
  Policy distilled = student_base;
  r1::RejectionSamplingConfig sampling;
  sampling.samples_per_prompt = 1;
  sampling.sampling.temperature = 0.6f;
  sampling.sampling.top_p = 0.95f;
  sampling.sampling.max_new_tokens = 160;
  sampling.sampling.eos_token_ids = {eos};
  sampling.seed = options.seed;
  r1::SftConfig sft;
  sft.steps = options.distill_steps;
  sft.batch_size = 64;
  sft.seed = options.seed;
  r1::AdamWConfig adam;
  adam.lr = 1e-3f;
  r1::Stopwatch timer;
  const auto traces_problems = std::span(train).first(static_cast<std::size_t>(options.traces_problems));
  const auto result = r1::distill(teacher, distilled, traces_problems, codec, reward, sampling, sft, r1::AdamW{adam},
                                  r1::CosineSchedule{adam.lr, 20, options.distill_steps, 0.0f});
  std::printf("distilled: %zu verified traces of %zu generated, %lld SFT steps, %.1f s\n", result.traces.kept,
              result.traces.generated, static_cast<long long>(options.distill_steps), timer.elapsed_seconds());
  const toy::Stage distilled_stage = toy::evaluate(distilled, held_out, codec, reward, options.samples, options.seed + 777, eos);

  // RL alone: GRPO on the student base, the R1-Zero example's settings.
  Policy rl_student = student_base;
  r1::GrpoTrainerConfig grpo;
  grpo.steps = options.grpo_steps;
  grpo.seed = options.seed;
  timer.restart();
  toy::train_grpo(rl_student, train, codec, reward, grpo, 1e-4f, eos, options.out + "/rl_student_metrics.jsonl");
  std::printf("RL alone: %lld GRPO steps, %.1f s\n", static_cast<long long>(grpo.steps), timer.elapsed_seconds());
  const toy::Stage rl_stage = toy::evaluate(rl_student, held_out, codec, reward, options.samples, options.seed + 777, eos);

  toy::print_table({{"teacher (RL)", &teacher_stage},
                    {"student base", &base},
                    {"student+RL", &rl_stage},
                    {"student distill", &distilled_stage}},
                   options.samples);
  const r1::Json results{{"teacher", teacher_stage.to_json()},       {"student_base", base.to_json()},
                         {"student_rl_alone", rl_stage.to_json()},   {"student_distilled", distilled_stage.to_json()},
                         {"traces", result.traces.kept},             {"seconds", total.elapsed_seconds()}};
  std::ofstream(options.out + "/results.json") << results.dump(2) << "\n";
  std::printf("wrote %s/results.json; total %.1f s\n", options.out.c_str(), total.elapsed_seconds());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Distillation vs RL alone for a small student, on the toy R1-Zero task", "r1_distill"};
  app.add_option("--teacher", options.teacher, "The RL teacher (r1_zero's OUT/policy)")->capture_default_str();
  app.add_option("--out", options.out, "Output folder")->capture_default_str();
  app.add_option("--student-hidden", options.student_hidden, "Student width")->capture_default_str();
  app.add_option("--student-layers", options.student_layers, "Student layers")->capture_default_str();
  app.add_option("--pretrain-steps", options.pretrain_steps, "Student base pretraining steps")->capture_default_str();
  app.add_option("--distill-steps", options.distill_steps, "Student SFT steps on the traces")->capture_default_str();
  app.add_option("--traces", options.traces_problems, "Training problems the teacher solves")->capture_default_str();
  app.add_option("--grpo-steps", options.grpo_steps, "GRPO steps of the RL-alone student")->capture_default_str();
  app.add_option("--held-out", options.held_out, "Held-out problems")->capture_default_str();
  app.add_option("--seed", options.seed, "Seed")->capture_default_str();
  app.add_option("--threads", options.threads, "Threads (default: R1_THREADS or all cores)");
  app.add_flag("--quick", options.quick, "A smoke run: tiny budgets, for tests");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (options.quick) {
    options.pretrain_steps = 5;
    options.distill_steps = 5;
    options.traces_problems = 16;
    options.grpo_steps = 2;
    options.held_out = 8;
    options.samples = 2;
  }
  try {
    return run(options);
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "r1_distill: error: %s\n", e.what());
    return 1;
  }
}
