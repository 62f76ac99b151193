// The code verifier's test-case parsing: a tests field (stdin/stdout cases, a
// function-call suite, or either as a JSON string), a verify request line
// (code_problem_from_json) and the verifier's config (limits), all from one JSON
// input. Nothing is compiled or run.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "r1/reward/code/compare.hpp"
#include "r1/reward/code/test_cases.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  r1::fuzz::run_expecting_errors([&] {
    const auto json = r1::parse_json(r1::fuzz::as_text(data, size), "tests.json");
    r1::fuzz::run_expecting_errors([&] { (void)r1::code::parse_code_tests(json, "problem tests"); });
    r1::fuzz::run_expecting_errors([&] { (void)r1::code::CodeVerifierConfig::from_json(json, "verify line"); });
    r1::fuzz::run_expecting_errors([&] {
      const auto problem = r1::code::code_problem_from_json(json, "verify line");
      (void)r1::code::parse_code_tests(problem.tests, "verify line tests");
    });
    if (!r1::code::json_values_match(json, json)) r1::fuzz::property_failed("a JSON value does not match itself");
  });
  return 0;
}
