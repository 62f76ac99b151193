#pragma once
// The GRPO family as one Objective (r1/concepts.hpp): advantages from group
// rewards, then the loss and d loss / d log-prob (and d loss / d entropy) per
// token, with every convention taken from a GrpoConfig.
//
//   r1::GrpoObjective objective{r1::GrpoConfig::dapo()};
//   r1::Advantages a = objective.advantages({rewards, {}, G, lengths});
//   r1::LossResult r = objective.loss(batch, d_logprobs, d_entropies);
//
// Per counted token t of sequence i (mask ≠ 0), with aggregation weight w_t
// (r1/rl/aggregation.hpp):
//   loss_t = policy_t + β KL_t − entropy_coef H_t     (β KL_t only with kl_placement = loss)
//   L      = Σ_t w_t loss_t                           DeepSeekMath Eq. 3 and its variants
//   d_logprobs[t] = w_t d loss_t / dℓ_t,  d_entropies[t] = −w_t entropy_coef
// Uncounted tokens get 0 in both. Sequences must not be split across micro-batches.
// PolicyBatch::batch_tokens / batch_sequences left at 0 mean "this micro-batch is
// the whole batch".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/rl/advantage.hpp"
#include "r1/rl/aggregation.hpp"
#include "r1/rl/grpo_config.hpp"
#include "r1/rl/kl.hpp"
#include "r1/rl/policy_batch.hpp"
#include "r1/rl/policy_loss.hpp"

namespace r1 {

class GrpoObjective {
 public:
  GrpoObjective() : GrpoObjective(GrpoConfig{}) {}
  explicit GrpoObjective(const GrpoConfig& config) : config_(config) { config_.validate(); }

  const GrpoConfig& config() const { return config_; }

  // What the trainer asks of an objective, by name (r1/rl/objective_capabilities.hpp).
  bool uses_reference() const { return config_.beta != 0; }
  std::int64_t reference_reset_every_steps() const { return config_.ref_reset_every_steps; }
  bool kl_in_reward() const { return config_.kl_placement == KlPlacement::reward && config_.beta != 0; }
  KlInRewardOptions kl_in_reward_options() const { return config_.kl_in_reward_options(); }
  OverlongShaping overlong_shaping() const { return config_.overlong_shaping(); }

  Advantages advantages(const AdvantageInput& input) const {
    return compute_advantages(input, config_.advantage_options());
  }

  LossResult loss(const PolicyBatch& batch, std::span<float> d_logprobs, std::span<float> d_entropies) const {
    const std::size_t n = batch.logprobs.size();
    check_batch(batch, d_logprobs, d_entropies);
    const bool kl_in_loss = config_.kl_placement == KlPlacement::loss && config_.beta != 0;
    const bool has_ref = !batch.ref_logprobs.empty();
    const bool has_entropy = !batch.entropies.empty();
    const PolicyLossOptions options = config_.policy_loss_options();
    const std::size_t sequences = batch.offsets.size() - 1;

    double micro_tokens = 0;
    for (std::size_t t = 0; t < n; ++t) micro_tokens += batch.mask[t] != 0;
    const double total_tokens = batch.batch_tokens > 0 ? batch.batch_tokens : micro_tokens;
    const double total_sequences = batch.batch_sequences > 0 ? batch.batch_sequences : static_cast<double>(sequences);
    require(total_tokens >= micro_tokens, "GrpoObjective::loss: batch_tokens = ", batch.batch_tokens,
            " is less than the ", micro_tokens, " counted tokens of this micro-batch");
    require(total_sequences >= static_cast<double>(sequences), "GrpoObjective::loss: batch_sequences = ",
            batch.batch_sequences, " is less than the ", sequences, " sequences of this micro-batch");

    LossResult result;
    result.tokens = micro_tokens;
    double sum_kl = 0, sum_entropy = 0, sum_kl_old = 0, sum_ratio = 0;
    double clipped_low = 0, clipped_high = 0, clipped_dual = 0;
    for (std::size_t s = 0; s < sequences; ++s) {
      const auto begin = static_cast<std::size_t>(batch.offsets[s]), end = static_cast<std::size_t>(batch.offsets[s + 1]);
      double sequence_tokens = 0, sequence_log_ratio = 0;
      for (std::size_t t = begin; t < end; ++t)
        if (batch.mask[t] != 0) {
          sequence_tokens += 1;
          sequence_log_ratio += static_cast<double>(batch.logprobs[t]) - static_cast<double>(batch.old_logprobs[t]);
        }
      const double weight = aggregation_weight(config_.aggregation, sequence_tokens, total_tokens, total_sequences,
                                               config_.aggregation_constant);
      // GSPO's sequence ratio s_i = exp(mean_t log ρ_t) (Zheng et al. 2025, Eq. 7).
      const ClampedLogRatio sequence_ratio_log =
          clamp_log_ratio(sequence_tokens > 0 ? sequence_log_ratio / sequence_tokens : 0.0, options.log_ratio_clamp);
      const double sequence_ratio = std::exp(sequence_ratio_log.value);
      for (std::size_t t = begin; t < end; ++t) {
        if (batch.mask[t] == 0) {
          d_logprobs[t] = 0;
          if (!d_entropies.empty()) d_entropies[t] = 0;
          continue;
        }
        const double logprob = batch.logprobs[t];
        const double advantage = batch.advantages[t];
        const ClampedLogRatio log_ratio = clamp_log_ratio(logprob - static_cast<double>(batch.old_logprobs[t]),
                                                          options.log_ratio_clamp);
        const double ratio = std::exp(log_ratio.value);
        TokenPolicyTerm policy;
        double ratio_used = ratio;
        switch (options.kind) {
          case PolicyLoss::clipped:
            policy = clipped_surrogate(ratio, ratio * log_ratio.d_logprob, advantage, options);
            break;
          case PolicyLoss::gspo:
            // GSPO-token: s_i,t = sg[s_i] π_t / sg[π_t], so d s_i,t / dℓ_t = s_i.
            policy = clipped_surrogate(sequence_ratio, sequence_ratio * sequence_ratio_log.d_logprob, advantage, options);
            ratio_used = sequence_ratio;
            break;
          case PolicyLoss::cispo:
            policy = cispo_term(logprob, ratio, advantage, options);
            break;
          case PolicyLoss::reinforce:
            policy = reinforce_term(logprob, advantage);
            break;
        }
        double token_loss = policy.value, d_token = policy.d_logprob;
        if (has_ref) {
          const KlTerm kl = kl_term(config_.kl_estimator, logprob, batch.ref_logprobs[t], config_.log_ratio_clamp);
          sum_kl += kl.value;
          if (kl_in_loss) {
            token_loss += config_.beta * kl.value;
            d_token += config_.beta * kl.d_logprob;
          }
        }
        if (has_entropy) {
          sum_entropy += batch.entropies[t];
          token_loss -= config_.entropy_coef * batch.entropies[t];
        }
        if (!d_entropies.empty()) d_entropies[t] = static_cast<float>(-weight * config_.entropy_coef);
        d_logprobs[t] = static_cast<float>(weight * d_token);
        result.loss += weight * token_loss;
        result.policy_loss += weight * policy.value;
        // k3 estimate of KL(old ‖ current) from tokens sampled from old: (ρ − 1) − log ρ (Schulman 2020).
        sum_kl_old += (ratio - 1) - log_ratio.value;
        sum_ratio += ratio_used;
        clipped_low += policy.clipped_low;
        clipped_high += policy.clipped_high;
        clipped_dual += policy.clipped_dual;
      }
    }
    if (micro_tokens > 0) {
      result.kl = sum_kl / micro_tokens;
      result.entropy = sum_entropy / micro_tokens;
      result.approx_kl_old = sum_kl_old / micro_tokens;
      result.mean_ratio = sum_ratio / micro_tokens;
      result.clip_fraction_low = clipped_low / micro_tokens;
      result.clip_fraction_high = clipped_high / micro_tokens;
      result.clip_fraction_dual = clipped_dual / micro_tokens;
    }
    return result;
  }

 private:
  void check_batch(const PolicyBatch& batch, std::span<float> d_logprobs, std::span<float> d_entropies) const {
    const char* where = "GrpoObjective::loss";
    const std::size_t n = batch.logprobs.size();
    require(!batch.offsets.empty() && batch.offsets.front() == 0, where, ": offsets must start at 0");
    require(batch.offsets.back() == static_cast<std::int64_t>(n), where, ": offsets end at ", batch.offsets.back(),
            ", expected the token count ", n, " (size of logprobs)");
    for (std::size_t s = 0; s + 1 < batch.offsets.size(); ++s)
      require(batch.offsets[s + 1] >= batch.offsets[s], where, ": offsets decrease at sequence ", s);
    auto same_size = [&](std::size_t size, const char* name) {
      require(size == n, where, ": '", name, "' has ", size, " entries, expected ", n, " (one per token)");
    };
    same_size(batch.old_logprobs.size(), "old_logprobs");
    same_size(batch.mask.size(), "mask");
    same_size(batch.advantages.size(), "advantages");
    same_size(d_logprobs.size(), "d_logprobs");
    if (!batch.ref_logprobs.empty()) same_size(batch.ref_logprobs.size(), "ref_logprobs");
    if (!batch.entropies.empty()) same_size(batch.entropies.size(), "entropies");
    if (!d_entropies.empty()) same_size(d_entropies.size(), "d_entropies");
    require(!(config_.kl_placement == KlPlacement::loss && config_.beta != 0) || !batch.ref_logprobs.empty(), where,
            ": beta = ", config_.beta, " puts a KL term in the loss, which needs 'ref_logprobs'");
    require(config_.entropy_coef == 0 || (!batch.entropies.empty() && !d_entropies.empty()), where,
            ": entropy_coef = ", config_.entropy_coef, " needs 'entropies' and 'd_entropies'");
    for (std::size_t t = 0; t < n; ++t) {
      if (batch.mask[t] == 0) continue;
      require(std::isfinite(batch.logprobs[t]) && std::isfinite(batch.old_logprobs[t]) &&
                  std::isfinite(batch.advantages[t]),
              where, ": token ", t, " has a non-finite logprob (", batch.logprobs[t], "), old_logprob (",
              batch.old_logprobs[t], ") or advantage (", batch.advantages[t], ")");
      require(batch.ref_logprobs.empty() || std::isfinite(batch.ref_logprobs[t]), where, ": token ", t,
              " has a non-finite ref_logprob (", batch.ref_logprobs[t], ")");
      require(batch.entropies.empty() || std::isfinite(batch.entropies[t]), where, ": token ", t,
              " has a non-finite entropy (", batch.entropies[t], ")");
    }
  }

  GrpoConfig config_;
};

// Dr. GRPO as a type of its own, for recipes that name it (r1::Grpo<..., r1::DrGrpoObjective>).
class DrGrpoObjective : public GrpoObjective {
 public:
  DrGrpoObjective() : GrpoObjective(GrpoConfig::dr_grpo()) {}
  explicit DrGrpoObjective(const GrpoConfig& config) : GrpoObjective(config) {}
};

}  // namespace r1
