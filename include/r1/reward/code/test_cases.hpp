#pragma once
// The test cases of a code problem (Problem::tests), in the formats datasets use:
//
//   stdin/stdout, a list (LiveCodeBench-like):
//     [{"input": "1 2\n", "output": "3\n"}, {"input": "...", "output": "...", "float_tolerance": 1e-6}]
//   stdin/stdout, two parallel lists (APPS / TACO "input_output" without fn_name):
//     {"inputs": ["1 2\n", ...], "outputs": ["3\n", ...], "float_tolerance": 1e-6}
//   function call, Python only (APPS / TACO with fn_name): inputs[i] is the argument list
//     {"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [3, 7]}
//
// Any of these may also come as a JSON string holding the JSON (APPS stores it so).
// "float_tolerance" (optional, >= 0) switches on the numeric comparison of compare.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1::code {

enum class TestStyle : std::uint8_t { standard_io, function_call };

struct CodeTestCase {
  std::string input;            // standard_io: stdin
  std::string expected_output;  // standard_io: expected stdout
  Json arguments;               // function_call: the argument list
  Json expected_value;          // function_call: the expected return value
  std::optional<double> float_tolerance;
};

struct CodeTestSuite {
  TestStyle style = TestStyle::standard_io;
  std::string function_name;  // function_call only
  std::vector<CodeTestCase> cases;
};

namespace detail {

inline std::optional<double> tolerance_field(const Json& object, const std::string& where) {
  if (!object.is_object() || !object.contains("float_tolerance") || object["float_tolerance"].is_null()) {
    return std::nullopt;
  }
  const auto& value = object["float_tolerance"];
  require(value.is_number() && value.get<double>() >= 0.0, where,
          ": field 'float_tolerance' must be a non-negative number, got ", value.dump());
  return value.get<double>();
}

inline std::string text_field(const Json& object, const char* field, const std::string& where) {
  require(object.contains(field), where, ": missing field '", field, "'");
  const Json& value = object[field];
  require(value.is_string(), where, ": field '", field, "' must be a string, got ", value.type_name());
  return value.get<std::string>();
}

}  // namespace detail

// Parses `tests`; `where` names the source in errors ("problem 12 tests").
inline CodeTestSuite parse_code_tests(const Json& tests, std::string_view where_view) {
  const std::string where(where_view);
  if (tests.is_string()) return parse_code_tests(parse_json(tests.get<std::string>(), where), where_view);
  CodeTestSuite suite;
  if (tests.is_array()) {
    for (std::size_t i = 0; i < tests.size(); ++i) {
      const std::string item = where + "[" + std::to_string(i) + "]";
      require(tests[i].is_object(), item, ": expected an object {\"input\": ..., \"output\": ...}, got ",
              tests[i].type_name());
      CodeTestCase test;
      test.input = detail::text_field(tests[i], "input", item);
      test.expected_output = detail::text_field(tests[i], "output", item);
      test.float_tolerance = detail::tolerance_field(tests[i], item);
      suite.cases.push_back(std::move(test));
    }
    return suite;
  }
  require(tests.is_object(), where, ": expected a list of {\"input\", \"output\"} objects or an object with "
                                    "\"inputs\" and \"outputs\", got ", tests.type_name());
  require(tests.contains("inputs") && tests["inputs"].is_array(), where, ": field 'inputs' must be a list");
  require(tests.contains("outputs") && tests["outputs"].is_array(), where, ": field 'outputs' must be a list");
  const Json& inputs = tests["inputs"];
  const Json& outputs = tests["outputs"];
  require(inputs.size() == outputs.size(), where, ": 'inputs' has ", inputs.size(), " entries but 'outputs' has ",
          outputs.size());
  const auto tolerance = detail::tolerance_field(tests, where);
  if (tests.contains("fn_name") && !tests["fn_name"].is_null()) {
    require(tests["fn_name"].is_string() && !tests["fn_name"].get<std::string>().empty(), where,
            ": field 'fn_name' must be a non-empty string");
    suite.style = TestStyle::function_call;
    suite.function_name = tests["fn_name"].get<std::string>();
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CodeTestCase test;
    test.float_tolerance = tolerance;
    if (suite.style == TestStyle::function_call) {
      require(inputs[i].is_array(), where, ": inputs[", i, "] must be the list of arguments, got ",
              inputs[i].type_name());
      test.arguments = inputs[i];
      test.expected_value = outputs[i];
    } else {
      require(inputs[i].is_string() && outputs[i].is_string(), where, ": inputs[", i, "] and outputs[", i,
              "] must be strings for stdin/stdout tests (or give 'fn_name')");
      test.input = inputs[i].get<std::string>();
      test.expected_output = outputs[i].get<std::string>();
    }
    suite.cases.push_back(std::move(test));
  }
  return suite;
}

}  // namespace r1::code
