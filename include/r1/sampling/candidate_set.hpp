#pragma once
// The next-token candidates of one sequence as logits processors see them: a
// working copy of one row of logits that processors rescale, reorder and
// truncate in place (llama.cpp's llama_token_data_array, with flags that let a
// processor skip work an earlier one already did).
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"

namespace r1 {

struct Candidate {
  TokenId id;
  float logit;
};

// Orders by logit, highest first; equal logits by token id, so every processor
// that sorts gives the same order whatever the thread or batch.
inline bool higher_logit_first(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

struct CandidateSet {
  std::span<Candidate> candidates;  // live candidates are candidates[0, size)
  std::size_t size = 0;
  bool sorted = false;         // candidates[0, size) are in higher_logit_first order
  bool token_indexed = false;  // candidates[i].id == i for every i (untouched vocabulary order)
  std::span<std::uint8_t> marks;  // vocab-sized scratch, all zero between uses (repetition penalty)
  std::span<float> weights;       // vocab-sized scratch for exp(logit - max), see softmax_weights

  std::span<Candidate> live() const { return candidates.first(size); }

  // Sorts the first `count` candidates into higher_logit_first order (partial sort).
  void sort_first(std::size_t count) {
    if (sorted) return;
    count = std::min(count, size);
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(count),
                      candidates.begin() + static_cast<std::ptrdiff_t>(size), higher_logit_first);
    token_indexed = false;
    if (count == size) sorted = true;
  }
  void truncate(std::size_t count) {
    if (count < size) {
      size = count;
      token_indexed = false;
    }
  }
  float max_logit() const {
    if (sorted) return candidates[0].logit;
    float best = candidates[0].logit;
    for (std::size_t i = 1; i < size; ++i) best = std::max(best, candidates[i].logit);
    return best;
  }
};

// weights[i] = exp(z_i - z_max) for the live candidates, in their order, and
// returns the sum (in double): the unnormalised softmax every truncation and
// draw needs. The exponentials run vectorised through Eigen's exp (accurate to
// a few float ulps); a -inf logit (a masked token) gets weight exactly 0 and a
// NaN logit makes the sum NaN, which callers reject.
inline double softmax_weights(const CandidateSet& candidates, float max_logit) {
  const auto live = candidates.live();
  require(candidates.weights.size() >= live.size(), "softmax_weights: no scratch for ", live.size(), " candidates");
  float* weights = candidates.weights.data();
  bool masked = false;
  for (std::size_t i = 0; i < live.size(); ++i) {
    weights[i] = live[i].logit - max_logit;
    masked = masked || live[i].logit == -std::numeric_limits<float>::infinity();
  }
  Eigen::Map<Eigen::ArrayXf> map(weights, static_cast<Eigen::Index>(live.size()));
  map = map.exp();
  if (masked)  // Eigen's exp clamps its argument, so exp(-inf) would come out tiny, not 0
    for (std::size_t i = 0; i < live.size(); ++i)
      if (live[i].logit == -std::numeric_limits<float>::infinity()) weights[i] = 0.0f;
  return map.cast<double>().sum();
}

// Masks the ids from `first_masked` up to -inf (so no processor keeps them and draw_token never picks
// them): the rows of a padded embedding that no tokenizer id stands for. Needs the untouched vocabulary
// order, as CandidateBuffer::load leaves it.
inline void mask_ids_from(CandidateSet& candidates, std::size_t first_masked) {
  if (first_masked >= candidates.size) return;
  require(candidates.token_indexed, "mask_ids_from: candidates must be in vocabulary order");
  for (std::size_t i = first_masked; i < candidates.size; ++i)
    candidates.candidates[i].logit = -std::numeric_limits<float>::infinity();
}

// Masks each listed id to -inf (SamplerConfig::banned_token_ids); ids at or past the vocabulary are ignored.
// Needs the untouched vocabulary order, as CandidateBuffer::load leaves it.
inline void mask_ids(CandidateSet& candidates, std::span<const TokenId> ids) {
  if (ids.empty()) return;
  require(candidates.token_indexed, "mask_ids: candidates must be in vocabulary order");
  for (const TokenId id : ids)
    if (id >= 0 && static_cast<std::size_t>(id) < candidates.size)
      candidates.candidates[static_cast<std::size_t>(id)].logit = -std::numeric_limits<float>::infinity();
}

// Owns the storage of one CandidateSet, sized once to the vocabulary; `load`
// refills it from a row of logits without allocating.
class CandidateBuffer {
 public:
  explicit CandidateBuffer(std::size_t vocab_size = 0) { resize(vocab_size); }
  void resize(std::size_t vocab_size) {
    storage_.resize(vocab_size);
    marks_.assign(vocab_size, 0);
    weights_.assign(vocab_size, 0.0f);
  }
  std::size_t vocab_size() const { return storage_.size(); }

  CandidateSet load(std::span<const float> logits) {
    require(logits.size() == storage_.size(), "CandidateBuffer: a logits row of ", logits.size(),
            " entries for a vocabulary of ", storage_.size());
    require(!logits.empty(), "CandidateBuffer: empty vocabulary");
    for (std::size_t i = 0; i < logits.size(); ++i) storage_[i] = {static_cast<TokenId>(i), logits[i]};
    return CandidateSet{storage_, storage_.size(), false, true, marks_, weights_};
  }

 private:
  std::vector<Candidate> storage_;
  std::vector<std::uint8_t> marks_;
  // 64-byte aligned: Eigen's exp and sum in softmax_weights start their packets at the first aligned element,
  // so on a plain vector the rounding of a draw followed where the heap put this buffer (an R1-Zero run's
  // weights changed with an unrelated allocation at the start of main).
  AlignedVector<float> weights_;
};

}  // namespace r1
