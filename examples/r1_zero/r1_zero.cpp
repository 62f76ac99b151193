// R1-Zero on two cores: the DeepSeek-R1 paper's central phenomenon at toy scale.
//
// 1. A small "base" model is pretrained (SFT) on padded multiplications
//    ("043*75=") where most examples answer directly and a minority work the
//    product out step by step inside <think> (a scratchpad the base has seen but
//    rarely uses). The base answers held-out problems poorly.
// 2. GRPO with rule-based rewards only (accuracy of the <answer>, R1 format)
//    trains it. No reasoning trace is ever shown as a target again.
// 3. On held-out problems the policy's pass@1 rises and its completions grow
//    longer: it has learned to think before it answers.
//
//   r1_zero --out out/r1_zero                                 pretrain the base, then RL
//   r1_zero --base examples/r1_zero/base --out out/r1_zero    RL from the committed base
//   r1_zero --pretrain-only --pretrain-steps 1000             remake that base
//   r1_zero --quick                                            a smoke run, seconds
//   mpirun -np 2 r1_zero --base examples/r1_zero/base          data parallel over 2 ranks (rank 0 writes)
//   r1_zero --device cuda                                      the same on the first GPU (Transformer<cuda>,
//                                                              gpu::CudaAdamW); a clear error without one
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/threads.hpp"
#include "r1/core/timer.hpp"
#include "r1/dist/launch.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/tasks/padded_multiplication.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "r1/train/plot.hpp"
#include "toy_multiplication.hpp"
#include "device.hpp"  // examples/cli: --device cpu|cuda
#include "toy_training.hpp"
#if R1_WITH_MPI
#include "r1/dist/mpi_communicator.hpp"
#endif

namespace {

using toy::Policy;
using toy::Reward;

struct Options {
  std::string out = "out/r1_zero";
  std::string base;               // load this base model instead of pretraining
  int a_digits = 3, b_digits = 2;
  std::int64_t pretrain_steps = 1000;
  int pretrain_batch = 128;
  double scratchpad_fraction = 0.2;
  std::int64_t grpo_steps = 120;
  int prompts_per_step = 8;
  int group_size = 8;
  float grpo_lr = 1e-4f;
  int held_out = 500;
  int samples = 4;
  std::uint64_t seed = 1;
  int threads = 0;
  bool quick = false;
  bool pretrain_only = false;
  std::string device = "cpu";
};

// Every rank runs the same program; rank 0 alone prints and writes (the others' stdout goes to /dev/null).
// PolicyT: Transformer<cpu>, or Transformer<cuda> with --device cuda (r1::cli::with_model_type).
template <class PolicyT, class Comm>
int run(const Options& options, Comm& comm) {
  using Optimizer = r1::cli::OptimizerFor<PolicyT>;
  const bool writer = comm.rank() == 0;
  if (!writer && std::freopen("/dev/null", "w", stdout) == nullptr) r1::fail("cannot silence rank ", comm.rank());
  r1::ThreadLimit threads{options.threads > 0 ? options.threads
                          : comm.size() > 1 && std::getenv("R1_THREADS") == nullptr ? r1::default_threads_per_rank()
                                                                                     : 0};
  r1::Stopwatch total;
  if (writer) std::filesystem::create_directories(options.out);
  std::printf("r1 R1-Zero: %d-digit x %d-digit padded multiplication, %d rank(s) x %d threads, output in %s\n",
              options.a_digits, options.b_digits, comm.size(), threads.count(), options.out.c_str());

  // Tokenizer: digits, the few symbols of the scratchpad, and the tags as single tokens.
  const r1::CharTokenizer tokenizer = toy::make_tokenizer();
  const r1::TokenId eos = *tokenizer.eos_token_id();
  const r1::TextCodec codec = toy::make_codec(tokenizer);

  r1::PaddedMultiplicationConfig task;
  task.a_digits = options.a_digits;
  task.b_digits = options.b_digits;
  const auto held_out = r1::padded_multiplication_problems(task, r1::Split::held_out, options.held_out, options.seed);
  const auto train = r1::padded_multiplication_problems(task, r1::Split::train, 20000, options.seed + 1);

  // Rule-based rewards only: accuracy of the extracted <answer> plus the R1 format.
  const Reward reward{{1.0, 0.1}};

  // ---- 1. The base model ----
  // Built (or loaded) on the host, then moved to where it runs.
  Policy host_model{toy::model_config(tokenizer.vocab_size())};
  if (!options.base.empty()) {
    host_model = Policy::load(options.base);
  } else {
    host_model.init_random(options.seed);
  }
  PolicyT model{std::move(host_model)};
  if (!options.base.empty()) {
    std::printf("base: loaded %s (%lld parameters)\n", options.base.c_str(),
                static_cast<long long>(model.parameter_count()));
  } else {
    const auto examples =
        toy::pretraining_examples(tokenizer, task, options.scratchpad_fraction, 60000, options.seed + 2);
    std::printf("pretraining the base: %lld parameters, %zu examples (%.0f%% with a scratchpad), %lld steps of %d\n",
                static_cast<long long>(model.parameter_count()), examples.size(), 100 * options.scratchpad_fraction,
                static_cast<long long>(options.pretrain_steps), options.pretrain_batch);
    r1::Stopwatch timer;
    toy::pretrain<Optimizer>(model, examples, options.pretrain_steps, options.pretrain_batch, 2e-3f, options.seed,
                             options.out + "/pretrain_metrics.jsonl", comm);
    std::printf("pretraining: %.1f s\n", timer.elapsed_seconds());
    if (writer) {
      model.save(options.out + "/base");
      toy::write_tokenizer_spec(options.out + "/base");
    }
    if (options.pretrain_only) return 0;
  }

  r1::Stopwatch timer;
  const toy::Stage before =
      toy::evaluate(model, held_out, codec, reward, options.samples, options.seed + 777, eos, comm);
  std::printf("base on %d held-out problems: pass@1 %.1f%%, greedy %.1f%%, scratchpad %.1f%%, mean length %.1f (%.1f s)\n",
              options.held_out, 100 * before.report.pass_at_1, 100 * before.report.greedy_accuracy.value_or(0),
              100 * before.scratchpad_share, before.report.mean_length_tokens, timer.elapsed_seconds());

  // ---- 2. GRPO with rule-based rewards ----
  r1::GrpoTrainerConfig grpo;
  grpo.steps = options.grpo_steps;
  grpo.prompts_per_step = options.prompts_per_step;
  grpo.group_size = options.group_size;
  grpo.temperature = 1.0f;
  grpo.seed = options.seed;
  const std::string metrics_path = options.out + "/metrics.jsonl";
  std::printf("GRPO: %lld steps of %d prompts x G %d, lr %g (cosine to 0), beta 0, token-mean loss\n",
              static_cast<long long>(options.grpo_steps), options.prompts_per_step, options.group_size,
              static_cast<double>(options.grpo_lr));
  timer.restart();
  toy::train_grpo<Optimizer>(model, train, codec, reward, grpo, options.grpo_lr, eos, metrics_path, comm);
  std::printf("GRPO: %.1f s\n", timer.elapsed_seconds());
  if (writer) {
    model.save(options.out + "/policy");
    toy::write_tokenizer_spec(options.out + "/policy");
  }

  timer.restart();
  const toy::Stage after =
      toy::evaluate(model, held_out, codec, reward, options.samples, options.seed + 777, eos, comm);
  std::printf("after RL: evaluation %.1f s\n", timer.elapsed_seconds());

  // ---- 3. Results ----
  if (!writer) return 0;
  toy::print_table({{"base", &before}, {"after RL", &after}}, options.samples);
  r1::Json results{{"base", before.to_json()},
                   {"after_rl", after.to_json()},
                   {"seconds", total.elapsed_seconds()},
                   {"threads", threads.count()},
                   {"ranks", comm.size()},
                   {"options",
                    {{"pretrain_steps", options.pretrain_steps},
                     {"grpo_steps", options.grpo_steps},
                     {"held_out", options.held_out},
                     {"samples", options.samples},
                     {"seed", options.seed}}}};
  std::ofstream(options.out + "/results.json") << results.dump(2) << "\n";
  const auto steps = r1::read_metrics_log(metrics_path);
  r1::write_training_plot(options.out + "/curves.svg", steps, "R1-Zero on padded multiplication (GRPO, 2 cores)");
  std::printf("wrote %s/results.json, %s/metrics.jsonl, %s/curves.svg; total %.1f s\n", options.out.c_str(),
              options.out.c_str(), options.out.c_str(), total.elapsed_seconds());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"R1-Zero on two cores: pretrain a small base, then GRPO with rule-based rewards", "r1_zero"};
  app.add_option("--out", options.out, "Output folder")->capture_default_str();
  app.add_option("--base", options.base, "Load this base model (HF folder) instead of pretraining");
  app.add_option("--pretrain-steps", options.pretrain_steps, "Pretraining (SFT) steps")->capture_default_str();
  app.add_option("--scratchpad-fraction", options.scratchpad_fraction, "Share of pretraining examples with a scratchpad")
      ->capture_default_str();
  app.add_option("--grpo-steps", options.grpo_steps, "GRPO steps")->capture_default_str();
  app.add_option("--prompts", options.prompts_per_step, "Prompts per GRPO step")->capture_default_str();
  app.add_option("--group", options.group_size, "Completions per prompt (G)")->capture_default_str();
  app.add_option("--lr", options.grpo_lr, "GRPO learning rate")->capture_default_str();
  app.add_option("--held-out", options.held_out, "Held-out problems to evaluate on")->capture_default_str();
  app.add_option("--samples", options.samples, "Samples per held-out problem (k)")->capture_default_str();
  app.add_option("--seed", options.seed, "Seed")->capture_default_str();
  app.add_option("--threads", options.threads,
                 "Threads per rank (default: R1_THREADS or all cores; under mpirun, the cores shared among the ranks)");
  app.add_flag("--quick", options.quick, "A smoke run: tiny budgets, for tests");
  app.add_flag("--pretrain-only", options.pretrain_only, "Stop after pretraining the base (writes OUT/base)");
  app.add_option("--device", options.device, r1::cli::kDeviceHelp)
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress reaches a log file line by line
  if (options.quick) {
    options.pretrain_steps = 20;
    options.pretrain_batch = 16;
    options.grpo_steps = 3;
    options.prompts_per_step = 2;
    options.group_size = 4;
    options.held_out = 16;
    options.samples = 2;
  }
  // with_model_type's errors come without a name of their own (""): the catches put "r1_zero: error: " first.
#if R1_WITH_MPI
  if (r1::launched_by_mpi()) {
    r1::MpiCommunicator comm(&argc, &argv);
    try {
      return r1::cli::with_model_type(options.device, "", [&]<class Model>(r1::cli::ModelType<Model>) {
        return run<Model>(options, comm);
      });
    } catch (const r1::Error& e) {
      comm.abort(std::string("r1_zero: error: ") + e.what());  // ends every rank
    }
  }
#endif
  try {
    r1::SingleProcess one;
    return r1::cli::with_model_type(options.device, "", [&]<class Model>(r1::cli::ModelType<Model>) {
      return run<Model>(options, one);
    });
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "r1_zero: error: %s\n", e.what());
    return 1;
  }
}
