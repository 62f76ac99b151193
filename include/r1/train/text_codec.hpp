#pragma once
// How a trainer turns problems into prompt ids and completion ids into text:
// the prompt template and the tokenizer, type-erased (not on a hot path).
//
//   r1::TextCodec codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct TextCodec {
  std::function<std::vector<TokenId>(const Problem&)> render_prompt;
  // make_text_codec's never throws on an id: one the tokenizer has no token for becomes U+FFFD.
  std::function<std::string(std::span<const TokenId>)> decode;
  std::int64_t vocab_size = 0;  // the tokenizer decodes ids [0, vocab_size); 0 = not known (decode decides)
};

// U+FFFD REPLACEMENT CHARACTER, what an undecodable id reads as.
inline constexpr std::string_view kUndecodableText = "\xEF\xBF\xBD";

// `ids` decoded run by run with `decode_run`, each id outside [0, vocab_size) written as U+FFFD instead.
// Exact for byte-level BPE and character tokenizers, whose decode of a concatenation is the
// concatenation of the decodes (skip_special_tokens off).
template <class DecodeRun>
std::string decode_replacing_undecodable(std::span<const TokenId> ids, std::int64_t vocab_size, DecodeRun&& decode_run) {
  const auto decodable = [vocab_size](TokenId id) { return id >= 0 && id < vocab_size; };
  std::string text;
  std::size_t begin = 0;
  while (begin < ids.size()) {
    std::size_t end = begin;
    while (end < ids.size() && decodable(ids[end])) ++end;
    if (end > begin) text += decode_run(ids.subspan(begin, end - begin));
    for (; end < ids.size() && !decodable(ids[end]); ++end) text += kUndecodableText;
    begin = end;
  }
  return text;
}

// A completion's text for verification, or why it has none: `decodable` is false when an id lies outside
// the codec's vocabulary (a sampler over a padded embedding without decodable_vocab_size) or the decode
// function failed. Never throws r1::Error: one bad completion must not end a run (issue 22); the caller
// scores it 0 and counts it (completions/undecodable).
struct DecodedText {
  std::string text;
  bool decodable = true;
  std::string error;  // why not, naming the id and the vocabulary
};
inline DecodedText decode_completion(const TextCodec& codec, std::span<const TokenId> ids) {
  DecodedText result;
  for (const TokenId id : ids)
    if (id < 0 || (codec.vocab_size > 0 && id >= codec.vocab_size)) {
      result.decodable = false;
      result.error = "token id " + std::to_string(id) + " is outside the tokenizer's vocabulary [0, " +
                     std::to_string(codec.vocab_size) + ")";
      break;
    }
  try {
    result.text = codec.decode(ids);
  } catch (const Error& error) {
    result.decodable = false;
    result.error = error.what();
  }
  return result;
}

// A codec from a tokenizer (held by reference; it must outlive the codec) and a
// template that writes a problem's prompt text.
template <class Tokenizer, class Template>
TextCodec make_text_codec(const Tokenizer& tokenizer, Template prompt_text) {
  TextCodec codec;
  codec.render_prompt = [&tokenizer, prompt_text](const Problem& problem) {
    return tokenizer.encode(prompt_text(problem));
  };
  codec.vocab_size = static_cast<std::int64_t>(tokenizer.vocab_size());
  codec.decode = [&tokenizer, vocab = codec.vocab_size](std::span<const TokenId> ids) {
    return decode_replacing_undecodable(ids, vocab, [&tokenizer](std::span<const TokenId> run) { return tokenizer.decode(run); });
  };
  return codec;
}

}  // namespace r1
