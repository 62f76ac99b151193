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
//   attempt    := chain "<check>" check "<wrong>" [revision]   (a miss, then another attempt)
//   final      := attempt | chain | chain "<check>" check "<ok>"
//   chain      := step (";" step)*      step := "+" digits "=" digits
//   check      := digits ("<" | "=" | ">") digits           expression := digits ("+" digits)*
//   revision   := digits "+" digits "=" digits "," digits   (the gap, then the move: gap_move)
//
// A revision is written only between attempts (one before "</think>" is malformed);
// without one the next chain is a revision that was not written (nearest_sum). Of a
// written revision the detector records whether the gap line adds the chain's sum
// or the target (the smaller) and their difference to the other, whether the move
// is a number the gap_move rule may pick, and whether the next chain applies it:
//
//   47,23,81,15=062  <think>+47=047;+23=070<check>070>062<wrong>062+008=070,23+47=047<check>047<062<wrong>...
//                    gap right (62 + 8 = 70), move right (over by 8: of the chosen 47 and 23, 23 is nearest 8),
//                    applied (47 + 23 without 23 is the next chain's 47)
//
// Work is linear in the text, and text past kSubsetSumTraceMaxChars is not read.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "r1/tasks/decimal_text.hpp"
#include "r1/tasks/subset_sum.hpp"

namespace r1 {

inline constexpr std::size_t kSubsetSumTraceMaxChars = 4096;
inline constexpr std::size_t kSubsetSumTraceMaxDigits = 12;  // longer digit runs are malformed (no overflow)

enum class SubsetSumVerdict : std::uint8_t { none, ok, wrong };

// A revision written after a <wrong>: the gap line "<smaller>+<gap>=<larger>" and the move ",<number>".
struct SubsetSumWrittenRevision {
  std::int64_t smaller = 0, gap = 0, larger = 0, move = 0;
  bool gap_right = false;   // smaller and larger are the chain's written sum and the target, in order, and
                            // smaller + gap == larger
  bool move_right = false;  // the move is a number the gap_move rule may pick for the chain's written sum (any of
                            // the nearest when several tie): over the target a chosen number, under it an unchosen
                            // one, nearest the gap, not the number the previous applied move toggled, not emptying
  bool applied = false;     // the next chain's numbers are this chain's with one copy of the move dropped (over
                            // the target) or added (under it)

  bool right() const { return gap_right && move_right && applied; }
};

// One chain as written, and its check if it has one.
struct SubsetSumAttempt {
  SubsetChoice choice = 0;         // the numbers the steps name, matched in the prompt's order
  std::int64_t reached = 0;        // the last step's written sum
  bool numbers_match = true;       // each step names a number of the problem, after the previous step's
  bool arithmetic_right = true;    // each step's written sum is the previous one plus its number
  SubsetSumVerdict verdict = SubsetSumVerdict::none;
  bool check_right = false;        // the check reads the chain's sum and the target and compares them right
  bool choice_solves = false;      // the numbers named add up to the target
  std::optional<SubsetSumWrittenRevision> revision;  // written after this attempt's <wrong>, before the next chain
};

struct SubsetSumTrace {
  bool well_formed = false;
  SubsetSumStyle style = SubsetSumStyle::direct;
  std::vector<SubsetSumAttempt> attempts;
  std::optional<SubsetChoice> answer;  // the <answer>'s numbers, when they are the problem's in its order
  bool answer_solves = false;

  // A completion with at least one check: a chain's sum substituted back and a verdict.
  bool self_checked() const { return well_formed && style == SubsetSumStyle::checked; }
  // Revisions written after a <wrong> (gap_move), and those right in gap, move and application; 0 when the
  // completion is not well formed (its attempts are then the ones read before the text left the grammar).
  int revisions_written() const {
    if (!well_formed) return 0;
    int written = 0;
    for (const auto& attempt : attempts) written += attempt.revision ? 1 : 0;
    return written;
  }
  int revisions_right() const {
    if (!well_formed) return 0;
    int right = 0;
    for (const auto& attempt : attempts) right += attempt.revision && attempt.revision->right() ? 1 : 0;
    return right;
  }
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

class SubsetSumReader : public TextCursor {
 public:
  explicit SubsetSumReader(std::string_view text) : TextCursor(text, kSubsetSumTraceMaxDigits) {}

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

  // "<smaller>+<gap>=<larger>,<move>" after "<wrong>"; nullopt when the text is off that grammar.
  std::optional<SubsetSumWrittenRevision> revision() {
    SubsetSumWrittenRevision written;
    const auto smaller = number();
    if (!smaller || !take("+")) return std::nullopt;
    const auto gap = number();
    if (!gap || !take("=")) return std::nullopt;
    const auto larger = number();
    if (!larger || !take(",")) return std::nullopt;
    const auto move = number();
    if (!move) return std::nullopt;
    written.smaller = *smaller;
    written.gap = *gap;
    written.larger = *larger;
    written.move = *move;
    return written;
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
};

// How many of `choice`'s chosen numbers equal `value`. A chain names numbers, not positions: with a number given
// twice, which copy a chain chose is not in the text, so revisions are judged on values.
inline int chosen_copies(const SubsetSum& problem, SubsetChoice choice, std::int64_t value) {
  int copies = 0;
  for (int i = 0; i < problem.count(); ++i)
    copies += ((choice >> i) & 1u) != 0 && problem.numbers()[static_cast<std::size_t>(i)] == value ? 1 : 0;
  return copies;
}

// Judges `attempt`'s written revision against the chain and the next one; returns the number the move toggled
// (excluded from the next move), 0 when it did not apply. `excluded`: the number the previous move toggled, or 0.
inline std::int64_t judge_revision(const SubsetSum& problem, SubsetSumAttempt& attempt, const SubsetSumAttempt& next,
                                   std::int64_t excluded) {
  SubsetSumWrittenRevision& written = *attempt.revision;
  const std::int64_t target = problem.target();
  const std::int64_t low = std::min(attempt.reached, target), high = std::max(attempt.reached, target);
  written.gap_right = written.smaller == low && written.larger == high && low + written.gap == high &&
                      attempt.reached != target;
  if (!attempt.numbers_match || attempt.reached == target) return 0;
  const bool over = attempt.reached > target;
  const std::int64_t gap = high - low;
  const auto& numbers = problem.numbers();
  const auto candidate = [&](int i) {
    const bool chosen = ((attempt.choice >> i) & 1u) != 0;
    return numbers[static_cast<std::size_t>(i)] != excluded && chosen == over &&
           !(over && std::popcount(attempt.choice) == 1);
  };
  std::int64_t nearest = -1;  // the smallest distance to the gap among the candidates
  bool named = false;         // the move names a candidate
  for (int i = 0; i < problem.count(); ++i) {
    if (!candidate(i)) continue;
    const std::int64_t distance = std::abs(gap - numbers[static_cast<std::size_t>(i)]);
    if (nearest < 0 || distance < nearest) nearest = distance;
    named = named || numbers[static_cast<std::size_t>(i)] == written.move;
  }
  written.move_right = named && std::abs(gap - written.move) == nearest;
  // Applied: the next chain's numbers are this chain's with one copy of the move dropped (over) or added (under).
  if (!next.numbers_match || std::popcount(next.choice) != std::popcount(attempt.choice) + (over ? -1 : 1)) return 0;
  for (int i = 0; i < problem.count(); ++i) {
    const std::int64_t value = numbers[static_cast<std::size_t>(i)];
    const int change = value == written.move ? (over ? -1 : 1) : 0;
    if (chosen_copies(problem, next.choice, value) != chosen_copies(problem, attempt.choice, value) + change) return 0;
  }
  written.applied = true;
  return written.move;
}

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
        if (reader.digit_next()) {  // a written revision, which a chain must follow
          attempt->revision = reader.revision();
          if (!attempt->revision || !reader.peek("+")) return trace;
        }
      } else {
        return trace;
      }
    }
    trace.attempts.push_back(*attempt);
    if (!more) break;  // after an unchecked chain or <ok> the thinking ends
  }
  std::int64_t excluded = 0;  // the number the previous written and applied move toggled
  for (std::size_t k = 0; k + 1 < trace.attempts.size(); ++k)
    excluded = trace.attempts[k].revision
                   ? detail::judge_revision(problem, trace.attempts[k], trace.attempts[k + 1], excluded)
                   : 0;
  if (!reader.take("</think>") || !reader.take("<answer>")) return trace;
  const auto answer = reader.expression(problem);
  if (!answer || !reader.take("</answer>") || !reader.at_end()) return trace;
  trace.answer = *answer;
  trace.answer_solves = trace.answer.has_value() && problem.solves(*trace.answer);
  trace.well_formed = true;
  return trace;
}

}  // namespace r1
