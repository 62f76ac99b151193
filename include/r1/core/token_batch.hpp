#pragma once
// Token sequences of different lengths packed end to end, and per-token scores
// aligned with them. Layout used everywhere a batch of sequences crosses an API:
//   tokens  = [seq0 tokens..., seq1 tokens..., ...]           (N total)
//   offsets = [0, len0, len0+len1, ..., N]                    (sequences + 1)
// A per-token array (log-probs, masks, advantages) has N entries and entry
// offsets[s] + t belongs to token t of sequence s.
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/error.hpp"

namespace r1 {

using TokenId = std::int32_t;

struct TokenBatch {
  std::vector<TokenId> tokens;
  std::vector<std::int64_t> offsets{0};
  // First position whose log-prob is wanted, per sequence (e.g. the prompt
  // length); empty = every position from 1. Position 0 is never scored.
  std::vector<std::int32_t> score_from;

  std::size_t size() const { return offsets.size() - 1; }
  std::size_t total_tokens() const { return tokens.size(); }
  std::int64_t length(std::size_t s) const { return offsets[s + 1] - offsets[s]; }
  std::span<const TokenId> sequence(std::size_t s) const {
    return {tokens.data() + offsets[s], static_cast<std::size_t>(length(s))};
  }
  std::int32_t first_scored(std::size_t s) const {
    const std::int32_t from = score_from.empty() ? 1 : score_from[s];
    return from < 1 ? 1 : from;
  }
  void clear() {
    tokens.clear();
    offsets.assign(1, 0);
    score_from.clear();
  }
  // Appends one sequence; `first_scored_position` as in score_from.
  void push_back(std::span<const TokenId> sequence, std::int32_t first_scored_position = 1) {
    if (!score_from.empty() || first_scored_position != 1) score_from.resize(size(), 1);
    tokens.insert(tokens.end(), sequence.begin(), sequence.end());
    offsets.push_back(static_cast<std::int64_t>(tokens.size()));
    if (!score_from.empty() || first_scored_position != 1) score_from.push_back(first_scored_position);
  }
  // Throws r1::Error unless offsets are well formed and ids lie in [0, vocab_size).
  void validate(std::int64_t vocab_size, const char* where = "TokenBatch") const {
    require(!offsets.empty() && offsets.front() == 0, where, ": offsets must start at 0");
    require(offsets.back() == static_cast<std::int64_t>(tokens.size()), where,
            ": offsets must end at the token count ", tokens.size());
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
      require(offsets[s + 1] >= offsets[s], where, ": offsets must not decrease (sequence ", s, ")");
    require(score_from.empty() || score_from.size() == size(), where, ": score_from needs one entry per sequence");
    for (std::size_t i = 0; i < tokens.size(); ++i)
      require(tokens[i] >= 0 && tokens[i] < vocab_size, where, ": token ", i, " = ", tokens[i],
              " is outside the vocabulary [0, ", vocab_size, ")");
  }
};

// Per-token log-probabilities and entropies, aligned with TokenBatch::tokens:
// logprobs[offsets[s] + t] = log p(token t | tokens < t) at the temperature used,
// entropies[...] = entropy of that predictive distribution. Unscored positions are 0.
struct TokenScores {
  std::vector<float> logprobs;
  std::vector<float> entropies;
};

}  // namespace r1
