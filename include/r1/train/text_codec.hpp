#pragma once
// How a trainer turns problems into prompt ids and completion ids into text:
// the prompt template and the tokenizer, type-erased (not on a hot path).
//
//   r1::TextCodec codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "r1/core/token_batch.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct TextCodec {
  std::function<std::vector<TokenId>(const Problem&)> render_prompt;
  std::function<std::string(std::span<const TokenId>)> decode;
};

// A codec from a tokenizer (held by reference; it must outlive the codec) and a
// template that writes a problem's prompt text.
template <class Tokenizer, class Template>
TextCodec make_text_codec(const Tokenizer& tokenizer, Template prompt_text) {
  TextCodec codec;
  codec.render_prompt = [&tokenizer, prompt_text](const Problem& problem) {
    return tokenizer.encode(prompt_text(problem));
  };
  codec.decode = [&tokenizer](std::span<const TokenId> ids) { return tokenizer.decode(ids); };
  return codec;
}

}  // namespace r1
