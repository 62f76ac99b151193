// Encoding arbitrary bytes (invalid UTF-8 included) with a byte-level BPE
// tokenizer (tests/data/tokenizer/tiny_byte_level, loaded once), then decoding.
// Properties: every id is in the vocabulary, decode never fails on them, and a
// StreamDecoder's pieces concatenate to decode() made valid UTF-8 with U+FFFD
// (stream_decoder.hpp's promise).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"
#include "r1/tokenizer/stream_decoder.hpp"
#include "r1/tokenizer/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto tokenizer =
      r1::BpeTokenizer::from_file(std::string(R1_TEST_DATA_DIR) + "/tokenizer/tiny_byte_level/tokenizer.json");
  const auto text = r1::fuzz::as_text(data, size);
  for (const bool special : {false, true}) {
    const auto ids = tokenizer.encode(text, special);
    for (const auto id : ids)
      if (id < 0 || id >= tokenizer.vocab_size()) r1::fuzz::property_failed("encode gave an id outside the vocabulary");
    const std::string decoded = tokenizer.decode(ids);
    r1::StreamDecoder stream(tokenizer);
    std::string streamed;
    for (const auto id : ids) streamed += stream.push(id);
    streamed += stream.finish();
    if (streamed != r1::utf8::to_valid_lossy(decoded))
      r1::fuzz::property_failed("StreamDecoder's pieces differ from to_valid_lossy(decode())");
  }
  return 0;
}
