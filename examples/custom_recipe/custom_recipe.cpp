// A custom recipe: the R1-Zero example's recipe with its verifier and objective
// swapped by changing two type aliases. The verifier is written here, by the
// user, in a dozen lines: any const type with name() and operator() is a
// r1::RewardVerifier.
//
//   r1_custom_recipe [base-dir] [steps]      (default: examples/r1_zero/base, 20)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "toy_multiplication.hpp"

// Partial credit: the share of the answer's digits in the right place (a denser
// signal than exact match), and 0 without a well-formed <answer>.
struct DigitCredit {
  std::string_view name() const { return "digit_credit"; }
  r1::Reward operator()(const r1::Problem& problem, std::string_view completion) const {
    r1::Reward reward;
    const auto open = completion.rfind("<answer>"), close = completion.rfind("</answer>");
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return reward;
    const auto answer = completion.substr(open + 8, close - open - 8);
    std::size_t right = 0;
    for (std::size_t i = 0; i < problem.answer.size() && i < answer.size(); ++i) right += answer[i] == problem.answer[i];
    reward.score = answer.size() == problem.answer.size() ? double(right) / double(problem.answer.size()) : 0.0;
    reward.components.push_back({"digit_credit", reward.score});
    reward.components.push_back({"accuracy", answer == problem.answer ? 1.0 : 0.0});
    reward.extracted = std::string(answer);
    return reward;
  }
};
static_assert(r1::RewardVerifier<DigitCredit>);

// The two lines that differ from examples/r1_zero (Sum<MathAnswer, R1Format> and GrpoObjective):
using Verifier = r1::Sum<DigitCredit, r1::R1Format>;
using Objective = r1::DrGrpoObjective;  // Dr. GRPO: no std normalisation, constant normaliser

using Policy = r1::Transformer<r1::cpu>;
using Recipe = r1::Grpo<Policy, r1::KvSampler, Verifier, r1::AdamW, Objective>;

int main(int argc, char** argv) {
  const std::string base = argc > 1 ? argv[1] : "examples/r1_zero/base";
  const std::int64_t steps = argc > 2 ? std::atoll(argv[2]) : 20;
  try {
    const auto tokenizer = toy::make_tokenizer();
    const auto codec = toy::make_codec(tokenizer);
    Policy policy = Policy::load(base);
    const auto train = r1::padded_multiplication_problems({}, r1::Split::train, 5000, 3);

    r1::GrpoTrainerConfig config;
    config.steps = steps;
    r1::SamplerConfig sampling;
    sampling.max_new_tokens = 160;
    sampling.eos_token_ids = {*tokenizer.eos_token_id()};
    sampling.decodable_vocab_size = tokenizer.vocab_size();
    r1::GrpoConfig objective = r1::GrpoConfig::dr_grpo(160);  // the normaliser: the generation budget
    r1::AdamWConfig adam{.lr = 1e-4f, .weight_decay = 0.0f};
    r1::GrpoTrainer<Recipe> trainer{config,  policy, r1::KvSampler{sampling, codec.decode}, Verifier{{1.0, 0.1}},
                                    r1::AdamW{adam}, Objective{objective}, codec, r1::ConstantSchedule{adam.lr}};
    for (std::int64_t s = 0; s < steps; ++s) {
      const auto report = trainer.step(train);
      std::printf("step %3lld  reward %.3f  digit credit %.3f  accuracy %.3f  mean length %.1f\n",
                  static_cast<long long>(s), report.metrics["reward"].get<double>(),
                  report.metrics.value("rewards/digit_credit", 0.0), report.metrics.value("accuracy", 0.0),
                  report.metrics["completions/mean_length"].get<double>());
    }
    return 0;
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "r1_custom_recipe: error: %s\n", e.what());
    return 1;
  }
}
