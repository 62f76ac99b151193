// Data-parallel training under `mpirun -np N` (ctest label mpi) against the same
// training in one process, which every rank also runs by itself (SingleProcess).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "r1/dist/mpi_communicator.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/optim/sgd.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/tasks/padded_multiplication.hpp"
#include "r1/train/checkpoint.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/rejection_sampling.hpp"
#include "tiny_setup.hpp"
#include "toy_multiplication.hpp"  // examples/r1_zero: the R1-Zero recipe's tokenizer, codec and policy
#include "toy_training.hpp"

namespace {
r1::MpiCommunicator* world = nullptr;
using Policy = r1::Transformer<r1::cpu>;

std::vector<r1::SftExample> echo_examples(const r1::CharTokenizer& tokenizer) {
  std::vector<r1::SftExample> examples;
  for (const auto& problem : r1::test::echo_problems(24))
    examples.push_back({tokenizer.encode(problem.prompt), tokenizer.encode(problem.answer + ";")});
  return examples;
}

template <class Optimizer, class Comm>
std::vector<float> train_sft(const r1::SftConfig& config, Optimizer optimizer, Comm* comm) {
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto examples = echo_examples(tokenizer);
  Policy model{r1::test::tiny_model_config(tokenizer.vocab_size())};
  model.init_random(5);
  const float lr = optimizer.learning_rate();
  if constexpr (std::is_same_v<Comm, r1::SingleProcess>) {
    r1::SftTrainer trainer{config, model, std::move(optimizer), r1::ConstantSchedule{lr}};
    trainer.fit(examples);
  } else {
    r1::SftTrainer trainer{config, model, std::move(optimizer), r1::ConstantSchedule{lr}, *comm};
    trainer.fit(examples);
  }
  const auto flat = model.flat_parameters();
  return {flat.begin(), flat.end()};
}
}  // namespace

TEST_CASE("SFT on N ranks: every rank ends with the same weights, and they are one process's") {
  r1::MpiCommunicator& comm = *world;
  r1::SftConfig config;
  config.steps = 3;
  config.batch_size = 12;
  config.max_grad_norm = 0;  // clipping is tested on its own; here the update is the gradient's
  // SGD without momentum: each step moves the weights by lr times the gradient, so a difference of the
  // weights is lr times a difference of summed gradients.
  const float lr = 0.05f;
  const auto alone = train_sft<r1::Sgd, r1::SingleProcess>(config, r1::Sgd{r1::SgdConfig{lr}}, nullptr);
  const auto parallel = train_sft<r1::Sgd, r1::MpiCommunicator>(config, r1::Sgd{r1::SgdConfig{lr}}, &comm);
  // The ranks agree bit for bit: they sum the same partial gradients and apply the same update.
  std::vector<float> root = parallel;
  comm.broadcast(std::span<char>(reinterpret_cast<char*>(root.data()), root.size() * sizeof(float)), 0);
  CHECK(root == parallel);
  // Against one process, only the order of the gradient's sum differs: one process adds the sequences'
  // contributions into one buffer; N ranks add theirs apart and sum the N partial gradients. Over 3 steps of
  // ~|g| <= 2 per weight (cross-entropy gradients of a 32-wide model with O(1) weights), each sum of at most
  // n = 12 sequences x 3 tokens rounds to within gamma_n = n u / (1 - n u) of its terms' absolute sum.
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < alone.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(alone[i]) - parallel[i]));
    scale = std::max(scale, std::abs(static_cast<double>(alone[i])));
  }
  const double u = std::ldexp(1.0, -24), n = 36;
  const double gamma = n * u / (1 - n * u);
  const double bound = 3 /*steps*/ * lr * 2 /*|g| terms' sum per weight*/ * n * gamma + 3 * u * scale;
  INFO("largest weight difference ", worst, " against the bound ", bound, " (ranks: ", comm.size(), ")");
  CHECK(worst <= bound);
}

namespace {
// Step 1's rollout and advantages, and the weights after `steps` GRPO steps of the R1-Zero example's recipe (its
// committed base, rewards and objective) with SGD, so that a difference of weights is lr times a difference of
// summed gradients.
struct GrpoRun {
  std::vector<std::vector<r1::TokenId>> first_step_ids;
  std::vector<std::vector<std::vector<r1::TokenId>>> ids_by_step;  // [step][completion], steps this run made
  std::vector<double> first_step_rewards;
  std::vector<float> first_step_advantages;
  std::vector<float> weights;
};

// `resume_from`: a trainer checkpoint to continue from; `save_to`: where to write one at the end (rank 0).
template <class Comm>
GrpoRun train_grpo(int steps, float lr, Comm* comm, const std::string& resume_from = "",
                   const std::string& save_to = "", r1::Aggregation aggregation = r1::Aggregation::token_mean,
                   int micro_batch_sequences = 3) {
  using Recipe = r1::Grpo<toy::Policy, r1::KvSampler, toy::Reward, r1::Sgd, r1::GrpoObjective>;
  const r1::CharTokenizer tokenizer = toy::make_tokenizer();
  const r1::TextCodec codec = toy::make_codec(tokenizer);
  toy::Policy model = toy::Policy::load(std::string(R1_SOURCE_DIR) + "/examples/r1_zero/base");
  r1::PaddedMultiplicationConfig task;
  const auto problems = r1::padded_multiplication_problems(task, r1::Split::train, 200, 2);
  r1::GrpoTrainerConfig grpo;
  grpo.steps = steps;
  grpo.prompts_per_step = 5;  // uneven over 2 and 3 ranks
  grpo.group_size = 4;
  grpo.minibatches_per_rollout = 2;
  grpo.micro_batch_sequences = micro_batch_sequences;
  grpo.seed = 7;
  r1::GrpoConfig objective;
  objective.beta = 0.0;
  objective.aggregation = aggregation;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 96;
  sampling.eos_token_ids = {*tokenizer.eos_token_id()};
  sampling.decodable_vocab_size = codec.vocab_size;
  GrpoRun run;
  auto train = [&](auto& trainer) {
    if (!resume_from.empty()) r1::load_trainer_checkpoint(resume_from, trainer);
    trainer.step(problems);
    for (const auto& completion : trainer.last_rollout().completions) run.first_step_ids.push_back(completion.ids);
    run.first_step_rewards = trainer.last_rollout().scores();
    run.first_step_advantages = trainer.last_advantages().per_completion;
    run.ids_by_step.resize(static_cast<std::size_t>(steps));
    const auto record = [&] {
      auto& ids = run.ids_by_step[static_cast<std::size_t>(trainer.current_step() - 1)];
      for (const auto& completion : trainer.last_rollout().completions) ids.push_back(completion.ids);
    };
    record();
    while (trainer.current_step() < steps) {
      trainer.step(problems);
      record();
    }
    if (!save_to.empty() && (comm == nullptr || comm->rank() == 0)) r1::save_trainer_checkpoint(save_to, trainer);
  };
  const auto args = std::make_tuple(grpo, std::ref(model), r1::KvSampler{sampling, codec.decode},
                                    toy::Reward{{1.0, 0.1}}, r1::Sgd{r1::SgdConfig{lr}}, r1::GrpoObjective{objective},
                                    codec, r1::ConstantSchedule{lr});
  if constexpr (std::is_same_v<Comm, r1::SingleProcess>) {
    auto trainer = std::make_from_tuple<r1::GrpoTrainer<Recipe>>(args);
    train(trainer);
  } else {
    auto trainer = std::make_from_tuple<r1::GrpoTrainer<Recipe, Comm>>(std::tuple_cat(args, std::tie(*comm)));
    train(trainer);
  }
  const auto flat = model.flat_parameters();
  run.weights.assign(flat.begin(), flat.end());
  return run;
}
}  // namespace

TEST_CASE("GRPO on N ranks samples what one process samples, and ends at its weights") {
  r1::MpiCommunicator& comm = *world;
  const int steps = 3;
  const float lr = 0.05f;
  const GrpoRun alone = train_grpo<r1::SingleProcess>(steps, lr, nullptr);
  const GrpoRun parallel = train_grpo<r1::MpiCommunicator>(steps, lr, &comm);
  // Step 1: the same policy, the same noise keys (seed, step, prompt, sample): the same tokens, rewards and
  // advantages, bit for bit, though each rank sampled only its share of the prompts.
  REQUIRE(parallel.first_step_ids.size() == 20);
  CHECK(parallel.first_step_ids == alone.first_step_ids);
  CHECK(parallel.first_step_rewards == alone.first_step_rewards);
  CHECK(parallel.first_step_advantages == alone.first_step_advantages);
  std::vector<float> root = parallel.weights;
  comm.broadcast(std::span<char>(reinterpret_cast<char*>(root.data()), root.size() * sizeof(float)), 0);
  CHECK(root == parallel.weights);  // every rank applied the same updates
  // The weights: 2 minibatches x 3 steps of SGD, each a sum over at most n = 10 sequences x 96 tokens of
  // token-mean loss gradients, |d loss / d logit| <= 1/T per token over all tokens, so the terms of one weight's
  // gradient sum to at most ~2 (O(1) activations); two summation orders differ by at most 2 gamma_n times that.
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < alone.weights.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(alone.weights[i]) - parallel.weights[i]));
    scale = std::max(scale, std::abs(static_cast<double>(alone.weights[i])));
  }
  const double u = std::ldexp(1.0, -24), n = 960;
  const double gamma = n * u / (1 - n * u);
  const double bound = 2 * steps * lr * 2 * 2 * gamma + 6 * u * scale;
  INFO("largest weight difference ", worst, " against the bound ", bound, " (ranks: ", comm.size(), ")");
  CHECK(worst <= bound);
}

TEST_CASE("evaluation and rejection sampling on N ranks give one process's results, in its order") {
  r1::MpiCommunicator& comm = *world;
  const r1::CharTokenizer tokenizer = toy::make_tokenizer();
  const r1::TextCodec codec = toy::make_codec(tokenizer);
  toy::Policy model = toy::Policy::load(std::string(R1_SOURCE_DIR) + "/examples/r1_zero/base");
  r1::PaddedMultiplicationConfig task;
  const auto problems = r1::padded_multiplication_problems(task, r1::Split::held_out, 13, 3);
  const toy::Reward reward{{1.0, 0.1}};
  r1::EvaluationConfig config;
  config.samples_per_problem = 3;
  config.prompts_per_batch = 4;  // 13 problems: uneven batches and shares
  config.sampling.max_new_tokens = 96;
  config.sampling.temperature = 0.6f;
  config.sampling.top_p = 0.95f;
  config.sampling.eos_token_ids = {*tokenizer.eos_token_id()};
  std::vector<r1::EvaluatedCompletion> alone_details, parallel_details;
  const auto alone = r1::evaluate(model, problems, codec, reward, config, &alone_details);
  const auto parallel = r1::evaluate(comm, model, problems, codec, reward, config, &parallel_details);
  CHECK(parallel.to_json() == alone.to_json());
  REQUIRE(parallel_details.size() == alone_details.size());
  for (std::size_t i = 0; i < alone_details.size(); ++i) {
    CHECK(parallel_details[i].problem == alone_details[i].problem);
    CHECK(parallel_details[i].text == alone_details[i].text);
  }
  r1::RejectionSamplingConfig rejection;
  rejection.samples_per_prompt = 4;
  rejection.prompts_per_batch = 3;
  rejection.sampling = config.sampling;
  const auto kept_alone = r1::rejection_sample(model, problems, codec, reward, rejection);
  r1::KvSampler sampler{rejection.sampling, codec.decode};
  const auto kept_parallel = r1::rejection_sample(comm, model, sampler, problems, codec, reward, rejection);
  REQUIRE(kept_parallel.size() == kept_alone.size());
  for (std::size_t i = 0; i < kept_alone.size(); ++i) {
    CHECK(kept_parallel[i].problem == kept_alone[i].problem);
    CHECK(kept_parallel[i].completion_ids == kept_alone[i].completion_ids);
  }
}

TEST_CASE("a 1-process checkpoint resumes on N ranks as the uninterrupted run continues") {
  r1::MpiCommunicator& comm = *world;
  const float lr = 0.05f;
  const std::string path =
      std::string(R1_TEST_BINARY_DIR) + "/resume_from_one_process_np" + std::to_string(comm.size()) + ".r1ckpt";
  const GrpoRun uninterrupted = train_grpo<r1::SingleProcess>(4, lr, nullptr);
  if (comm.rank() == 0) train_grpo<r1::SingleProcess>(2, lr, nullptr, "", path);  // steps 1-2 in one process
  comm.barrier();
  const GrpoRun resumed = train_grpo<r1::MpiCommunicator>(4, lr, &comm, path);  // steps 3-4 on N ranks
  // Step 3 is sampled from the same weights with the same keys: the same tokens as the uninterrupted run's.
  REQUIRE(resumed.ids_by_step[2].size() == 20);
  CHECK(resumed.ids_by_step[2] == uninterrupted.ids_by_step[2]);
  CHECK(resumed.ids_by_step[0].empty());  // steps 1-2 came from the checkpoint
  // The weights after step 4: two steps of summation-order differences, bounded as in the test above.
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < uninterrupted.weights.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(uninterrupted.weights[i]) - resumed.weights[i]));
    scale = std::max(scale, std::abs(static_cast<double>(uninterrupted.weights[i])));
  }
  const double u = std::ldexp(1.0, -24), n = 960;
  const double gamma = n * u / (1 - n * u);
  const double bound = 2 * 2 * lr * 2 * 2 * gamma + 4 * u * scale;
  INFO("largest weight difference ", worst, " against the bound ", bound, " (ranks: ", comm.size(), ")");
  CHECK(worst <= bound);
}

TEST_CASE("one step's gradient is the whole batch's for every split: ranks x micro-batches x aggregation") {
  r1::MpiCommunicator& comm = *world;
  const float lr = 0.05f;
  for (const auto aggregation : {r1::Aggregation::token_mean, r1::Aggregation::sequence_mean_token_mean,
                                 r1::Aggregation::constant_normaliser, r1::Aggregation::sequence_sum}) {
    CAPTURE(r1::to_string(aggregation));
    // One step, 2 minibatches of 10 sequences: micro-batches of 10 (whole) and 3 in one process, 3 on N ranks.
    const GrpoRun whole = train_grpo<r1::SingleProcess>(1, lr, nullptr, "", "", aggregation, 10);
    const GrpoRun micro = train_grpo<r1::SingleProcess>(1, lr, nullptr, "", "", aggregation, 3);
    const GrpoRun ranks = train_grpo<r1::MpiCommunicator>(1, lr, &comm, "", "", aggregation, 3);
    // The normalisers are the minibatch's totals whatever the split, so only summation order differs: 2
    // SGD updates of lr x gradient, each a sum over <= 960 tokens (bounded as in the test above).
    const double u = std::ldexp(1.0, -24), n = 960;
    const double gamma = n * u / (1 - n * u);
    // sequence_sum's terms are not divided by a token count: up to 96 tokens of gradient <= 2 per sequence.
    const double term_sum = aggregation == r1::Aggregation::sequence_sum ? 2 * 96 : 2;
    double scale = 0;
    for (float w : whole.weights) scale = std::max(scale, std::abs(static_cast<double>(w)));
    const double bound = 2 * lr * term_sum * 2 * gamma + 2 * u * scale;
    double worst_micro = 0, worst_ranks = 0;
    for (std::size_t i = 0; i < whole.weights.size(); ++i) {
      worst_micro = std::max(worst_micro, std::abs(static_cast<double>(whole.weights[i]) - micro.weights[i]));
      worst_ranks = std::max(worst_ranks, std::abs(static_cast<double>(whole.weights[i]) - ranks.weights[i]));
    }
    INFO("micro-batches: ", worst_micro, ", ranks: ", worst_ranks, ", bound ", bound);
    CHECK(worst_micro <= bound);
    CHECK(worst_ranks <= bound);
    // And the step moved the weights by far more than the splits differ: a wrong normaliser (the share's
    // instead of the minibatch's) would change the update by a factor, not by rounding.
    const toy::Policy base = toy::Policy::load(std::string(R1_SOURCE_DIR) + "/examples/r1_zero/base");
    double moved = 0;
    const auto start = base.flat_parameters();
    for (std::size_t i = 0; i < whole.weights.size(); ++i)
      moved = std::max(moved, std::abs(static_cast<double>(whole.weights[i]) - start[i]));
    CHECK(moved > 1000 * std::max({worst_micro, worst_ranks, u}));
  }
}

int main(int argc, char** argv) {
  r1::MpiCommunicator comm(&argc, &argv);
  world = &comm;
  r1::ThreadLimit threads{1};
  doctest::Context context(argc, argv);
  if (comm.rank() != 0) context.setOption("out", "/dev/null");
  const int failed = context.run();
  return r1::all_reduce_sum(comm, failed != 0 ? 1.0 : 0.0) > 0 ? 1 : 0;
}
