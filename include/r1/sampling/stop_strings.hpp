#pragma once
// Stop strings matched on decoded text, so a string split across tokens
// ("</ans" + "wer>") is found. Text is cut before the match, as in vLLM and the
// OpenAI API; the token ids keep the token that completed it (it was sampled,
// and the trainer needs its log-prob).
#include <algorithm>
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

  // The check after each new token of a completion whose earlier tokens held no match: the earliest match in
  // its decoded text, which `text` then holds (cut nowhere), or nothing (`text` untouched). A new match ends
  // in the newest token's bytes, so it starts at most longest - 1 bytes before them: only a tail of the ids
  // is decoded, long enough for the newest token's bytes, the longest stop string and kMarginBytes for
  // decoders that rewrite their last bytes (an unfinished UTF-8 character), and grown while it decodes to
  // fewer bytes (tokens that decode to nothing). The whole completion is decoded only on a hit, once. Each
  // step costs O(longest stop string + newest token) instead of O(completion): the whole-text check made a
  // completion O(n^2).
  std::optional<StopMatch> find_new(std::span<const TokenId> ids, const Detokenizer& detokenize,
                                    std::string& text) const {
    if (stop_strings_.empty() || ids.empty()) return std::nullopt;
    const std::size_t needed_bytes = detokenize(ids.last(1)).size() + longest() + kMarginBytes;
    std::size_t tail = std::min(ids.size(), longest() + kMarginBytes);
    while (true) {
      const std::string tail_text = detokenize(ids.last(tail));
      if (tail == ids.size()) {
        const auto match = find(tail_text);
        if (match) text = tail_text;
        return match;
      }
      if (tail_text.size() >= needed_bytes) {
        if (!find(tail_text)) return std::nullopt;
        std::string whole = detokenize(ids);
        const auto match = find(whole);  // the offset in the whole text (and the earliest match there)
        if (match) text = std::move(whole);
        return match;
      }
      tail = std::min(ids.size(), 2 * tail);
    }
  }

 private:
  static constexpr std::size_t kMarginBytes = 4;
  std::size_t longest() const {
    std::size_t longest = 0;
    for (const auto& stop : stop_strings_) longest = std::max(longest, stop.size());
    return longest;
  }
  std::vector<std::string> stop_strings_;
};

}  // namespace r1
