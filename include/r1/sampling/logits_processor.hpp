#pragma once
// Logits processors: small steps that turn a row of model logits into the
// distribution a token is drawn from, applied in a chain (repetition penalty,
// temperature, top-k, top-p, min-p, or greedy). A processor is any type with
//
//   void apply(CandidateSet& candidates, const SequenceContext& context) const;
//
// which may rescale logits and drop candidates but must leave at least one.
#include <concepts>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "r1/core/token_batch.hpp"
#include "r1/sampling/candidate_set.hpp"

namespace r1 {

// The tokens a sequence has so far, for processors that look at history.
struct SequenceContext {
  std::span<const TokenId> prompt;
  std::span<const TokenId> generated;
};

template <class P>
concept LogitsProcessor = requires(const P& processor, CandidateSet& candidates, const SequenceContext& context) {
  { processor.apply(candidates, context) };
};

// Processors applied in the order they were added. Built once per generate
// call; applying it allocates nothing.
class LogitsProcessorChain {
 public:
  template <LogitsProcessor P>
  LogitsProcessorChain& add(P processor) {
    steps_.emplace_back([processor = std::move(processor)](CandidateSet& candidates, const SequenceContext& context) {
      processor.apply(candidates, context);
    });
    return *this;
  }
  void apply(CandidateSet& candidates, const SequenceContext& context) const {
    for (const auto& step : steps_) step(candidates, context);
  }
  std::size_t size() const { return steps_.size(); }

 private:
  std::vector<std::function<void(CandidateSet&, const SequenceContext&)>> steps_;
};

}  // namespace r1
