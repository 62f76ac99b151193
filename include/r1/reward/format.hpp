#pragma once
// Format verifiers of the R1 template (DeepSeek-R1 paper, §2.2.2 "format rewards"):
//   <think> reasoning </think> <answer> answer </answer>
//
// r1::R1Format, strict (default): the completion is exactly one think block then
// one answer block, only whitespace around and between them, nothing after
// </answer>, and no tag inside either block. Lenient: a think block followed
// somewhere later by an answer block, with anything around them.
// `think_opened_in_prompt` serves templates whose prompt already ends in "<think>"
// (Qwen/DeepSeek chat templates): the completion then starts inside the block.
//
// r1::TagCount (open-r1's tag_count_reward): 0.25 for each of <think>, </think>,
// <answer>, </answer> present exactly once, so partial credit guides early RL.
#include <cstddef>
#include <string>
#include <string_view>

#include "r1/reward/reward.hpp"

namespace r1 {

namespace format_detail {

inline bool is_blank(std::string_view text) {
  for (const char c : text)
    if (!(c == ' ' || c == '\n' || c == '\t' || c == '\r')) return false;
  return true;
}

inline std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t position = text.find(needle); position != std::string_view::npos;
       position = text.find(needle, position + needle.size()))
    ++count;
  return count;
}

}  // namespace format_detail

struct R1FormatOptions {
  bool strict = true;
  bool think_opened_in_prompt = false;
  double correct_score = 1.0;
  double wrong_score = 0.0;
};

class R1Format {
 public:
  R1Format() = default;
  explicit R1Format(R1FormatOptions options) : options_(options) {}

  std::string_view name() const { return "format"; }

  Reward operator()(const Problem&, std::string_view completion) const {
    Reward reward;
    const std::string why = options_.strict ? strict_violation(completion) : lenient_violation(completion);
    reward.score = why.empty() ? options_.correct_score : options_.wrong_score;
    reward.reason = why.empty() ? "well formed" : why;
    return reward;
  }

 private:
  // Empty when well formed, else what is wrong.
  std::string strict_violation(std::string_view text) const {
    using namespace format_detail;
    const std::size_t think_opens = count_occurrences(text, "<think>");
    if (options_.think_opened_in_prompt ? think_opens != 0 : think_opens != 1) return "expected one <think>";
    if (count_occurrences(text, "</think>") != 1) return "expected one </think>";
    if (count_occurrences(text, "<answer>") != 1) return "expected one <answer>";
    if (count_occurrences(text, "</answer>") != 1) return "expected one </answer>";
    std::size_t position = 0;
    if (!options_.think_opened_in_prompt) {
      const std::size_t open = text.find("<think>");
      if (!is_blank(text.substr(0, open))) return "text before <think>";
      position = open + 7;
    }
    const std::size_t think_close = text.find("</think>");
    if (think_close < position) return "</think> before <think>";
    const std::size_t answer_open = text.find("<answer>");
    if (answer_open < think_close) return "<answer> inside the think block";
    if (!is_blank(text.substr(think_close + 8, answer_open - think_close - 8))) return "text between </think> and <answer>";
    const std::size_t answer_close = text.find("</answer>");
    if (answer_close < answer_open) return "</answer> before <answer>";
    if (is_blank(text.substr(answer_open + 8, answer_close - answer_open - 8))) return "empty answer";
    if (!is_blank(text.substr(answer_close + 9))) return "text after </answer>";
    return {};
  }

  std::string lenient_violation(std::string_view text) const {
    std::size_t position = 0;
    if (!options_.think_opened_in_prompt) {
      position = text.find("<think>");
      if (position == std::string_view::npos) return "no <think>";
      position += 7;
    }
    const std::size_t think_close = text.find("</think>", position);
    if (think_close == std::string_view::npos) return "no </think> after <think>";
    const std::size_t answer_open = text.find("<answer>", think_close + 8);
    if (answer_open == std::string_view::npos) return "no <answer> after </think>";
    const std::size_t answer_close = text.find("</answer>", answer_open + 8);
    if (answer_close == std::string_view::npos) return "no </answer> after <answer>";
    return {};
  }

  R1FormatOptions options_;
};

class TagCount {
 public:
  std::string_view name() const { return "tag_count"; }

  Reward operator()(const Problem&, std::string_view completion) const {
    Reward reward;
    std::string missing;
    for (const std::string_view tag : {"<think>", "</think>", "<answer>", "</answer>"}) {
      if (format_detail::count_occurrences(completion, tag) == 1) {
        reward.score += 0.25;
      } else {
        if (!missing.empty()) missing += ", ";
        missing.append(tag);
      }
    }
    reward.reason = missing.empty() ? "all four tags once" : "not exactly once: " + missing;
    return reward;
  }
};

}  // namespace r1
