#pragma once
// How per-token losses are reduced to one batch loss. Each mode is a weight
// w_t per counted token, L = Σ_t w_t loss_t, with the normaliser taken over the
// whole optimisation batch (PolicyBatch::batch_tokens / batch_sequences), so
// that micro-batches, accumulation steps and data-parallel ranks sum to the
// gradient of the whole batch. S = sequences in the batch, N = counted tokens
// in the batch, |o_i| = counted tokens of sequence i.
//
//   sequence_mean_token_mean  w = 1 / (S |o_i|)   DeepSeekMath Eq. 3 (1/G Σ_i 1/|o_i| Σ_t)
//   token_mean                w = 1 / N           DAPO Eq. 8 (1/Σ|o_i| Σ_i Σ_t); TRL's and verl's default
//   constant_normaliser       w = 1 / (S C)       Dr. GRPO Eq. 3 (1/G Σ_i Σ_t, scaled by a constant C,
//                                                 the generation budget, as in the authors' code)
//   sequence_sum              w = 1 / S           token sum per sequence, mean over sequences
//                                                 (verl's seq-mean-token-sum)
#include <array>
#include <cstddef>
#include <string_view>

#include "r1/rl/enum_names.hpp"

namespace r1 {

enum class Aggregation { sequence_mean_token_mean, token_mean, constant_normaliser, sequence_sum };
inline constexpr std::array<std::string_view, 4> aggregation_names{"sequence_mean_token_mean", "token_mean",
                                                                   "constant_normaliser", "sequence_sum"};
inline std::string_view to_string(Aggregation v) { return aggregation_names[static_cast<std::size_t>(v)]; }
inline Aggregation parse_aggregation(std::string_view name, std::string_view where = "aggregation") {
  return detail::parse_enum_name<Aggregation>(aggregation_names, name, where);
}

// The weight of each counted token of a sequence with `sequence_tokens` counted
// tokens; `batch_tokens` (N) and `batch_sequences` (S) are whole-batch totals.
inline double aggregation_weight(Aggregation mode, double sequence_tokens, double batch_tokens, double batch_sequences,
                                 double constant) {
  switch (mode) {
    case Aggregation::sequence_mean_token_mean:
      return sequence_tokens > 0 && batch_sequences > 0 ? 1.0 / (batch_sequences * sequence_tokens) : 0.0;
    case Aggregation::token_mean:
      return batch_tokens > 0 ? 1.0 / batch_tokens : 0.0;
    case Aggregation::constant_normaliser:
      return batch_sequences > 0 ? 1.0 / (batch_sequences * constant) : 0.0;
    case Aggregation::sequence_sum:
      return batch_sequences > 0 ? 1.0 / batch_sequences : 0.0;
  }
  fail("aggregation_weight: invalid Aggregation value ", static_cast<int>(mode));
}

}  // namespace r1
