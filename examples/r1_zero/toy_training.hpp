#pragma once
// The training stages the toy examples share (r1_zero, distill): a base
// pretrained by SFT on the multiplication corpus, then R1-Zero's GRPO with
// rule-based rewards. One place, so the distillation example's "RL alone"
// student is trained exactly as the R1-Zero policy is.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "r1/dist/single_process.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/standard_hooks.hpp"
#include "r1/train/text_codec.hpp"

namespace toy {

using Policy = r1::Transformer<r1::cpu>;
// Rule-based rewards only: accuracy of the extracted <answer> plus the R1 format.
using Reward = r1::Sum<r1::MathAnswer, r1::R1Format>;
// The recipe for a policy type and the optimizer that steps it (r1::AdamW on the host; gpu::CudaAdamW
// for Transformer<cuda>).
template <class PolicyT = Policy, class OptimizerT = r1::AdamW>
using RecipeFor = r1::Grpo<PolicyT, r1::KvSampler, Reward, OptimizerT, r1::GrpoObjective>;
using Recipe = RecipeFor<>;

// SFT of `model` on `examples`: AdamW (weight decay 0.01), cosine from `lr` to
// lr/10 after 50 warm-up steps. Progress goes to stderr, metrics to
// `metrics_path` unless it is empty. Over N ranks (`comm`), rank 0 alone reports.
template <class OptimizerT = r1::AdamW, class PolicyT, class Comm>
void pretrain(PolicyT& model, std::span<const r1::SftExample> examples, std::int64_t steps, int batch_size, float lr,
              std::uint64_t seed, const std::string& metrics_path, Comm& comm) {
  r1::SftConfig sft;
  sft.steps = steps;
  sft.batch_size = batch_size;
  sft.seed = seed;
  r1::AdamWConfig adam;
  adam.lr = lr;
  adam.weight_decay = 0.01f;
  using Sft = r1::SftTrainer<PolicyT, OptimizerT, Comm>;
  Sft pretrainer{sft, model, OptimizerT{adam}, r1::CosineSchedule{adam.lr, 50, steps, adam.lr * 0.1f}, comm};
  if (comm.rank() == 0) pretrainer.add_hook(std::make_unique<r1::MetricsHook<Sft>>(metrics_path, stderr, steps));
  pretrainer.fit(examples);
}
inline void pretrain(Policy& model, std::span<const r1::SftExample> examples, std::int64_t steps, int batch_size,
                     float lr, std::uint64_t seed, const std::string& metrics_path) {
  r1::SingleProcess one;
  pretrain(model, examples, steps, batch_size, lr, seed, metrics_path, one);
}

// R1-Zero's GRPO on `problems` for grpo.steps steps: DeepSeekMath's objective
// (z-scored group rewards, sample std) without a KL term, as R1-Zero-like
// recipes since DAPO, with a token-mean loss; rollouts of up to 160 tokens at
// grpo.temperature; AdamW without weight decay, the learning rate cosine from
// `lr` to 0. Progress goes to stderr, metrics to `metrics_path` (rank 0 alone, over N ranks of `comm`).
template <class OptimizerT = r1::AdamW, class PolicyT, class Comm>
void train_grpo(PolicyT& model, std::span<const r1::Problem> problems, const r1::TextCodec& codec,
                const Reward& reward, const r1::GrpoTrainerConfig& grpo, float lr, r1::TokenId eos,
                const std::string& metrics_path, Comm& comm) {
  r1::GrpoConfig objective;
  objective.beta = 0.0;
  objective.aggregation = r1::Aggregation::token_mean;
  r1::SamplerConfig sampling;
  sampling.temperature = grpo.temperature;
  sampling.max_new_tokens = 160;
  sampling.eos_token_ids = {eos};
  sampling.decodable_vocab_size = codec.vocab_size;  // the tokenizer's ids only (0: the model's)
  r1::AdamWConfig adam;
  adam.lr = lr;
  adam.weight_decay = 0.0f;
  using Trainer = r1::GrpoTrainer<RecipeFor<PolicyT, OptimizerT>, Comm>;
  Trainer trainer{grpo,
                  model,
                  r1::KvSampler{sampling, codec.decode},
                  reward,
                  OptimizerT{adam},
                  r1::GrpoObjective{objective},
                  codec,
                  r1::CosineSchedule{adam.lr, 0, grpo.steps, 0.0f},
                  comm};
  if (comm.rank() == 0) trainer.add_hook(std::make_unique<r1::MetricsHook<Trainer>>(metrics_path, stderr, grpo.steps));
  trainer.fit(problems);
}
inline void train_grpo(Policy& model, std::span<const r1::Problem> problems, const r1::TextCodec& codec,
                       const Reward& reward, const r1::GrpoTrainerConfig& grpo, float lr, r1::TokenId eos,
                       const std::string& metrics_path) {
  r1::SingleProcess one;
  train_grpo(model, problems, codec, reward, grpo, lr, eos, metrics_path, one);
}

}  // namespace toy
