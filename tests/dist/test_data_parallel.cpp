// Data-parallel training under `mpirun -np N` (ctest label mpi) against the same
// training in one process, which every rank also runs by itself (SingleProcess).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "r1/dist/mpi_communicator.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/optim/sgd.hpp"
#include "r1/train/sft_trainer.hpp"
#include "tiny_setup.hpp"

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

int main(int argc, char** argv) {
  r1::MpiCommunicator comm(&argc, &argv);
  world = &comm;
  r1::ThreadLimit threads{1};
  doctest::Context context(argc, argv);
  if (comm.rank() != 0) context.setOption("out", "/dev/null");
  const int failed = context.run();
  return r1::all_reduce_sum(comm, failed != 0 ? 1.0 : 0.0) > 0 ? 1 : 0;
}
