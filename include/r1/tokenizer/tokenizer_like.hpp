#pragma once
// TokenizerLike: what samplers, verifiers' callers and the trainer need from a
// tokenizer. r1::CharTokenizer and r1::BpeTokenizer model it.
//
//   template <r1::TokenizerLike T>
//   void show(const T& tokenizer) {
//     const std::vector<r1::TokenId> ids = tokenizer.encode("1+2=3");
//     std::string text = tokenizer.decode(ids);              // "1+2=3"
//     std::optional<r1::TokenId> eos = tokenizer.eos_token_id();  // stop condition of generation
//   }
//
// decode() returns the bytes the ids stand for; with a byte-level tokenizer a
// cut through a multi-byte character leaves a partial UTF-8 sequence there, which
// is why live output goes through r1::StreamDecoder (stream_decoder.hpp).
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/token_batch.hpp"

namespace r1 {

template <class T>
concept TokenizerLike = requires(const T& tokenizer, std::string_view text, std::span<const TokenId> ids, TokenId id) {
  { tokenizer.encode(text) } -> std::same_as<std::vector<TokenId>>;
  { tokenizer.decode(ids) } -> std::same_as<std::string>;
  { tokenizer.vocab_size() } -> std::convertible_to<std::int64_t>;
  { tokenizer.token_to_id(text) } -> std::same_as<std::optional<TokenId>>;
  { tokenizer.id_to_token(id) } -> std::convertible_to<std::string_view>;
  { tokenizer.bos_token_id() } -> std::same_as<std::optional<TokenId>>;
  { tokenizer.eos_token_id() } -> std::same_as<std::optional<TokenId>>;
};

}  // namespace r1
