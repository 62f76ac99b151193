#pragma once
// r1::MathAnswer: the accuracy verifier of math problems. It extracts the final
// answer from the completion (answer_extraction.hpp), normalises both it and the
// gold (latex_normalize.hpp), and decides equivalence (answer_equivalence.hpp);
// multiple-choice letters and \text{} answers are compared as such.
//
//   r1::MathAnswer accuracy;
//   r1::Problem problem;  problem.answer = "\\frac{1}{2}";
//   accuracy(problem, "... so \\boxed{0.5}").score == 1.0
//
// The gold may be a bare answer, LaTeX in $...$ or \(...\), a \boxed{} (the last
// one is used), a GSM8K solution ending in "#### 72", or a sentence ("The answer is
// $5$."), which goes through the same extraction as a completion. Lists written with
// "or", "and" or ";" are the same list written with commas; an answer's decimal comma
// (2,74) is read as a point against a gold that is not a list. An integer gold is matched
// only by a number (03225 == 3225 == 3225.0, but not 45*72 or \frac{6450}{2}; see
// `integer_gold_needs_number`). A problem without a gold
// answer is "not applicable". Work is bounded: answers longer than
// `max_answer_bytes`, numbers longer than `limits.max_number_digits` and
// exact values past `limits.max_bits` fall back to a string or double comparison.
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "r1/reward/answer_equivalence.hpp"
#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/expression.hpp"
#include "r1/reward/latex_normalize.hpp"
#include "r1/reward/reward.hpp"
#include "r1/reward/work_budget.hpp"

namespace r1 {

struct MathAnswerOptions {
  AnswerExtractionOptions extraction;
  ExpressionLimits limits;
  EquivalenceOptions equivalence;
  bool extract = true;                  // false: the completion is already the answer
  // An integer gold (arithmetic tasks, AIME, GSM8K) is matched only by a number
  // ("03225", "3225.0", "x = 3225"), never by an expression that evaluates to it:
  // "45*72" is not an answer to "what is 45*72?", and accepting it would be hacked.
  bool integer_gold_needs_number = true;
  std::size_t max_answer_bytes = 2000;  // a longer extracted answer is wrong without parsing
  double correct_score = 1.0;
  double wrong_score = 0.0;
};

// The outcome of comparing two answers, with the reason for logs.
struct AnswerComparison {
  bool equal = false;
  std::string reason;
};

namespace math_answer_detail {

inline bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// "B", "(B)", "B)", "(b)" -> 'B'; the gold of a multiple-choice question. A bare
// lowercase letter is a variable, not a choice.
inline std::optional<char> choice_letter(std::string_view text, bool allow_trailing_text) {
  std::size_t k = 0;
  const bool parenthesised = !text.empty() && text[0] == '(';
  if (parenthesised) ++k;
  if (k >= text.size() || !is_letter(text[k])) return std::nullopt;
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(text[k])));
  if (letter > 'J') return std::nullopt;
  ++k;
  bool delimited = parenthesised;
  if (parenthesised) {
    if (k >= text.size() || text[k] != ')') return std::nullopt;
    ++k;
  } else if (k < text.size() && (text[k] == ')' || text[k] == '.' || text[k] == ':')) {
    ++k;
    delimited = true;
  }
  if (!delimited && !std::isupper(static_cast<unsigned char>(text[0]))) return std::nullopt;
  if (k == text.size()) return letter;
  // "(B) 12 apples", "C) 12": text after a delimited letter; "A + 1" is not a choice.
  if (allow_trailing_text && delimited && text[k] == ' ') return letter;
  return std::nullopt;
}

// Words rather than math: letters, spaces and light punctuation only, with a run
// of at least three letters ("Monday", "no solution", "Saturday and Sunday").
inline bool is_text_answer(std::string_view text) {
  int run = 0;
  int longest = 0;
  for (const char c : text) {
    if (is_letter(c)) {
      longest = std::max(longest, ++run);
      continue;
    }
    run = 0;
    if (!(c == ' ' || c == '\'' || c == '-' || c == ',' || c == '.')) return false;
  }
  return longest >= 3;
}

// "x = 2 or x = 3", "2 and 3", "1; 2": the same list with commas, for the parser.
inline std::string with_list_commas(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t k = 0;
  while (k < text.size()) {
    bool replaced = false;
    for (const std::string_view word : {" or ", " and ", " et ", " und ", " \xD0\xB8\xD0\xBB\xD0\xB8 ", " \xD0\xB8 "}) {
      if (text[k] != ' ') break;  // every separator word starts with a space
      if (text.compare(k, word.size(), word) == 0 && !out.empty()) {
        out += ", ";
        k += word.size();
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    out.push_back(text[k] == ';' ? ',' : text[k]);
    ++k;
  }
  return out;
}

// "2,74" read with a decimal point ("2.74"), or nullopt when the text is not one number
// with one comma.
inline std::optional<std::string> decimal_comma_reading(std::string_view text) {
  std::size_t k = 0;
  if (k < text.size() && text[k] == '-') ++k;
  const std::size_t whole = k;
  while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
  if (k == whole || k >= text.size() || text[k] != ',') return std::nullopt;
  const std::size_t comma = k++;
  const std::size_t fraction = k;
  while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
  if (k == fraction || k != text.size()) return std::nullopt;
  std::string out(text);
  out[comma] = '.';
  return out;
}

inline bool is_decimal_number(std::string_view text) {
  std::size_t k = 0;
  if (k < text.size() && text[k] == '-') ++k;
  bool digits = false;
  bool point = false;
  for (; k < text.size(); ++k) {
    if (text[k] >= '0' && text[k] <= '9') digits = true;
    else if (text[k] == '.' && !point) point = true;
    else return false;
  }
  return digits && point;
}

inline std::string folded_text(std::string_view text) {
  std::string out;
  for (const char c : text)
    if (is_letter(c)) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    else if (c == ' ' && !out.empty() && out.back() != ' ') out.push_back(' ');
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace math_answer_detail

// The answer part of a dataset's gold field: its last \boxed{}, the text after a
// GSM8K "####", or the whole field.
inline std::string gold_answer_text(std::string_view gold) {
  const auto boxed = find_boxed_contents(gold);
  if (!boxed.empty()) return std::string(boxed.back());
  if (const std::size_t marker = extraction_detail::find_last(gold, "####"); marker != std::string_view::npos)
    return std::string(extraction_detail::trim(gold.substr(marker + 4)));
  const std::string_view trimmed = extraction_detail::trim(gold);
  // A sentence around the answer ("The answer is $5$.") is extracted as a completion is;
  // spans that only commas, "and", "or" separate ("$12$ and $13$") are the list they write.
  const bool cued = extraction_detail::last_answer_cue_end(trimmed) != std::string_view::npos;
  if (!cued && trimmed.find('$') == std::string_view::npos && trimmed.find("\\(") == std::string_view::npos &&
      trimmed.find("\\[") == std::string_view::npos)
    return std::string(trimmed);
  if (!cued) {
    const auto spans = extraction_detail::find_math_spans(trimmed);
    if (spans.empty()) return std::string(trimmed);
    bool separators_only = true;
    std::string word;
    std::size_t position = 0;
    for (std::size_t k = 0; k <= spans.size() && separators_only; ++k) {
      const std::size_t gap_end = k < spans.size() ? spans[k].begin : trimmed.size();
      for (std::size_t m = position; m <= gap_end; ++m) {
        const char c = m < gap_end ? trimmed[m] : ' ';
        if (math_answer_detail::is_letter(c)) {
          word.push_back(c);
          continue;
        }
        if (!word.empty() && word != "and" && word != "or") separators_only = false;
        word.clear();
        if (!(c == ' ' || c == ',' || c == ';' || c == '.' || c == '\n')) separators_only = false;
      }
      if (k < spans.size()) position = spans[k].end;
    }
    if (separators_only) {
      if (spans.size() == 1) return std::string(trimmed);  // "$5$": normalisation drops the dollars
      std::string joined;
      for (const auto& span : spans) {
        if (!joined.empty()) joined += ", ";
        joined.append(extraction_detail::trim(span.content));
      }
      return joined;
    }
  }
  AnswerExtractionOptions options;
  options.answer_tag = false;
  options.after_think = false;
  if (const auto extracted = extract_answer(trimmed, options)) return extracted->text;
  return std::string(trimmed);
}

class MathAnswer {
 public:
  MathAnswer() = default;
  explicit MathAnswer(MathAnswerOptions options) : options_(std::move(options)) {}

  std::string_view name() const { return "accuracy"; }
  const MathAnswerOptions& options() const { return options_; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    if (extraction_detail::trim(problem.answer).empty()) return Reward::not_applicable("no gold answer");
    const std::string gold = gold_answer_text(problem.answer);
    Reward reward;
    reward.score = options_.wrong_score;
    std::optional<ExtractedAnswer> extracted;
    if (options_.extract) {
      extracted = extract_answer(completion, options_.extraction);
      if (!extracted) {
        reward.reason = "no answer found";
        return reward;
      }
    } else {
      extracted = ExtractedAnswer{std::string(extraction_detail::trim(completion)), "whole", {}};
    }
    reward.extracted = extracted->text;
    AnswerComparison comparison = compare(gold, extracted->text);
    // Several boxed answers to one question with several answers: the boxes as a set.
    if (!comparison.equal && extracted->method == "boxed" && extracted->boxed.size() >= 2 &&
        extracted->boxed.size() <= 64) {
      std::string joined;
      for (const auto box : extracted->boxed) {
        if (!joined.empty()) joined += ", ";
        joined.append(box);
      }
      AnswerComparison as_set = compare(gold, joined);
      if (as_set.equal) {
        reward.extracted = joined;
        comparison = std::move(as_set);
        comparison.reason += " (the boxed answers as a set)";
      }
    }
    reward.score = comparison.equal ? options_.correct_score : options_.wrong_score;
    reward.reason = std::move(comparison.reason);
    return reward;
  }

  // Compares an extracted answer with the gold answer (both as written).
  AnswerComparison compare(std::string_view gold, std::string_view answer) const {
    using namespace math_answer_detail;
    if (verification_deadline_passed()) return {false, "timed out"};
    if (answer.size() > options_.max_answer_bytes || gold.size() > options_.max_answer_bytes) {
      // Too long to normalise and parse within the bounds: the bytes must match.
      const bool same = extraction_detail::trim(gold) == extraction_detail::trim(answer);
      return {same, same ? "identical (longer than max_answer_bytes, compared as bytes)"
                         : "longer than max_answer_bytes (" + std::to_string(options_.max_answer_bytes) +
                               ") and not identical"};
    }
    const std::string gold_normal = normalize_latex_answer(gold_answer_text(gold));
    // The answer is already extracted: only a \boxed{} left around it is unwrapped.
    const auto answer_boxes = find_boxed_contents(answer);
    const std::string answer_normal = normalize_latex_answer(answer_boxes.empty() ? answer : answer_boxes.back());
    if (answer_normal.empty()) return {false, "empty answer"};
    if (without_spaces(gold_normal) == without_spaces(answer_normal)) return {true, "same after normalisation"};

    if (const auto gold_letter = choice_letter(gold_normal, false)) {
      const auto answer_letter = choice_letter(answer_normal, true);
      if (!answer_letter) return {false, "gold is a choice letter; the answer is not"};
      return {*answer_letter == *gold_letter, *answer_letter == *gold_letter ? "same choice" : "different choice"};
    }
    if (is_text_answer(gold_normal) || is_text_answer(answer_normal)) {
      const bool same = folded_text(gold_normal) == folded_text(answer_normal) && is_text_answer(gold_normal) &&
                        is_text_answer(answer_normal);
      return {same, same ? "same text" : "different text"};
    }
    if (verification_deadline_passed()) return {false, "timed out"};
    const std::string gold_math = with_list_commas(gold_normal);
    const std::string answer_math = with_list_commas(answer_normal);
    AnswerComparison result = compare_math(gold_math, answer_math);
    if (result.equal) return result;
    // A decimal comma, 2,74 against 2.74 or \frac{137}{50}: the answer's comma is read as a
    // point only against a gold that is not itself a list or tuple, so "1,2" stays the
    // list of 1 and 2 against "1, 2".
    if (gold_math.find(',') == std::string::npos) {
      if (const auto reading = decimal_comma_reading(answer_math)) {
        AnswerComparison as_decimal = compare_math(gold_math, *reading);
        if (as_decimal.equal) return {true, "equivalent (decimal comma)"};
      }
    }
    if (const auto reading = decimal_comma_reading(gold_math)) {  // "1, 2" (a space) stays a list
      if (is_decimal_number(without_spaces(answer_math)) || decimal_comma_reading(answer_math)) {
        const auto answer_reading = decimal_comma_reading(answer_math);
        AnswerComparison as_decimal = compare_math(*reading, answer_reading ? *answer_reading : answer_math);
        if (as_decimal.equal) return {true, "equivalent (decimal comma)"};
      }
    }
    return result;
  }

  // Parses both (normalised) answers and compares them as math.
  AnswerComparison compare_math(std::string_view gold_math, std::string_view answer_math) const {
    const auto gold_expression = parse_math_expression(gold_math, options_.limits);
    if (!gold_expression) return {false, "gold not parsable as math; strings differ"};
    const auto answer_expression = parse_math_expression(answer_math, options_.limits);
    if (!answer_expression) return {false, "answer not parsable as math"};
    if (verification_deadline_passed()) return {false, "timed out"};
    if (options_.integer_gold_needs_number && is_integer_literal(*gold_expression, gold_expression->root()) &&
        !is_number_answer(*answer_expression))
      return {false, "gold is an integer; the answer is an expression, not a number"};
    const bool same = expressions_equivalent(*gold_expression, *answer_expression, options_.equivalence);
    return {same, same ? "equivalent" : "not equivalent"};
  }

  bool equivalent(std::string_view gold, std::string_view answer) const { return compare(gold, answer).equal; }

 private:
  // 42, -42 (a literal, possibly negated).
  static bool is_integer_literal(const MathExpression& e, std::int32_t index) {
    const ExprNode& n = e.node(index);
    if (n.kind == ExprKind::negate) return is_integer_literal(e, n.first);
    if (n.kind != ExprKind::number) return false;
    const auto value = e.evaluate_exact(index, BigInt::default_max_bits);
    return value && value->denominator() == BigInt{1};  // written without a decimal point
  }
  // A literal number, negated or as a percent, or "x = <such a number>".
  static bool is_number_literal(const MathExpression& e, std::int32_t index) {
    const ExprNode& n = e.node(index);
    if (n.kind == ExprKind::negate || n.kind == ExprKind::percent) return is_number_literal(e, n.first);
    return n.kind == ExprKind::number;
  }
  // A literal, or an equation whose value (see expressions_equivalent) is one:
  // "y = 12", "PQ = 12", "t = 4 + 8 = 12", "12 = y".
  static bool is_number_answer(const MathExpression& e) {
    const ExprNode& root = e.node(e.root());
    if (root.kind == ExprKind::equation) {
      if (equivalence_detail::is_label(e, root.first)) return is_number_literal(e, root.second);
      if (equivalence_detail::is_label(e, root.second)) return is_number_literal(e, root.first);
      if (root.number >= 3) return is_number_literal(e, root.second);
      if (root.open == '~') return is_number_literal(e, root.first) || is_number_literal(e, root.second);
      return false;
    }
    return is_number_literal(e, e.root());
  }

 public:

 private:
  MathAnswerOptions options_;
};

}  // namespace r1
