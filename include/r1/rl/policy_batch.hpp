#pragma once
// The inputs of a policy-gradient loss and what it reports. Per-token arrays are
// aligned with a TokenBatch (see r1/core/token_batch.hpp); positions with
// mask 0 (prompt, padding) contribute nothing.
#include <cstdint>
#include <span>
#include <vector>

namespace r1 {

// Group rewards in, advantages out. Completion i belongs to group i / group_size.
struct AdvantageInput {
  std::span<const double> rewards;               // one per completion
  std::span<const std::uint8_t> applicable;      // 1 = the reward counts; empty = all count
  int group_size = 1;
  std::span<const std::int32_t> lengths;         // completion tokens per completion (token-level estimators); may be empty
};

struct Advantages {
  std::vector<float> per_completion;   // one per completion; 0 where not applicable
  int groups = 0;
  int zero_std_groups = 0;             // groups whose rewards are all equal (frac_reward_zero_std)
  std::vector<std::uint8_t> keep;      // 1 = keep this completion (0 when a filter such as DAPO's dynamic sampling drops its group)
};

// One optimisation batch (or a micro-batch of it) of completion tokens.
struct PolicyBatch {
  std::span<const std::int64_t> offsets;   // sequence boundaries, sequences + 1
  std::span<const float> logprobs;         // current policy log-probs (at the sampling temperature)
  std::span<const float> old_logprobs;     // behaviour/old policy log-probs
  std::span<const float> ref_logprobs;     // reference policy log-probs; empty when no KL term
  std::span<const float> entropies;        // current policy entropies; empty when no entropy bonus
  std::span<const float> mask;             // 1 = completion token that counts
  std::span<const float> advantages;       // per token
  // Totals over the whole optimisation batch, so that splitting it into
  // micro-batches, accumulation steps or data-parallel ranks gives the same gradient.
  double batch_tokens = 0;      // masked tokens in the whole batch
  double batch_sequences = 0;   // sequences in the whole batch
};

struct LossResult {
  double loss = 0;              // this micro-batch's share of the batch loss
  double policy_loss = 0;
  double kl = 0;                // mean KL estimate to the reference over counted tokens
  double entropy = 0;           // mean entropy over counted tokens
  double approx_kl_old = 0;     // mean k3 estimate of KL(old || current)
  double mean_ratio = 0;
  double clip_fraction_low = 0; // fraction of counted tokens clipped at 1 - eps_low
  double clip_fraction_high = 0;// fraction clipped at 1 + eps_high
  double clip_fraction_dual = 0;// fraction held at the dual-clip bound -c*A (Ye et al. 2020)
  double tokens = 0;            // counted tokens in this micro-batch
};

}  // namespace r1
