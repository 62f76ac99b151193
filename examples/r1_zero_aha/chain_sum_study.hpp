#pragma once
// The pieces of the R1-Zero "second act" example (r1_zero_aha.cpp): the chain-sum
// tokenizer and codec, the base model's shape, and the per-level held-out
// evaluation that reads every sampled completion with the self-check detector
// (r1/tasks/chain_sum_trace.hpp).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/transformer.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/tasks/chain_sum.hpp"
#include "r1/tasks/chain_sum_trace.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/text_codec.hpp"

namespace aha {

using Policy = r1::Transformer<r1::cpu>;
// Rule-based rewards only: accuracy of the extracted <answer> plus the R1 format. Nothing rewards checking or length.
using Reward = r1::Sum<r1::MathAnswer, r1::R1Format>;

inline std::vector<std::string> special_tokens() {
  std::vector<std::string> specials{"<pad>", "<eos>"};
  for (const auto tag : r1::kChainSumTags) specials.emplace_back(tag);
  return specials;
}

inline r1::CharTokenizer make_tokenizer() { return r1::CharTokenizer(special_tokens(), r1::kChainSumAlphabet); }

// Prompts are the problem text; decoding drops a final EOS. `tokenizer` must outlive the codec.
inline r1::TextCodec make_codec(const r1::CharTokenizer& tokenizer) {
  r1::TextCodec codec = r1::make_text_codec(tokenizer, [](const r1::Problem& problem) { return problem.prompt; });
  codec.decode = [decode = codec.decode, eos = *tokenizer.eos_token_id()](std::span<const r1::TokenId> ids) {
    if (!ids.empty() && ids.back() == eos) ids = ids.first(ids.size() - 1);
    return decode(ids);
  };
  return codec;
}

// A Llama-style decoder (SwiGLU, RoPE, tied embeddings).
inline r1::ModelConfig model_config(std::int64_t vocab, std::int64_t hidden, std::int64_t layers,
                                    std::int64_t max_positions) {
  r1::ModelConfig config;
  config.model_type = "llama";
  config.vocab_size = vocab;
  config.hidden_size = hidden;
  config.intermediate_size = hidden * 11 / 4;
  config.num_hidden_layers = layers;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 4;
  config.max_position_embeddings = max_positions;
  config.tie_word_embeddings = true;
  config.eos_token_id = 1;  // "<eos>"
  return config;
}

inline void write_tokenizer_spec(const std::string& directory) {
  std::ofstream(directory + "/r1_tokenizer.json")
      << r1::Json{{"type", "char"}, {"special_tokens", special_tokens()}, {"symbols", r1::kChainSumAlphabet}}.dump(2)
      << "\n";
}

inline std::vector<r1::SftExample> tokenized(const r1::CharTokenizer& tokenizer,
                                             const std::vector<r1::ChainSumExample>& corpus) {
  std::vector<r1::SftExample> examples;
  examples.reserve(corpus.size());
  for (const auto& example : corpus) {
    auto completion = tokenizer.encode(example.completion);
    completion.push_back(*tokenizer.eos_token_id());
    examples.push_back({tokenizer.encode(example.prompt), std::move(completion)});
  }
  return examples;
}

// What the sampled completions of one difficulty level did.
struct LevelStats {
  int terms = 0;
  std::size_t samples = 0;
  double accuracy = 0;          // share of samples whose answer is right (pass@1 over the k samples)
  double mean_length = 0;       // tokens
  double worked_share = 0;      // samples that work a chain (checked or not)
  double check_share = 0;       // samples with a complete self-check
  std::size_t checked = 0, checked_right = 0, unchecked = 0, unchecked_right = 0;
  std::size_t direct = 0, direct_right = 0, worked_only = 0, worked_only_right = 0;  // the unchecked, by style
  std::size_t first_chain_wrong = 0;  // samples whose first chain ends on a wrong sum
  std::size_t caught = 0;             // checked samples whose check caught a wrong first chain and corrected it

  double checked_accuracy() const { return checked ? double(checked_right) / double(checked) : -1.0; }
  double unchecked_accuracy() const { return unchecked ? double(unchecked_right) / double(unchecked) : -1.0; }
  double direct_accuracy() const { return direct ? double(direct_right) / double(direct) : -1.0; }
  double worked_only_accuracy() const { return worked_only ? double(worked_only_right) / double(worked_only) : -1.0; }

  r1::Json to_json() const {
    r1::Json json{{"terms", terms},
                  {"samples", samples},
                  {"accuracy", accuracy},
                  {"mean_length_tokens", mean_length},
                  {"worked_share", worked_share},
                  {"check_share", check_share},
                  {"checked", checked},
                  {"unchecked", unchecked},
                  {"first_chain_wrong", first_chain_wrong},
                  {"caught_and_corrected", caught}};
    json["checked_accuracy"] = checked ? r1::Json(checked_accuracy()) : r1::Json(nullptr);
    json["unchecked_accuracy"] = unchecked ? r1::Json(unchecked_accuracy()) : r1::Json(nullptr);
    json["direct"] = direct;
    json["direct_accuracy"] = direct ? r1::Json(direct_accuracy()) : r1::Json(nullptr);
    json["worked_unchecked"] = worked_only;
    json["worked_unchecked_accuracy"] = worked_only ? r1::Json(worked_only_accuracy()) : r1::Json(nullptr);
    return json;
  }
};

// A held-out set: the same number of problems at every level, concatenated level by level.
struct HeldOut {
  std::vector<int> levels;
  std::size_t per_level = 0;
  std::vector<r1::Problem> problems;
};

inline HeldOut held_out_set(const std::vector<int>& levels, std::size_t per_level, int term_digits, std::uint64_t seed) {
  HeldOut set{levels, per_level, {}};
  for (const int terms : levels) {
    const auto level = r1::chain_sum_problems({terms, term_digits, {}}, r1::Split::held_out, per_level, seed + terms);
    set.problems.insert(set.problems.end(), level.begin(), level.end());
  }
  return set;
}

struct Evaluation {
  std::vector<LevelStats> levels;
  std::vector<std::string> caught_examples;  // prompt + completion of each caught-and-corrected sample
  std::vector<std::string> checked_examples; // prompt + completion of each self-checked sample
};

// k samples per problem at the R1 paper's evaluation setting (T 0.6, top-p 0.95), read by the detector.
template <class Comm>
Evaluation evaluate(Policy& model, const HeldOut& set, const r1::TextCodec& codec, const Reward& reward, int samples,
                    int max_new_tokens, std::uint64_t seed, r1::TokenId eos, Comm& comm, float temperature = 0.6f) {
  r1::EvaluationConfig config;
  config.sampling.temperature = temperature;
  if (temperature >= 1.0f) config.sampling.top_p = 1.0f;  // sampling as in training
  config.samples_per_problem = samples;
  config.sampling.max_new_tokens = max_new_tokens;
  config.sampling.eos_token_ids = {eos};
  config.greedy = false;
  config.seed = seed;
  std::vector<r1::EvaluatedCompletion> details;
  (void)r1::evaluate(comm, model, set.problems, codec, reward, config, &details);
  Evaluation result;
  result.levels.resize(set.levels.size());
  for (std::size_t l = 0; l < set.levels.size(); ++l) result.levels[l].terms = set.levels[l];
  for (const auto& item : details) {
    const std::size_t level = item.problem / set.per_level;
    LevelStats& stats = result.levels[level];
    const r1::Problem& problem = set.problems[item.problem];
    const std::int64_t gold = std::stoll(problem.answer);
    const r1::ChainSumTrace trace = r1::trace_chain_sum(item.text);
    const bool right = r1::reward_is_correct(item.reward);
    ++stats.samples;
    stats.accuracy += right ? 1 : 0;
    stats.mean_length += static_cast<double>(item.length_tokens);
    stats.worked_share += trace.first ? 1 : 0;
    stats.first_chain_wrong += trace.first_chain_wrong(gold) ? 1 : 0;
    if (trace.self_checked()) {
      result.checked_examples.push_back(problem.prompt + item.text + (right ? "  [right]" : "  [wrong]"));
      ++stats.checked;
      stats.checked_right += right ? 1 : 0;
    } else {
      ++stats.unchecked;
      stats.unchecked_right += right ? 1 : 0;
      if (trace.first) {
        ++stats.worked_only;
        stats.worked_only_right += right ? 1 : 0;
      } else {
        ++stats.direct;
        stats.direct_right += right ? 1 : 0;
      }
    }
    if (trace.caught_and_corrected(gold)) {
      ++stats.caught;
      result.caught_examples.push_back(problem.prompt + item.text);
    }
  }
  for (auto& stats : result.levels) {
    const double n = stats.samples ? double(stats.samples) : 1.0;
    stats.accuracy /= n;
    stats.mean_length /= n;
    stats.worked_share /= n;
    stats.check_share = double(stats.checked) / n;
  }
  return result;
}

}  // namespace aha
