// r1 score: per-token log-probs of JSONL sequences under a model, one output line per input line, in order.
//   r1 score --model DIR [FILE]           {"ids": [...]} or {"text": "..."}  ->  {"logprobs": [...], "ppl": x}
// logprobs[t] = log p(ids[t+1] | ids[0..t]) of softmax(logits / --temperature); ppl = exp(-mean(logprobs)),
// null for a sequence of fewer than 2 tokens. "text" needs DIR/tokenizer.json and is encoded with the
// tokenizer's special tokens (BOS as its config says). Empty lines are skipped.
// --device cuda scores on the GPU (Transformer<cuda>: bf16 storage, fp32 accumulation; device.hpp).
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "device.hpp"
#include "r1/core/json.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/model/transformer.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

namespace {

struct ScoreOptions {
  std::string model_dir;
  std::string input;
  float temperature = 1.0f;
  long batch_tokens = 4096;
  std::string device = "cpu";
};

template <class Model>
class Scorer {
 public:
  explicit Scorer(const ScoreOptions& options) : options_(options), model_(Model::load(options.model_dir)) {}

  // The ids of one input record; `where` names the line.
  std::vector<r1::TokenId> ids_of(const r1::Json& record, const std::string& where) {
    std::vector<r1::TokenId> ids;
    if (record.is_object() && record.contains("ids")) {
      ids = r1::json_field<std::vector<r1::TokenId>>(record, "ids", where);
    } else {
      r1::require(record.is_object() && record.contains("text"), where, ": expected an object with 'ids' or 'text'");
      ids = tokenizer(where).encode(r1::json_field<std::string>(record, "text", where), /*add_special_tokens=*/true);
    }
    for (std::size_t t = 0; t < ids.size(); ++t)
      r1::require(ids[t] >= 0 && ids[t] < model_.vocab_size(), where, ": field 'ids': token ", t, " = ", ids[t],
                  " is outside the model's vocabulary [0, ", model_.vocab_size(), ")");
    // A padded embedding has rows no tokenizer id stands for (Qwen2.5: 151,936 rows, 151,665 ids): with a
    // tokenizer beside the model, its vocabulary is the true one (issue 22).
    if (const r1::BpeTokenizer* known = tokenizer_if_present()) {
      for (std::size_t t = 0; t < ids.size(); ++t)
        r1::require(ids[t] < known->vocab_size(), where, ": field 'ids': token ", t, " = ", ids[t],
                    " is outside the tokenizer's vocabulary [0, ", known->vocab_size(), ") (", tokenizer_path(),
                    "); the model's embedding has ", model_.vocab_size(), " rows");
    }
    return ids;
  }

  void add(std::vector<r1::TokenId> ids) {
    pending_.push_back(std::move(ids));
    pending_tokens_ += static_cast<long>(pending_.back().size());
    if (pending_tokens_ >= options_.batch_tokens) flush();
  }

  // Scores the pending sequences as one packed batch and prints their lines in order.
  void flush() {
    if (pending_.empty()) return;
    batch_.clear();
    for (const auto& ids : pending_) batch_.push_back(ids);
    model_.score(batch_, options_.temperature, scores_);
    for (std::size_t s = 0; s < pending_.size(); ++s) {
      const auto first = static_cast<std::size_t>(batch_.offsets[s]);
      std::vector<float> logprobs;
      double total = 0;
      for (std::int64_t t = 1; t < batch_.length(s); ++t) {
        logprobs.push_back(scores_.logprobs[first + static_cast<std::size_t>(t)]);
        total += logprobs.back();
      }
      r1::Json out;
      out["logprobs"] = logprobs;
      out["ppl"] = logprobs.empty() ? r1::Json(nullptr) : r1::Json(std::exp(-total / static_cast<double>(logprobs.size())));
      std::cout << out.dump() << '\n';
    }
    std::cout.flush();
    pending_.clear();
    pending_tokens_ = 0;
  }

 private:
  std::string tokenizer_path() const { return (std::filesystem::path(options_.model_dir) / "tokenizer.json").string(); }
  const r1::BpeTokenizer& tokenizer(const std::string& where) {
    if (!tokenizer_) {
      const auto path = tokenizer_path();
      r1::require(std::filesystem::exists(path), where, ": a 'text' record needs ", path, "; give 'ids' instead");
      tokenizer_.emplace(r1::BpeTokenizer::from_file(path));
    }
    return *tokenizer_;
  }
  // The tokenizer beside the model, loaded once, or nullptr when there is none.
  const r1::BpeTokenizer* tokenizer_if_present() {
    if (!tokenizer_ && !tokenizer_checked_ && std::filesystem::exists(tokenizer_path()))
      tokenizer_.emplace(r1::BpeTokenizer::from_file(tokenizer_path()));
    tokenizer_checked_ = true;
    return tokenizer_ ? &*tokenizer_ : nullptr;
  }

  ScoreOptions options_;
  Model model_;
  std::optional<r1::BpeTokenizer> tokenizer_;
  bool tokenizer_checked_ = false;
  std::vector<std::vector<r1::TokenId>> pending_;
  long pending_tokens_ = 0;
  r1::TokenBatch batch_;
  r1::TokenScores scores_;
};

void run_score(const ScoreOptions& options) {
  r1::require(std::isfinite(options.temperature) && options.temperature > 0.0f, "--temperature ", options.temperature,
              ": expected a finite positive number");
  r1::cli::with_model_type(options.device, "r1 score", [&]<class Model>(r1::cli::ModelType<Model>) {
    Scorer<Model> scorer(options);
    r1::cli::InputLines lines(options.input);
    std::string line;
    while (lines.next(line)) {
      if (line.empty()) continue;
      scorer.add(scorer.ids_of(r1::parse_json(line, lines.where()), lines.where()));
    }
    scorer.flush();
  });
}

const bool registered = r1::cli::register_command("score", [](CLI::App& app) {
  auto* command = app.add_subcommand("score", "Per-token log-probs and perplexity of JSONL {\"ids\"} or {\"text\"} lines");
  auto options = std::make_shared<ScoreOptions>();
  command->add_option("--model", options->model_dir, "HF model directory (config.json + safetensors)")->required();
  command->add_option("file", options->input, "JSONL input (default: stdin)");
  command->add_option("--temperature", options->temperature, "Divide the logits by this before the softmax")
      ->default_val(1.0f);
  command->add_option("--batch-tokens", options->batch_tokens, "Tokens scored together in one packed batch")
      ->default_val(4096)
      ->check(CLI::PositiveNumber);
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options] { run_score(*options); });
});

}  // namespace
