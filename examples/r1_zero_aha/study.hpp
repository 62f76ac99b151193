#pragma once
// The pieces of the R1-Zero "second act" example (r1_zero_aha.cpp) that do not
// depend on the task: the tokenizer and codec, the base model's shape, and the
// per-level held-out evaluation that reads every sampled completion with the
// task's self-check detector (study_tasks.hpp).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/transformer.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/tasks/split.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/train/evaluation.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/text_codec.hpp"

namespace aha {

using Policy = r1::Transformer<r1::cpu>;
// Rule-based rewards only: accuracy of the extracted <answer> (the task's verifier, named "accuracy") plus the
// R1 format. Nothing rewards checking or length.
using Reward = r1::Sum<r1::AnyVerifier, r1::R1Format>;

// What the pretraining corpus is made of; the fractions are the task's (a slip of a chain sum, a wrong guess of
// the signs of a plus-minus problem are its "errors").
struct CorpusOptions {
  std::vector<int> levels;
  int digits = 0;
  double worked_fraction = 0.5;        // examples worked out; the rest answer directly
  double error_fraction = 0.15;        // worked examples whose (first) attempt is wrong
  double checked_fraction = 0.05;      // of the worked examples, those that check
  double checked_error_fraction = -1;  // the error rate of the checked examples; < 0: error_fraction
  std::string revision = "nearest_sum";  // how a checked example revises a miss (subset_sum: nearest_sum, gap_move)
  std::string checked_miss_draw = "near";  // how a checked example's missed first choice is drawn (subset_sum: near, far)
  std::string drill = "compared";  // what the drills practise (quotient: product, compared)
};

struct CorpusExample {
  std::string prompt;
  std::string completion;
};

// What the task's self-check detector read in one completion.
struct TaskReading {
  bool worked = false;       // worked at least one attempt (checked or not)
  bool checked = false;      // a complete self-check: the work substituted back or redone, and a verdict
  bool first_wrong = false;  // the first worked attempt is wrong
  bool caught = false;       // the first attempt was wrong, the check said so, and the answer is right
  int revisions_written = 0;  // revisions written out after a failed check (subset_sum's gap_move); quotient:
                              // the check's lines (products compared with the dividend)
  int revisions_right = 0;    // of those, right (gap_move: in gap, move and the next attempt; quotient: product,
                              // divisor, dividend and relation)
};

// A task of graded difficulty, as the example uses it (study_tasks.hpp has them).
struct StudyTask {
  std::string name;        // "subset_sum", "quotient", "chain_sum"
  std::string level_unit;  // what a level counts: "numbers", "digits" (of the divisor), "terms"
  std::string_view alphabet;
  std::vector<std::string> tags;
  std::vector<int> default_levels;
  int default_digits = 0;
  int default_max_new_tokens = 0;
  std::int64_t default_curriculum_steps = 0;  // GRPO steps over which the levels open, easiest first (0: mixed)
  int default_group_size = 8;                 // GRPO completions per prompt (G)
  std::int64_t default_pretrain_steps = 2500;  // the base's SFT steps, 128 examples each
  std::size_t default_corpus = 150000;         // the base's pretraining examples
  std::function<std::vector<CorpusExample>(const CorpusOptions&, std::size_t count, std::uint64_t seed)> corpus;
  std::function<std::vector<r1::Problem>(int level, int digits, r1::Split, std::size_t count, std::uint64_t seed)>
      problems;
  std::function<TaskReading(const r1::Problem&, std::string_view completion)> read;
  std::optional<Reward> reward;  // set by every task (an optional only because Reward has no default)
};

inline std::vector<std::string> special_tokens(const StudyTask& task) {
  std::vector<std::string> specials{"<pad>", "<eos>"};
  specials.insert(specials.end(), task.tags.begin(), task.tags.end());
  return specials;
}

inline r1::CharTokenizer make_tokenizer(const StudyTask& task) {
  return r1::CharTokenizer(special_tokens(task), task.alphabet);
}

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

inline void write_tokenizer_spec(const StudyTask& task, const std::string& directory) {
  std::ofstream(directory + "/r1_tokenizer.json")
      << r1::Json{{"type", "char"}, {"special_tokens", special_tokens(task)}, {"symbols", task.alphabet}}.dump(2)
      << "\n";
}

inline std::vector<r1::SftExample> tokenized(const r1::CharTokenizer& tokenizer,
                                             const std::vector<CorpusExample>& corpus) {
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
  int level = 0;
  std::size_t samples = 0;
  double accuracy = 0;          // share of samples whose answer is right (pass@1 over the k samples)
  double mean_length = 0;       // tokens
  double worked_share = 0;      // samples that work a chain (checked or not)
  double check_share = 0;       // samples with a complete self-check
  std::size_t checked = 0, checked_right = 0, unchecked = 0, unchecked_right = 0;
  std::size_t direct = 0, direct_right = 0, worked_only = 0, worked_only_right = 0;  // the unchecked, by style
  std::size_t first_wrong = 0;  // samples whose first worked attempt is wrong
  std::size_t checked_first_right = 0;  // checked samples whose first attempt was already right
  // Checked against unchecked on the same problems: over the problems with samples of both kinds, the mean of
  // (accuracy of its checked samples - accuracy of its unchecked ones). Free of which problems the policy
  // chooses to check (pooled accuracies are not: a policy that checks where it is unsure pools harder problems).
  std::size_t paired_problems = 0;
  double paired_check_gain = 0;
  std::size_t caught = 0;       // checked samples whose check caught a wrong first attempt and corrected it
  std::size_t revisions_written = 0, revisions_right = 0;  // written revisions (gap_move), and the right ones

  double checked_accuracy() const { return checked ? double(checked_right) / double(checked) : -1.0; }
  // What the checked samples' first attempts alone would have scored: the check's own gain is the difference.
  double checked_first_attempt_accuracy() const {
    return checked ? double(checked_first_right) / double(checked) : -1.0;
  }
  double unchecked_accuracy() const { return unchecked ? double(unchecked_right) / double(unchecked) : -1.0; }
  double direct_accuracy() const { return direct ? double(direct_right) / double(direct) : -1.0; }
  double worked_only_accuracy() const { return worked_only ? double(worked_only_right) / double(worked_only) : -1.0; }

  r1::Json to_json() const {
    r1::Json json{{"level", level},
                  {"samples", samples},
                  {"accuracy", accuracy},
                  {"mean_length_tokens", mean_length},
                  {"worked_share", worked_share},
                  {"check_share", check_share},
                  {"checked", checked},
                  {"unchecked", unchecked},
                  {"first_attempt_wrong", first_wrong},
                  {"caught_and_corrected", caught},
                  {"revisions_written", revisions_written},
                  {"revisions_right", revisions_right}};
    json["checked_accuracy"] = checked ? r1::Json(checked_accuracy()) : r1::Json(nullptr);
    json["paired_problems"] = paired_problems;
    json["paired_check_gain"] = paired_problems ? r1::Json(paired_check_gain) : r1::Json(nullptr);
    json["checked_first_attempt_accuracy"] = checked ? r1::Json(checked_first_attempt_accuracy()) : r1::Json(nullptr);
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

inline HeldOut held_out_set(const StudyTask& task, const std::vector<int>& levels, std::size_t per_level, int digits,
                            std::uint64_t seed) {
  HeldOut set{levels, per_level, {}};
  for (const int level : levels) {
    const auto problems = task.problems(level, digits, r1::Split::held_out, per_level, seed + static_cast<std::uint64_t>(level));
    set.problems.insert(set.problems.end(), problems.begin(), problems.end());
  }
  return set;
}

struct Evaluation {
  std::vector<LevelStats> levels;
  std::vector<int> right_per_problem;        // right samples of each problem of the set, in its order
  std::vector<std::string> caught_examples;  // prompt + completion of each caught-and-corrected sample
  std::vector<std::string> checked_examples; // prompt + completion of each self-checked sample
};

// k samples per problem at the R1 paper's evaluation setting (T 0.6, top-p 0.95), read by the detector.
// `banned` ids are never drawn (to forbid a behaviour's opening tag).
template <class Comm>
Evaluation evaluate(const StudyTask& task, Policy& model, const HeldOut& set, const r1::TextCodec& codec, int samples,
                    int max_new_tokens, std::uint64_t seed, r1::TokenId eos, Comm& comm, float temperature = 0.6f,
                    std::vector<r1::TokenId> banned = {}) {
  r1::EvaluationConfig config;
  config.sampling.banned_token_ids = std::move(banned);
  config.sampling.temperature = temperature;
  if (temperature >= 1.0f) config.sampling.top_p = 1.0f;  // sampling as in training
  config.samples_per_problem = samples;
  config.sampling.max_new_tokens = max_new_tokens;
  config.sampling.eos_token_ids = {eos};
  config.greedy = false;
  config.seed = seed;
  std::vector<r1::EvaluatedCompletion> details;
  (void)r1::evaluate(comm, model, set.problems, codec, *task.reward, config, &details);
  Evaluation result;
  result.levels.resize(set.levels.size());
  result.right_per_problem.assign(set.problems.size(), 0);
  for (std::size_t l = 0; l < set.levels.size(); ++l) result.levels[l].level = set.levels[l];
  struct Kinds {
    int checked = 0, checked_right = 0, unchecked = 0, unchecked_right = 0;
  };
  std::vector<Kinds> by_problem(set.problems.size());
  for (const auto& item : details) {
    const std::size_t level = item.problem / set.per_level;
    LevelStats& stats = result.levels[level];
    const r1::Problem& problem = set.problems[item.problem];
    const TaskReading reading = task.read(problem, item.text);
    const bool right = r1::reward_is_correct(item.reward);
    ++stats.samples;
    stats.accuracy += right ? 1 : 0;
    result.right_per_problem[item.problem] += right ? 1 : 0;
    stats.mean_length += static_cast<double>(item.length_tokens);
    stats.worked_share += reading.worked ? 1 : 0;
    stats.first_wrong += reading.first_wrong ? 1 : 0;
    if (reading.checked) {
      result.checked_examples.push_back(problem.prompt + item.text + (right ? "  [right]" : "  [wrong]"));
      ++stats.checked;
      stats.checked_right += right ? 1 : 0;
      stats.checked_first_right += reading.first_wrong ? 0 : 1;
      ++by_problem[item.problem].checked;
      by_problem[item.problem].checked_right += right ? 1 : 0;
    } else {
      ++stats.unchecked;
      stats.unchecked_right += right ? 1 : 0;
      ++by_problem[item.problem].unchecked;
      by_problem[item.problem].unchecked_right += right ? 1 : 0;
      if (reading.worked) {
        ++stats.worked_only;
        stats.worked_only_right += right ? 1 : 0;
      } else {
        ++stats.direct;
        stats.direct_right += right ? 1 : 0;
      }
    }
    stats.revisions_written += static_cast<std::size_t>(reading.revisions_written);
    stats.revisions_right += static_cast<std::size_t>(reading.revisions_right);
    if (reading.caught) {
      ++stats.caught;
      result.caught_examples.push_back(problem.prompt + item.text);
    }
  }
  for (std::size_t p = 0; p < by_problem.size(); ++p) {
    const Kinds& kinds = by_problem[p];
    if (kinds.checked == 0 || kinds.unchecked == 0) continue;
    LevelStats& stats = result.levels[p / set.per_level];
    ++stats.paired_problems;
    stats.paired_check_gain += double(kinds.checked_right) / kinds.checked - double(kinds.unchecked_right) / kinds.unchecked;
  }
  for (auto& stats : result.levels) {
    if (stats.paired_problems) stats.paired_check_gain /= double(stats.paired_problems);
    const double n = stats.samples ? double(stats.samples) : 1.0;
    stats.accuracy /= n;
    stats.mean_length /= n;
    stats.worked_share /= n;
    stats.check_share = double(stats.checked) / n;
  }
  return result;
}

using r1::PairedDifference;

// Per level of `set`, pass@1 under `a` minus under `b` on the same problems (r1::paired_pass_at_1_difference).
inline std::vector<PairedDifference> paired_by_level(const Evaluation& a, const Evaluation& b, const HeldOut& set,
                                                     int samples) {
  r1::require(a.right_per_problem.size() == set.problems.size() && b.right_per_problem.size() == set.problems.size(),
              "paired_by_level: both evaluations must be of the ", set.problems.size(), " problems of the set");
  const std::span<const int> all_a(a.right_per_problem), all_b(b.right_per_problem);
  std::vector<PairedDifference> by_level;
  for (std::size_t l = 0; l < set.levels.size(); ++l) {
    by_level.push_back(r1::paired_pass_at_1_difference(all_a.subspan(l * set.per_level, set.per_level),
                                                       all_b.subspan(l * set.per_level, set.per_level), samples,
                                                       samples));
  }
  return by_level;
}

}  // namespace aha
