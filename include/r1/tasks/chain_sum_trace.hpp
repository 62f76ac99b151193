#pragma once
// Reads a model's chain-sum completion (r1/tasks/chain_sum.hpp) back into what
// it did: answered directly, worked a chain, or worked one and checked it, what
// each chain ended on, and whether a check caught a slip. This is the self-check
// detector of the R1-Zero "second act" example; it never trusts the text: any
// deviation from the grammar below gives well_formed = false, never an error.
//
//   completion := "<think>" think "</think><answer>" digits "</answer>"
//   think      := "" | chain | chain "<check>" chain ("<ok>" | "<wrong>" chain)
//   chain      := step (";" step)*        step := digits "+" digits "=" digits
//
// Work is linear in the text, and text past kChainSumTraceMaxChars is not read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "r1/tasks/chain_sum.hpp"
#include "r1/tasks/decimal_text.hpp"

namespace r1 {

inline constexpr std::size_t kChainSumTraceMaxChars = 4096;
inline constexpr std::size_t kChainSumTraceMaxDigits = 12;  // longer digit runs are malformed (no overflow)

enum class ChainSumVerdict : std::uint8_t { none, ok, wrong };

// One chain as written: its last step's result, and whether every step is right.
struct ChainReading {
  std::int64_t result = 0;
  int steps = 0;
  bool arithmetic_right = true;  // every step's written result is its operands' sum
  bool continuous = true;        // every step starts from the previous step's result
};

struct ChainSumTrace {
  bool well_formed = false;
  ChainSumStyle style = ChainSumStyle::direct;
  ChainSumVerdict verdict = ChainSumVerdict::none;  // the check's verdict (checked style only)
  std::optional<ChainReading> first;                // the first chain (worked, checked)
  std::optional<ChainReading> check;                // the right-to-left recomputation (checked)
  std::optional<ChainReading> redo;                 // the chain worked again after <wrong>
  std::optional<std::int64_t> answer;               // inside <answer>

  // A completion with a self-check: a recomputation followed by a verdict.
  bool self_checked() const { return well_formed && style == ChainSumStyle::checked; }
  // Its first chain is wrong about the sum `gold`.
  bool first_chain_wrong(std::int64_t gold) const { return first && first->result != gold; }
  // The "aha": the first chain went wrong, the check said so, and the answer is right.
  bool caught_and_corrected(std::int64_t gold) const {
    return self_checked() && verdict == ChainSumVerdict::wrong && first_chain_wrong(gold) && answer == gold;
  }
};

namespace detail {

class ChainSumReader : public TextCursor {
 public:
  explicit ChainSumReader(std::string_view text)
      : TextCursor(text.substr(0, kChainSumTraceMaxChars), kChainSumTraceMaxDigits) {}

  std::optional<ChainReading> chain() {
    ChainReading reading;
    std::optional<std::int64_t> previous;
    do {
      const auto left = number();
      if (!left || !take("+")) return std::nullopt;
      const auto right = number();
      if (!right || !take("=")) return std::nullopt;
      const auto result = number();
      if (!result) return std::nullopt;
      reading.arithmetic_right = reading.arithmetic_right && *left + *right == *result;
      reading.continuous = reading.continuous && (!previous || *previous == *left);
      previous = result;
      reading.result = *result;
      ++reading.steps;
    } while (take(";"));
    return reading;
  }
};

}  // namespace detail

// The trace of `completion` (the decoded text after the prompt, without <eos>).
inline ChainSumTrace trace_chain_sum(std::string_view completion) {
  ChainSumTrace trace;
  if (completion.size() > kChainSumTraceMaxChars) return trace;
  detail::ChainSumReader reader(completion);
  if (!reader.take("<think>")) return trace;
  if (!reader.peek("</think>")) {
    trace.first = reader.chain();
    if (!trace.first) return trace;
    trace.style = ChainSumStyle::worked;
    if (reader.take("<check>")) {
      trace.check = reader.chain();
      if (!trace.check) return trace;
      if (reader.take("<ok>")) {
        trace.verdict = ChainSumVerdict::ok;
      } else if (reader.take("<wrong>")) {
        trace.verdict = ChainSumVerdict::wrong;
        trace.redo = reader.chain();
        if (!trace.redo) return trace;
      } else {
        return trace;
      }
      trace.style = ChainSumStyle::checked;
    }
  }
  if (!reader.take("</think>") || !reader.take("<answer>")) return trace;
  trace.answer = reader.number();
  if (!trace.answer || !reader.take("</answer>") || !reader.at_end()) {
    trace.answer.reset();
    return trace;
  }
  trace.well_formed = true;
  return trace;
}

}  // namespace r1
