#pragma once
// Reads a model's quotient completion (r1/tasks/quotient.hpp) back into what it did:
// answered directly, wrote the leading-digit estimate, or estimated and checked it
// by multiplying back; what each check line multiplied and compared; and whether a
// check caught a wrong estimate that the answer then corrected. The self-check
// detector of the R1-Zero "second act" example for this task. It never trusts the
// text: any deviation from the grammar below gives well_formed = false, never an
// error.
//
//   completion := "<think>" think "</think><answer>" digits "</answer>"
//   think      := "" | estimate | estimate "<check>" walk
//   estimate   := digits "/" digits "=" digits
//   walk       := line (("," | "<wrong>") line)* ("<ok>" | "<wrong>")
//   line       := digits "*" digits "=" digits ("<" | "=" | ">") digits
//
//   4837/612  <think>48/6=8<check>8*612=4896>4837<wrong>7*612=4284<4837<ok></think><answer>7</answer>
//             estimate 8, right by the rule (48 / 6); both lines right; the first <wrong> follows a right line
//             that refutes 8; the last two lines bracket 4837 (4284 <= 4837 < 4896) and the answer is 7:
//             caught and corrected.
//
// Work is linear in the text, and text past kQuotientTraceMaxChars is not read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "r1/tasks/decimal_text.hpp"
#include "r1/tasks/quotient.hpp"

namespace r1 {

inline constexpr std::size_t kQuotientTraceMaxChars = 4096;
inline constexpr std::size_t kQuotientTraceMaxDigits = 12;  // longer digit runs are malformed (no overflow)

enum class QuotientVerdict : std::uint8_t { none, ok, wrong };  // none: the line is followed by ","

// One check line "m*b=p<relation>a" as written, and the verdict after it.
struct QuotientLine {
  std::int64_t multiplier = 0, divisor = 0, product = 0, dividend = 0;
  int relation = 0;             // -1 '<', 0 '=', 1 '>'
  bool product_right = false;   // p == m * b for the written m and b
  bool right = false;           // b and a are the problem's, p == m * b, and the relation is p's to a
  QuotientVerdict verdict = QuotientVerdict::none;
};

struct QuotientTrace {
  bool well_formed = false;
  QuotientStyle style = QuotientStyle::direct;
  std::optional<std::int64_t> estimate;  // the estimate line's result
  bool estimate_right = false;           // the line reads the problem's leading digits and its result is the rule's
  std::vector<QuotientLine> lines;
  std::optional<std::int64_t> answer;
  bool answer_right = false;
  std::int64_t quotient = 0;  // the problem's

  // A completion with a complete check: the estimate multiplied back and a verdict.
  bool self_checked() const { return well_formed && style == QuotientStyle::checked; }
  // The first attempt (the estimate) is not the quotient.
  bool first_attempt_wrong() const { return estimate.has_value() && *estimate != quotient; }
  int lines_right() const {
    int right = 0;
    for (const auto& line : lines) right += line.right ? 1 : 0;
    return right;
  }
  // The "aha", strictly: the estimate was wrong; the check's first line multiplies the estimate; every line up to
  // the first <wrong> is right (so that <wrong> follows a correct comparison that refutes a candidate); the walk
  // ends on <ok> after two right lines of consecutive multipliers that bracket the dividend; the answer is the
  // lower one, the quotient. A right answer after sloppy lines (a wrong product, a misread dividend) does not
  // count.
  bool caught_and_corrected() const {
    if (!self_checked() || !first_attempt_wrong() || !answer_right || lines.size() < 2) return false;
    if (lines.front().multiplier != *estimate) return false;
    bool refuted = false;
    for (const auto& line : lines) {
      if (!line.right) return false;
      if (line.verdict == QuotientVerdict::wrong) {
        refuted = true;
        break;
      }
    }
    const QuotientLine& last = lines.back();
    const QuotientLine& before = lines[lines.size() - 2];
    if (!refuted || last.verdict != QuotientVerdict::ok || !last.right || !before.right) return false;
    const QuotientLine& low = last.multiplier < before.multiplier ? last : before;
    const QuotientLine& high = last.multiplier < before.multiplier ? before : last;
    return high.multiplier == low.multiplier + 1 && low.relation <= 0 && high.relation > 0 &&
           low.multiplier == *answer;
  }
};

namespace detail {

class QuotientReader : public TextCursor {
 public:
  explicit QuotientReader(std::string_view text) : TextCursor(text, kQuotientTraceMaxDigits) {}

  // "A/B=e"; false when off that grammar.
  bool estimate(const Quotient& problem, QuotientTrace& trace) {
    const auto leading = number();
    if (!leading || !take("/")) return false;
    const auto divisor = number();
    if (!divisor || !take("=")) return false;
    const auto result = number();
    if (!result) return false;
    trace.estimate = *result;
    trace.estimate_right = *leading == problem.leading_dividend() && *divisor == problem.leading_divisor() &&
                           *result == problem.estimate();
    return true;
  }

  // "m*b=p<relation>a"; a '<' that opens a tag ("<ok>", "<wrong>") is not a relation.
  std::optional<QuotientLine> line(const Quotient& problem) {
    QuotientLine line;
    const auto multiplier = number();
    if (!multiplier || !take("*")) return std::nullopt;
    const auto divisor = number();
    if (!divisor || !take("=")) return std::nullopt;
    const auto product = number();
    if (!product || peek("<ok>") || peek("<wrong>")) return std::nullopt;
    if (take("<")) {
      line.relation = -1;
    } else if (take(">")) {
      line.relation = 1;
    } else if (!take("=")) {
      return std::nullopt;
    }
    const auto dividend = number();
    if (!dividend) return std::nullopt;
    line.multiplier = *multiplier;
    line.divisor = *divisor;
    line.product = *product;
    line.dividend = *dividend;
    // At most 12 digits each, so the product of the multiplier and a divisor below 10^6 cannot overflow.
    line.product_right = *divisor == problem.divisor() && *multiplier * problem.divisor() == *product;
    const int actual = *product < *dividend ? -1 : *product > *dividend ? 1 : 0;
    line.right = line.product_right && *dividend == problem.dividend() && line.relation == actual;
    return line;
  }
};

}  // namespace detail

// The trace of `completion` (the decoded text after the prompt, without <eos>) for `problem`.
inline QuotientTrace trace_quotient(const Quotient& problem, std::string_view completion) {
  QuotientTrace trace;
  trace.quotient = problem.quotient();
  if (completion.size() > kQuotientTraceMaxChars) return trace;
  detail::QuotientReader reader(completion);
  if (!reader.take("<think>")) return trace;
  if (!reader.peek("</think>")) {
    if (!reader.estimate(problem, trace)) return trace;
    trace.style = QuotientStyle::worked;
    if (reader.take("<check>")) {
      for (;;) {
        auto line = reader.line(problem);
        if (!line) return trace;
        if (reader.take(",")) {
          trace.lines.push_back(*line);
          continue;
        }
        if (reader.take("<ok>")) {
          line->verdict = QuotientVerdict::ok;
          trace.lines.push_back(*line);
          break;
        }
        if (!reader.take("<wrong>")) return trace;
        line->verdict = QuotientVerdict::wrong;
        trace.lines.push_back(*line);
        if (!reader.digit_next()) break;  // a <wrong> that ends the walk: the model gave up checking
      }
      trace.style = QuotientStyle::checked;
    }
  }
  if (!reader.take("</think>") || !reader.take("<answer>")) return trace;
  const auto answer = reader.number();
  if (!answer || !reader.take("</answer>") || !reader.at_end()) return trace;
  trace.answer = *answer;
  trace.answer_right = *answer == problem.quotient();
  trace.well_formed = true;
  return trace;
}

}  // namespace r1
