#pragma once
// Length shaping.
//
// r1::overlong_penalty / r1::OverlongPenalty: DAPO's soft overlong punishment
// (Yu et al. 2025, "DAPO", Eq. 13), with L = |y|:
//   R(y) = 0                                  if L <= L_max - L_cache
//        = ((L_max - L_cache) - L) / L_cache  if L_max - L_cache < L <= L_max
//        = -1                                 if L > L_max
//
// r1::cosine_length_reward / r1::CosineLength: the cosine length-scaling reward of
// Yeo et al. 2025 ("Demystifying Long Chain-of-Thought Reasoning in LLMs", arXiv:2502.03373):
//   CosFn(t, T, r_0, r_T) = r_T + (r_0 - r_T) (1 + cos(t pi / T)) / 2
// which is r_0 at length 0 and r_T at length T; a correct answer gets
// CosFn(L, L_max, r0_correct, rL_correct), a wrong one CosFn(L, L_max, r0_wrong,
// rL_wrong), and a completion of L_max or more gets r_exceed. Short correct answers
// earn most, and a wrong answer loses least when it thought longer.
//
// Lengths are measured by a callable (std::string_view) -> std::int64_t: UTF-8
// code points by default; pass a tokenizer's count to measure tokens, as the papers do.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "r1/core/error.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

// Code points of UTF-8 text (bytes that are not continuation bytes).
struct Utf8Length {
  std::int64_t operator()(std::string_view text) const {
    std::int64_t count = 0;
    for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return count;
  }
};

struct ByteLength {
  std::int64_t operator()(std::string_view text) const { return static_cast<std::int64_t>(text.size()); }
};

// DAPO Eq. 13 (see the file comment).
inline double overlong_penalty(std::int64_t length, std::int64_t max_length, std::int64_t cache_length) {
  require(max_length > 0 && cache_length > 0 && cache_length <= max_length, "overlong penalty: expected 0 < cache_length (",
          cache_length, ") <= max_length (", max_length, ")");
  const std::int64_t soft_start = max_length - cache_length;
  if (length <= soft_start) return 0.0;
  if (length <= max_length) return static_cast<double>(soft_start - length) / static_cast<double>(cache_length);
  return -1.0;
}

struct OverlongOptions {
  std::int64_t max_length = 20480;   // L_max of DAPO's runs
  std::int64_t cache_length = 4096;  // L_cache of DAPO's runs
};

template <class LengthFn = Utf8Length>
class OverlongPenalty {
 public:
  OverlongPenalty() { validate(); }
  explicit OverlongPenalty(OverlongOptions options, LengthFn length = {}) : options_(options), length_(std::move(length)) {
    validate();
  }

  std::string_view name() const { return "overlong"; }

  Reward operator()(const Problem&, std::string_view completion) const {
    const std::int64_t length = length_(completion);
    Reward reward;
    reward.score = overlong_penalty(length, options_.max_length, options_.cache_length);
    reward.reason = "length " + std::to_string(length) + " of " + std::to_string(options_.max_length);
    return reward;
  }

 private:
  void validate() const { (void)overlong_penalty(0, options_.max_length, options_.cache_length); }
  OverlongOptions options_;
  LengthFn length_;
};

struct CosineLengthOptions {
  std::int64_t max_length = 4096;  // T = L_max
  double correct_at_zero = 2.0;    // r_0^c
  double correct_at_max = 1.0;     // r_L^c
  double wrong_at_zero = -10.0;    // r_0^w
  double wrong_at_max = 0.0;       // r_L^w
  double exceed = -10.0;           // r_e, for L >= L_max
};

// Yeo et al. 2025 (see the file comment).
inline double cosine_length_reward(bool correct, std::int64_t length, const CosineLengthOptions& options) {
  require(options.max_length > 0, "cosine length reward: max_length must be positive, got ", options.max_length);
  if (length >= options.max_length) return options.exceed;
  const double at_zero = correct ? options.correct_at_zero : options.wrong_at_zero;
  const double at_max = correct ? options.correct_at_max : options.wrong_at_max;
  const double progress = static_cast<double>(length) / static_cast<double>(options.max_length);
  return at_max + (at_zero - at_max) * 0.5 * (1.0 + std::cos(progress * 3.14159265358979323846));
}

// Wraps a correctness verifier: correct when its score >= `correct_threshold`.
// A not-applicable accuracy verdict makes this not applicable too.
template <class Accuracy, class LengthFn = Utf8Length>
class CosineLength {
 public:
  CosineLength() { (void)cosine_length_reward(true, 0, options_); }
  explicit CosineLength(CosineLengthOptions options, Accuracy accuracy = {}, double correct_threshold = 1.0,
                        LengthFn length = {})
      : options_(options), accuracy_(std::move(accuracy)), correct_threshold_(correct_threshold), length_(std::move(length)) {
    (void)cosine_length_reward(true, 0, options_);
  }

  std::string_view name() const { return "cosine_length"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    Reward verdict = accuracy_(problem, completion);
    if (!verdict.applicable) return verdict;
    const bool correct = verdict.score >= correct_threshold_;
    const std::int64_t length = length_(completion);
    Reward reward;
    reward.score = cosine_length_reward(correct, length, options_);
    reward.extracted = std::move(verdict.extracted);
    reward.reason = std::string(correct ? "correct" : "wrong") + ", length " + std::to_string(length) + " of " +
                    std::to_string(options_.max_length);
    return reward;
  }

 private:
  CosineLengthOptions options_;
  Accuracy accuracy_;
  double correct_threshold_ = 1.0;
  LengthFn length_;
};

}  // namespace r1
