#pragma once
// CharTokenizer: one id per UTF-8 character of a fixed alphabet, plus special
// tokens (whole strings such as "<think>") matched before characters, longest
// first. For the synthetic tasks of the toy recipes:
//
//   r1::CharTokenizer tokenizer({"<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"},
//                               "0123456789+-*=; ");
//   tokenizer.encode("<think>1+2</think>");   // {2, 7, 16, 8, 3}
//
// Ids: special tokens first, in the given order, then the symbols in order.
// BOS/EOS/PAD roles go to the special tokens spelled "<bos>" (or "<s>"),
// "<eos>" (or "</s>") and "<pad>" when listed.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/utf8.hpp"

namespace r1 {

class CharTokenizer {
 public:
  CharTokenizer(std::vector<std::string> special_tokens, std::string_view symbols) {
    for (auto& special : special_tokens) {
      require(!special.empty(), "CharTokenizer: special token ", tokens_.size(), " is empty");
      require(utf8::is_valid(special), "CharTokenizer: special token '", utf8::escape_bytes(special),
              "' is not valid UTF-8");
      add_token(std::move(special), "special token");
    }
    special_count_ = static_cast<std::int64_t>(tokens_.size());
    for (std::size_t position = 0; position < symbols.size();) {
      const utf8::Step step = utf8::next(symbols, position);
      require(step.status == utf8::Status::complete, "CharTokenizer: symbols: invalid UTF-8 at byte ", position, " ('",
              utf8::escape_bytes(symbols.substr(position, step.length)), "')");
      add_token(std::string(symbols.substr(position, step.length)), "symbol");
      position += step.length;
    }
    specials_by_length_.resize(static_cast<std::size_t>(special_count_));
    for (std::int64_t i = 0; i < special_count_; ++i) specials_by_length_[i] = static_cast<TokenId>(i);
    std::stable_sort(specials_by_length_.begin(), specials_by_length_.end(),
                     [&](TokenId a, TokenId b) { return tokens_[a].size() > tokens_[b].size(); });
    bos_ = first_of({"<bos>", "<s>"});
    eos_ = first_of({"<eos>", "</s>"});
    pad_ = first_of({"<pad>"});
  }

  // r1::Error naming the offending character and its byte offset when it is not in the vocabulary.
  std::vector<TokenId> encode(std::string_view text) const {
    std::vector<TokenId> ids;
    ids.reserve(text.size());
    for (std::size_t position = 0; position < text.size();) {
      const TokenId special = match_special(text, position);
      if (special >= 0) {
        ids.push_back(special);
        position += tokens_[special].size();
        continue;
      }
      const utf8::Step step = utf8::next(text, position);
      require(step.status == utf8::Status::complete, "CharTokenizer::encode: invalid UTF-8 at byte ", position, " ('",
              utf8::escape_bytes(text.substr(position, step.length)), "')");
      const auto found = symbol_ids_.find(std::string(text.substr(position, step.length)));
      require(found != symbol_ids_.end() && found->second >= special_count_, "CharTokenizer::encode: character '",
              text.substr(position, step.length), "' at byte ", position, " is not in the vocabulary");
      ids.push_back(found->second);
      position += step.length;
    }
    return ids;
  }
  // Same signature as BpeTokenizer::encode: with add_special_tokens, BOS first when there is one.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const {
    std::vector<TokenId> ids;
    if (add_special_tokens && bos_) ids.push_back(*bos_);
    const std::vector<TokenId> body = encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }

  // r1::Error naming the id when one is outside [0, vocab_size()).
  std::string decode(std::span<const TokenId> ids) const {
    std::string text;
    for (const TokenId id : ids) text += id_to_token(id);
    return text;
  }

  std::int64_t vocab_size() const { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t special_token_count() const { return special_count_; }
  bool is_special(TokenId id) const { return id >= 0 && id < special_count_; }

  std::optional<TokenId> token_to_id(std::string_view token) const {
    const auto found = symbol_ids_.find(std::string(token));
    if (found == symbol_ids_.end()) return std::nullopt;
    return found->second;
  }
  std::string_view id_to_token(TokenId id) const {
    require(id >= 0 && id < vocab_size(), "CharTokenizer: token id ", id, " is outside the vocabulary [0, ",
            vocab_size(), ")");
    return tokens_[static_cast<std::size_t>(id)];
  }

  std::optional<TokenId> bos_token_id() const { return bos_; }
  std::optional<TokenId> eos_token_id() const { return eos_; }
  std::optional<TokenId> pad_token_id() const { return pad_; }

 private:
  void add_token(std::string token, const char* kind) {
    const auto id = static_cast<TokenId>(tokens_.size());
    require(symbol_ids_.emplace(token, id).second, "CharTokenizer: ", kind, " '", token,
            "' is listed twice (or is both a special token and a symbol)");
    tokens_.push_back(std::move(token));
  }
  TokenId match_special(std::string_view text, std::size_t position) const {
    for (const TokenId id : specials_by_length_)
      if (text.substr(position).starts_with(tokens_[id])) return id;
    return -1;
  }
  std::optional<TokenId> first_of(std::initializer_list<std::string_view> names) const {
    for (const std::string_view name : names)
      if (const auto id = token_to_id(name); id && *id < special_count_) return id;
    return std::nullopt;
  }

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, TokenId> symbol_ids_;  // every token, special or symbol, to its id
  std::vector<TokenId> specials_by_length_;               // longest first: greedy matching
  std::int64_t special_count_ = 0;
  std::optional<TokenId> bos_, eos_, pad_;
};

}  // namespace r1
