#pragma once
// StreamDecoder: live text of a generation, one token at a time, that never
// emits half a UTF-8 character. A byte-level BPE token may end in the middle of
// a multi-byte character ("é" can be two tokens); the bytes wait until the
// character is complete. Ill-formed bytes that no continuation can repair come
// out as U+FFFD (maximal-subpart substitution, utf8.hpp), as HF's lossy decode does.
//
//   r1::StreamDecoder stream(tokenizer);
//   for (TokenId id : generated) std::cout << stream.push(id) << std::flush;
//   std::cout << stream.finish();
//
// For any ids, the concatenation of every push() and finish() equals
// utf8::to_valid_lossy(tokenizer.decode(ids)).
#include <span>
#include <string>
#include <string_view>

#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/tokenizer_like.hpp"
#include "r1/tokenizer/utf8.hpp"

namespace r1 {

// Byte stream in, whole characters out.
class Utf8StreamAssembler {
 public:
  // The complete characters now available; an incomplete tail waits for more bytes.
  std::string push(std::string_view bytes) {
    pending_.append(bytes);
    std::string out;
    std::size_t position = 0;
    while (position < pending_.size()) {
      const utf8::Step step = utf8::next(pending_, position);
      if (step.status == utf8::Status::incomplete) break;
      if (step.status == utf8::Status::complete)
        out.append(pending_, position, step.length);
      else
        out.append(utf8::replacement_character);
      position += step.length;
    }
    pending_.erase(0, position);
    return out;
  }
  // End of stream: a cut final character becomes U+FFFD.
  std::string finish() {
    std::string out = pending_.empty() ? std::string() : std::string(utf8::replacement_character);
    pending_.clear();
    return out;
  }
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

template <TokenizerLike Tokenizer>
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  std::string push(TokenId id) { return assembler_.push(tokenizer_->decode(std::span<const TokenId>(&id, 1))); }
  std::string finish() { return assembler_.finish(); }

 private:
  const Tokenizer* tokenizer_;
  Utf8StreamAssembler assembler_;
};

}  // namespace r1
