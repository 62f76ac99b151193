#pragma once
// r1::LanguageConsistency: the language-consistency reward of DeepSeek-R1 (§2.3.2):
// the proportion of words of the chain of thought written in the target language.
//
// Words are counted by script, decoded from UTF-8 (invalid bytes are skipped):
// a run of letters of one alphabetic script (Latin, Cyrillic, Greek, Arabic, Hebrew,
// Devanagari, Hangul) is one word; in scripts written without spaces (Han, kana,
// Thai) each character is one word. Single Latin letters (math variables) and
// LaTeX commands (\frac) are not words. The target language is the problem's
// `language` code ("en", "zh-CN", "ja", ...), else the verifier's default.
// The chain of thought is the <think> block when there is one, else the completion.
// No words at all: not applicable.
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

enum class Script : std::uint8_t { none, latin, cyrillic, greek, arabic, hebrew, devanagari, hangul, han, kana, thai };

namespace language_detail {

// The next code point from `pos`, or U+FFFD for an invalid byte (then skipped).
inline char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(pos);
  int length = 0;
  char32_t value = 0;
  if (lead < 0x80) {
    ++pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
  } else {
    ++pos;
    return 0xFFFD;
  }
  if (pos + static_cast<std::size_t>(length) > text.size()) {
    ++pos;
    return 0xFFFD;
  }
  for (int k = 1; k < length; ++k) {
    const unsigned char continuation = byte(pos + static_cast<std::size_t>(k));
    if ((continuation & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    value = (value << 6) | (continuation & 0x3F);
  }
  pos += static_cast<std::size_t>(length);
  return value;
}

inline Script script_of(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return Script::latin;
  if (c >= 0x00C0 && c <= 0x024F && c != 0x00D7 && c != 0x00F7) return Script::latin;
  if (c >= 0x1E00 && c <= 0x1EFF) return Script::latin;  // Vietnamese and other extended Latin
  if (c >= 0x0370 && c <= 0x03FF) return Script::greek;
  if (c >= 0x0400 && c <= 0x052F) return Script::cyrillic;
  if (c >= 0x0590 && c <= 0x05FF) return Script::hebrew;
  if (c >= 0x0600 && c <= 0x06FF) return Script::arabic;
  if (c >= 0x0900 && c <= 0x097F) return Script::devanagari;
  if (c >= 0x0E00 && c <= 0x0E7F) return Script::thai;
  if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF)) return Script::kana;
  if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0x20000 && c <= 0x2A6DF))
    return Script::han;
  if ((c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF)) return Script::hangul;
  return Script::none;
}

inline bool written_without_spaces(Script script) { return script == Script::han || script == Script::kana || script == Script::thai; }

}  // namespace language_detail

// Words per script in `text` (see the file comment).
struct ScriptWordCounts {
  std::int64_t words[11] = {};
  std::int64_t total() const {
    std::int64_t sum = 0;
    for (int k = 1; k < 11; ++k) sum += words[k];
    return sum;
  }
  std::int64_t of(Script script) const { return words[static_cast<int>(script)]; }
};

inline ScriptWordCounts count_words_by_script(std::string_view text) {
  using namespace language_detail;
  ScriptWordCounts counts;
  Script run_script = Script::none;
  std::int64_t run_length = 0;
  const auto end_run = [&] {
    if (run_script != Script::none && !written_without_spaces(run_script) &&
        !(run_script == Script::latin && run_length < 2))
      ++counts.words[static_cast<int>(run_script)];
    run_script = Script::none;
    run_length = 0;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == '\\') {  // a LaTeX command is not a word
      end_run();
      ++pos;
      while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
      continue;
    }
    const Script script = script_of(next_code_point(text, pos));
    if (written_without_spaces(script)) {
      end_run();
      ++counts.words[static_cast<int>(script)];
      continue;
    }
    if (script != run_script) end_run();
    if (script != Script::none) {
      run_script = script;
      ++run_length;
    }
  }
  end_run();
  return counts;
}

struct LanguageConsistencyOptions {
  std::string default_language = "en";  // when the problem names none
  bool think_block_only = true;         // score the <think> block when there is one
};

class LanguageConsistency {
 public:
  LanguageConsistency() = default;
  explicit LanguageConsistency(LanguageConsistencyOptions options) : options_(std::move(options)) {}

  std::string_view name() const { return "language"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    const std::string& language = problem.language.empty() ? options_.default_language : problem.language;
    std::string_view reasoning = completion;
    if (options_.think_block_only) {
      const std::size_t open = completion.find("<think>");
      const std::size_t start = open == std::string_view::npos ? 0 : open + 7;
      const std::size_t close = completion.find("</think>", start);
      if (open != std::string_view::npos || close != std::string_view::npos)
        reasoning = completion.substr(start, close == std::string_view::npos ? std::string_view::npos : close - start);
    }
    const ScriptWordCounts counts = count_words_by_script(reasoning);
    const std::int64_t total = counts.total();
    if (total == 0) return Reward::not_applicable("no words in the reasoning");
    std::int64_t in_language = 0;
    for (const Script script : scripts_of_language(language)) {
      if (script != Script::none) in_language += counts.of(script);
    }
    Reward reward;
    reward.score = static_cast<double>(in_language) / static_cast<double>(total);
    reward.reason = std::to_string(in_language) + " of " + std::to_string(total) + " words in '" + language + "'";
    return reward;
  }

  // The scripts a language code is written in (up to two); r1::Error for an unknown code.
  static std::array<Script, 2> scripts_of_language(std::string_view code) {
    std::string base;
    for (const char c : code) {
      if (c == '-' || c == '_') break;
      base.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    for (const std::string_view latin : {"en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "fi", "pl",
                                         "cs", "sk", "ro", "hu", "tr", "vi", "id", "ms", "ca", "hr", "sl", "et", "lv",
                                         "lt", "tl", "sw"})
      if (base == latin) return {Script::latin, Script::none};
    if (base == "zh") return {Script::han, Script::none};
    if (base == "ja") return {Script::kana, Script::han};
    if (base == "ko") return {Script::hangul, Script::none};
    if (base == "ru" || base == "uk" || base == "bg" || base == "sr" || base == "be" || base == "kk")
      return {Script::cyrillic, Script::none};
    if (base == "el") return {Script::greek, Script::none};
    if (base == "ar" || base == "fa" || base == "ur") return {Script::arabic, Script::none};
    if (base == "he") return {Script::hebrew, Script::none};
    if (base == "hi" || base == "mr" || base == "ne") return {Script::devanagari, Script::none};
    if (base == "th") return {Script::thai, Script::none};
    fail("language consistency: unknown language code '", code, "' (expected e.g. en, zh, ja, ko, ru, ar, hi)");
  }

 private:
  LanguageConsistencyOptions options_;
};

}  // namespace r1
