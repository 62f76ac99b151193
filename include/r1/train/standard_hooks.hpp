#pragma once
// The hooks most runs want, each wrapping the trainer's step (hooks.hpp):
//   MetricsHook     one JSONL line per step (metrics_log.hpp) and a live progress line
//   CheckpointHook  an atomic checkpoint every N steps (checkpoint.hpp)
//   EvaluationHook  a user evaluation every N steps, its numbers added to the step's metrics
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "r1/core/json.hpp"
#include "r1/train/checkpoint.hpp"
#include "r1/train/hooks.hpp"
#include "r1/train/metrics_log.hpp"

namespace r1 {

template <class TrainerT>
class MetricsHook : public TrainerHook<TrainerT> {
 public:
  // path: metrics JSONL ("" = none); progress: where the live line goes (nullptr = none).
  MetricsHook(const std::string& path, std::FILE* progress, std::int64_t total_steps,
              JsonlWriter::Mode mode = JsonlWriter::Mode::truncate) {
    if (!path.empty()) log_ = std::make_unique<MetricsLog>(path, mode);
    if (progress != nullptr) progress_ = std::make_unique<ProgressPrinter>(progress, total_steps);
  }
  void around_step(TrainerT&, StepReport& report, const std::function<void()>& step) override {
    step();
    const StepMetrics metrics = step_metrics_from_json(report.metrics, "step metrics");
    if (log_) log_->write(metrics);
    if (progress_) progress_->update(metrics);
  }
  void on_fit_end(TrainerT&) override {
    if (progress_) progress_->finish();
  }

 private:
  std::unique_ptr<MetricsLog> log_;
  std::unique_ptr<ProgressPrinter> progress_;
};

template <class TrainerT>
class CheckpointHook : public TrainerHook<TrainerT> {
 public:
  CheckpointHook(std::string path, std::int64_t every_steps) : path_(std::move(path)), every_(every_steps) {}
  void around_step(TrainerT& trainer, StepReport& report, const std::function<void()>& step) override {
    step();  // the trainer has counted this step: a resumed run starts at the next one
    if (every_ > 0 && (report.step + 1) % every_ == 0) save_trainer_checkpoint(path_, trainer);
  }

 private:
  std::string path_;
  std::int64_t every_;
};

template <class TrainerT>
class EvaluationHook : public TrainerHook<TrainerT> {
 public:
  // `evaluate` returns a JSON object of numbers; each is logged as "eval/<name>".
  EvaluationHook(std::int64_t every_steps, std::function<Json(TrainerT&)> evaluate)
      : every_(every_steps), evaluate_(std::move(evaluate)) {}
  void around_step(TrainerT& trainer, StepReport& report, const std::function<void()>& step) override {
    if (every_ > 0 && report.step % every_ == 0) {
      const Json results = evaluate_(trainer);
      for (const auto& [name, value] : results.items())
        if (value.is_number()) report.metrics["eval/" + name] = value;
    }
    step();
  }

 private:
  std::int64_t every_;
  std::function<Json(TrainerT&)> evaluate_;
};

}  // namespace r1
