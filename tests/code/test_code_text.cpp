// Extraction of the program, comparison of outputs, the test-case formats and the
// mapping of finished runs onto verdicts: everything of the code reward that does
// not start a process.
#include <doctest/doctest.h>

#include <csignal>

#include "r1/core/error.hpp"
#include "r1/reward/code/compare.hpp"
#include "r1/reward/code/extract.hpp"
#include "r1/reward/code/test_cases.hpp"
#include "r1/reward/code/verdict.hpp"

using r1::code::CodeLanguage;
using r1::code::extract_code_block;

TEST_CASE("extract_code_block takes the last block tagged with the language") {
  const std::string completion =
      "<think>try ```python\nprint(1)\n``` first</think>\n"
      "```python\nprint('draft')\n```\n"
      "```cpp\nint main() {}\n```\n"
      "Final:\n```Python3\nprint('final')\n```\ntrailing words";
  CHECK(extract_code_block(completion, CodeLanguage::python) == "print('final')\n");
  CHECK(extract_code_block(completion, CodeLanguage::cpp) == "int main() {}\n");
}

TEST_CASE("extract_code_block: tagged beats a later untagged block; untagged is the fallback") {
  CHECK(extract_code_block("```py\nA\n```\n```\nB\n```\n", CodeLanguage::python) == "A\n");
  CHECK(extract_code_block("```\nB\n```\n", CodeLanguage::python) == "B\n");
  CHECK(extract_code_block("```c++\nX\n```\n```\nB\n```\n", CodeLanguage::python) == "B\n");
  CHECK_FALSE(extract_code_block("```c++\nX\n```\n", CodeLanguage::python).has_value());
  CHECK_FALSE(extract_code_block("no code at all", CodeLanguage::cpp).has_value());
}

TEST_CASE("extract_code_block follows CommonMark fences") {
  // An unclosed (truncated) block is not a program.
  CHECK_FALSE(extract_code_block("```python\nprint(1)\n", CodeLanguage::python).has_value());
  // A longer fence may contain a shorter one; ~~~ fences; up to 3 spaces of indent; CRLF.
  CHECK(extract_code_block("````python\ns = '```'\n```\n````\n", CodeLanguage::python) == "s = '```'\n```\n");
  CHECK(extract_code_block("~~~cpp\nint x;\n~~~\n", CodeLanguage::cpp) == "int x;\n");
  CHECK(extract_code_block("   ```cpp\nint y;\n   ```\n", CodeLanguage::cpp) == "int y;\n");
  CHECK(extract_code_block("```cpp\r\nint z;\r\n```\r\n", CodeLanguage::cpp) == "int z;\n");
  // Four spaces make an indented code line, not a fence; ```x``` on one line is inline code.
  CHECK_FALSE(extract_code_block("    ```cpp\nint w;\n    ```\n", CodeLanguage::cpp).has_value());
  CHECK_FALSE(extract_code_block("use ```cpp int``` here\n", CodeLanguage::cpp).has_value());
  // The info string's first word is the tag: "cpp {.numberLines}" is C++.
  CHECK(extract_code_block("```cpp {.numberLines}\nint v;\n```\n", CodeLanguage::cpp) == "int v;\n");
}

TEST_CASE("parse_code_language names the source of an unknown language") {
  CHECK(r1::code::parse_code_language("C++", "cfg") == CodeLanguage::cpp);
  CHECK(r1::code::parse_code_language("python3", "cfg") == CodeLanguage::python);
  CHECK_THROWS_WITH_AS(r1::code::parse_code_language("rust", "request.json"),
                       doctest::Contains("request.json: unknown code language 'rust'"), r1::Error);
}

TEST_CASE("outputs_match: trailing whitespace and final newlines do not matter") {
  using r1::code::outputs_match;
  CHECK(outputs_match("3\n", "3\n"));
  CHECK(outputs_match("3", "3\n"));
  CHECK(outputs_match("3\n\n\n", "3"));
  CHECK(outputs_match("1 2  \r\n3\t\n", "1 2\n3\n"));
  CHECK(outputs_match("", ""));
  CHECK(outputs_match("\n", ""));
}

TEST_CASE("outputs_match compares the whole output: prefixes and extra lines are wrong") {
  using r1::code::outputs_match;
  CHECK_FALSE(outputs_match("1\n2\n", "1\n2\n3\n"));  // a prefix of the expected output
  CHECK_FALSE(outputs_match("1\n2\n3\n4\n", "1\n2\n3\n"));  // an extra line
  CHECK_FALSE(outputs_match("", "0\n"));
  CHECK_FALSE(outputs_match("1  2\n", "1 2\n"));  // inner whitespace counts without a tolerance
  CHECK_FALSE(outputs_match(" 3\n", "3\n"));     // so does leading whitespace
  CHECK_FALSE(outputs_match("1\n\n2\n", "1\n2\n"));  // and empty lines inside
}

TEST_CASE("outputs_match with a float tolerance: absolute or relative error") {
  using r1::code::outputs_match;
  // |0.3333330 - 1/3| = 3.3e-7 <= 1e-6 * max(1, 1/3) = 1e-6.
  CHECK(outputs_match("0.3333330\n", "0.333333333\n", 1e-6));
  // |0.333 - 0.333333333| = 3.3e-4 > 1e-6.
  CHECK_FALSE(outputs_match("0.333\n", "0.333333333\n", 1e-6));
  // Relative: |1000000.5 - 1000000| = 0.5 <= 1e-6 * 1e6 = 1.
  CHECK(outputs_match("1000000.5\n", "1000000\n", 1e-6));
  // Relative only above 1 in magnitude: |1.5e-6 - 0| = 1.5e-6 > 1e-6 * max(1, 0) = 1e-6.
  CHECK_FALSE(outputs_match("1.5e-6\n", "0\n", 1e-6));
  // Tokens: words must be equal, counts must match, inner whitespace is free.
  CHECK(outputs_match("YES  2.0000001\n", "YES 2\n", 1e-6));
  CHECK_FALSE(outputs_match("NO 2\n", "YES 2\n", 1e-6));
  CHECK_FALSE(outputs_match("2 2\n", "2\n", 1e-6));
  CHECK_FALSE(outputs_match("nan\n", "1\n", 1e-6));
  CHECK_FALSE(outputs_match("1\n", "1\n2\n", 1e-6));
}

TEST_CASE("json_values_match: numbers by value, APPS's one-element wrapping") {
  using r1::Json;
  using r1::code::json_values_match;
  CHECK(json_values_match(Json::parse("3"), Json::parse("3.0")));
  CHECK(json_values_match(Json::parse("-3"), Json::parse("-3")));
  CHECK(json_values_match(Json::parse("7"), Json::parse("[7]")));
  CHECK(json_values_match(Json::parse("[1, [2, \"a\"]]"), Json::parse("[1, [2, \"a\"]]")));
  CHECK(json_values_match(Json::parse("{\"k\": 1}"), Json::parse("{\"k\": 1.0}")));
  CHECK_FALSE(json_values_match(Json::parse("[1, 2]"), Json::parse("[2, 1]")));
  CHECK_FALSE(json_values_match(Json::parse("true"), Json::parse("1")));
  CHECK_FALSE(json_values_match(Json::parse("\"3\""), Json::parse("3")));
  CHECK_FALSE(json_values_match(Json::parse("3.0000001"), Json::parse("3")));
  // |3.0000001 - 3| = 1e-7 <= 1e-6 * 3.
  CHECK(json_values_match(Json::parse("3.0000001"), Json::parse("3"), 1e-6));
  CHECK_FALSE(json_values_match(Json::parse("{\"k\": 1}"), Json::parse("{\"j\": 1}")));
}

TEST_CASE("parse_code_tests reads the list, parallel-list, call-style and string-wrapped formats") {
  using r1::Json;
  using r1::code::TestStyle;
  const auto list = r1::code::parse_code_tests(
      Json::parse(R"([{"input": "1 2\n", "output": "3\n"}, {"input": "", "output": "0.5", "float_tolerance": 1e-6}])"), "t");
  CHECK(list.style == TestStyle::standard_io);
  REQUIRE(list.cases.size() == 2);
  CHECK(list.cases[0].input == "1 2\n");
  CHECK(list.cases[0].expected_output == "3\n");
  CHECK_FALSE(list.cases[0].float_tolerance.has_value());
  CHECK(list.cases[1].float_tolerance == doctest::Approx(1e-6));

  const auto parallel = r1::code::parse_code_tests(
      Json::parse(R"({"inputs": ["a\n", "b\n"], "outputs": ["A\n", "B\n"], "float_tolerance": 0.01})"), "t");
  CHECK(parallel.style == TestStyle::standard_io);
  REQUIRE(parallel.cases.size() == 2);
  CHECK(parallel.cases[1].expected_output == "B\n");
  CHECK(parallel.cases[1].float_tolerance == doctest::Approx(0.01));

  const auto call = r1::code::parse_code_tests(
      Json(R"({"fn_name": "add", "inputs": [[1, 2], [[3], 4]], "outputs": [3, [7]]})"), "t");  // a JSON string
  CHECK(call.style == TestStyle::function_call);
  CHECK(call.function_name == "add");
  REQUIRE(call.cases.size() == 2);
  CHECK(call.cases[1].arguments == Json::parse("[[3], 4]"));
  CHECK(call.cases[1].expected_value == Json::parse("[7]"));
}

TEST_CASE("parse_code_tests rejects malformed tests with the place and what was expected") {
  using r1::Json;
  auto fails_with = [](const char* text, const char* message) {
    CHECK_THROWS_WITH_AS(r1::code::parse_code_tests(Json::parse(text), "problem 4 tests"),
                         doctest::Contains(message), r1::Error);
  };
  fails_with(R"([{"input": "1"}])", "problem 4 tests[0]: missing field 'output'");
  fails_with(R"([{"input": 1, "output": "1"}])", "problem 4 tests[0]: field 'input' must be a string");
  fails_with(R"([3])", "problem 4 tests[0]: expected an object");
  fails_with(R"({"inputs": ["1"], "outputs": []})", "'inputs' has 1 entries but 'outputs' has 0");
  fails_with(R"({"inputs": [1], "outputs": [1]})", "inputs[0] and outputs[0] must be strings");
  fails_with(R"({"fn_name": "f", "inputs": [1], "outputs": [1]})", "inputs[0] must be the list of arguments");
  fails_with(R"({"fn_name": 5, "inputs": [], "outputs": []})", "'fn_name' must be a non-empty string");
  fails_with(R"({"inputs": [], "outputs": [], "float_tolerance": -1})", "'float_tolerance' must be a non-negative");
  fails_with(R"({"outputs": []})", "field 'inputs' must be a list");
  fails_with(R"(7)", "problem 4 tests: expected a list");
  CHECK_THROWS_WITH_AS(r1::code::parse_code_tests(Json("[{"), "problem 4 tests"),
                       doctest::Contains("problem 4 tests: malformed JSON"), r1::Error);
}

TEST_CASE("classify_run maps how a run ended onto a verdict") {
  using r1::code::classify_run;
  using r1::code::SandboxOutcome;
  using r1::code::Verdict;
  r1::code::SandboxLimits limits;
  limits.cpu_time_ms = 1500;  // RLIMIT_CPU rounds up: 2 s
  limits.address_space_bytes = 256ll << 20;
  auto run = [](SandboxOutcome outcome, int code_or_signal, const char* err = "", double cpu_ms = 5,
                std::int64_t rss_kb = 9000) {
    r1::code::SandboxResult result;
    result.outcome = outcome;
    if (outcome == SandboxOutcome::exited) result.exit_code = code_or_signal;
    if (outcome == SandboxOutcome::signaled) result.signal = code_or_signal;
    result.stderr_text = err;
    result.cpu_ms = cpu_ms;
    result.max_rss_kb = rss_kb;
    return result;
  };
  CHECK_FALSE(classify_run(run(SandboxOutcome::exited, 0, "MemoryError"), limits).has_value());
  CHECK(classify_run(run(SandboxOutcome::exited, 1, "Traceback\nZeroDivisionError"), limits) == Verdict::runtime_error);
  CHECK(classify_run(run(SandboxOutcome::exited, 1, "Traceback\nMemoryError\n"), limits) == Verdict::memory_limit);
  CHECK(classify_run(run(SandboxOutcome::exited, 1, "OSError: [Errno 27] File too large"), limits) == Verdict::output_limit);
  CHECK(classify_run(run(SandboxOutcome::wall_timeout, 0), limits) == Verdict::time_limit);
  CHECK(classify_run(run(SandboxOutcome::output_limit, 0), limits) == Verdict::output_limit);
  CHECK(classify_run(run(SandboxOutcome::sandbox_error, 0), limits) == Verdict::sandbox_error);
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGXCPU), limits) == Verdict::time_limit);
  // The exact CPU limit (1500 ms) applies however the run ended.
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGKILL, "", 2000.0), limits) == Verdict::time_limit);
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGKILL, "", 1500.0), limits) == Verdict::runtime_error);
  CHECK(classify_run(run(SandboxOutcome::exited, 0, "", 1500.5), limits) == Verdict::time_limit);
  CHECK_FALSE(classify_run(run(SandboxOutcome::exited, 0, "", 1500.0), limits).has_value());
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGXFSZ), limits) == Verdict::output_limit);
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGABRT, "what(): std::bad_alloc"), limits) == Verdict::memory_limit);
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGSEGV), limits) == Verdict::runtime_error);
  // 3/4 of 256 MiB = 196608 KiB of resident memory at the crash: out of memory.
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGSEGV, "", 5, 196608), limits) == Verdict::memory_limit);
  CHECK(classify_run(run(SandboxOutcome::signaled, SIGSEGV, "", 5, 196607), limits) == Verdict::runtime_error);
}
