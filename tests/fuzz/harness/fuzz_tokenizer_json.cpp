// tokenizer.json: the BPE model, normalizer, pre-tokenizer (with its regexes),
// decoder, post-processor and added tokens; what loads then encodes and decodes
// a fixed text.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  r1::fuzz::run_expecting_errors([&] {
    const auto json = r1::parse_json(r1::fuzz::as_text(data, size), "tokenizer.json");
    const auto tokenizer = r1::BpeTokenizer::from_json(json, r1::Json(), "tokenizer.json");
    const std::string text = "Hello, world! 12345 <think>x</think> héllo\xff\n";
    const auto ids = tokenizer.encode(text, /*add_special_tokens=*/true);
    (void)tokenizer.decode(ids);
    for (const auto id : ids)
      if (id < 0 || id >= tokenizer.vocab_size()) r1::fuzz::property_failed("encode gave an id outside the vocabulary");
  });
  return 0;
}
