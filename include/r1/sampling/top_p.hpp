#pragma once
// Nucleus (top-p) sampling (Holtzman et al. 2020, "The Curious Case of Neural
// Text Degeneration", §3.1, eq. 2): keep the smallest set V_p of most likely
// tokens with sum_{x in V_p} P(x) >= p, renormalise over it. Probabilities
// are those of the candidates as they stand (after temperature and top-k),
// computed in double.
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
    candidates.sort_first(candidates.size);
    const auto live = candidates.live();
    const double max_logit = live[0].logit;
    double total = 0.0;
    for (const auto& candidate : live) total += std::exp(static_cast<double>(candidate.logit) - max_logit);
    const double target = static_cast<double>(top_p) * total;
    double cumulative = 0.0;
    std::size_t keep = 0;
    while (keep < live.size()) {
      cumulative += std::exp(static_cast<double>(live[keep].logit) - max_logit);
      ++keep;
      if (cumulative >= target) break;
    }
    candidates.truncate(keep);
  }
};

}  // namespace r1
