#pragma once
// A small owned batch of sequences for the loss tests, viewed as r1::PolicyBatch.
#include <cmath>
#include <cstdint>
#include <vector>

#include "r1/rl/policy_batch.hpp"

namespace r1::test {

struct LossBatch {
  std::vector<std::int64_t> offsets{0};
  std::vector<float> logprobs, old_logprobs, ref_logprobs, entropies, mask, advantages;

  // Appends one token. `ratio` sets the log-prob as log(ratio) + old.
  void token(float old_logprob, double ratio, float advantage, float ref_logprob = 0, float entropy = 0, float counted = 1) {
    old_logprobs.push_back(old_logprob);
    logprobs.push_back(static_cast<float>(std::log(ratio) + old_logprob));
    advantages.push_back(advantage);
    ref_logprobs.push_back(ref_logprob);
    entropies.push_back(entropy);
    mask.push_back(counted);
  }
  void end_sequence() { offsets.push_back(static_cast<std::int64_t>(logprobs.size())); }
  std::size_t size() const { return logprobs.size(); }
  std::size_t sequences() const { return offsets.size() - 1; }
  // The ratio as the objective computes it: exp(double(ℓ) − double(ℓ_old)).
  double ratio(std::size_t t) const { return std::exp(static_cast<double>(logprobs[t]) - old_logprobs[t]); }

  PolicyBatch view(double batch_tokens = 0, double batch_sequences = 0) const {
    PolicyBatch b;
    b.offsets = offsets;
    b.logprobs = logprobs;
    b.old_logprobs = old_logprobs;
    b.ref_logprobs = ref_logprobs;
    b.entropies = entropies;
    b.mask = mask;
    b.advantages = advantages;
    b.batch_tokens = batch_tokens;
    b.batch_sequences = batch_sequences;
    return b;
  }

  // Sequences [first, last) as a batch of their own.
  LossBatch slice(std::size_t first, std::size_t last) const {
    LossBatch out;
    const auto begin = static_cast<std::size_t>(offsets[first]), end = static_cast<std::size_t>(offsets[last]);
    auto copy = [&](const std::vector<float>& from, std::vector<float>& to) {
      to.assign(from.begin() + static_cast<std::ptrdiff_t>(begin), from.begin() + static_cast<std::ptrdiff_t>(end));
    };
    copy(logprobs, out.logprobs);
    copy(old_logprobs, out.old_logprobs);
    copy(ref_logprobs, out.ref_logprobs);
    copy(entropies, out.entropies);
    copy(mask, out.mask);
    copy(advantages, out.advantages);
    for (std::size_t s = first + 1; s <= last; ++s) out.offsets.push_back(offsets[s] - offsets[first]);
    return out;
  }
};

}  // namespace r1::test
