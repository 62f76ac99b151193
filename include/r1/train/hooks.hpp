#pragma once
// Hooks wrap the trainer's core step instead of adding flags to it: logging,
// evaluation, checkpoints and timing are each a Hook, and a user adds one
// without editing r1.
//
//   struct PrintReward : r1::TrainerHook<MyTrainer> {
//     void around_step(MyTrainer& trainer, r1::StepReport& report, const std::function<void()>& step) override {
//       step();                                   // run the inner step (and the hooks inside this one)
//       std::printf("%g\n", report.metrics.value("reward", 0.0));
//     }
//   };
//   trainer.add_hook(std::make_unique<PrintReward>());
//
// Hooks nest in the order added: the first added is the outermost.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "r1/core/json.hpp"

namespace r1 {

// What one step did: its index and the metrics it logged (TRL/verl names).
struct StepReport {
  std::int64_t step = 0;
  Json metrics = Json::object();
  bool skipped = false;  // a non-finite loss or gradient skipped the update
};

template <class TrainerT>
class TrainerHook {
 public:
  virtual ~TrainerHook() = default;
  virtual void on_fit_begin(TrainerT&) {}
  // Must call `step` exactly once (or not at all to skip the step).
  virtual void around_step(TrainerT&, StepReport&, const std::function<void()>& step) { step(); }
  virtual void on_fit_end(TrainerT&) {}
};

// Runs `core` inside every hook, the first hook outermost.
template <class TrainerT>
void run_wrapped(std::vector<std::unique_ptr<TrainerHook<TrainerT>>>& hooks, TrainerT& trainer, StepReport& report,
                 const std::function<void()>& core) {
  std::function<void(std::size_t)> level = [&](std::size_t depth) {
    if (depth == hooks.size()) {
      core();
      return;
    }
    hooks[depth]->around_step(trainer, report, [&] { level(depth + 1); });
  };
  level(0);
}

// A hook from lambdas, for the common "after every step" case.
template <class TrainerT>
class AfterStepHook : public TrainerHook<TrainerT> {
 public:
  explicit AfterStepHook(std::function<void(TrainerT&, StepReport&)> after) : after_(std::move(after)) {}
  void around_step(TrainerT& trainer, StepReport& report, const std::function<void()>& step) override {
    step();
    after_(trainer, report);
  }

 private:
  std::function<void(TrainerT&, StepReport&)> after_;
};

}  // namespace r1
