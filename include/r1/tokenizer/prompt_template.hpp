#pragma once
// Prompt templates of the R1 recipe, as token ids with the assistant turn open.
//
// R1-Zero (DeepSeek-R1 paper, Guo et al. 2025, Table 1), where "prompt" is the
// question, verbatim, period included:
//   "A conversation between User and Assistant. ... User: prompt. Assistant:"
//
// DeepSeek chat format (chat_template of DeepSeek-V3/R1 and of the
// R1-Distill models' tokenizer_config.json, one user turn, generation prompt added):
//   <｜begin▁of▁sentence｜>{system}<｜User｜>{prompt}<｜Assistant｜>
// and, as the R1-Distill templates of 2025-02 do to make the model start with its
// reasoning, "<think>\n" after it (DeepSeekChatOptions::open_think, default on).
//
//   auto ids = r1::r1_zero_prompt(tokenizer, "What is 2+3?");
//   auto chat = r1::deepseek_chat_prompt(tokenizer, "What is 2+3?");
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/tokenizer_like.hpp"

namespace r1 {

inline constexpr std::string_view r1_zero_template_before_prompt =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant "
    "first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think> <answer> answer here </answer>. User: ";
inline constexpr std::string_view r1_zero_template_after_prompt = ". Assistant:";

inline std::string r1_zero_prompt_text(std::string_view prompt) {
  std::string text(r1_zero_template_before_prompt);
  text += prompt;
  text += r1_zero_template_after_prompt;
  return text;
}

namespace detail {
// BOS first when the tokenizer's config asks for it (BpeTokenizer::adds_bos), else none.
template <TokenizerLike Tokenizer>
std::vector<TokenId> prompt_start(const Tokenizer& tokenizer) {
  std::vector<TokenId> ids;
  if constexpr (requires { { tokenizer.adds_bos() } -> std::convertible_to<bool>; }) {
    if (tokenizer.adds_bos() && tokenizer.bos_token_id()) ids.push_back(*tokenizer.bos_token_id());
  }
  return ids;
}
}  // namespace detail

// Token ids of the R1-Zero prompt for `prompt`, BOS first when the tokenizer adds one.
template <TokenizerLike Tokenizer>
std::vector<TokenId> r1_zero_prompt(const Tokenizer& tokenizer, std::string_view prompt) {
  std::vector<TokenId> ids = detail::prompt_start(tokenizer);
  const std::vector<TokenId> body = tokenizer.encode(r1_zero_prompt_text(prompt));
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

struct DeepSeekChatOptions {
  std::string system;     // system prompt, placed right after BOS; empty = none
  bool open_think = true; // end with "<think>\n", as the R1-Distill templates do
};

inline constexpr std::string_view deepseek_user_tag = "<｜User｜>";
inline constexpr std::string_view deepseek_assistant_tag = "<｜Assistant｜>";

// The text after BOS (BOS itself is an id: see deepseek_chat_prompt).
inline std::string deepseek_chat_text(std::string_view prompt, const DeepSeekChatOptions& options = {}) {
  std::string text = options.system;
  text += deepseek_user_tag;
  text += prompt;
  text += deepseek_assistant_tag;
  if (options.open_think) text += "<think>\n";
  return text;
}

// Token ids of one user turn in the DeepSeek chat format, assistant turn open.
// The tags are added tokens of the DeepSeek vocabularies and encode to one id each;
// BOS is the tokenizer's bos_token (as the template's {{bos_token}}) when it has one.
template <TokenizerLike Tokenizer>
std::vector<TokenId> deepseek_chat_prompt(const Tokenizer& tokenizer, std::string_view prompt,
                                          const DeepSeekChatOptions& options = {}) {
  std::vector<TokenId> ids;
  if (const auto bos = tokenizer.bos_token_id()) ids.push_back(*bos);
  const std::vector<TokenId> body = tokenizer.encode(deepseek_chat_text(prompt, options));
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace r1
