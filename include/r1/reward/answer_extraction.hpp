#pragma once
// Finding the final answer in a completion, the way Math-Verify (HF) does, in order:
//   <answer>...</answer>   (the R1 template; a \boxed{} inside it wins)
//   \boxed{...} / \fbox{...} (the last outermost one; braces nested to any depth), unless
//                          an answer cue after it gives an answer ("... \boxed{200} ... Final
//                          answer: $10,455$" is 10455)
//   "#### 72"              (GSM8K)
//   after the last answer cue ("answer", "Final Answer", "réponse", "Antwort", "respuesta",
//   "ответ", "答"): the LaTeX math span(s) of that sentence, else the number it states
//                          (the first; the last when the sentence negates: "not 5; it is 6")
//   the last LaTeX math span ($...$, $$...$$, \(...\), \[...\]; dollar signs around prose
//   are currency) or the last number, whichever comes later
// The cue, span and number fallbacks look only past a closed </think>: reasoning inside it
// is not an answer the model committed to (a difference from Math-Verify, which knows no
// think block). Every scan is linear in the completion and byte-safe (NUL bytes, invalid UTF-8).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace r1 {

struct AnswerExtractionOptions {
  bool answer_tag = true;
  bool boxed = true;
  bool gsm8k_marker = true;
  bool answer_phrase = true;  // answer cues in English, French, German, Spanish, Russian, Chinese, Japanese
  bool latex_span = true;     // the last $...$, \(...\), \[...\], $$...$$
  bool last_number = true;    // Math-Verify's plain-expression fallback
  bool after_think = true;    // cue, span and number fallbacks read only past the last </think>
};

struct ExtractedAnswer {
  std::string text;                    // the answer as written (not yet normalised)
  std::string_view method;             // "answer_tag", "boxed", "gsm8k", "phrase", "latex", "last_number", "whole"
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

// The last occurrence of `needle` (non-empty), or npos: std::string_view::rfind calls
// memcmp at every position; this compares only where the first byte matches.
inline std::size_t find_last(std::string_view text, std::string_view needle) {
  if (needle.empty() || needle.size() > text.size()) return std::string_view::npos;
  std::size_t limit = text.size() - needle.size() + 1;  // candidates start below this
  while (limit > 0) {
#if defined(__GLIBC__)
    const void* hit = ::memrchr(text.data(), needle[0], limit);  // vectorised in glibc
    if (hit == nullptr) return std::string_view::npos;
    const auto start = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
#else
    std::size_t start = limit;
    while (start > 0 && text[start - 1] != needle[0]) --start;
    if (start-- == 0) return std::string_view::npos;
#endif
    if (text.compare(start, needle.size(), needle) == 0) return start;
    limit = start;
  }
  return std::string_view::npos;
}

inline bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The answer cues, lower case (ASCII letters are compared folded, other bytes exactly).
// "答" covers 答案 (Chinese), 答え and 解答 (Japanese); both cases of "ответ" are listed
// because Cyrillic is not folded.
inline constexpr std::string_view answer_cues[] = {
    "answer", "r\xC3\xA9ponse", "reponse", "antwort", "respuesta",
    "\xD0\xBE\xD1\x82\xD0\xB2\xD0\xB5\xD1\x82", "\xD0\x9E\xD1\x82\xD0\xB2\xD0\xB5\xD1\x82", "\xE7\xAD\x94"};

// End of the last answer cue in `text` (the position just after it), or npos. One
// backward pass; at each byte only the cues starting with it are compared.
inline std::size_t last_answer_cue_end(std::string_view text) {
  static constexpr auto starts_cue = [] {  // the first bytes of the cues, both cases
    std::array<bool, 256> table{};
    for (const std::string_view cue : answer_cues) {
      const auto byte = static_cast<unsigned char>(cue[0]);
      table[byte] = true;
      if (byte >= 'a' && byte <= 'z') table[byte - 'a' + 'A'] = true;
    }
    return table;
  }();
  for (std::size_t start = text.size(); start-- > 0;) {
    if (!starts_cue[static_cast<unsigned char>(text[start])]) continue;
    const char first = lower(text[start]);
    for (const std::string_view cue : answer_cues) {
      if (cue[0] != first || start + cue.size() > text.size()) continue;
      std::size_t k = 1;
      while (k < cue.size() && lower(text[start + k]) == cue[k]) ++k;
      if (k < cue.size()) continue;
      // A word of its own: not "<answer>" (the R1 tag) nor inside a longer word.
      if (start > 0 && (is_ascii_letter(text[start - 1]) || text[start - 1] == '<' || text[start - 1] == '/')) continue;
      return start + cue.size();
    }
  }
  return std::string_view::npos;
}

// Two words of three letters or more outside braces and commands: text between two
// dollar signs used as currency ("$12 and the change is $"), not math.
inline bool looks_like_prose(std::string_view content) {
  int words = 0;
  int run = 0;
  int depth = 0;
  bool command = false;
  char previous = ' ';
  for (const char c : content) {
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (is_ascii_letter(c)) {
      if (run == 0) command = previous == '\\';
      if (++run == 3 && depth == 0 && !command && ++words == 2) return true;
    } else {
      run = 0;
    }
    previous = c;
  }
  return false;
}

struct MathSpan {
  std::size_t begin = 0;  // the opening delimiter
  std::size_t end = 0;    // just past the closing delimiter
  std::string_view content;
};

// Every LaTeX math span, in order: $$...$$ and \[...\] (display, may cross lines),
// $...$ and \(...\) (inline: a line break ends the attempt, as in Math-Verify). \$ is a
// dollar sign, not a delimiter. Linear: each search starts where the last one ended.
inline std::vector<MathSpan> find_math_spans(std::string_view text) {
  std::vector<MathSpan> spans;
  // The four kinds of span: $...$, $$...$$, \(...\), \[...\]; their closers' two bytes
  // (0: a one-byte closer) and whether a line break ends the search (inline spans).
  static constexpr char closer_first[4] = {'$', '$', '\\', '\\'};
  static constexpr char closer_second[4] = {0, '$', ')', ']'};
  static constexpr bool inline_kind[4] = {true, false, true, false};
  // Per kind: a failed search from p, which stopped at s (a line break or the end), fails
  // from every opener in [p, s) too; skipping those keeps 10^5 unclosed "\[" linear
  // instead of quadratic.
  std::size_t no_closer_before[4] = {0, 0, 0, 0};
  std::size_t k = 0;
  while (k < text.size()) {
    const char c = text[k];
    int kind;
    if (c == '$') {
      kind = k + 1 < text.size() && text[k + 1] == '$' ? 1 : 0;
    } else if (c == '\\' && k + 1 < text.size()) {
      const char next = text[k + 1];
      if (next != '(' && next != '[') {
        k += 2;  // an escaped character (\$ is a dollar sign)
        continue;
      }
      kind = next == '(' ? 2 : 3;
    } else {
      ++k;
      continue;
    }
    const std::size_t open_size = kind == 0 ? 1 : 2;
    if (k < no_closer_before[kind]) {
      k += open_size;
      continue;
    }
    const char first = closer_first[kind];
    const char second = closer_second[kind];
    std::size_t close = std::string_view::npos;
    std::size_t m = k + open_size;
    for (; m < text.size(); ++m) {
      const char d = text[m];
      if (d == '\n' && inline_kind[kind]) break;
      if (d == first && (second == 0 || (m + 1 < text.size() && text[m + 1] == second))) {
        close = m;
        break;
      }
      if (d == '\\' && first != '\\') ++m;  // \$ inside $...$
    }
    if (close == std::string_view::npos) {
      no_closer_before[kind] = std::min(m, text.size());
      k += open_size;
      continue;
    }
    const std::string_view content = text.substr(k + open_size, close - k - open_size);
    // "$12 and the change is $3": dollar signs before amounts, around prose, are currency.
    if (kind == 0 && !content.empty() && is_digit(content[0]) && looks_like_prose(content)) {
      k += 1;
      continue;
    }
    const std::size_t closer_size = second == 0 ? 1 : 2;
    spans.push_back({k, close + closer_size, content});
    k = close + closer_size;
  }
  return spans;
}

// The last number of `text` as people write it: -12,500.5, .4, 2/3, 28%; not one glued to
// the end of a word ("AZYUK2A", "x_2"). Returns {begin, end} or {npos, npos}.
inline std::pair<std::size_t, std::size_t> last_number_span(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    while (end > 0 && !is_digit(text[end - 1])) --end;
    if (end == 0) break;
    std::size_t start = end;
    while (start > 0 && (is_digit(text[start - 1]) ||
                         ((text[start - 1] == '.' || text[start - 1] == ',' || text[start - 1] == '/') && start >= 2 &&
                          is_digit(text[start - 2]))))
      --start;
    if (start > 0 && text[start - 1] == '.') --start;  // .4
    if (start > 0 && (is_ascii_letter(text[start - 1]) || text[start - 1] == '_' || text[start - 1] == '\\' ||
                      text[start - 1] == '^')) {
      end = start;  // part of a word or a subscript: look further back
      while (end > 0 && is_digit(text[end - 1])) --end;
      continue;
    }
    // "1 000 000": groups of three digits after a space belong to the number.
    while (start >= 2 && text[start - 1] == ' ' && is_digit(text[start - 2]) && start + 3 <= end &&
           is_digit(text[start]) && is_digit(text[start + 1]) && is_digit(text[start + 2]) &&
           (start + 3 == end || !is_digit(text[start + 3]))) {
      std::size_t group = start - 1;
      while (group > 0 && is_digit(text[group - 1]) && start - 1 - group < 3) --group;
      if (group > 0 && (is_digit(text[group - 1]) || is_ascii_letter(text[group - 1]))) break;
      start = group;
    }
    if (start > 0 && text[start - 1] == '-') --start;
    std::size_t stop = end;
    if (stop < text.size() && text[stop] == '%') ++stop;
    return {start, stop};
  }
  return {std::string_view::npos, std::string_view::npos};
}

// Text between two items of one list: spaces, commas, semicolons, "and", "or".
inline bool only_list_separators(std::string_view gap) {
  if (gap.size() > 16) return false;
  std::string word;
  bool has_separator = false;
  for (std::size_t k = 0; k <= gap.size(); ++k) {
    const char c = k < gap.size() ? gap[k] : ' ';
    if (is_ascii_letter(c)) {
      word.push_back(lower(c));
      continue;
    }
    if (!word.empty()) {
      if (word != "and" && word != "or") return false;
      has_separator = true;
    }
    word.clear();
    if (c == ',' || c == ';') has_separator = true;
    else if (!(c == ' ' || c == '\n')) return false;
  }
  return has_separator;
}

// The first number of `text` as last_number_span reads numbers: the last number of the
// shortest prefix that holds one.
inline std::pair<std::size_t, std::size_t> first_number_span(std::string_view text) {
  std::size_t k = 0;
  while (k < text.size()) {
    while (k < text.size() && !is_digit(text[k])) ++k;
    if (k == text.size()) break;
    std::size_t end = k;  // the end of this digit group and what joins it (1,000.5  2/3)
    while (end < text.size() && (is_digit(text[end]) || ((text[end] == '.' || text[end] == ',' || text[end] == '/' ||
                                                          text[end] == ' ') &&
                                                         end + 1 < text.size() && is_digit(text[end + 1]))))
      ++end;
    // A window from just before the group (room for "-.", and the byte that tells a word)
    // keeps this linear: words with digits glued on are never rescanned.
    const std::size_t window = k >= 4 ? k - 4 : 0;
    const auto found = last_number_span(text.substr(window, end - window));
    if (found.first != std::string_view::npos && window + found.second > k)
      return {window + found.first, window + found.second};
    k = end;
  }
  return {std::string_view::npos, std::string_view::npos};
}

// The answer a cue introduces: `after` is the text after the cue. The math spans of its
// sentence (several joined by ", " when only "and", "or", commas stand between them; a
// span that is only a name, "the largest $n$ is 34", is skipped), else the sentence
// itself when it is short math or a word answer, else the last number it states.
inline std::optional<std::string> answer_after_cue(std::string_view after, const std::vector<MathSpan>& spans,
                                                   std::size_t after_offset) {
  // The sentence ends at a blank line or at ". " / ".\n" outside a span.
  std::size_t sentence_end = after.size();
  {
    std::size_t span_index = 0;
    for (std::size_t k = 0; k < after.size(); ++k) {
      while (span_index < spans.size() && spans[span_index].end <= after_offset + k) ++span_index;
      if (span_index < spans.size() && spans[span_index].begin <= after_offset + k) {
        k = spans[span_index].end - after_offset - 1;
        continue;
      }
      const char c = after[k];
      if ((c == '\n' && k + 1 < after.size() && after[k + 1] == '\n' && k > 0) ||
          ((c == '.' || c == '!' || c == '?') && (k + 1 == after.size() || after[k + 1] == ' ' || after[k + 1] == '\n'))) {
        sentence_end = k;
        break;
      }
    }
  }
  std::string joined;
  std::size_t previous_end = after_offset;
  for (const auto& span : spans) {
    if (span.begin < after_offset) continue;
    if (span.begin >= after_offset + sentence_end) break;
    const std::string_view content = trim(span.content);
    bool only_letters = !content.empty() && content.size() <= 3;
    for (const char c : content) only_letters = only_letters && is_ascii_letter(c);
    if (only_letters) continue;
    if (!joined.empty()) {
      // Only separators between two spans: "$12$ and $13$", "$x=1$, $x=2$".
      if (!only_list_separators(after.substr(previous_end - after_offset, span.begin - previous_end))) break;
      joined += ", ";
    }
    joined.append(content);
    previous_end = span.end;
  }
  if (!joined.empty()) return joined;
  std::string_view sentence = trim(after.substr(0, sentence_end));
  // "Answer: Monday", "the answer is Monday" state a word answer; after a bare "answer"
  // ("no answer at all") only a number is taken.
  bool stated = false;
  while (!sentence.empty() && (sentence.front() == ':' || sentence.front() == '*' || sentence.front() == ' ' ||
                               sentence.front() == '\n' || sentence.front() == '=')) {
    stated = stated || sentence.front() == ':' || sentence.front() == '=';
    sentence.remove_prefix(1);
  }
  for (const std::string_view verb : {"is ", "est ", "ist ", "es "}) {
    if (sentence.size() >= verb.size() && lower(sentence[0]) == verb[0] && sentence.substr(1, verb.size() - 1) == verb.substr(1)) {
      sentence.remove_prefix(verb.size());
      stated = true;
      break;
    }
  }
  while (!sentence.empty() && sentence.back() == '*') sentence.remove_suffix(1);
  sentence = trim(sentence);
  if (sentence.empty()) return std::nullopt;
  // Words (two letters or more, not a LaTeX command, not the list words "and", "or")
  // beside a number: the number is the answer ("it is 6", "Jane started 3 hours ago").
  bool has_digit = false;
  bool has_word = false;
  std::size_t word_start = 0;
  bool in_word = false;
  for (std::size_t k = 0; k <= sentence.size(); ++k) {
    const bool letter = k < sentence.size() && is_ascii_letter(sentence[k]);
    if (k < sentence.size() && is_digit(sentence[k])) has_digit = true;
    if (letter && !in_word) {
      in_word = true;
      word_start = k;
    } else if (!letter && in_word) {
      in_word = false;
      const std::string_view word = sentence.substr(word_start, k - word_start);
      const bool command = word_start > 0 && sentence[word_start - 1] == '\\';
      if (!command && word.size() >= 2 && word != "and" && word != "or") has_word = true;
    }
  }
  // A choice letter first, "(B) 12 apples": the sentence is the answer (MathAnswer reads the letter).
  const bool choice_first = (sentence.size() >= 3 && sentence[0] == '(' && is_ascii_letter(sentence[1]) && sentence[2] == ')') ||
                            (sentence.size() >= 2 && is_ascii_letter(sentence[0]) && sentence[1] == ')');
  if (choice_first) return std::string(sentence);
  if (has_digit && (has_word || !stated)) {
    // The number right after the cue ("the answer is 12, which is 3 more than 9"), unless
    // the sentence negates first ("not 5; it is 6"): then its last number.
    const bool negated = sentence.find("not ") != std::string_view::npos || sentence.find("n't ") != std::string_view::npos;
    const auto [begin, end] = negated ? last_number_span(sentence) : first_number_span(sentence);
    if (begin != std::string_view::npos) return std::string(sentence.substr(begin, end - begin));
  }
  if (!stated) return std::nullopt;
  return std::string(sentence);
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
  const std::size_t open = extraction_detail::find_last(text, "<answer>");
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
  // Where the fallbacks look: past the last </think> when there is one.
  std::string_view region = completion;
  std::size_t region_offset = 0;
  if (options.after_think) {
    if (const std::size_t think = find_last(completion, "</think>"); think != std::string_view::npos) {
      region_offset = think + 8;
      region = completion.substr(region_offset);
    }
  }
  if (options.boxed && !result.boxed.empty()) {
    // A cue after the last box that states an answer of its own wins (Math-Verify's "final
    // answer is" pattern has the box's priority and a later position). Only the text after
    // the box is searched, so a boxed completion costs one scan of its tail.
    const std::string_view last_box = result.boxed.back();
    const std::size_t box_end = static_cast<std::size_t>(last_box.data() + last_box.size() - completion.data()) + 1;
    if (options.answer_phrase && box_end < completion.size()) {
      const std::size_t tail_offset = std::max(box_end, region_offset);
      const std::string_view tail = completion.substr(std::min(tail_offset, completion.size()));
      const std::size_t tail_cue = last_answer_cue_end(tail);
      if (tail_cue != std::string_view::npos) {
        const auto tail_spans = find_math_spans(tail);
        if (auto cued_after_box = answer_after_cue(tail.substr(tail_cue), tail_spans, tail_cue)) {
          result.text = std::move(*cued_after_box);
          result.method = "phrase";
          return std::optional<ExtractedAnswer>(std::move(result));
        }
      }
    }
    return take(last_box, "boxed");
  }
  std::vector<MathSpan> spans;
  if (options.answer_phrase || options.latex_span) spans = find_math_spans(region);
  std::optional<std::string> cued;
  if (options.answer_phrase) {
    const std::size_t cue_end = last_answer_cue_end(region);
    if (cue_end != std::string_view::npos) cued = answer_after_cue(region.substr(cue_end), spans, cue_end);
  }
  if (options.gsm8k_marker) {
    if (const std::size_t marker = find_last(completion, "####"); marker != std::string_view::npos) {
      std::string_view rest = completion.substr(marker + 4);
      rest = rest.substr(0, rest.find('\n'));
      if (!trim(rest).empty()) return take(rest, "gsm8k");
    }
  }
  if (cued) {
    result.text = std::move(*cued);
    result.method = "phrase";
    return std::optional<ExtractedAnswer>(std::move(result));
  }
  // The last span or the last number after it, whichever comes later.
  const std::size_t spans_end = spans.empty() ? 0 : spans.back().end;
  if (options.last_number) {
    const auto [begin, end] = last_number_span(region.substr(spans_end));
    if (begin != std::string_view::npos) return take(region.substr(spans_end + begin, end - begin), "last_number");
  }
  if (options.latex_span && !spans.empty()) {
    // The last span, with the spans before it that only "and", "or" or commas separate
    // ("the roots are $x = 2$ or $x = 3$" is the list of both).
    // Only spans that name the same thing join: "$x = 2$ or $x = 3$", "$2$ and $3$", but
    // "since $a = 2$, $b = 3$" is the last span alone.
    const auto label = [](std::string_view content) {
      const std::size_t equals = content.find('=');
      return equals == std::string_view::npos ? std::string_view{} : trim(content.substr(0, equals));
    };
    std::size_t first = spans.size() - 1;
    while (first > 0 && label(spans[first - 1].content) == label(spans.back().content) &&
           only_list_separators(region.substr(spans[first - 1].end, spans[first].begin - spans[first - 1].end)))
      --first;
    if (first + 1 == spans.size()) return take(spans.back().content, "latex");
    std::string joined;
    for (std::size_t k = first; k < spans.size(); ++k) {
      if (!joined.empty()) joined += ", ";
      joined.append(trim(spans[k].content));
    }
    result.text = std::move(joined);
    result.method = "latex";
    return std::optional<ExtractedAnswer>(std::move(result));
  }
  if (options.last_number && spans_end > 0) {  // no span extraction: numbers anywhere
    const auto [begin, end] = last_number_span(region);
    if (begin != std::string_view::npos) return take(region.substr(begin, end - begin), "last_number");
  }
  return std::nullopt;
}

}  // namespace r1
