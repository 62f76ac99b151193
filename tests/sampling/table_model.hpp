#pragma once
// A small deterministic r1::Model for the sampler's tests: the next-token
// logits are a pure function of (previous token, position, next token), drawn
// from Philox, so any vocabulary size costs no memory. Its cache stores the
// tokens of each slot. `full_forward_logits` recomputes a sequence's logits
// from scratch (the oracle the KV path is compared with), `script` forces the
// likely next token after a given token (for stop-string tests), and counters
// record how the sampler called it.
#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"

namespace r1::test {

class TableModel {
 public:
  struct Cache {
    std::vector<std::vector<TokenId>> tokens;  // per slot, capacity reserved once
    int max_positions = 0;
    int slots() const { return static_cast<int>(tokens.size()); }
    int length(int slot) const { return static_cast<int>(tokens.at(static_cast<std::size_t>(slot)).size()); }
    void reset(int slot) { tokens.at(static_cast<std::size_t>(slot)).clear(); }
  };

  explicit TableModel(std::int64_t vocab, std::uint64_t seed = 7, float logit_scale = 3.0f)
      : vocab_(vocab), seed_(seed), logit_scale_(logit_scale) {}

  // After token `after`, token `next` gets +`boost` (a near-certain choice at boost 40).
  void script(TokenId after, TokenId next, float boost = 40.0f) { script_[after] = {next, boost}; }

  std::int64_t vocab_size() const { return vocab_; }

  // Logits of the token after `sequence` (non-empty), computed from scratch.
  void full_forward_logits(std::span<const TokenId> sequence, std::span<float> logits) const {
    require(!sequence.empty(), "TableModel: empty sequence");
    require(static_cast<std::int64_t>(logits.size()) == vocab_, "TableModel: logits row of the wrong size");
    const TokenId previous = sequence.back();
    const auto position = static_cast<std::uint32_t>(sequence.size() % 5);
    const RandomStream stream{seed_, {static_cast<std::uint32_t>(previous), position, 0}};
    for (std::int64_t next = 0; next < vocab_; ++next)
      logits[static_cast<std::size_t>(next)] =
          logit_scale_ * static_cast<float>(2.0 * stream.uniform(static_cast<std::uint32_t>(next)) - 1.0);
    if (const auto it = script_.find(previous); it != script_.end())
      logits[static_cast<std::size_t>(it->second.first)] += it->second.second;
  }

  // log softmax(logits / T) of each scored token, in double, from full forwards.
  void score(const TokenBatch& batch, float temperature, TokenScores& scores) {
    require(temperature > 0.0f, "TableModel::score: temperature must be > 0");
    batch.validate(vocab_, "TableModel::score");
    scores.logprobs.assign(batch.total_tokens(), 0.0f);
    scores.entropies.assign(batch.total_tokens(), 0.0f);
    std::vector<float> logits(static_cast<std::size_t>(vocab_));
    for (std::size_t s = 0; s < batch.size(); ++s) {
      const auto sequence = batch.sequence(s);
      for (std::int64_t t = batch.first_scored(s); t < static_cast<std::int64_t>(sequence.size()); ++t) {
        full_forward_logits(sequence.first(static_cast<std::size_t>(t)), logits);
        double max_scaled = -1e300;
        for (const float logit : logits) max_scaled = std::max(max_scaled, static_cast<double>(logit / temperature));
        double total = 0.0;
        for (const float logit : logits) total += std::exp(static_cast<double>(logit / temperature) - max_scaled);
        const float chosen = logits[static_cast<std::size_t>(sequence[static_cast<std::size_t>(t)])] / temperature;
        scores.logprobs[static_cast<std::size_t>(batch.offsets[s] + t)] =
            static_cast<float>(static_cast<double>(chosen) - max_scaled - std::log(total));
      }
    }
  }
  void backward(const TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  std::span<const ParameterView> parameters() { return {}; }

  Cache make_cache(int slots, int max_positions) const {
    require(slots > 0 && max_positions > 0, "TableModel::make_cache: slots and max_positions must be positive");
    Cache cache;
    cache.max_positions = max_positions;
    cache.tokens.resize(static_cast<std::size_t>(slots));
    for (auto& slot : cache.tokens) slot.reserve(static_cast<std::size_t>(max_positions));
    return cache;
  }

  void prefill(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& prompts, std::span<float> logits) {
    require(slots.size() == prompts.size(), "TableModel::prefill: one slot per prompt");
    require(logits.size() == slots.size() * static_cast<std::size_t>(vocab_), "TableModel::prefill: logits size");
    ++prefill_calls;
    for (std::size_t s = 0; s < slots.size(); ++s) {
      auto& stored = slot_tokens(cache, slots[s]);
      require(stored.empty(), "TableModel::prefill: slot ", slots[s], " is not empty");
      const auto prompt = prompts.sequence(s);
      require(static_cast<int>(prompt.size()) <= cache.max_positions, "TableModel::prefill: prompt too long");
      stored.assign(prompt.begin(), prompt.end());
      prefilled_tokens += static_cast<std::int64_t>(prompt.size());
      full_forward_logits(stored, logits.subspan(s * static_cast<std::size_t>(vocab_), static_cast<std::size_t>(vocab_)));
    }
  }

  void decode(Cache& cache, std::span<const std::int32_t> slots, std::span<const TokenId> tokens,
              std::span<float> logits) {
    require(slots.size() == tokens.size(), "TableModel::decode: one token per slot");
    require(logits.size() == slots.size() * static_cast<std::size_t>(vocab_), "TableModel::decode: logits size");
    ++decode_calls;
    decode_rows.push_back(slots.size());  // grows only in tests that do not count allocations
    for (std::size_t s = 0; s < slots.size(); ++s) {
      auto& stored = slot_tokens(cache, slots[s]);
      require(!stored.empty(), "TableModel::decode: slot ", slots[s], " was never prefilled");
      require(static_cast<int>(stored.size()) < cache.max_positions, "TableModel::decode: slot ", slots[s], " is full");
      require(tokens[s] >= 0 && tokens[s] < vocab_, "TableModel::decode: token outside the vocabulary");
      stored.push_back(tokens[s]);
      full_forward_logits(stored, logits.subspan(s * static_cast<std::size_t>(vocab_), static_cast<std::size_t>(vocab_)));
    }
  }

  void copy_slot(Cache& cache, int from, int to) {
    ++copy_calls;
    slot_tokens(cache, to) = slot_tokens(cache, from);  // capacity of `to` suffices: no allocation
  }

  int prefill_calls = 0;
  int decode_calls = 0;
  int copy_calls = 0;
  std::int64_t prefilled_tokens = 0;
  std::vector<std::size_t> decode_rows;

 private:
  static std::vector<TokenId>& slot_tokens(Cache& cache, std::int32_t slot) {
    require(slot >= 0 && slot < cache.slots(), "TableModel: slot ", slot, " outside [0, ", cache.slots(), ")");
    return cache.tokens[static_cast<std::size_t>(slot)];
  }

  std::int64_t vocab_;
  std::uint64_t seed_;
  float logit_scale_;
  std::map<TokenId, std::pair<TokenId, float>> script_;
};

static_assert(Model<TableModel>);

}  // namespace r1::test
