// CharTokenizer, the TokenizerLike concept and the streaming decoder.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/tokenizer/stream_decoder.hpp"
#include "r1/tokenizer/tokenizer_like.hpp"

namespace {
r1::CharTokenizer toy_tokenizer() {
  return r1::CharTokenizer({"<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>"}, "0123456789+-*=; ");
}

struct MissingEos {  // everything TokenizerLike asks for but eos_token_id()
  std::vector<r1::TokenId> encode(std::string_view) const { return {}; }
  std::string decode(std::span<const r1::TokenId>) const { return {}; }
  std::int64_t vocab_size() const { return 0; }
  std::optional<r1::TokenId> token_to_id(std::string_view) const { return {}; }
  std::string_view id_to_token(r1::TokenId) const { return {}; }
  std::optional<r1::TokenId> bos_token_id() const { return {}; }
};
}  // namespace

static_assert(r1::TokenizerLike<r1::CharTokenizer>);
static_assert(!r1::TokenizerLike<MissingEos>);
static_assert(!r1::TokenizerLike<int>);

TEST_CASE("CharTokenizer: ids are the specials in order, then the symbols in order") {
  const auto tokenizer = toy_tokenizer();
  CHECK(tokenizer.vocab_size() == 6 + 16);
  CHECK(tokenizer.token_to_id("<pad>") == 0);
  CHECK(tokenizer.token_to_id("</answer>") == 5);
  CHECK(tokenizer.token_to_id("0") == 6);
  CHECK(tokenizer.token_to_id("9") == 15);
  CHECK(tokenizer.token_to_id("+") == 16);
  CHECK(tokenizer.token_to_id(" ") == 21);
  CHECK_FALSE(tokenizer.token_to_id("x").has_value());
  CHECK(tokenizer.id_to_token(2) == "<think>");
  CHECK(tokenizer.eos_token_id() == 1);
  CHECK(tokenizer.pad_token_id() == 0);
  CHECK_FALSE(tokenizer.bos_token_id().has_value());
  // "<think>" = 2, "1" = 7, "+" = 16, "2" = 8, "</think>" = 3, "=" = 19, "3" = 9.
  CHECK(tokenizer.encode("<think>1+2</think>=3") == std::vector<r1::TokenId>{2, 7, 16, 8, 3, 19, 9});
  CHECK(tokenizer.decode(std::vector<r1::TokenId>{2, 7, 16, 8, 3, 19, 9}) == "<think>1+2</think>=3");
}

TEST_CASE("CharTokenizer: special tokens match longest first, before characters") {
  // "<" and "a" are symbols, and "<a" and "<ab" are specials: "<ab" must win over "<a" + "b".
  const r1::CharTokenizer tokenizer({"<a", "<ab"}, "<ab");
  CHECK(tokenizer.encode("<ab<a<b") == std::vector<r1::TokenId>{1, 0, 2, 4});
  CHECK(tokenizer.encode("") == std::vector<r1::TokenId>{});
}

TEST_CASE("CharTokenizer: multi-byte symbols are one id each and round-trip") {
  const r1::CharTokenizer tokenizer({}, "aé中😀");
  CHECK(tokenizer.vocab_size() == 4);
  const auto ids = tokenizer.encode("😀é中a");
  CHECK(ids == std::vector<r1::TokenId>{3, 1, 2, 0});
  CHECK(tokenizer.decode(ids) == "😀é中a");
}

TEST_CASE("CharTokenizer: bad input raises r1::Error naming what is wrong") {
  const auto tokenizer = toy_tokenizer();
  CHECK_THROWS_WITH_AS(tokenizer.encode("1+x"), doctest::Contains("character 'x' at byte 2"), r1::Error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("1\xC3"), doctest::Contains("invalid UTF-8 at byte 1"), r1::Error);
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<r1::TokenId>{22}), doctest::Contains("token id 22"), r1::Error);
  CHECK_THROWS_AS(tokenizer.decode(std::vector<r1::TokenId>{-1}), r1::Error);
  CHECK_THROWS_WITH_AS(r1::CharTokenizer({}, "abca"), doctest::Contains("'a' is listed twice"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::CharTokenizer({"x"}, "x"), doctest::Contains("listed twice"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::CharTokenizer({""}, "x"), doctest::Contains("is empty"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::CharTokenizer({}, "a\xFF"), doctest::Contains("invalid UTF-8 at byte 1"), r1::Error);
}

TEST_CASE("utf8::next follows Table 3-7 of the Unicode Standard") {
  using r1::utf8::Status;
  const auto step = [](std::string_view text) { return r1::utf8::next(text, 0); };
  CHECK(step("a").status == Status::complete);
  CHECK(step("\xC3\xA9").length == 2);
  CHECK(step("\xC0\x80").status == Status::invalid);      // overlong NUL: C0 is never a lead byte
  CHECK(step("\xE0\x80\x80").status == Status::invalid);  // overlong 3-byte
  CHECK(step("\xED\xA0\x80").status == Status::invalid);  // surrogate U+D800
  CHECK(step("\xF4\x90\x80\x80").status == Status::invalid);  // above U+10FFFF
  CHECK(step("\xF0\x9F\x98").status == Status::incomplete);
  CHECK(step("\xF0\x9F\x98").length == 3);
  CHECK(step("\xE2\x82" "A").status == Status::invalid);
  CHECK(step("\xE2\x82" "A").length == 2);  // maximal subpart: E2 82
  CHECK(r1::utf8::to_valid_lossy("a\xE2\x82" "A\xFF") == "a\xEF\xBF\xBD" "A\xEF\xBF\xBD");
}

TEST_CASE("Utf8StreamAssembler holds a cut character until it is complete") {
  r1::Utf8StreamAssembler stream;
  CHECK(stream.push("a\xF0\x9F") == "a");  // 😀 = F0 9F 98 80
  CHECK(stream.pending_bytes() == 2);
  CHECK(stream.push("\x98") == "");
  CHECK(stream.push("\x80" "b") == "\xF0\x9F\x98\x80" "b");
  CHECK(stream.push("\xE2\x82") == "");
  CHECK(stream.push("A") == "\xEF\xBF\xBD" "A");  // E2 82 can no longer complete
  CHECK(stream.push("\xC3") == "");
  CHECK(stream.finish() == "\xEF\xBF\xBD");        // cut at the end of the stream
  CHECK(stream.finish() == "");
}

TEST_CASE("StreamDecoder over a CharTokenizer emits each character once") {
  const auto tokenizer = toy_tokenizer();
  r1::StreamDecoder stream(tokenizer);
  std::string text;
  for (const r1::TokenId id : tokenizer.encode("<think>12</think>")) text += stream.push(id);
  text += stream.finish();
  CHECK(text == "<think>12</think>");
}
