#pragma once
// UTF-8 scanning shared by the tokenizers: well-formedness as defined by the
// Unicode Standard, ch. 3, Table 3-7 ("Well-Formed UTF-8 Byte Sequences"), and
// U+FFFD substitution of "maximal subparts" (Unicode ch. 3, "U+FFFD Substitution
// of Maximal Subparts"), the policy Rust's String::from_utf8_lossy follows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1::utf8 {

enum class Status { complete, incomplete, invalid };

// What starts at text[position]:
//   complete:   a well-formed character of `length` bytes;
//   incomplete: the `length` bytes left are a valid prefix of a character cut by the end of text;
//   invalid:    `length` bytes (>= 1) form a maximal subpart that can never be completed.
struct Step {
  Status status;
  std::size_t length;
};

inline Step next(std::string_view text, std::size_t position) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[position + i]); };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80) return {Status::complete, 1};
  std::size_t length = 0;
  std::uint8_t second_low = 0x80, second_high = 0xBF;  // Table 3-7: only the second byte's range varies
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;   // no overlong 3-byte forms
    if (lead == 0xED) second_high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;   // no overlong 4-byte forms
    if (lead == 0xF4) second_high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Status::invalid, 1};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (position + i >= text.size()) return {Status::incomplete, i};
    const std::uint8_t low = i == 1 ? second_low : 0x80, high = i == 1 ? second_high : 0xBF;
    if (byte(i) < low || byte(i) > high) return {Status::invalid, i};
  }
  return {Status::complete, length};
}

inline bool is_valid(std::string_view text) {
  for (std::size_t position = 0; position < text.size();) {
    const Step step = next(text, position);
    if (step.status != Status::complete) return false;
    position += step.length;
  }
  return true;
}

inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD

// `text` with every maximal ill-formed subpart (and a cut final character) replaced by U+FFFD.
inline std::string to_valid_lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t position = 0; position < text.size();) {
    const Step step = next(text, position);
    if (step.status == Status::complete)
      out.append(text.substr(position, step.length));
    else
      out.append(replacement_character);
    position += step.length;
  }
  return out;
}

// Code point of the complete character text[position, position + length).
inline char32_t code_point(std::string_view text, std::size_t position, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<std::uint8_t>(text[position + i])); };
  switch (length) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3: return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default: return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
  }
}

// Appends the UTF-8 encoding of `c` (a scalar value, c <= U+10FFFF, not a surrogate).
inline void append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Bytes shown as \xNN for error messages (printable ASCII kept).
inline std::string escape_bytes(std::string_view bytes) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : bytes) {
    const auto b = static_cast<std::uint8_t>(ch);
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 0xF]);
    }
  }
  return out;
}

}  // namespace r1::utf8
