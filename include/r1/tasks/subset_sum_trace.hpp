#pragma once
// Reads a model's subset-sum completion (r1/tasks/subset_sum.hpp) back into what it
// did: answered directly, worked a chain of sums, or worked and checked it (and
// revised after a failed check), what each chain reached, and whether a check
// caught a wrong choice that the answer then corrected. This is the self-check
// detector of the R1-Zero "second act" example. It never trusts the text: any
// deviation from the grammar below gives well_formed = false, never an error.
//
//   completion := "<think>" think "</think><answer>" expression "</answer>"
//   think      := "" | attempt* final
//   attempt    := chain "<check>" check "<wrong>"          (a miss, then another attempt)
//   final      := attempt | chain | chain "<check>" check "<ok>"
//   chain      := step (";" step)*      step := "+" digits "=" digits
//   check      := digits ("<" | "=" | ">") digits           expression := digits ("+" digits)*
//
// Work is linear in the text, and text past kSubsetSumTraceMaxChars is not read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "r1/tasks/subset_sum.hpp"

namespace r1 {

inline constexpr std::size_t kSubsetSumTraceMaxChars = 4096;
inline constexpr std::size_t kSubsetSumTraceMaxDigits = 12;  // longer digit runs are malformed (no overflow)

enum class SubsetSumVerdict : std::uint8_t { none, ok, wrong };

// One chain as written, and its check if it has one.
struct SubsetSumAttempt {
  SubsetChoice choice = 0;         // the numbers the steps name, matched in the prompt's order
  std::int64_t reached = 0;        // the last step's written sum
  bool numbers_match = true;       // each step names a number of the problem, after the previous step's
  bool arithmetic_right = true;    // each step's written sum is the previous one plus its number
  SubsetSumVerdict verdict = SubsetSumVerdict::none;
  bool check_right = false;        // the check reads the chain's sum and the target and compares them right
  bool choice_solves = false;      // the numbers named add up to the target
};

struct SubsetSumTrace {
  bool well_formed = false;
  SubsetSumStyle style = SubsetSumStyle::direct;
  std::vector<SubsetSumAttempt> attempts;
  std::optional<SubsetChoice> answer;  // the <answer>'s numbers, when they are the problem's in its order
  bool answer_solves = false;

  // A completion with at least one check: a chain's sum substituted back and a verdict.
  bool self_checked() const { return well_formed && style == SubsetSumStyle::checked; }
  // The first choice misses the target.
  bool first_choice_wrong() const { return !attempts.empty() && !attempts.front().choice_solves; }
  // The "aha": the first choice missed, its check compared right and said so, and the answer reaches the target
  // after a last check that compared right and said <ok>. Sloppy checks that land on a right answer by luck
  // (a misread value, a wrong comparison) do not count.
  bool caught_and_corrected() const {
    if (!self_checked() || !first_choice_wrong() || attempts.size() < 2 || !answer_solves) return false;
    const auto& first = attempts.front();
    const auto& last = attempts.back();
    return first.verdict == SubsetSumVerdict::wrong && first.check_right && last.verdict == SubsetSumVerdict::ok && last.check_right;
  }
};

namespace detail {

class SubsetSumReader {
 public:
  explicit SubsetSumReader(std::string_view text) : text_(text) {}

  bool at_end() const { return position_ == text_.size(); }
  bool peek(std::string_view literal) const { return text_.substr(position_, literal.size()) == literal; }
  bool take(std::string_view literal) {
    if (!peek(literal)) return false;
    position_ += literal.size();
    return true;
  }
  std::optional<std::int64_t> number() { return read_decimal(text_, position_, kSubsetSumTraceMaxDigits); }

  // A chain: its numbers matched to the problem's in order (a number not found after the previous one
  // clears numbers_match), its sums checked.
  std::optional<SubsetSumAttempt> chain(const SubsetSum& problem) {
    SubsetSumAttempt attempt;
    std::int64_t previous = 0;
    int next = 0;  // the first index the next step's number may match
    do {
      if (!take("+")) return std::nullopt;
      const auto operand = number();
      if (!operand || !take("=")) return std::nullopt;
      const auto written = number();
      if (!written) return std::nullopt;
      attempt.numbers_match = attempt.numbers_match && match(problem, *operand, next, attempt.choice);
      attempt.arithmetic_right = attempt.arithmetic_right && previous + *operand == *written;
      previous = *written;
      attempt.reached = *written;
    } while (take(";"));
    attempt.choice_solves = attempt.numbers_match && problem.solves(attempt.choice);
    return attempt;
  }

  // "<sum><relation><target>" after "<check>"; true when it reads the chain's sum and the problem's target and
  // the relation is theirs. A '<' that opens a tag ("<ok>", "<wrong>") is not a relation.
  std::optional<bool> check(const SubsetSum& problem, std::int64_t reached) {
    const auto value = number();
    if (!value || peek("<ok>") || peek("<wrong>")) return std::nullopt;
    int relation = 0;
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

  // The <answer> expression's choice, when its numbers are the problem's in its order.
  std::optional<std::optional<SubsetChoice>> expression(const SubsetSum& problem) {
    SubsetChoice choice = 0;
    int next = 0;
    bool matches = true;
    do {
      const auto operand = number();
      if (!operand) return std::nullopt;
      matches = matches && match(problem, *operand, next, choice);
    } while (take("+"));
    if (!matches) return std::optional<SubsetChoice>{};
    return std::optional<SubsetChoice>{choice};
  }

 private:
  // Finds `operand` among the problem's numbers at index `next` or later, marks it chosen and moves past it.
  static bool match(const SubsetSum& problem, std::int64_t operand, int& next, SubsetChoice& choice) {
    for (int i = next; i < problem.count(); ++i) {
      if (problem.numbers()[static_cast<std::size_t>(i)] == operand) {
        choice |= SubsetChoice{1} << i;
        next = i + 1;
        return true;
      }
    }
    next = problem.count();
    return false;
  }

  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace detail

// The trace of `completion` (the decoded text after the prompt, without <eos>) for `problem`.
inline SubsetSumTrace trace_subset_sum(const SubsetSum& problem, std::string_view completion) {
  SubsetSumTrace trace;
  if (completion.size() > kSubsetSumTraceMaxChars) return trace;
  detail::SubsetSumReader reader(completion);
  if (!reader.take("<think>")) return trace;
  while (!reader.peek("</think>")) {
    auto attempt = reader.chain(problem);
    if (!attempt) return trace;
    if (trace.style == SubsetSumStyle::direct) trace.style = SubsetSumStyle::worked;
    bool more = false;
    if (reader.take("<check>")) {
      const auto right = reader.check(problem, attempt->reached);
      if (!right) return trace;
      attempt->check_right = *right;
      trace.style = SubsetSumStyle::checked;
      if (reader.take("<ok>")) {
        attempt->verdict = SubsetSumVerdict::ok;
      } else if (reader.take("<wrong>")) {
        attempt->verdict = SubsetSumVerdict::wrong;
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
