// Number fields of every JSON config reader: a float, an out-of-range number or a
// boolean where an integer is expected is an r1::Error naming the source, the
// field, what was expected and what was found; never a silent truncation or the
// undefined behaviour of an out-of-range conversion (this suite runs under UBSan).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/model/config.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "r1/rl/grpo_config.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/train/grpo_trainer_config.hpp"

namespace {
template <class Load>
std::string error_of(Load&& load) {
  try {
    load();
  } catch (const r1::Error& e) {
    return e.what();
  }
  return "no error";
}

r1::Json parse(const char* text) { return r1::parse_json(text, "test"); }
}  // namespace

TEST_CASE("json_value: integers must be JSON integers within the target type's range") {
  CHECK(r1::json_value<int>(parse("2147483647"), "x") == 2147483647);
  CHECK(r1::json_value<int>(parse("-2147483648"), "x") == std::numeric_limits<int>::min());
  CHECK(r1::json_value<std::uint64_t>(parse("18446744073709551615"), "x") == std::numeric_limits<std::uint64_t>::max());
  CHECK(r1::json_value<std::int64_t>(parse("-9223372036854775808"), "x") == std::numeric_limits<std::int64_t>::min());

  const auto message = [](const char* text, auto type_tag) {
    return error_of([&] { r1::json_value<decltype(type_tag)>(parse(text), "c.json: field 'n'"); });
  };
  // nlohmann's get<int> would give 1 for 4294967297 (wrapped), 2 for 2.5 (truncated), 1 for true,
  // and undefined behaviour for 1e10.
  CHECK(message("4294967297", int{}) ==
        "c.json: field 'n' is out of range: expected an integer in [-2147483648, 2147483647], got 4294967297");
  CHECK(message("2.5", int{}) == "c.json: field 'n' has the wrong type (number): expected an integer in "
                                 "[-2147483648, 2147483647], got 2.5");
  CHECK(message("1e10", int{}).find("has the wrong type (number)") != std::string::npos);
  CHECK(message("4.0", int{}).find("has the wrong type (number)") != std::string::npos);  // floats are refused
  CHECK(message("true", int{}).find("has the wrong type (boolean)") != std::string::npos);
  CHECK(message("\"8\"", int{}).find("has the wrong type (string)") != std::string::npos);
  CHECK(message("-1", std::uint64_t{}).find("is out of range") != std::string::npos);
  CHECK(message("9223372036854775808", std::int64_t{}).find("is out of range") != std::string::npos);
  CHECK(message("-1", std::size_t{}).find("is out of range") != std::string::npos);
  CHECK(message("1", bool{}).find("expected true or false") != std::string::npos);
}

TEST_CASE("json_value: floats must be finite numbers in the target type") {
  CHECK(r1::json_value<double>(parse("3"), "x") == 3.0);
  CHECK(r1::json_value<float>(parse("0.5"), "x") == 0.5f);
  CHECK(error_of([] { r1::json_value<float>(parse("1e300"), "c.json: field 'lr'"); }) ==
        "c.json: field 'lr' is out of range: expected a finite number, got 1e+300");
  CHECK(error_of([] { r1::json_value<double>(parse("true"), "f"); }).find("has the wrong type (boolean)") !=
        std::string::npos);
  CHECK(error_of([] { r1::json_value<double>(r1::Json(std::numeric_limits<double>::infinity()), "f"); })
            .find("expected a finite number") != std::string::npos);
  CHECK(error_of([] { r1::parse_json("[1e999]", "c.json"); }).find("c.json: malformed JSON") != std::string::npos);
}

TEST_CASE("json_value: vectors of numbers are checked element by element; other types keep nlohmann's conversion") {
  CHECK(r1::json_value<std::vector<int>>(parse("[1, 2]"), "x") == std::vector<int>{1, 2});
  CHECK(error_of([] { r1::json_value<std::vector<std::int32_t>>(parse("[1, 4294967297]"), "t.json: field 'ids'"); })
            .find("t.json: field 'ids'[1] is out of range") != std::string::npos);
  CHECK(error_of([] { r1::json_value<std::vector<int>>(parse("{}"), "f"); }).find("expected an array") !=
        std::string::npos);
  CHECK(r1::json_value<std::string>(parse("\"s\""), "x") == "s");
  CHECK(error_of([] { r1::json_value<std::string>(parse("3"), "f"); }).find("f has the wrong type (number)") !=
        std::string::npos);
}

TEST_CASE("parse_json bounds nesting, so later recursion over the value cannot overflow the stack") {
  CHECK_NOTHROW(r1::parse_json(std::string(500, '[') + std::string(500, ']'), "deep.json"));
  CHECK(error_of([] { r1::parse_json(std::string(100000, '['), "deep.json"); })
            .find("deep.json: malformed JSON: nested deeper than") != std::string::npos);
  // Brackets inside strings do not count.
  CHECK_NOTHROW(r1::parse_json("\"" + std::string(1000, '[') + "\\\"\"", "s.json"));
}

TEST_CASE("model config.json: integer fields refuse floats, booleans and out-of-range values") {
  const r1::Json good = {{"model_type", "llama"},   {"vocab_size", 50},         {"hidden_size", 32},
                         {"intermediate_size", 64}, {"num_hidden_layers", 1},   {"num_attention_heads", 4}};
  CHECK_NOTHROW(r1::ModelConfig::from_json(good, "config.json"));
  const auto bad = [&](const char* field, const char* value) {
    r1::Json json = good;
    json[field] = parse(value);
    return error_of([&] { r1::ModelConfig::from_json(json, "config.json"); });
  };
  CHECK(bad("hidden_size", "32.5").find("config.json: field 'hidden_size' has the wrong type (number)") !=
        std::string::npos);
  CHECK(bad("num_hidden_layers", "1e30").find("config.json: field 'num_hidden_layers' has the wrong type") !=
        std::string::npos);
  CHECK(bad("vocab_size", "18446744073709551615").find("config.json: field 'vocab_size' is out of range") !=
        std::string::npos);
  CHECK(bad("tie_word_embeddings", "1").find("config.json: field 'tie_word_embeddings' has the wrong type") !=
        std::string::npos);
  CHECK(bad("rope_theta", "true").find("config.json: field 'rope_theta' has the wrong type (boolean)") !=
        std::string::npos);
}

TEST_CASE("objective config: integer fields are checked; G is the trainer's") {
  CHECK(error_of([] { r1::GrpoConfig::from_json(parse(R"({"group_size": 16})"), "grpo.json"); })
            .find("grpo.json: field 'group_size' is not an objective setting") != std::string::npos);
  CHECK(error_of([] { r1::GrpoConfig::from_json(parse(R"({"overlong_max_tokens": 16.7})"), "grpo.json"); })
            .find("field 'overlong_max_tokens' has the wrong type") != std::string::npos);
  CHECK(error_of([] { r1::GrpoConfig::from_json(parse(R"({"ref_reset_every_steps": 1e19})"), "grpo.json"); })
            .find("field 'ref_reset_every_steps' has the wrong type") != std::string::npos);
  CHECK(r1::GrpoConfig::from_json(parse(R"({"ref_reset_every_steps": 400})"), "grpo.json").ref_reset_every_steps == 400);
}

TEST_CASE("trainer config: integer fields are checked, and prompts_per_step x group_size may not overflow int") {
  const auto error = [](const char* text) {
    return error_of([&] { r1::GrpoTrainerConfig::from_json(parse(text), "trainer.json"); });
  };
  CHECK(error(R"({"group_size": 4294967297})").find("trainer.json: field 'group_size' is out of range") !=
        std::string::npos);
  CHECK(error(R"({"prompts_per_step": 2.5})").find("trainer.json: field 'prompts_per_step' has the wrong type") !=
        std::string::npos);
  CHECK(error(R"({"seed": -1})").find("trainer.json: field 'seed' is out of range") != std::string::npos);
  CHECK(error(R"({"temperature": 1e300})").find("trainer.json: field 'temperature' is out of range") !=
        std::string::npos);
  // 65536 x 65536 = 2^32 wraps to 0 in int (undefined behaviour), which made every minibatch count "too large".
  CHECK(error(R"({"prompts_per_step": 65536, "group_size": 65536})").find("'prompts_per_step' (65536) x 'group_size' "
                                                                          "(65536) = 4294967296") != std::string::npos);
  CHECK(error(R"({"prompts_per_step": 2147483647, "group_size": 2, "minibatches_per_rollout": 2})")
            .find("exceeds 2147483647") != std::string::npos);
  const auto config =
      r1::GrpoTrainerConfig::from_json(parse(R"({"prompts_per_step": 32, "group_size": 16, "minibatches_per_rollout": 16})"));
  CHECK(config.prompts_per_step * config.group_size == 512);
}

TEST_CASE("sampler config: an int field above INT64_MAX does not wrap to a small value") {
  const auto error = [](const char* text) {
    return error_of([&] { r1::sampler_config_from_json(parse(text), "sampler.json"); });
  };
  // 18446744073709551615 read through get<int64_t> is -1, which passed the int range check.
  CHECK(error(R"({"top_k": 18446744073709551615})").find("sampler.json: field 'top_k'") != std::string::npos);
  CHECK(error(R"({"top_k": 18446744073709551615})").find("out of range") != std::string::npos);
  CHECK(error(R"({"top_p": 1e300})").find("field 'top_p'") != std::string::npos);
}

TEST_CASE("code verifier config: limits whose derived products would overflow are errors") {
  const auto error = [](const char* text) { return error_of([&] { r1::code::CodeVerifierConfig::from_json(parse(text), "v.json"); }); };
  // The default wall limit is 2 x time_limit_ms: 2 x 2147483647 overflows int.
  CHECK(error(R"({"time_limit_ms": 2147483647})").find("v.json: field 'time_limit_ms' must be in") != std::string::npos);
  // memory_limit_mb << 20 overflows int64 above 2^43 MB.
  CHECK(error(R"({"memory_limit_mb": 9223372036854775807})").find("v.json: field 'memory_limit_mb' must be in") !=
        std::string::npos);
  CHECK(error(R"({"max_tests": -1})").find("v.json: field 'max_tests' is out of range") != std::string::npos);
}
