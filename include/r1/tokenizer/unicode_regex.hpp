#pragma once
// UnicodeRegex: a compiled PCRE2 pattern (UTF + UCP, JIT when available) that
// finds every non-overlapping match in UTF-8 text. Subjects may hold invalid
// UTF-8 (PCRE2_MATCH_INVALID_UTF): ill-formed bytes are never part of a match.
//
// HF tokenizers compile their Split patterns with Oniguruma, whose `\s` is the
// Unicode White_Space property; PCRE2's UCP `\s` also takes U+180E. Patterns are
// rewritten so that `\s` / `\S` mean exactly White_Space (Unicode PropList.txt).
// r1 uses the 8-bit library and asks for it here, not on r1::r1's interface, so
// consumers get no definition they did not ask for; one of their own must be 8.
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#if PCRE2_CODE_UNIT_WIDTH != 8
#error "r1/tokenizer/unicode_regex.hpp uses PCRE2's 8-bit API: PCRE2_CODE_UNIT_WIDTH must be 8 or undefined"
#endif
#include <pcre2.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"

namespace r1 {

class UnicodeRegex {
 public:
  UnicodeRegex() = default;
  // `where` names the pattern's source in errors ("tokenizer.json: pre_tokenizer ... pattern").
  UnicodeRegex(std::string_view pattern, std::string_view where) : pattern_(pattern) {
    const std::string rewritten = with_white_space_property(pattern);
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code, &error_offset,
                                     nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof message);
      fail(where, ": cannot compile regex '", pattern, "' at offset ", error_offset, ": ",
           reinterpret_cast<const char*>(message));
    }
    code_.reset(code, pcre2_code_free);
    jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    // PCRE2's default match limit (10^7 backtracking steps) stops `\s*[\r\n]+` on 10 MB of
    // spaces, which backtracks once over the whole run: a linear cost, so lift the limit.
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    require(context != nullptr, where, ": out of memory for a PCRE2 match context");
    pcre2_set_match_limit(context, 0xFFFFFFFFu);
    context_.reset(context, pcre2_match_context_free);
  }

  const std::string& pattern() const { return pattern_; }

  // Byte ranges [begin, end) of every match, left to right, non-overlapping; empty matches skipped.
  void find_all(std::string_view subject, std::vector<std::pair<std::size_t, std::size_t>>& matches) const {
    matches.clear();
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), pcre2_match_data_free);
    require(data != nullptr, "UnicodeRegex: out of memory for match data");
    const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    std::size_t offset = 0;
    while (offset <= subject.size()) {
      const int rc = jit_ ? pcre2_jit_match(code_.get(), text, subject.size(), offset, 0, data.get(), context_.get())
                          : pcre2_match(code_.get(), text, subject.size(), offset, 0, data.get(), context_.get());
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(rc, message, sizeof message);
        fail("UnicodeRegex '", pattern_, "': match failed: ", reinterpret_cast<const char*>(message));
      }
      const PCRE2_SIZE* vector = pcre2_get_ovector_pointer(data.get());
      const std::size_t begin = vector[0], end = vector[1];
      if (end > begin) {
        matches.emplace_back(begin, end);
        offset = end;
      } else {
        offset = next_character(subject, end);  // an empty match: step over one character
      }
    }
  }

 private:
  static std::size_t next_character(std::string_view text, std::size_t position) {
    ++position;
    while (position < text.size() && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) ++position;
    return position;
  }

  // Unicode White_Space (PropList.txt): 9-D, 20, 85, A0, 1680, 2000-200A, 2028, 2029, 202F, 205F, 3000.
  static std::string with_white_space_property(std::string_view pattern) {
    static constexpr std::string_view members =
        "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
    std::string out;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const char c = pattern[i];
      if (c == '\\' && i + 1 < pattern.size()) {
        const char escaped = pattern[i + 1];
        if (escaped == 's') {
          out += in_class ? std::string(members) : "[" + std::string(members) + "]";
        } else if (escaped == 'S' && !in_class) {
          out += "[^" + std::string(members) + "]";
        } else {
          out += c;
          out += escaped;
        }
        ++i;
        continue;
      }
      if (c == '[' && !in_class) {
        in_class = true;
        out += c;
        // A ']' right after '[' or '[^' is a literal member.
        if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
        continue;
      }
      if (c == ']' && in_class) in_class = false;
      out += c;
    }
    return out;
  }

  std::string pattern_;
  std::shared_ptr<pcre2_code> code_;
  std::shared_ptr<pcre2_match_context> context_;
  bool jit_ = false;
};

}  // namespace r1
