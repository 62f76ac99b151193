#pragma once
// Finding the final answer in a completion, the way math graders do:
//   <answer>...</answer>   (the R1 template; a \boxed{} inside it wins)
//   \boxed{...} / \fbox{...} (the last outermost one; braces nested to any depth)
//   "#### 72"              (GSM8K)
//   "the answer is ..." / "Final answer: ..."
//   the last number        (off by default: it rewards answers the model never committed to)
// Every scan is linear in the completion and byte-safe (NUL bytes, invalid UTF-8).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

struct AnswerExtractionOptions {
  bool answer_tag = true;
  bool boxed = true;
  bool gsm8k_marker = true;
  bool answer_phrase = true;
  bool last_number = false;
};

struct ExtractedAnswer {
  std::string text;                    // the answer as written (not yet normalised)
  std::string_view method;             // "answer_tag", "boxed", "gsm8k", "phrase", "last_number", "whole"
  std::vector<std::string_view> boxed;  // every outermost \boxed{} of the completion, in order
};

namespace extraction_detail {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' || text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Last case-insensitive occurrence of an ASCII `needle`, or npos.
inline std::size_t rfind_case_insensitive(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (std::size_t start = text.size() - needle.size() + 1; start-- > 0;) {
    std::size_t k = 0;
    while (k < needle.size() && lower(text[start + k]) == needle[k]) ++k;
    if (k == needle.size()) return start;
  }
  return std::string_view::npos;
}

}  // namespace extraction_detail

// Contents of every outermost \boxed{...} and \fbox{...}, in order, in one pass
// with a stack of open braces (1 MB of '{' costs one pass, not a quadratic rescan).
// Also `\boxed 5` (a single token without braces).
inline std::vector<std::string_view> find_boxed_contents(std::string_view text) {
  std::vector<std::string_view> found;
  std::vector<std::size_t> open_braces;   // positions of unmatched '{'
  std::vector<bool> opens_box;            // parallel: does that '{' open a \boxed?
  std::size_t boxes_open = 0;
  std::size_t k = 0;
  while (k < text.size()) {
    const char c = text[k];
    if (c == '\\') {
      std::size_t name_length = 0;
      if (text.substr(k + 1, 5) == "boxed") name_length = 5;
      else if (text.substr(k + 1, 4) == "fbox") name_length = 4;
      if (name_length > 0) {
        std::size_t after = k + 1 + name_length;
        while (after < text.size() && text[after] == ' ') ++after;
        if (after < text.size() && text[after] == '{') {
          open_braces.push_back(after);
          opens_box.push_back(true);
          ++boxes_open;
          k = after + 1;
          continue;
        }
        if (after > k + 1 + name_length && boxes_open == 0) {  // "\boxed 5": up to the next space or '$'
          std::size_t end = after;
          while (end < text.size() && text[end] != ' ' && text[end] != '$' && text[end] != '\n') ++end;
          if (end > after) found.push_back(text.substr(after, end - after));
          k = end;
          continue;
        }
      }
      k += 2;  // an escaped character (\{ \}) is never a group brace
      continue;
    }
    if (c == '{') {
      open_braces.push_back(k);
      opens_box.push_back(false);
    } else if (c == '}' && !open_braces.empty()) {
      const std::size_t open = open_braces.back();
      const bool was_box = opens_box.back();
      open_braces.pop_back();
      opens_box.pop_back();
      if (was_box) {
        --boxes_open;
        if (boxes_open == 0) found.push_back(text.substr(open + 1, k - open - 1));
      }
    }
    ++k;
  }
  return found;
}

// The content of the last <answer>...</answer> block, or nullopt.
inline std::optional<std::string_view> find_answer_tag(std::string_view text) {
  const std::size_t open = text.rfind("<answer>");
  if (open == std::string_view::npos) return std::nullopt;
  const std::size_t start = open + 8;
  const std::size_t close = text.find("</answer>", start);
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(start, close - start);
}

// The final answer of `completion`, or nullopt when no enabled rule finds one.
inline std::optional<ExtractedAnswer> extract_answer(std::string_view completion, const AnswerExtractionOptions& options = {}) {
  using namespace extraction_detail;
  ExtractedAnswer result;
  result.boxed = find_boxed_contents(completion);
  const auto take = [&](std::string_view text, std::string_view method) {
    result.text.assign(trim(text));
    result.method = method;
    return std::optional<ExtractedAnswer>(std::move(result));
  };

  if (options.answer_tag) {
    if (const auto inside = find_answer_tag(completion)) {
      const auto inner_boxed = find_boxed_contents(*inside);
      if (!inner_boxed.empty()) {
        result.boxed = inner_boxed;
        return take(inner_boxed.back(), "answer_tag");
      }
      if (!trim(*inside).empty()) return take(*inside, "answer_tag");
    }
  }
  if (options.boxed && !result.boxed.empty()) return take(result.boxed.back(), "boxed");
  if (options.gsm8k_marker) {
    if (const std::size_t marker = completion.rfind("####"); marker != std::string_view::npos) {
      std::string_view rest = completion.substr(marker + 4);
      rest = rest.substr(0, rest.find('\n'));
      if (!trim(rest).empty()) return take(rest, "gsm8k");
    }
  }
  if (options.answer_phrase) {
    for (const std::string_view phrase : {"the answer is", "final answer is", "final answer:", "answer:"}) {
      const std::size_t hit = rfind_case_insensitive(completion, phrase);
      if (hit == std::string_view::npos) continue;
      std::string_view rest = completion.substr(hit + phrase.size());
      rest = rest.substr(0, rest.find('\n'));
      // The sentence ends at ". " or a final '.', not at a decimal point.
      for (std::size_t k = 0; k < rest.size(); ++k)
        if (rest[k] == '.' && (k + 1 == rest.size() || rest[k + 1] == ' ')) {
          rest = rest.substr(0, k);
          break;
        }
      rest = trim(rest);
      if (!rest.empty() && rest.front() == ':') rest = trim(rest.substr(1));
      if (!rest.empty()) return take(rest, "phrase");
    }
  }
  if (options.last_number) {
    // The last [-]digits[.digits] (commas between digit groups allowed).
    std::size_t end = completion.size();
    while (end > 0 && !is_digit(completion[end - 1])) --end;
    if (end > 0) {
      std::size_t start = end;
      while (start > 0 && (is_digit(completion[start - 1]) ||
                           ((completion[start - 1] == '.' || completion[start - 1] == ',') && start >= 2 &&
                            is_digit(completion[start - 2]))))
        --start;
      if (start > 0 && completion[start - 1] == '-') --start;
      return take(completion.substr(start, end - start), "last_number");
    }
  }
  return std::nullopt;
}

}  // namespace r1
