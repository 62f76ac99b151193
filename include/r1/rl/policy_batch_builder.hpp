#pragma once
// From a scored rollout to the per-token PolicyBatch a loss reads
// (r1/rl/policy_batch.hpp): which completions train, the mask and advantage of
// every token, the old log-probs, and for REINFORCE++ the KL folded into the
// advantages. The model's part (scoring tokens) stays with the caller.
//
//   auto data = r1::training_sequences(prompts, completions, applicable, advantages, G, keep_uncounted);
//   data.set_old_logprobs(flat_logprobs);   // when OldLogprobs::recomputed
//   data.fold_kl_into_advantages(reference_logprobs, scores, applicable, G, options, old_source);
//   r1::PolicyBatchBuilder builder;
//   data.fill_token_batch(begin, end, batch);  model.score(batch, T, current);
//   const r1::PolicyBatch& policy_batch = builder.build(data, begin, end, batch, current, reference, old_source, totals);
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/rl/kl_in_reward.hpp"
#include "r1/rl/policy_batch.hpp"

namespace r1 {

// Where the old-policy log-probs of the ratio ρ = exp(ℓ_θ − ℓ_old) come from.
enum class OldLogprobs : std::uint8_t {
  behaviour,   // the sampler's, recorded while generating
  recomputed,  // the policy's before this rollout's first update (set_old_logprobs)
  current,     // the policy being updated: exact when every token is trained on once, before any update (ρ = 1)
};

// The normalisers of one optimisation batch (PolicyBatch::batch_tokens, batch_sequences).
struct BatchTotals {
  double tokens = 0;     // counted completion tokens
  double sequences = 0;  // counted sequences
};

// One rollout's training data, a sequence per completion that trains: prompt + completion.
struct TrainingSequences {
  std::vector<std::vector<TokenId>> tokens;
  std::vector<std::int32_t> prompt_lengths;
  std::vector<float> advantages;                       // per sequence
  std::vector<std::uint8_t> counted;                   // 0: present only to keep its group whole (KL in reward)
  std::vector<std::vector<float>> behaviour_logprobs;  // per sequence, one per completion token
  std::vector<std::vector<float>> old_logprobs;        // per sequence, aligned with tokens; empty unless recomputed
  std::vector<std::vector<float>> token_advantages;    // per sequence, aligned with tokens (KL in reward); else empty

  std::size_t size() const { return tokens.size(); }
  bool empty() const { return tokens.empty(); }

  void fill_token_batch(std::size_t begin, std::size_t end, TokenBatch& batch) const {
    batch.clear();
    for (std::size_t s = begin; s < end; ++s) batch.push_back(tokens[s], prompt_lengths[s]);
  }

  // Counted tokens and sequences of [begin, end): normalisers over a whole
  // minibatch, so splitting it into micro-batches does not change the gradient.
  BatchTotals totals(std::size_t begin, std::size_t end) const {
    BatchTotals totals;
    for (std::size_t s = begin; s < end; ++s) {
      if (!counted[s]) continue;
      totals.tokens += static_cast<double>(tokens[s].size() - static_cast<std::size_t>(prompt_lengths[s]));
      ++totals.sequences;
    }
    return totals;
  }

  // Old log-prob of token t (a completion position) of sequence s.
  float old_logprob(std::size_t s, std::size_t t, OldLogprobs source) const {
    return source == OldLogprobs::behaviour ? behaviour_logprobs[s][t - static_cast<std::size_t>(prompt_lengths[s])]
                                            : old_logprobs[s][t];
  }

  // `flat`: every sequence's per-token log-probs, in order (as TokenScores of all of them at once).
  void set_old_logprobs(std::span<const float> flat) {
    require(flat.size() == total_tokens(), "TrainingSequences::set_old_logprobs: ", flat.size(), " log-probs for ",
            total_tokens(), " tokens");
    old_logprobs.assign(size(), {});
    std::size_t offset = 0;
    for (std::size_t s = 0; s < size(); ++s) {
      old_logprobs[s].assign(flat.begin() + static_cast<std::ptrdiff_t>(offset),
                             flat.begin() + static_cast<std::ptrdiff_t>(offset + tokens[s].size()));
      offset += tokens[s].size();
    }
  }

  // REINFORCE++ (Hu 2025, §3) with the KL in the reward: per-token advantages
  // from r_t = −β k1_t (+ the score at the last token) over the whole rollout
  // (r1/rl/kl_in_reward.hpp). Needs every completion as a sequence (groups
  // whole); `reference` is flat as in set_old_logprobs; scores and applicable
  // are per sequence.
  void fold_kl_into_advantages(std::span<const float> reference, std::span<const double> scores,
                               std::span<const std::uint8_t> applicable, int group_size,
                               const KlInRewardOptions& options, OldLogprobs old_source) {
    require(old_source != OldLogprobs::current, "fold_kl_into_advantages: the old log-probs must be the sampler's or "
                                                "recomputed before the update");
    std::vector<std::int64_t> offsets{0};
    std::vector<float> mask, old;
    for (std::size_t s = 0; s < size(); ++s) {
      const std::size_t length = tokens[s].size();
      offsets.push_back(offsets.back() + static_cast<std::int64_t>(length));
      for (std::size_t t = 0; t < length; ++t) {
        const bool completion_token = t >= static_cast<std::size_t>(prompt_lengths[s]);
        mask.push_back(completion_token && counted[s] ? 1.0f : 0.0f);
        old.push_back(completion_token ? old_logprob(s, t, old_source) : 0.0f);
      }
    }
    TokenRewardInput input;
    input.offsets = offsets;
    input.mask = mask;
    input.old_logprobs = old;
    input.ref_logprobs = reference;
    input.scores = scores;
    input.applicable = applicable;
    input.group_size = group_size;
    const std::vector<float> advantages = kl_in_reward_advantages(input, options);
    token_advantages.resize(size());
    for (std::size_t s = 0; s < size(); ++s)
      token_advantages[s].assign(advantages.begin() + offsets[s], advantages.begin() + offsets[s + 1]);
  }

  std::size_t total_tokens() const {
    std::size_t total = 0;
    for (const auto& sequence : tokens) total += sequence.size();
    return total;
  }
};

// The sequences that train. A completion counts when its group was kept (e.g.
// by DAPO's dynamic sampling), it is non-empty and its reward applies; with
// keep_uncounted (KL in the reward, whose statistics span whole groups) the
// others come along with counted = 0. Completion i belongs to prompt i / G;
// CompletionT has `ids` and `logprobs` (r1/sampling/completion.hpp).
template <class CompletionT>
TrainingSequences training_sequences(std::span<const std::vector<TokenId>> prompts,
                                     std::span<const CompletionT> completions, std::span<const std::uint8_t> applicable,
                                     const Advantages& advantages, int group_size, bool keep_uncounted) {
  const std::size_t n = completions.size();
  require(group_size >= 1 && n == prompts.size() * static_cast<std::size_t>(group_size), "training_sequences: ", n,
          " completions for ", prompts.size(), " prompts x G ", group_size);
  require(applicable.size() == n && advantages.per_completion.size() == n &&
              (advantages.keep.empty() || advantages.keep.size() == n),
          "training_sequences: applicable, advantages and keep need one entry per completion (", n, ")");
  TrainingSequences data;
  for (std::size_t i = 0; i < n; ++i) {
    const bool kept = advantages.keep.empty() || advantages.keep[i] != 0;
    const auto& completion = completions[i];
    const bool counted = kept && !completion.ids.empty() && applicable[i] != 0;
    if (!counted && !keep_uncounted) continue;
    const auto& prompt = prompts[i / static_cast<std::size_t>(group_size)];
    std::vector<TokenId> sequence(prompt);
    sequence.insert(sequence.end(), completion.ids.begin(), completion.ids.end());
    data.tokens.push_back(std::move(sequence));
    data.prompt_lengths.push_back(static_cast<std::int32_t>(prompt.size()));
    data.advantages.push_back(advantages.per_completion[i]);
    data.counted.push_back(counted ? 1 : 0);
    data.behaviour_logprobs.push_back(completion.logprobs);
  }
  return data;
}

// Per-token arrays of one micro-batch, reused across calls (the step loop allocates once).
class PolicyBatchBuilder {
 public:
  // Sequences [begin, end) of `data`, laid out as `batch` (fill_token_batch of the
  // same range); `current` is the policy's TokenScores of `batch`, `reference`
  // the reference's log-probs of it (empty without a KL term). The result views
  // `current`, `reference` and this builder: use it before they change.
  PolicyBatch build(const TrainingSequences& data, std::size_t begin, std::size_t end, const TokenBatch& batch,
                    const TokenScores& current, std::span<const float> reference, OldLogprobs old_source,
                    const BatchTotals& totals) {
    const std::size_t tokens = batch.total_tokens();
    require(batch.size() == end - begin && current.logprobs.size() == tokens, "PolicyBatchBuilder::build: the batch ",
            "and its scores must hold sequences ", begin, "..", end, " of the training data");
    old_.assign(tokens, 0.0f);
    mask_.assign(tokens, 0.0f);
    advantages_.assign(tokens, 0.0f);
    for (std::size_t s = begin; s < end; ++s) {
      const auto offset = static_cast<std::size_t>(batch.offsets[s - begin]);
      const std::size_t length = data.tokens[s].size();
      for (std::size_t t = static_cast<std::size_t>(data.prompt_lengths[s]); t < length; ++t) {
        mask_[offset + t] = data.counted[s] ? 1.0f : 0.0f;
        advantages_[offset + t] = data.token_advantages.empty() ? data.advantages[s] : data.token_advantages[s][t];
        old_[offset + t] = old_source == OldLogprobs::current ? current.logprobs[offset + t]
                                                              : data.old_logprob(s, t, old_source);
      }
    }
    PolicyBatch policy_batch;
    policy_batch.offsets = batch.offsets;
    policy_batch.logprobs = current.logprobs;
    policy_batch.old_logprobs = old_;
    policy_batch.ref_logprobs = reference;
    policy_batch.entropies = current.entropies;
    policy_batch.mask = mask_;
    policy_batch.advantages = advantages_;
    policy_batch.batch_tokens = totals.tokens;
    policy_batch.batch_sequences = totals.sequences;
    return policy_batch;
  }

 private:
  std::vector<float> old_, mask_, advantages_;
};

}  // namespace r1
