#include <doctest/doctest.h>

#include <string>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

TEST_CASE("r1::Error carries the streamed message") {
  try {
    r1::fail("config.json: field 'hidden_size': expected a positive integer, got ", -3);
    FAIL("fail() returned");
  } catch (const r1::Error& e) {
    CHECK(std::string(e.what()) == "config.json: field 'hidden_size': expected a positive integer, got -3");
  }
  CHECK_NOTHROW(r1::require(true, "never"));
  CHECK_THROWS_AS(r1::require(false, "always"), r1::Error);
}

TEST_CASE("JSON helpers name the source and field") {
  const auto object = r1::parse_json(R"({"a": 3, "b": "x"})", "line 1");
  CHECK(r1::json_field<int>(object, "a", "line 1") == 3);
  CHECK(r1::json_field_or<int>(object, "missing", 9, "line 1") == 9);
  CHECK_THROWS_WITH_AS(r1::json_field<int>(object, "c", "line 1"), doctest::Contains("line 1: missing field 'c'"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::json_field<int>(object, "b", "line 1"), doctest::Contains("field 'b' has the wrong type"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::parse_json("{oops", "stdin line 4"), doctest::Contains("stdin line 4: malformed JSON"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::parse_json(R"({"rope_theta": 1e999})", "config.json"),
                       doctest::Contains("config.json: malformed JSON"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::read_json_file("/nonexistent/config.json"),
                       doctest::Contains("/nonexistent/config.json: cannot open"), r1::Error);
  CHECK_NOTHROW(r1::require_known_fields(object, {"a", "b", "c"}, "line 1"));
  CHECK_THROWS_WITH_AS(r1::require_known_fields(object, {"a"}, "line 1"), doctest::Contains("line 1: unknown field 'b'"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::require_known_fields(r1::Json::array(), {"a"}, "line 2"),
                       doctest::Contains("line 2: expected a JSON object"), r1::Error);
}
