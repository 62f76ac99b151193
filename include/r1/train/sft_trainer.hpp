#pragma once
// Supervised fine-tuning: next-token loss on completion tokens only (the
// prompt is context, not a target). Used for the toy pretraining, cold start
// (DeepSeek-R1 §2.3.1) and distillation (§2.4): the student is trained by SFT
// on the teacher's verified completions.
//
//   r1::SftTrainer trainer{config, model, r1::AdamW{...}, schedule};
//   trainer.fit(examples);   // examples: {prompt ids, completion ids}
//
// Loss (per optimiser step over a batch B): L = -(1/N) sum_{s in B} sum_{t in completion(s)} log p(x_t | x_<t),
// N = completion tokens in B (a global token mean, so micro-batching does not change it).
//
// Data parallel: with a Communicator of N ranks (r1/dist/), every rank walks the same
// data order, takes its contiguous share of each batch (r1/dist/shard.hpp), and the
// gradients are summed over the ranks before clipping (N is the whole batch's count on
// every rank, so the sum is the whole batch's gradient); every rank then applies the
// same update. Hooks that write files belong on rank 0 only: the caller adds them there.
#include <algorithm>
#include <concepts>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/timer.hpp"
#include "r1/dist/gradient_sync.hpp"
#include "r1/dist/shard.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/model_concept.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/optim/optimizer_concept.hpp"
#include "r1/train/data_order.hpp"
#include "r1/train/hooks.hpp"

namespace r1 {

struct SftExample {
  std::vector<TokenId> prompt;      // context, not trained on
  std::vector<TokenId> completion;  // targets (include the EOS token to teach stopping)
};

struct SftConfig {
  std::int64_t steps = 1000;
  int batch_size = 64;              // sequences per optimiser step
  int micro_batch_sequences = 0;    // gradient accumulation chunk; 0 = whole batch
  double max_grad_norm = 1.0;       // 0 = off
  bool shuffle = true;
  std::uint64_t seed = 0;

  void validate() const {
    require(steps >= 0, "sft config: 'steps' must be >= 0");
    require(batch_size > 0, "sft config: 'batch_size' must be > 0");
    require(micro_batch_sequences >= 0, "sft config: 'micro_batch_sequences' must be >= 0");
    require(max_grad_norm >= 0, "sft config: 'max_grad_norm' must be >= 0");
  }
  static SftConfig from_json(const Json& json, std::string_view where = "sft config") {
    require_known_fields(json, {"steps", "batch_size", "micro_batch_sequences", "max_grad_norm", "shuffle", "seed"},
                         where);
    SftConfig c;
    c.steps = json_field_or(json, "steps", c.steps, where);
    c.batch_size = json_field_or(json, "batch_size", c.batch_size, where);
    c.micro_batch_sequences = json_field_or(json, "micro_batch_sequences", c.micro_batch_sequences, where);
    c.max_grad_norm = json_field_or(json, "max_grad_norm", c.max_grad_norm, where);
    c.shuffle = json_field_or(json, "shuffle", c.shuffle, where);
    c.seed = json_field_or(json, "seed", c.seed, where);
    c.validate();
    return c;
  }
  Json to_json() const {
    return Json{{"steps", steps}, {"batch_size", batch_size}, {"micro_batch_sequences", micro_batch_sequences},
                {"max_grad_norm", max_grad_norm}, {"shuffle", shuffle}, {"seed", seed}};
  }
};

template <class ModelT, class OptimizerT, class Comm = SingleProcess>
  requires Model<ModelT> && Optimizer<OptimizerT> && Communicator<Comm>
class SftTrainer {
 public:
  using Hook = TrainerHook<SftTrainer>;
  using Schedule = std::function<float(std::int64_t optimizer_step)>;

  SftTrainer(SftConfig config, ModelT& model, OptimizerT optimizer, Schedule learning_rate)
    requires std::same_as<Comm, SingleProcess>
      : SftTrainer(config, model, std::move(optimizer), std::move(learning_rate), nullptr) {}
  // Data parallel over `comm`'s ranks; `comm` outlives the trainer.
  SftTrainer(SftConfig config, ModelT& model, OptimizerT optimizer, Schedule learning_rate, Comm& comm)
      : SftTrainer(config, model, std::move(optimizer), std::move(learning_rate), &comm) {}

  void add_hook(std::unique_ptr<Hook> hook) { hooks_.push_back(std::move(hook)); }

  void fit(std::span<const SftExample> examples) {
    for (auto& hook : hooks_) hook->on_fit_begin(*this);
    while (step_ < config_.steps) step(examples);
    for (auto& hook : hooks_) hook->on_fit_end(*this);
  }

  StepReport step(std::span<const SftExample> examples) {
    require(!examples.empty(), "SftTrainer: no examples");
    if (!order_ || order_->size() != examples.size()) order_.emplace(examples.size(), config_.seed, config_.shuffle);
    StepReport report;
    report.step = step_;
    run_wrapped<SftTrainer>(hooks_, *this, report, [&] {
      core_step(examples, report);
      ++step_;  // inside the hooks, so a hook after step() sees the finished count
    });
    return report;
  }

  // Mean next-token loss over the completion tokens of `examples` (no update).
  double evaluate_loss(std::span<const SftExample> examples, int chunk = 64) {
    double total = 0, tokens = 0;
    for (std::size_t begin = 0; begin < examples.size(); begin += static_cast<std::size_t>(chunk)) {
      const std::size_t end = std::min(examples.size(), begin + static_cast<std::size_t>(chunk));
      build_batch(examples, begin, end, /*from_order=*/false);
      model_.score(batch_, 1.0f, scores_);
      for (std::size_t s = 0; s < batch_.size(); ++s)
        for (auto t = batch_.offsets[s] + batch_.first_scored(s); t < batch_.offsets[s + 1]; ++t) {
          total -= scores_.logprobs[static_cast<std::size_t>(t)];
          ++tokens;
        }
    }
    return tokens > 0 ? total / tokens : 0.0;
  }

  std::int64_t current_step() const { return step_; }
  std::int64_t skipped_updates() const { return skipped_updates_; }
  void restore_counters(std::int64_t step, std::int64_t skipped) {
    step_ = step;
    skipped_updates_ = skipped;
  }
  const SftConfig& config() const { return config_; }
  Comm& communicator() { return comm_ != nullptr ? *comm_ : single_process(); }
  ModelT& model() { return model_; }
  OptimizerT& optimizer() { return optimizer_; }

 private:
  SftTrainer(SftConfig config, ModelT& model, OptimizerT optimizer, Schedule learning_rate, Comm* comm)
      : config_(config),
        model_(model),
        optimizer_(std::move(optimizer)),
        learning_rate_(std::move(learning_rate)),
        comm_(comm) {
    config_.validate();
    require(static_cast<bool>(learning_rate_), "SftTrainer: a learning-rate schedule is required");
  }
  Comm& single_process() {
    if constexpr (std::same_as<Comm, SingleProcess>) return single_process_;
    else fail("SftTrainer: no communicator");
  }

  void build_batch(std::span<const SftExample> examples, std::size_t begin, std::size_t end, bool from_order) {
    batch_.clear();
    for (std::size_t i = begin; i < end; ++i) {
      const SftExample& example = from_order ? examples[order_->at(i)] : examples[i];
      sequence_.assign(example.prompt.begin(), example.prompt.end());
      sequence_.insert(sequence_.end(), example.completion.begin(), example.completion.end());
      // Position 0 has no prediction; an empty prompt trains from the second token.
      batch_.push_back(sequence_, std::max<std::int32_t>(1, static_cast<std::int32_t>(example.prompt.size())));
    }
  }

  void core_step(std::span<const SftExample> examples, StepReport& report) {
    Stopwatch timer;
    const std::uint64_t first = static_cast<std::uint64_t>(step_) * static_cast<std::uint64_t>(config_.batch_size);
    const std::size_t batch_size = static_cast<std::size_t>(config_.batch_size);
    const std::size_t chunk = config_.micro_batch_sequences > 0 ? static_cast<std::size_t>(config_.micro_batch_sequences)
                                                                : batch_size;
    // The normaliser over the whole batch: completion tokens of every sequence in it.
    double batch_tokens = 0;
    for (std::size_t i = 0; i < batch_size; ++i) {
      const SftExample& example = examples[order_->at(first + i)];
      const std::size_t length = example.prompt.size() + example.completion.size();
      const std::size_t from = std::max<std::size_t>(1, example.prompt.size());
      batch_tokens += length > from ? static_cast<double>(length - from) : 0.0;
    }
    // This rank's share of the batch; the whole batch on one rank.
    Comm& comm = communicator();
    const ShardRange share = shard_of(static_cast<std::int64_t>(batch_size), comm.rank(), comm.size());
    model_.zero_grad();
    double loss = 0;
    for (auto micro = static_cast<std::size_t>(share.begin); micro < static_cast<std::size_t>(share.end);
         micro += chunk) {
      const std::size_t end = std::min(static_cast<std::size_t>(share.end), micro + chunk);
      build_batch(examples, first + micro, first + end, /*from_order=*/true);
      model_.score(batch_, 1.0f, scores_);
      d_logprobs_.assign(batch_.total_tokens(), 0.0f);
      for (std::size_t s = 0; s < batch_.size(); ++s)
        for (auto t = batch_.offsets[s] + batch_.first_scored(s); t < batch_.offsets[s + 1]; ++t) {
          loss -= scores_.logprobs[static_cast<std::size_t>(t)] / batch_tokens;
          d_logprobs_[static_cast<std::size_t>(t)] = static_cast<float>(-1.0 / batch_tokens);
        }
      model_.backward(batch_, d_logprobs_, {});
    }
    if (comm.size() > 1) {
      all_reduce_gradients(comm, model_.parameters());
      loss = all_reduce_sum(comm, loss);
    }
    const auto parameters = model_.parameters();
    const double grad_norm = clip_grad_norm(parameters, config_.max_grad_norm);
    const bool finite = std::isfinite(loss) && std::isfinite(grad_norm);
    if (finite) {
      optimizer_.set_learning_rate(learning_rate_(step_));
      optimizer_.step(parameters);
    } else {
      ++skipped_updates_;
      model_.zero_grad();
    }
    const double seconds = timer.elapsed_seconds();
    report.skipped = !finite;
    report.metrics = Json{{"step", step_},
                          {"loss", loss},
                          {"grad_norm", grad_norm},
                          {"lr", optimizer_.learning_rate()},
                          {"tokens", batch_tokens},
                          {"tokens_per_second", seconds > 0 ? batch_tokens / seconds : 0.0},
                          {"skipped_updates", skipped_updates_},
                          {"step_time", seconds}};
  }

  SftConfig config_;
  ModelT& model_;
  OptimizerT optimizer_;
  Schedule learning_rate_;
  Comm* comm_ = nullptr;
  [[no_unique_address]] std::conditional_t<std::same_as<Comm, SingleProcess>, SingleProcess, std::monostate>
      single_process_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  std::optional<DataOrder> order_;
  std::int64_t step_ = 0, skipped_updates_ = 0;
  TokenBatch batch_;
  TokenScores scores_;
  std::vector<TokenId> sequence_;
  std::vector<float> d_logprobs_;
};

}  // namespace r1
