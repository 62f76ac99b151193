// SamplerConfig: the JSON loader and the validator reject bad input with a
// message that names the source and the field. Built with ASan + UBSan.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "r1/core/error.hpp"
#include "r1/sampling/sampler_config.hpp"

namespace {

std::string error_of(const std::string& json_text) {
  try {
    r1::sampler_config_from_json(r1::Json::parse(json_text), "test.json");
  } catch (const r1::Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a full config loads; absent fields keep their defaults") {
  const auto config = r1::sampler_config_from_json(r1::Json::parse(R"({
      "temperature": 0.6, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repetition_penalty": 1.1,
      "max_new_tokens": 1024, "eos_token_ids": [1, 2], "stop_token_ids": [7],
      "stop_strings": ["</answer>"], "max_batch_sequences": 64, "banned_token_ids": [4, 5]})"));
  CHECK(config.temperature == 0.6f);
  CHECK(config.top_k == 40);
  CHECK(config.top_p == 0.95f);
  CHECK(config.min_p == 0.05f);
  CHECK(config.repetition_penalty == 1.1f);
  CHECK(config.max_new_tokens == 1024);
  CHECK(config.eos_token_ids == std::vector<r1::TokenId>{1, 2});
  CHECK(config.stop_token_ids == std::vector<r1::TokenId>{7});
  CHECK(config.stop_strings == std::vector<std::string>{"</answer>"});
  CHECK(config.max_batch_sequences == 64);
  CHECK(config.banned_token_ids == std::vector<r1::TokenId>{4, 5});

  const auto defaults = r1::sampler_config_from_json(r1::Json::parse("{}"));
  const r1::SamplerConfig expected;
  CHECK(defaults.temperature == expected.temperature);
  CHECK(defaults.top_k == expected.top_k);
  CHECK(defaults.max_new_tokens == expected.max_new_tokens);
  CHECK(defaults.eos_token_ids.empty());
  CHECK(defaults.banned_token_ids.empty());
  CHECK(r1::sampler_config_from_json(r1::Json::parse(R"({"temperature": 0})")).greedy());
}

TEST_CASE("bad fields are errors that name the file and the field") {
  CHECK(error_of("[1, 2]").find("test.json: expected a JSON object") != std::string::npos);
  CHECK(error_of(R"({"temprature": 1})").find("unknown field 'temprature'") != std::string::npos);
  CHECK(error_of(R"({"temperature": "hot"})").find("field 'temperature': expected a number") != std::string::npos);
  CHECK(error_of(R"({"temperature": -0.5})").find("temperature = -0.5") != std::string::npos);
  CHECK(error_of(R"({"temperature": 1e300})").find("temperature") != std::string::npos);  // inf as a float
  CHECK(error_of(R"({"top_k": 2.5})").find("field 'top_k': expected an integer") != std::string::npos);
  CHECK(error_of(R"({"top_k": -1})").find("top_k = -1") != std::string::npos);
  CHECK(error_of(R"({"top_k": 10000000000})").find("out of range") != std::string::npos);
  CHECK(error_of(R"({"top_p": 0})").find("top_p = 0") != std::string::npos);
  CHECK(error_of(R"({"top_p": 1.01})").find("top_p") != std::string::npos);
  CHECK(error_of(R"({"min_p": 2})").find("min_p = 2") != std::string::npos);
  CHECK(error_of(R"({"repetition_penalty": 0})").find("repetition_penalty = 0") != std::string::npos);
  CHECK(error_of(R"({"max_new_tokens": 0})").find("max_new_tokens = 0") != std::string::npos);
  CHECK(error_of(R"({"max_batch_sequences": -3})").find("max_batch_sequences = -3") != std::string::npos);
  CHECK(error_of(R"({"eos_token_ids": 5})").find("field 'eos_token_ids': expected an array") != std::string::npos);
  CHECK(error_of(R"({"eos_token_ids": [1, -2]})").find("eos_token_ids[1] = -2") != std::string::npos);
  CHECK(error_of(R"({"stop_token_ids": [1.5]})").find("stop_token_ids[0] = 1.5") != std::string::npos);
  CHECK(error_of(R"({"banned_token_ids": [0, -1]})").find("banned_token_ids[1] = -1") != std::string::npos);
  CHECK(error_of(R"({"stop_strings": [""]})").find("stop_strings[0] is empty") != std::string::npos);
  CHECK(error_of(R"({"stop_strings": [3]})").find("stop_strings") != std::string::npos);
}

TEST_CASE("token ids are checked against the vocabulary") {
  r1::SamplerConfig config;
  config.eos_token_ids = {3};
  config.stop_token_ids = {2, 10};
  CHECK_THROWS_WITH_AS(config.validate_tokens(10), doctest::Contains("stop_token_ids[1] = 10 is outside the vocabulary [0, 10)"),
                       r1::Error);
  CHECK_NOTHROW(config.validate_tokens(11));
  config.banned_token_ids = {11};
  CHECK_THROWS_WITH_AS(config.validate_tokens(11), doctest::Contains("banned_token_ids[0] = 11 is outside the vocabulary"),
                       r1::Error);
}

TEST_CASE("load_sampler_config reads a file and names it in errors") {
  const std::string path = "sampler_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"temperature": 0.6, "top_p": 0.95})";
  }
  const auto config = r1::load_sampler_config(path);
  CHECK(config.top_p == 0.95f);
  {
    std::ofstream out(path);
    out << R"({"temperature": 0.6,)";
  }
  CHECK_THROWS_WITH_AS(r1::load_sampler_config(path), doctest::Contains("sampler_config_test.json: malformed JSON"), r1::Error);
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(r1::load_sampler_config("/nonexistent/sampler.json"),
                       doctest::Contains("/nonexistent/sampler.json: cannot open"), r1::Error);
}
