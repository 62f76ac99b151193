#pragma once
// Repetition penalty (Keskar et al. 2019, "CTRL", §4.1, penalised sampling):
// every token already present in the prompt or the completion has its logit
// divided by θ. As in HF's RepetitionPenaltyLogitsProcessor, a negative logit
// is multiplied by θ instead, so θ > 1 always makes the token less likely.
// Each distinct token is penalised once however often it occurs.
#include <cstdint>

#include "r1/core/error.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct RepetitionPenaltyProcessor {
  float penalty = 1.0f;

  explicit RepetitionPenaltyProcessor(float penalty_) : penalty(penalty_) {
    require(penalty > 0.0f && penalty < 1e30f, "RepetitionPenaltyProcessor: penalty = ", penalty,
            ": expected a finite value > 0 (1 = off)");
  }
  // Needs the untouched vocabulary order (candidates[id].id == id): put it first in the chain.
  void apply(CandidateSet& candidates, const SequenceContext& context) const {
    if (penalty == 1.0f) return;
    require(candidates.token_indexed, "RepetitionPenaltyProcessor: must come before any processor that reorders ",
            "or drops candidates");
    require(candidates.marks.size() >= candidates.size, "RepetitionPenaltyProcessor: no scratch marks");
    for (const auto tokens : {context.prompt, context.generated})
      for (const TokenId token : tokens)
        require(token >= 0 && static_cast<std::size_t>(token) < candidates.size,
                "RepetitionPenaltyProcessor: token ", token, " is outside the vocabulary [0, ", candidates.size, ")");
    const auto penalise_once = [&](std::span<const TokenId> tokens) {
      for (const TokenId token : tokens) {
        auto& mark = candidates.marks[static_cast<std::size_t>(token)];
        if (mark != 0) continue;
        mark = 1;
        float& logit = candidates.candidates[static_cast<std::size_t>(token)].logit;
        logit = logit > 0.0f ? logit / penalty : logit * penalty;
      }
    };
    penalise_once(context.prompt);
    penalise_once(context.generated);
    for (const TokenId token : context.prompt) candidates.marks[static_cast<std::size_t>(token)] = 0;
    for (const TokenId token : context.generated) candidates.marks[static_cast<std::size_t>(token)] = 0;
  }
};

}  // namespace r1
