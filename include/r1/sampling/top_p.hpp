#pragma once
// Nucleus (top-p) sampling (Holtzman et al. 2020, "The Curious Case of Neural
// Text Degeneration", §3.1, eq. 2): keep the smallest set V_p of most likely
// tokens with sum_{x in V_p} P(x) >= p, renormalise over it. Probabilities
// are those of the candidates as they stand (after temperature and top-k):
// the total through softmax_weights, the nucleus's own terms in double.
#include <cmath>

#include "r1/core/error.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct TopPProcessor {
  float top_p = 1.0f;

  explicit TopPProcessor(float top_p_) : top_p(top_p_) {
    require(top_p > 0.0f && top_p <= 1.0f, "TopPProcessor: top_p = ", top_p, ": expected a value in (0, 1]");
  }
  void apply(CandidateSet& candidates, const SequenceContext&) const {
    if (top_p >= 1.0f || candidates.size <= 1) return;
    const float max_logit = candidates.max_logit();
    const double target = static_cast<double>(top_p) * softmax_weights(candidates, max_logit);
    // The nucleus is usually a small fraction of the vocabulary: sort a prefix
    // of `sorted_count` and grow it 8x until it holds mass >= target, instead of
    // sorting everything (O(V log k) rather than O(V log V)).
    std::size_t sorted_count = std::min<std::size_t>(64, candidates.size);
    while (true) {
      candidates.sort_first(sorted_count);
      double cumulative = 0.0;
      for (std::size_t keep = 0; keep < sorted_count; ++keep) {
        cumulative += std::exp(static_cast<double>(candidates.candidates[keep].logit) - max_logit);
        if (cumulative >= target) {
          candidates.truncate(keep + 1);
          candidates.sorted = true;
          return;
        }
      }
      if (sorted_count == candidates.size) return;  // round-off left the target just out of reach: keep all
      sorted_count = std::min(candidates.size, sorted_count * 8);
    }
  }
};

}  // namespace r1
