#pragma once
// r1::RepetitionPenalty: the n-gram repetition penalty of Yeo et al. 2025
// ("Demystifying Long Chain-of-Thought Reasoning in LLMs", arXiv:2502.03373; the form used by
// open-r1's repetition_penalty_reward):
//   penalty = max_penalty * (1 - unique n-grams / total n-grams)
// over lowercased whitespace-separated words; 0 when there are fewer than n words.
// max_penalty is negative (default -1): a completion that loops scores near it.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

inline double repetition_penalty(std::string_view text, int ngram_size, double max_penalty) {
  require(ngram_size >= 1, "repetition penalty: ngram_size must be at least 1, got ", ngram_size);
  require(max_penalty <= 0.0, "repetition penalty: max_penalty must be <= 0, got ", max_penalty);
  std::vector<std::string_view> words;
  std::size_t k = 0;
  while (k < text.size()) {
    while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
    const std::size_t start = k;
    while (k < text.size() && !std::isspace(static_cast<unsigned char>(text[k]))) ++k;
    if (k > start) words.push_back(text.substr(start, k - start));
  }
  if (words.size() < static_cast<std::size_t>(ngram_size)) return 0.0;
  // Each n-gram as one lowercased key with words separated by a space.
  std::unordered_set<std::string> unique;
  const std::size_t total = words.size() - static_cast<std::size_t>(ngram_size) + 1;
  unique.reserve(total);
  std::string key;
  for (std::size_t start = 0; start < total; ++start) {
    key.clear();
    for (int w = 0; w < ngram_size; ++w) {
      if (w > 0) key.push_back(' ');
      for (const char c : words[start + static_cast<std::size_t>(w)])
        key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    unique.insert(key);
  }
  return max_penalty * (1.0 - static_cast<double>(unique.size()) / static_cast<double>(total));
}

struct RepetitionOptions {
  int ngram_size = 3;
  double max_penalty = -1.0;
};

class RepetitionPenalty {
 public:
  RepetitionPenalty() = default;
  explicit RepetitionPenalty(RepetitionOptions options) : options_(options) {
    (void)repetition_penalty("", options_.ngram_size, options_.max_penalty);
  }

  std::string_view name() const { return "repetition"; }

  Reward operator()(const Problem&, std::string_view completion) const {
    Reward reward;
    reward.score = repetition_penalty(completion, options_.ngram_size, options_.max_penalty);
    return reward;
  }

 private:
  RepetitionOptions options_;
};

}  // namespace r1
