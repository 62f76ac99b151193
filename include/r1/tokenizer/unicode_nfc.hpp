#pragma once
// Unicode Normalization Form C (UAX #15): canonical decomposition (Hangul
// algorithmically, UAX #15 / Unicode ch. 3.12), canonical ordering by combining
// class, then canonical composition of unblocked pairs. Tables from Python's
// unicodedata (unicode_nfc_tables.hpp). Text without a character NFC could
// change (quick check) is returned as is, so ASCII and most CJK cost one scan.
// Ill-formed UTF-8 bytes are kept unchanged and act as starters.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "r1/tokenizer/unicode_nfc_tables.hpp"
#include "r1/tokenizer/utf8.hpp"

namespace r1::nfc {

namespace detail {
// Hangul syllable arithmetic, Unicode ch. 3.12 "Conjoining Jamo Behavior".
inline constexpr char32_t s_base = 0xAC00, l_base = 0x1100, v_base = 0x1161, t_base = 0x11A7;
inline constexpr char32_t l_count = 19, v_count = 21, t_count = 28, n_count = v_count * t_count, s_count = l_count * n_count;

inline std::uint8_t combining_class(char32_t c) {
  const auto* begin = std::begin(nfc_tables::combining_classes);
  const auto* end = std::end(nfc_tables::combining_classes);
  const auto* found = std::lower_bound(begin, end, c, [](const auto& entry, char32_t key) { return entry.code_point < key; });
  return found != end && found->code_point == c ? found->value : 0;
}

inline bool maybe_changes(char32_t c) {
  if (c < 0x300) return false;
  const auto* begin = std::begin(nfc_tables::unsafe_ranges);
  const auto* end = std::end(nfc_tables::unsafe_ranges);
  const auto* found = std::upper_bound(begin, end, c, [](char32_t key, const auto& range) { return key < range.first; });
  return found != begin && c <= std::prev(found)->last;
}

// Raw bytes that are not well-formed UTF-8 travel as 0x110000 + byte.
inline constexpr char32_t raw_byte_base = 0x110000;

inline void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= s_base && c < s_base + s_count) {
    const char32_t index = c - s_base;
    out.push_back(l_base + index / n_count);
    out.push_back(v_base + (index % n_count) / t_count);
    if (index % t_count != 0) out.push_back(t_base + index % t_count);
    return;
  }
  const auto* begin = std::begin(nfc_tables::decompositions);
  const auto* end = std::end(nfc_tables::decompositions);
  const auto* found = std::lower_bound(begin, end, c, [](const auto& entry, char32_t key) { return entry.code_point < key; });
  if (found == end || found->code_point != c) {
    out.push_back(c);
    return;
  }
  for (std::uint8_t i = 0; i < found->length; ++i) decompose(nfc_tables::decomposition_pool[found->offset + i], out);
}

// Primary composite of (first, second), or 0.
inline char32_t compose(char32_t first, char32_t second) {
  if (first >= l_base && first < l_base + l_count && second >= v_base && second < v_base + v_count)
    return s_base + ((first - l_base) * v_count + (second - v_base)) * t_count;
  if (first >= s_base && first < s_base + s_count && (first - s_base) % t_count == 0 && second > t_base &&
      second < t_base + t_count)
    return first + (second - t_base);
  const auto* begin = std::begin(nfc_tables::compositions);
  const auto* end = std::end(nfc_tables::compositions);
  const auto* found = std::lower_bound(begin, end, std::pair{first, second}, [](const auto& entry, const auto& key) {
    return entry.first != key.first ? entry.first < key.first : entry.second < key.second;
  });
  return found != end && found->first == first && found->second == second ? found->composite : 0;
}
}  // namespace detail

// Whether NFC(text) == text is certain without normalizing (quick check "Yes" everywhere).
inline bool is_quick_nfc(std::string_view text) {
  for (std::size_t position = 0; position < text.size();) {
    if (static_cast<unsigned char>(text[position]) < 0x80) {
      ++position;
      continue;
    }
    const utf8::Step step = utf8::next(text, position);
    if (step.status == utf8::Status::complete && detail::maybe_changes(utf8::code_point(text, position, step.length)))
      return false;
    position += step.length;
  }
  return true;
}

inline std::string normalize(std::string_view text) {
  if (is_quick_nfc(text)) return std::string(text);
  std::vector<char32_t> chars;
  chars.reserve(text.size());
  for (std::size_t position = 0; position < text.size();) {
    const utf8::Step step = utf8::next(text, position);
    if (step.status == utf8::Status::complete) {
      detail::decompose(utf8::code_point(text, position, step.length), chars);
    } else {
      for (std::size_t i = 0; i < step.length; ++i)
        chars.push_back(detail::raw_byte_base + static_cast<unsigned char>(text[position + i]));
    }
    position += step.length;
  }
  const auto ccc = [](char32_t c) { return c >= detail::raw_byte_base ? std::uint8_t{0} : detail::combining_class(c); };
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (std::size_t i = 0; i < chars.size();) {
    if (ccc(chars[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < chars.size() && ccc(chars[j]) != 0) ++j;
    std::stable_sort(chars.begin() + static_cast<std::ptrdiff_t>(i), chars.begin() + static_cast<std::ptrdiff_t>(j),
                     [&](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  // Canonical composition (UAX #15, the reference composition loop): a character
  // joins the last starter unless a character of equal or higher class lies between.
  if (!chars.empty()) {
    std::size_t starter = 0, kept = 1;
    int last_class = ccc(chars[0]) == 0 ? 0 : 256;  // a leading non-starter blocks everything after it
    for (std::size_t i = 1; i < chars.size(); ++i) {
      const char32_t c = chars[i];
      const int c_class = ccc(c);
      const char32_t composite =
          chars[starter] >= detail::raw_byte_base || c >= detail::raw_byte_base ? 0 : detail::compose(chars[starter], c);
      if (composite != 0 && (last_class < c_class || last_class == 0)) {
        chars[starter] = composite;
        continue;
      }
      if (c_class == 0) starter = kept;
      last_class = c_class;
      chars[kept++] = c;
    }
    chars.resize(kept);
  }
  std::string out;
  out.reserve(text.size());
  for (const char32_t c : chars) {
    if (c >= detail::raw_byte_base)
      out.push_back(static_cast<char>(c - detail::raw_byte_base));
    else
      utf8::append(out, c);
  }
  return out;
}

}  // namespace r1::nfc
