#pragma once
// Stop strings matched on decoded text, so a string split across tokens
// ("</ans" + "wer>") is found. Text is cut before the match, as in vLLM and the
// OpenAI API; the token ids keep the token that completed it (it was sampled,
// and the trainer needs its log-prob).
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"

namespace r1 {

// Token ids → text. The sampler calls it from worker threads at once: it must
// be thread-safe (a tokenizer's const decode is).
using Detokenizer = std::function<std::string(std::span<const TokenId>)>;

struct StopMatch {
  std::size_t text_offset = 0;  // where the stop string begins in the decoded completion
  std::size_t stop_index = 0;   // which of the stop strings
};

class StopStringMatcher {
 public:
  StopStringMatcher() = default;
  explicit StopStringMatcher(std::vector<std::string> stop_strings) : stop_strings_(std::move(stop_strings)) {
    for (std::size_t i = 0; i < stop_strings_.size(); ++i)
      require(!stop_strings_[i].empty(), "StopStringMatcher: stop string ", i, " is empty");
  }
  bool empty() const { return stop_strings_.empty(); }
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }

  // The earliest match in `text` (lowest offset; on equal offsets, the stop
  // string listed first), or nothing. The whole text is searched: a decoder may
  // rewrite its last bytes when a token completes a UTF-8 character, so a
  // match need not end in the newest token's bytes.
  std::optional<StopMatch> find(std::string_view text) const {
    std::optional<StopMatch> best;
    for (std::size_t i = 0; i < stop_strings_.size(); ++i) {
      const std::size_t offset = text.find(stop_strings_[i]);
      if (offset != std::string_view::npos && (!best || offset < best->text_offset)) best = StopMatch{offset, i};
    }
    return best;
  }

 private:
  std::vector<std::string> stop_strings_;
};

}  // namespace r1
