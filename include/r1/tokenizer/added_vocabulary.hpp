#pragma once
// AddedVocabulary: tokenizer.json's "added_tokens", found in text before any
// pre-tokenization, as HF tokenizers' AddedVocabulary does:
//   - leftmost-longest, non-overlapping matches (its Aho-Corasick MatchKind::LeftmostLongest);
//   - single_word: a match touching a word character (regex \w) on either side is skipped;
//   - lstrip / rstrip: the match swallows the white space on its left / right;
//   - normalized=false tokens are matched in the raw text, normalized=true ones in
//     the normalized text of what is left (the normalizer applied to their content too).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/unicode_regex.hpp"
#include "r1/tokenizer/utf8.hpp"

namespace r1 {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A part of a text: an added token (id >= 0) or plain text (id < 0), bytes [begin, end).
struct AddedTokenSplit {
  std::size_t begin;
  std::size_t end;
  TokenId id;
};

// A byte trie over token contents, for leftmost-longest matching.
class AddedTokenMatcher {
 public:
  void add(std::string_view content, std::size_t token_index) {
    std::int32_t node = 0;
    for (const char ch : content) {
      const auto key = edge_key(node, ch);
      const auto found = edges_.find(key);
      if (found != edges_.end()) {
        node = found->second;
      } else {
        const auto created = static_cast<std::int32_t>(terminal_.size());
        terminal_.push_back(-1);
        edges_.emplace(key, created);
        node = created;
      }
    }
    if (terminal_[static_cast<std::size_t>(node)] < 0) terminal_[static_cast<std::size_t>(node)] = static_cast<std::int64_t>(token_index);
    first_bytes_[static_cast<std::uint8_t>(content.front())] = true;
  }
  bool empty() const { return terminal_.size() == 1; }
  // Longest token starting at `position`: (token index, length), or index -1.
  std::pair<std::int64_t, std::size_t> longest_at(std::string_view text, std::size_t position) const {
    std::pair<std::int64_t, std::size_t> best{-1, 0};
    if (!first_bytes_[static_cast<std::uint8_t>(text[position])]) return best;
    std::int32_t node = 0;
    for (std::size_t i = position; i < text.size(); ++i) {
      const auto found = edges_.find(edge_key(node, text[i]));
      if (found == edges_.end()) break;
      node = found->second;
      if (terminal_[static_cast<std::size_t>(node)] >= 0) best = {terminal_[static_cast<std::size_t>(node)], i + 1 - position};
    }
    return best;
  }

 private:
  static std::uint64_t edge_key(std::int32_t node, char ch) {
    return (static_cast<std::uint64_t>(node) << 8) | static_cast<std::uint8_t>(ch);
  }
  std::unordered_map<std::uint64_t, std::int32_t> edges_;
  std::vector<std::int64_t> terminal_{-1};  // node -> token index, root = node 0
  bool first_bytes_[256] = {};
};

class AddedVocabulary {
 public:
  // `normalize` maps a normalized token's content to the text it matches.
  template <class Normalize>
  void build(std::vector<AddedToken> tokens, Normalize&& normalize) {
    tokens_ = std::move(tokens);
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const auto& token = tokens_[i];
      if (token.content.empty()) continue;
      by_content_.emplace(token.content, token.id);
      by_id_.emplace(token.id, i);
      if (token.normalized) {
        const std::string pattern = normalize(token.content);
        if (!pattern.empty()) normalized_.add(pattern, i);
      } else {
        raw_.add(token.content, i);
      }
    }
    word_start_ = UnicodeRegex(R"(^\w)", "AddedVocabulary");
    word_end_ = UnicodeRegex(R"(\w$)", "AddedVocabulary");
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  std::optional<TokenId> token_to_id(std::string_view content) const {
    const auto found = by_content_.find(std::string(content));
    if (found == by_content_.end()) return std::nullopt;
    return found->second;
  }
  const AddedToken* find(TokenId id) const {
    const auto found = by_id_.find(id);
    return found == by_id_.end() ? nullptr : &tokens_[found->second];
  }

  // Splits `text` on the raw (normalized=false) or the normalized tokens.
  void split(std::string_view text, bool normalized_set, std::vector<AddedTokenSplit>& out) const {
    out.clear();
    const AddedTokenMatcher& matcher = normalized_set ? normalized_ : raw_;
    std::size_t done = 0;  // text before this offset is already in `out`
    if (!matcher.empty()) {
      std::vector<std::pair<std::size_t, std::size_t>> scratch;
      for (std::size_t position = 0; position < text.size();) {
        const auto [index, length] = matcher.longest_at(text, position);
        if (index < 0) {
          ++position;
          continue;
        }
        const AddedToken& token = tokens_[static_cast<std::size_t>(index)];
        std::size_t start = position, stop = position + length;
        position = stop;  // matches never overlap, skipped ones included
        if (token.single_word && (touches_word(text.substr(0, start), word_end_, scratch) ||
                                  touches_word(text.substr(stop), word_start_, scratch)))
          continue;
        if (token.lstrip) start = std::max(white_space_start_before(text, start), done);
        if (token.rstrip) stop = white_space_end_after(text, stop);
        if (start > done) out.push_back({done, start, -1});
        out.push_back({start, stop, token.id});
        done = stop;
        position = stop;
      }
    }
    if (done < text.size()) out.push_back({done, text.size(), -1});
  }

 private:
  static bool touches_word(std::string_view side, const UnicodeRegex& regex,
                           std::vector<std::pair<std::size_t, std::size_t>>& scratch) {
    if (side.empty()) return false;
    regex.find_all(side.size() > 8 ? (regex.pattern()[0] == '^' ? side.substr(0, 8) : side.substr(side.size() - 8)) : side,
                   scratch);
    return !scratch.empty();
  }
  // Unicode White_Space (PropList.txt), as Rust's regex \s.
  static bool is_white_space(char32_t c) {
    return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
  }
  static std::size_t white_space_start_before(std::string_view text, std::size_t end) {
    std::size_t position = end;
    while (position > 0) {
      std::size_t begin = position - 1;
      while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
      const utf8::Step step = utf8::next(text, begin);
      if (step.status != utf8::Status::complete || begin + step.length != position ||
          !is_white_space(utf8::code_point(text, begin, step.length)))
        break;
      position = begin;
    }
    return position;
  }
  static std::size_t white_space_end_after(std::string_view text, std::size_t begin) {
    std::size_t position = begin;
    while (position < text.size()) {
      const utf8::Step step = utf8::next(text, position);
      if (step.status != utf8::Status::complete || !is_white_space(utf8::code_point(text, position, step.length))) break;
      position += step.length;
    }
    return position;
  }

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, TokenId> by_content_;
  std::unordered_map<TokenId, std::size_t> by_id_;
  AddedTokenMatcher raw_, normalized_;
  UnicodeRegex word_start_, word_end_;
};

}  // namespace r1
