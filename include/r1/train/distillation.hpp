#pragma once
// Distillation (DeepSeek-R1 §2.4): the teacher generates, the verifier keeps the
// correct completions (rejection sampling), and the student is trained by SFT
// on them. No RL on the student.
//
//   auto result = r1::distill(teacher, student, problems, codec, verifier, sampling, sft, r1::AdamW{adam}, schedule);
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "r1/model/model_concept.hpp"
#include "r1/optim/optimizer_concept.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/train/rejection_sampling.hpp"
#include "r1/train/sft_trainer.hpp"

namespace r1 {

struct DistillationResult {
  RejectionSamplingStats traces;
  std::size_t examples = 0;
  double final_loss = 0;  // the student's mean loss on the traces after training
};

template <class Teacher, class Student, class Verifier, class OptimizerT>
  requires Model<Teacher> && Model<Student> && RewardVerifier<Verifier> && Optimizer<OptimizerT>
DistillationResult distill(Teacher& teacher, Student& student, std::span<const Problem> problems,
                           const TextCodec& codec, const Verifier& verifier, const RejectionSamplingConfig& sampling,
                           const SftConfig& sft, OptimizerT optimizer,
                           std::function<float(std::int64_t)> learning_rate,
                           std::vector<std::unique_ptr<TrainerHook<SftTrainer<Student, OptimizerT>>>> hooks = {}) {
  DistillationResult result;
  const auto kept = rejection_sample(teacher, problems, codec, verifier, sampling, &result.traces);
  require(!kept.empty(), "distill: the teacher produced no verified completion for ", problems.size(),
          " problems; nothing to train the student on");
  const auto examples = to_sft_examples(kept);
  result.examples = examples.size();
  SftTrainer<Student, OptimizerT> trainer{sft, student, std::move(optimizer), std::move(learning_rate)};
  for (auto& hook : hooks) trainer.add_hook(std::move(hook));
  trainer.fit(examples);
  result.final_loss = trainer.evaluate_loss(examples);
  return result;
}

}  // namespace r1
