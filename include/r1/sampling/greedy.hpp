#pragma once
// Greedy decoding (temperature 0): keep only the most likely candidate, ties to
// the lowest token id. The distribution sampled from is then a point mass, so
// the behaviour log-prob of the chosen token is exactly 0.
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct GreedyProcessor {
  void apply(CandidateSet& candidates, const SequenceContext&) const {
    if (candidates.size <= 1) return;
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size; ++i)
      if (higher_logit_first(candidates.candidates[i], candidates.candidates[best])) best = i;
    candidates.candidates[0] = candidates.candidates[best];
    candidates.truncate(1);
    candidates.sorted = true;
  }
};

}  // namespace r1
