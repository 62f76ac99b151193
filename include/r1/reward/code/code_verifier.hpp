#pragma once
// r1::code::CodeVerifier, the code-execution reward of DeepSeek-R1 (§2.2.2
// "Accuracy rewards": "for LeetCode problems, a compiler can be used to generate
// feedback based on predefined test cases"): the last fenced code block of the
// completion is run on every test case of Problem::tests in a sandbox
// (sandbox.hpp); the score is the fraction of tests passed, or with
// `all_or_nothing` 1 when all pass and 0 otherwise.
//
//   r1::code::CodeVerifierConfig config;
//   config.language = "cpp";
//   r1::code::CodeVerifier verifier{config};
//   r1::Reward reward = verifier(problem, completion);     // RewardVerifier
//   r1::code::CodeReport report = verifier.evaluate(problem, completion);  // verdict per test
//
// Not applicable (excluded from group statistics, not scored 0): the problem has
// no tests, or a test hit a sandbox error (the sandbox's fault, not the model's).
// A completion without a code block scores 0. Thread-safe and const: runs of
// several threads go through the process-wide slot pool (run_slots.hpp), which
// bounds how many run at once; a hung program holds its thread for at most its
// wall-clock limit.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/reward/code/compare.hpp"
#include "r1/reward/code/extract.hpp"
#include "r1/reward/code/program.hpp"
#include "r1/reward/code/sandbox.hpp"
#include "r1/reward/code/test_cases.hpp"
#include "r1/reward/code/verdict.hpp"
#include "r1/reward/reward.hpp"

namespace r1::code {

struct CodeVerifierConfig {
  std::string language = "python";  // "python" or "cpp"; Problem::extra["code_language"] overrides
  bool all_or_nothing = false;      // the pass/fail variant
  std::size_t max_tests = 0;        // run at most this many tests (the first ones); 0 = all
  bool stop_at_first_failure = false;  // later tests are not run and count as failed
  SandboxLimits run_limits = default_run_limits();
  SandboxLimits compile_limits = default_compile_limits();
  std::optional<IsolationMode> mode;  // default: the best this machine allows
  bool allow_unisolated = false;      // see SandboxRequest::allow_unisolated: for trusted code only

  static SandboxLimits default_run_limits() { return SandboxLimits{}; }

  // Reads {"language", "all_or_nothing", "max_tests", "time_limit_ms", "memory_limit_mb", ...}; `where` names the source.
  static CodeVerifierConfig from_json(const Json& json, std::string_view where) {
    CodeVerifierConfig config;
    config.language = json_field_or<std::string>(json, "language", config.language, where);
    parse_code_language(config.language, where);
    config.all_or_nothing = json_field_or<bool>(json, "all_or_nothing", config.all_or_nothing, where);
    config.max_tests = json_field_or<std::size_t>(json, "max_tests", config.max_tests, where);
    config.stop_at_first_failure = json_field_or<bool>(json, "stop_at_first_failure", false, where);
    const int time_ms = json_field_or<int>(json, "time_limit_ms", config.run_limits.cpu_time_ms, where);
    // The default wall limit is twice the CPU limit, so the CPU limit is bounded for that product to fit an int.
    require(time_ms > 0 && time_ms <= std::numeric_limits<int>::max() / 2, where,
            ": field 'time_limit_ms' must be in [1, ", std::numeric_limits<int>::max() / 2, "], got ", time_ms);
    config.run_limits.cpu_time_ms = time_ms;
    config.run_limits.wall_time_ms = json_field_or<int>(json, "wall_time_limit_ms", 2 * time_ms, where);
    require(config.run_limits.wall_time_ms > 0, where, ": field 'wall_time_limit_ms' must be positive");
    const std::int64_t memory_mb = json_field_or<std::int64_t>(
        json, "memory_limit_mb", config.run_limits.address_space_bytes >> 20, where);
    require(memory_mb >= 16 && memory_mb <= std::numeric_limits<std::int64_t>::max() >> 20, where,
            ": field 'memory_limit_mb' must be in [16, ", std::numeric_limits<std::int64_t>::max() >> 20, "], got ",
            memory_mb);
    config.run_limits.address_space_bytes = memory_mb << 20;
    return config;
  }
};

// A verify request line: {"verifier": "code", "language": "python" | "cpp",
// "completion": ..., "tests": [...], optional "time_limit_ms", "memory_limit_mb",
// "all_or_nothing", "max_tests"}: the problem it describes (the verifier comes from
// CodeVerifierConfig::from_json of the same record).
inline Problem code_problem_from_json(const Json& record, std::string_view where) {
  require(record.is_object() && record.contains("tests"), where, ": missing field 'tests'");
  Problem problem;
  problem.tests = record["tests"];
  (void)parse_code_tests(problem.tests, std::string(where) + ": field 'tests'");  // malformed tests fail here
  return problem;
}

struct TestResult {
  Verdict verdict = Verdict::sandbox_error;
  int signal = 0;         // runtime error by a signal
  int exit_code = -1;
  double wall_ms = 0.0;
  std::string detail;     // stderr excerpt, sandbox error, or why the output is wrong
};

struct CodeReport {
  bool applicable = true;
  std::string reason;            // why not applicable / why 0
  std::string code;              // the extracted program
  std::string compile_output;    // compiler diagnostics (C++)
  std::vector<TestResult> tests;
  std::size_t passed = 0;
  double score = 0.0;
};

class CodeVerifier {
 public:
  explicit CodeVerifier(CodeVerifierConfig config = {}) : config_(std::move(config)) {
    parse_code_language(config_.language, "code verifier config");
    if (config_.mode == IsolationMode::namespaces) {
      require(sandbox_capabilities().namespaces, "code verifier config: mode 'namespaces' is not available here (",
              sandbox_capabilities().description, ")");
    }
  }

  std::string_view name() const { return config_.all_or_nothing ? "code_pass" : "code"; }
  const CodeVerifierConfig& config() const { return config_; }

  CodeReport evaluate(const Problem& problem, std::string_view completion) const {
    CodeReport report;
    if (problem.tests.is_null() || (problem.tests.is_array() && problem.tests.empty())) {
      report.applicable = false;
      report.reason = "the problem has no code tests";
      return report;
    }
    CodeTestSuite suite = parse_code_tests(problem.tests, "problem tests");
    if (suite.cases.empty()) {
      report.applicable = false;
      report.reason = "the problem has no code tests";
      return report;
    }
    const CodeLanguage language = parse_code_language(
        json_field_or<std::string>(problem.extra, "code_language", config_.language, "problem extra"),
        "problem extra 'code_language'");
    if (suite.style == TestStyle::function_call && language != CodeLanguage::python) {
      report.applicable = false;
      report.reason = "function-call tests are run for Python only";
      return report;
    }
    if (config_.max_tests > 0 && suite.cases.size() > config_.max_tests) suite.cases.resize(config_.max_tests);

    const auto code = extract_code_block(completion, language);
    if (!code) {
      report.reason = "no ```" + std::string(to_string(language)) + " code block";
      report.tests.assign(suite.cases.size(), TestResult{Verdict::wrong_answer, 0, -1, 0.0, report.reason});
      return report;
    }
    report.code = *code;
    const IsolationMode mode = config_.mode.value_or(sandbox_capabilities().mode);
    SandboxWorkspace workspace;
    PreparedProgram program(workspace, language, mode, config_.allow_unisolated);
    const CompileResult compiled = program.prepare(*code, config_.compile_limits);
    if (!compiled.ok) {
      const Verdict verdict = compiled.sandbox_failed ? Verdict::sandbox_error : Verdict::compile_error;
      report.compile_output = compiled.message;
      report.tests.assign(suite.cases.size(), TestResult{verdict, 0, -1, 0.0, compiled.message});
      return finish(report, suite);
    }
    bool failed = false;
    for (const CodeTestCase& test : suite.cases) {
      if (failed && config_.stop_at_first_failure) {
        report.tests.push_back(TestResult{Verdict::wrong_answer, 0, -1, 0.0, "not run: an earlier test failed"});
        continue;
      }
      report.tests.push_back(run_test(workspace, program, suite, test, mode));
      failed = failed || report.tests.back().verdict != Verdict::accepted;
    }
    return finish(report, suite);
  }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    const CodeReport report = evaluate(problem, completion);
    if (!report.applicable) return Reward::not_applicable(report.reason);
    Reward reward;
    reward.score = report.score;
    reward.extracted = report.code;
    reward.components.push_back({"tests_passed", report.tests.empty() ? 0.0
                                                     : static_cast<double>(report.passed) /
                                                           static_cast<double>(report.tests.size())});
    reward.reason = summary(report);
    return reward;
  }

  // The report as JSON: {"score": s | null, "passed": n, "verdicts": ["accepted", ...],
  // "signals": [0, 11, ...], "reason": ..., "compile_output": ...}; score is null when
  // not applicable.
  static Json to_json(const CodeReport& report) {
    Json out;
    out["score"] = report.applicable ? Json(report.score) : Json(nullptr);
    out["passed"] = report.passed;
    out["verdicts"] = Json::array();
    out["signals"] = Json::array();
    for (const TestResult& test : report.tests) {
      out["verdicts"].push_back(std::string(to_string(test.verdict)));
      out["signals"].push_back(test.signal);
    }
    out["reason"] = summary(report);
    out["compile_output"] = report.compile_output;
    return out;
  }

  // "2/3 tests passed: accepted, wrong answer, time limit" (and the first failure's detail).
  static std::string summary(const CodeReport& report) {
    std::string text = report.reason.empty() ? "" : report.reason + "; ";
    text += std::to_string(report.passed) + "/" + std::to_string(report.tests.size()) + " tests passed";
    for (std::size_t i = 0; i < report.tests.size(); ++i) {
      text += (i == 0 ? ": " : ", ");
      text += to_string(report.tests[i].verdict);
      if (report.tests[i].signal != 0) text += " (signal " + std::to_string(report.tests[i].signal) + ")";
    }
    return text;
  }

 private:
  CodeReport& finish(CodeReport& report, const CodeTestSuite& suite) const {
    report.passed = 0;
    for (const TestResult& test : report.tests) {
      if (test.verdict == Verdict::accepted) ++report.passed;
      if (test.verdict == Verdict::sandbox_error) {
        report.applicable = false;
        report.reason = "sandbox error: " + test.detail;
      }
    }
    const double total = static_cast<double>(suite.cases.size());
    const double fraction = total > 0 ? static_cast<double>(report.passed) / total : 0.0;
    report.score = config_.all_or_nothing ? (report.passed == suite.cases.size() ? 1.0 : 0.0) : fraction;
    return report;
  }

  TestResult run_test(const SandboxWorkspace& workspace, const PreparedProgram& program, const CodeTestSuite& suite,
                      const CodeTestCase& test, IsolationMode mode) const {
    SandboxRequest request;
    request.mode = mode;
    request.limits = config_.run_limits;
    request.allow_unisolated = config_.allow_unisolated;
    if (suite.style == TestStyle::function_call) {
      request.argv = program.run_argv(suite.function_name);
      request.stdin_data = test.arguments.dump();
    } else {
      request.argv = program.run_argv();
      request.stdin_data = test.input;
    }
    const SandboxResult run = run_sandboxed(workspace, request);
    TestResult result;
    result.wall_ms = run.wall_ms;
    result.exit_code = run.exit_code;
    result.signal = run.signal;
    constexpr std::size_t kDetailBytes = 512;
    if (const auto abnormal = classify_run(run, request.limits)) {
      result.verdict = *abnormal;
      result.detail = run.outcome == SandboxOutcome::sandbox_error ? run.error : run.stderr_text.substr(0, kDetailBytes);
      return result;
    }
    bool matches = false;
    if (suite.style == TestStyle::function_call) {
      Json value;
      try {
        value = parse_json(run.stdout_text, "program output");
        matches = json_values_match(value, test.expected_value, test.float_tolerance);
      } catch (const Error&) {  // output that is not JSON is a wrong answer
        matches = false;
      } catch (const Json::exception&) {
        matches = false;
      }
    } else {
      matches = outputs_match(run.stdout_text, test.expected_output, test.float_tolerance);
    }
    result.verdict = matches ? Verdict::accepted : Verdict::wrong_answer;
    if (!matches) result.detail = "output: " + run.stdout_text.substr(0, kDetailBytes);
    return result;
  }

  CodeVerifierConfig config_;
};

}  // namespace r1::code
