#pragma once
// The toy task of r1's examples, shared by r1_zero, distill and custom_recipe:
// padded multiplication ("043*75=" -> "03225") with a character tokenizer whose
// tags are single tokens, the base model's shape, and the held-out evaluation.
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/transformer.hpp"
#include "r1/tasks/padded_multiplication.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/text_codec.hpp"

namespace toy {

inline constexpr const char* kSpecialTokens[] = {"<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"};

inline r1::CharTokenizer make_tokenizer() {
  return r1::CharTokenizer(std::vector<std::string>(std::begin(kSpecialTokens), std::end(kSpecialTokens)),
                           r1::kPaddedMultiplicationAlphabet);
}

// Prompts are the problem text; decoding drops a final EOS (it is not text). `tokenizer` must outlive the codec.
inline r1::TextCodec make_codec(const r1::CharTokenizer& tokenizer) {
  r1::TextCodec codec;
  const r1::TokenId eos = *tokenizer.eos_token_id();
  codec.render_prompt = [&tokenizer](const r1::Problem& problem) { return tokenizer.encode(problem.prompt); };
  codec.vocab_size = tokenizer.vocab_size();
  codec.decode = [&tokenizer, eos, vocab = codec.vocab_size](std::span<const r1::TokenId> ids) {
    if (!ids.empty() && ids.back() == eos) ids = ids.first(ids.size() - 1);
    return r1::decode_replacing_undecodable(ids, vocab,
                                            [&tokenizer](std::span<const r1::TokenId> run) { return tokenizer.decode(run); });
  };
  return codec;
}

// A Llama-style decoder; the default is the 0.6 M-parameter base of the R1-Zero example.
inline r1::ModelConfig model_config(std::int64_t vocab, std::int64_t hidden = 128, std::int64_t layers = 3) {
  r1::ModelConfig config;
  config.model_type = "llama";
  config.vocab_size = vocab;
  config.hidden_size = hidden;
  config.intermediate_size = hidden * 11 / 4;  // SwiGLU ~ 2.75 x d: the parameter count of a 4 x GELU MLP
  config.num_hidden_layers = layers;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 4;
  config.max_position_embeddings = 192;
  config.tie_word_embeddings = true;
  config.eos_token_id = 1;  // "<eos>"
  return config;
}

// The tokenizer's spec beside a saved model, so `r1 eval`/`r1 generate` can read the folder.
inline void write_tokenizer_spec(const std::string& directory) {
  std::vector<std::string> specials(std::begin(kSpecialTokens), std::end(kSpecialTokens));
  std::ofstream(directory + "/r1_tokenizer.json")
      << r1::Json{{"type", "char"}, {"special_tokens", specials}, {"symbols", r1::kPaddedMultiplicationAlphabet}}.dump(2)
      << "\n";
}

// The pretraining corpus as SFT examples: most answer directly, `scratchpad_fraction` work it out.
inline std::vector<r1::SftExample> pretraining_examples(const r1::CharTokenizer& tokenizer,
                                                        const r1::PaddedMultiplicationConfig& task,
                                                        double scratchpad_fraction, std::size_t count,
                                                        std::uint64_t seed) {
  r1::MultiplicationCorpusConfig corpus_config;
  corpus_config.task = task;
  corpus_config.scratchpad_fraction = scratchpad_fraction;
  std::vector<r1::SftExample> examples;
  for (const auto& example : r1::multiplication_pretraining_corpus(corpus_config, count, seed)) {
    auto completion = tokenizer.encode(example.completion);
    completion.push_back(*tokenizer.eos_token_id());
    examples.push_back({tokenizer.encode(example.prompt), std::move(completion)});
  }
  return examples;
}

// A completion uses the scratchpad when something stands between <think> and </think>.
inline bool uses_scratchpad(std::string_view text) {
  const auto open = text.find("<think>");
  const auto close = text.find("</think>");
  return open != std::string_view::npos && close != std::string_view::npos && close > open + 7;
}

struct Stage {
  r1::EvaluationReport report;
  double scratchpad_share = 0;  // sampled completions whose <think> is not empty

  r1::Json to_json() const {
    r1::Json json = report.to_json();
    json["scratchpad_share"] = scratchpad_share;
    return json;
  }
};

// The paper's evaluation (k samples at T 0.6 / top-p 0.95, cons@k, greedy) plus scratchpad use.
// Over N ranks (`comm`), each samples its share and every rank gets the whole report.
template <class ModelT, class Verifier, class Comm>
Stage evaluate(ModelT& model, std::span<const r1::Problem> problems, const r1::TextCodec& codec,
               const Verifier& verifier, int samples, std::uint64_t seed, r1::TokenId eos, Comm& comm) {
  r1::EvaluationConfig config;
  config.samples_per_problem = samples;
  config.sampling.max_new_tokens = 160;
  config.sampling.eos_token_ids = {eos};
  config.pass_at_ks = {1, samples};
  config.seed = seed;
  std::vector<r1::EvaluatedCompletion> details;
  Stage stage;
  stage.report = r1::evaluate(comm, model, problems, codec, verifier, config, &details);
  double sampled = 0, thinking = 0;
  for (const auto& item : details) {
    if (item.greedy) continue;
    ++sampled;
    thinking += uses_scratchpad(item.text) ? 1 : 0;
  }
  stage.scratchpad_share = sampled > 0 ? thinking / sampled : 0;
  return stage;
}
template <class ModelT, class Verifier>
Stage evaluate(ModelT& model, std::span<const r1::Problem> problems, const r1::TextCodec& codec,
               const Verifier& verifier, int samples, std::uint64_t seed, r1::TokenId eos) {
  r1::SingleProcess one;
  return evaluate(model, problems, codec, verifier, samples, seed, eos, one);
}

// A markdown table of stages side by side.
inline void print_table(const std::vector<std::pair<std::string, const Stage*>>& columns, int samples) {
  std::printf("\n| held-out, %4zu problems             |", columns.front().second->report.problems);
  for (const auto& [name, stage] : columns) std::printf(" %14s |", name.c_str());
  std::printf("\n|------------------------------------|");
  for (std::size_t i = 0; i < columns.size(); ++i) std::printf("----------------|");
  std::printf("\n");
  const auto row = [&](const std::string& name, auto value, const char* unit) {
    std::printf("| %-34s |", name.c_str());
    for (const auto& column : columns) std::printf(" %13.1f%s |", value(*column.second), unit);
    std::printf("\n");
  };
  row("pass@1 (k=" + std::to_string(samples) + ", T 0.6, top-p 0.95)", [](const Stage& s) { return 100 * s.report.pass_at_1; },
      "%");
  row("cons@" + std::to_string(samples), [](const Stage& s) { return 100 * s.report.cons_at_k; }, "%");
  row("greedy accuracy", [](const Stage& s) { return 100 * s.report.greedy_accuracy.value_or(0); }, "%");
  row("completions using the scratchpad", [](const Stage& s) { return 100 * s.scratchpad_share; }, "%");
  row("mean completion length (tokens)", [](const Stage& s) { return s.report.mean_length_tokens; }, " ");
  std::printf("\n");
}

}  // namespace toy
