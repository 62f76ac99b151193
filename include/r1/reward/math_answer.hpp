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
// one is used), or a GSM8K solution ending in "#### 72". An integer gold is matched
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
  if (const std::size_t marker = gold.rfind("####"); marker != std::string_view::npos)
    return std::string(extraction_detail::trim(gold.substr(marker + 4)));
  return std::string(extraction_detail::trim(gold));
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
    const std::string answer_normal = normalize_latex_answer(gold_answer_text(answer));
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
    const auto gold_expression = parse_math_expression(gold_normal, options_.limits);
    if (!gold_expression) return {false, "gold not parsable as math; strings differ"};
    const auto answer_expression = parse_math_expression(answer_normal, options_.limits);
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
  static bool is_number_answer(const MathExpression& e) {
    const ExprNode& root = e.node(e.root());
    if (root.kind == ExprKind::equation) {
      if (e.node(root.first).kind == ExprKind::variable) return is_number_literal(e, root.second);
      if (e.node(root.second).kind == ExprKind::variable) return is_number_literal(e, root.first);
      return false;
    }
    return is_number_literal(e, e.root());
  }

 public:

 private:
  MathAnswerOptions options_;
};

}  // namespace r1
