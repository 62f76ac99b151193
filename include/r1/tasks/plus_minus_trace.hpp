#pragma once
// Reads a model's plus-minus completion (r1/tasks/plus_minus.hpp) back into what it
// did: answered directly, worked a chain of signs, or worked and checked it (and
// revised after a failed check), what each chain reached, and whether a check
// caught a wrong guess that the answer then corrected. This is the self-check
// detector of the R1-Zero "second act" example. It never trusts the text: any
// deviation from the grammar below gives well_formed = false, never an error.
//
//   completion := "<think>" think "</think><answer>" expression "</answer>"
//   think      := "" | attempt* final
//   attempt    := chain "<check>" check "<wrong>"          (a miss, then another attempt)
//   final      := attempt | chain | chain "<check>" check "<ok>"
//   chain      := step (";" step)*      step := sign digits "=" sign digits
//   check      := sign digits ("<" | "=" | ">") digits       expression := digits (sign digits)*
//
// Work is linear in the text, and text past kPlusMinusTraceMaxChars is not read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "r1/tasks/plus_minus.hpp"

namespace r1 {

inline constexpr std::size_t kPlusMinusTraceMaxChars = 4096;
inline constexpr std::size_t kPlusMinusTraceMaxDigits = 12;  // longer digit runs are malformed (no overflow)

enum class PlusMinusVerdict : std::uint8_t { none, ok, wrong };

// One chain as written, and its check if it has one.
struct PlusMinusAttempt {
  SignPattern pattern = 0;         // the signs written (bit i: a minus before number i + 1)
  std::int64_t reached = 0;        // the last step's written value
  bool numbers_match = true;       // each step names the problem's next number
  bool arithmetic_right = true;    // each step's written value is the previous one plus or minus its number
  PlusMinusVerdict verdict = PlusMinusVerdict::none;
  bool check_right = false;        // the check reads the chain's value and the target and compares them right
  bool guess_solves = false;       // the signs written reach the target on the problem's numbers
};

struct PlusMinusTrace {
  bool well_formed = false;
  PlusMinusStyle style = PlusMinusStyle::direct;
  std::vector<PlusMinusAttempt> attempts;
  std::optional<SignPattern> answer;  // the signs of the <answer> expression, when it lists the problem's numbers
  bool answer_solves = false;

  // A completion with at least one check: a chain's value substituted back and a verdict.
  bool self_checked() const { return well_formed && style == PlusMinusStyle::checked; }
  // The first guess misses the target.
  bool first_guess_wrong() const { return !attempts.empty() && !attempts.front().guess_solves; }
  // The "aha": the first guess missed, its check compared right and said so, and the answer reaches the target
  // after a last check that compared right and said <ok>. Sloppy checks that land on a right answer by luck
  // (a misread value, a wrong comparison) do not count.
  bool caught_and_corrected() const {
    if (!self_checked() || !first_guess_wrong() || attempts.size() < 2 || !answer_solves) return false;
    const auto& first = attempts.front();
    const auto& last = attempts.back();
    return first.verdict == PlusMinusVerdict::wrong && first.check_right && last.verdict == PlusMinusVerdict::ok && last.check_right;
  }
};

namespace detail {

class PlusMinusReader {
 public:
  explicit PlusMinusReader(std::string_view text) : text_(text) {}

  bool at_end() const { return position_ == text_.size(); }
  bool peek(std::string_view literal) const { return text_.substr(position_, literal.size()) == literal; }
  bool take(std::string_view literal) {
    if (!peek(literal)) return false;
    position_ += literal.size();
    return true;
  }
  std::optional<std::int64_t> number() {
    std::size_t digits = 0;
    std::int64_t value = 0;
    while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
      if (++digits > kPlusMinusTraceMaxDigits) return std::nullopt;
      value = value * 10 + (text_[position_++] - '0');
    }
    if (digits == 0) return std::nullopt;
    return value;
  }
  // "+" or "-", as +1 or -1.
  std::optional<int> sign() {
    if (take("+")) return 1;
    if (take("-")) return -1;
    return std::nullopt;
  }
  std::optional<std::int64_t> signed_number() {
    const auto s = sign();
    if (!s) return std::nullopt;
    const auto magnitude = number();
    if (!magnitude) return std::nullopt;
    return *s * *magnitude;
  }

  // A chain over `problem`'s numbers; steps past the last number are malformed.
  std::optional<PlusMinusAttempt> chain(const PlusMinus& problem) {
    PlusMinusAttempt attempt;
    std::int64_t previous = problem.numbers().front();
    int index = 1;
    do {
      if (index >= problem.count()) return std::nullopt;
      const auto s = sign();
      if (!s) return std::nullopt;
      const auto operand = number();
      if (!operand || !take("=")) return std::nullopt;
      const auto written = signed_number();
      if (!written) return std::nullopt;
      if (*s < 0) attempt.pattern |= SignPattern{1} << (index - 1);
      attempt.numbers_match = attempt.numbers_match && *operand == problem.numbers()[static_cast<std::size_t>(index)];
      attempt.arithmetic_right = attempt.arithmetic_right && previous + *s * *operand == *written;
      previous = *written;
      attempt.reached = *written;
      ++index;
    } while (take(";"));
    if (index != problem.count()) return std::nullopt;  // a chain names every number after the first
    attempt.guess_solves = problem.solves(attempt.pattern);
    return attempt;
  }

  // "<signed value><relation><target>" after "<check>"; true when it reads the chain's value and the problem's
  // target and the relation is theirs. A '<' that opens a tag ("<ok>", "<wrong>") is not a relation.
  std::optional<bool> check(const PlusMinus& problem, std::int64_t reached) {
    const auto value = signed_number();
    if (!value) return std::nullopt;
    int relation = 0;
    if (peek("<ok>") || peek("<wrong>")) return std::nullopt;
    if (take("<")) {
      relation = -1;
    } else if (take(">")) {
      relation = 1;
    } else if (!take("=")) {
      return std::nullopt;
    }
    const auto target = number();
    if (!target) return std::nullopt;
    const int actual = *value < *target ? -1 : *value > *target ? 1 : 0;
    return *value == reached && *target == problem.target() && relation == actual;
  }

  // The <answer> expression's signs, when its numbers are the problem's in order.
  std::optional<std::optional<SignPattern>> expression(const PlusMinus& problem) {
    bool matches = true;
    SignPattern pattern = 0;
    const auto first = number();
    if (!first) return std::nullopt;
    matches = *first == problem.numbers().front();
    int index = 1;
    while (!peek("</answer>")) {
      const auto s = sign();
      if (!s) return std::nullopt;
      const auto operand = number();
      if (!operand) return std::nullopt;
      if (index >= problem.count() || *operand != problem.numbers()[static_cast<std::size_t>(index)]) matches = false;
      if (matches && *s < 0) pattern |= SignPattern{1} << (index - 1);
      ++index;
    }
    if (!matches || index != problem.count()) return std::optional<SignPattern>{};
    return std::optional<SignPattern>{pattern};
  }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace detail

// The trace of `completion` (the decoded text after the prompt, without <eos>) for `problem`.
inline PlusMinusTrace trace_plus_minus(const PlusMinus& problem, std::string_view completion) {
  PlusMinusTrace trace;
  if (completion.size() > kPlusMinusTraceMaxChars) return trace;
  detail::PlusMinusReader reader(completion);
  if (!reader.take("<think>")) return trace;
  while (!reader.peek("</think>")) {
    auto attempt = reader.chain(problem);
    if (!attempt) return trace;
    trace.style = trace.style == PlusMinusStyle::checked ? PlusMinusStyle::checked : PlusMinusStyle::worked;
    bool more = false;
    if (reader.take("<check>")) {
      const auto right = reader.check(problem, attempt->reached);
      if (!right) return trace;
      attempt->check_right = *right;
      trace.style = PlusMinusStyle::checked;
      if (reader.take("<ok>")) {
        attempt->verdict = PlusMinusVerdict::ok;
      } else if (reader.take("<wrong>")) {
        attempt->verdict = PlusMinusVerdict::wrong;
        more = true;
      } else {
        return trace;
      }
    }
    trace.attempts.push_back(*attempt);
    if (!more) break;  // after an unchecked chain or <ok> the thinking ends
  }
  if (!reader.take("</think>") || !reader.take("<answer>")) return trace;
  const auto answer = reader.expression(problem);
  if (!answer || !reader.take("</answer>") || !reader.at_end()) return trace;
  trace.answer = *answer;
  trace.answer_solves = trace.answer.has_value() && problem.solves(*trace.answer);
  trace.well_formed = true;
  return trace;
}

}  // namespace r1
