#pragma once
// A tiny task and model for trainer tests: the prompt is one digit followed by
// "=", and a completion earns reward 1 when its first character is a digit
// from 0 to 4. A random model of 16 tokens does so ~5/16 of the time, so groups
// of 8 carry signal from the first step.
#include <string>
#include <string_view>
#include <vector>

#include "r1/model/transformer.hpp"
#include "r1/reward/reward.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"

namespace r1::test {

inline CharTokenizer tiny_tokenizer() { return CharTokenizer({"<pad>", "<eos>"}, "0123456789=+*;"); }

inline ModelConfig tiny_model_config(std::int64_t vocab) {
  ModelConfig config;
  config.vocab_size = vocab;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.max_position_embeddings = 64;
  config.tie_word_embeddings = true;
  return config;
}

inline std::vector<Problem> echo_problems(int count) {
  std::vector<Problem> problems;
  for (int i = 0; i < count; ++i) {
    Problem problem;
    problem.prompt = std::to_string(i % 10) + "=";
    problem.answer = std::to_string(i % 10);
    problems.push_back(problem);
  }
  return problems;
}

// Reward 1 when the completion starts with a digit from 0 to 4.
struct LowDigit {
  std::string_view name() const { return "low_digit"; }
  Reward operator()(const Problem&, std::string_view completion) const {
    Reward reward;
    const bool correct = !completion.empty() && completion[0] >= '0' && completion[0] <= '4';
    reward.score = correct ? 1.0 : 0.0;
    reward.components.push_back({"accuracy", reward.score});
    reward.extracted = std::string(completion.substr(0, 1));
    return reward;
  }
};

}  // namespace r1::test
