#pragma once
// Top-k sampling (Fan, Lewis & Dauphin 2018, "Hierarchical Neural Story
// Generation", §5): keep the k most likely tokens, renormalise over them.
// Ties at the k-th logit are broken by token id (lower id kept).
#include "r1/core/error.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct TopKProcessor {
  int k = 0;

  explicit TopKProcessor(int k_) : k(k_) { require(k >= 0, "TopKProcessor: k = ", k, ": expected >= 0 (0 = off)"); }
  void apply(CandidateSet& candidates, const SequenceContext&) const {
    const auto keep = static_cast<std::size_t>(k);
    if (k == 0 || keep >= candidates.size) return;
    candidates.sort_first(keep);
    candidates.truncate(keep);
    candidates.sorted = true;
  }
};

}  // namespace r1
