#pragma once
// The byte <-> character table of byte-level BPE (GPT-2, Radford et al. 2019;
// `bytes_to_unicode` in openai/gpt-2 encoder.py, `ByteLevel` in HF tokenizers):
// printable bytes 33..126, 161..172 and 174..255 stand for themselves, the 68
// others for U+0100 + n in byte order, so every byte is one visible character.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "r1/tokenizer/utf8.hpp"

namespace r1::byte_level {

inline bool stands_for_itself(std::uint8_t byte) {
  return (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
}

// Character that stands for each byte.
inline const std::array<char32_t, 256>& byte_to_char() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> result{};
    char32_t next_free = 0x100;
    for (int b = 0; b < 256; ++b)
      result[b] = stands_for_itself(static_cast<std::uint8_t>(b)) ? static_cast<char32_t>(b) : next_free++;
    return result;
  }();
  return table;
}

// The byte a character stands for, if it is one of the 256.
inline std::optional<std::uint8_t> char_to_byte(char32_t c) {
  if (c < 0x100) {
    if (stands_for_itself(static_cast<std::uint8_t>(c))) return static_cast<std::uint8_t>(c);
    return std::nullopt;
  }
  if (c >= 0x100 + 68) return std::nullopt;
  const auto& table = byte_to_char();
  for (int b = 0; b < 256; ++b)
    if (table[b] == c) return static_cast<std::uint8_t>(b);
  return std::nullopt;
}

// Byte-level spelling of raw bytes (what the vocabulary's keys look like).
inline std::string encode(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) utf8::append(out, byte_to_char()[static_cast<std::uint8_t>(ch)]);
  return out;
}

// Raw bytes of a token spelled in the byte-level alphabet; nullopt when it holds
// another character (HF's ByteLevel decoder then keeps the token's own bytes).
inline std::optional<std::string> decode(std::string_view token) {
  std::string out;
  for (std::size_t position = 0; position < token.size();) {
    const utf8::Step step = utf8::next(token, position);
    if (step.status != utf8::Status::complete) return std::nullopt;
    const auto byte = char_to_byte(utf8::code_point(token, position, step.length));
    if (!byte) return std::nullopt;
    out.push_back(static_cast<char>(*byte));
    position += step.length;
  }
  return out;
}

}  // namespace r1::byte_level
