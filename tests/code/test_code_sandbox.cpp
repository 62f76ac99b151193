// The code verifier on well-behaved programs: correct ones pass, wrong ones get
// the right verdict, in both languages and in every isolation mode this machine
// allows; the sandbox's own guarantees (empty environment, fresh working
// directory, stdin of any size, output cap) and its use from several threads.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <cstdio>
#include <csignal>
#include <string>
#include <tuple>
#include <vector>

#include "code_test_support.hpp"
#include "r1/concepts.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "skip.hpp"

using r1::code::CodeVerifier;
using r1::code::IsolationMode;
using r1::code::Verdict;
using r1::test::fenced;
using r1::test::small_config;
using r1::test::stdio_problem;

static_assert(r1::RewardVerifier<CodeVerifier>);

namespace {

// Without root and namespaces runs are refused (sandbox.hpp): nothing to test here.
void skip_unless_isolated() {
  if (!r1::code::sandbox_capabilities().isolated) {
    r1::test::skip_suite("the sandbox refuses to run untrusted code here (not root, no namespaces)");
  }
}

// Every mode this machine allows: namespaces when permitted, and the fallback when root.
std::vector<IsolationMode> modes_here() {
  std::vector<IsolationMode> modes;
  if (r1::code::sandbox_capabilities().namespaces) modes.push_back(IsolationMode::namespaces);
  if (r1::code::sandbox_capabilities().root) modes.push_back(IsolationMode::process_group);  // refused otherwise
  return modes;
}

const char* kSumPython = "a, b = map(int, input().split())\nprint(a + b)";
const char* kSumCpp = "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }";

r1::Problem sum_problem() {
  r1::Problem problem;
  problem.tests = r1::Json::parse(
      R"([{"input": "1 2\n", "output": "3\n"}, {"input": "-5 5\n", "output": "0"}, {"input": "40 2", "output": "42\n"}])");
  return problem;
}

}  // namespace

TEST_CASE("without root or namespaces, runs are refused unless the caller allows them") {
  r1::code::SandboxCapabilities unprivileged;  // not root, no namespaces: what a plain user account gets
  unprivileged.seccomp = true;
  r1::code::SandboxWorkspace workspace;
  r1::code::SandboxRequest request;
  request.argv = {"/bin/true"};
  request.mode = IsolationMode::process_group;
  const auto refused = r1::code::run_sandboxed(workspace, request, unprivileged);
  CHECK(refused.outcome == r1::code::SandboxOutcome::sandbox_error);
  CHECK(refused.error.find("refusing to run untrusted code") != std::string::npos);
  if (r1::code::sandbox_capabilities().root) return;  // as root the run below would change uid anyway
  request.allow_unisolated = true;
  CHECK(r1::code::run_sandboxed(workspace, request, unprivileged).outcome == r1::code::SandboxOutcome::exited);
}

TEST_CASE("the sandbox reports how it isolates runs") {
  skip_unless_isolated();
  const auto& caps = r1::code::sandbox_capabilities();
  MESSAGE("sandbox: ", caps.description);
  CHECK_FALSE(caps.description.empty());
  CHECK(caps.seccomp);  // every Linux CI runner we target has seccomp filters
  if (caps.namespaces) CHECK(caps.mode == IsolationMode::namespaces);
}

TEST_CASE("correct programs pass and wrong ones fail, in both languages and every mode") {
  skip_unless_isolated();
  for (const IsolationMode mode : modes_here()) {
    CAPTURE(to_string(mode));
    const CodeVerifier python{small_config("python", mode)};
    const r1::Reward good = python(sum_problem(), fenced("python", kSumPython));
    CHECK(good.applicable);
    CHECK(good.score == 1.0);
    CHECK(good.reason == "3/3 tests passed: accepted, accepted, accepted");
    // Right on the first two tests only: 2/3.
    const r1::Reward partial =
        python(sum_problem(), fenced("python", "a, b = map(int, input().split())\nprint(a + b if a < 40 else 0)"));
    CHECK(partial.score == doctest::Approx(2.0 / 3.0));
    CHECK(partial.reason == "2/3 tests passed: accepted, accepted, wrong answer");

    const CodeVerifier cpp{small_config("cpp", mode)};
    CHECK(cpp(sum_problem(), fenced("cpp", kSumCpp)).score == 1.0);
    const auto compile_error = cpp.evaluate(sum_problem(), fenced("cpp", "int main( {"));
    CHECK(compile_error.score == 0.0);
    REQUIRE(compile_error.tests.size() == 3);
    CHECK(compile_error.tests[0].verdict == Verdict::compile_error);
    CHECK(compile_error.compile_output.find("error") != std::string::npos);
  }
}

TEST_CASE("runtime errors keep the exit code or signal") {
  skip_unless_isolated();
  const auto mode = modes_here().front();
  const CodeVerifier python{small_config("python", mode)};
  const auto raised = python.evaluate(stdio_problem("", "1\n"), fenced("python", "print(1)\nraise ValueError('boom')"));
  REQUIRE(raised.tests.size() == 1);
  CHECK(raised.tests[0].verdict == Verdict::runtime_error);
  CHECK(raised.tests[0].exit_code == 1);
  CHECK(raised.tests[0].detail.find("ValueError: boom") != std::string::npos);

  const CodeVerifier cpp{small_config("cpp", mode)};
  const auto crashed = cpp.evaluate(stdio_problem("", "1\n"),
                                    fenced("cpp", "#include <cstdio>\nint main() { volatile int* p = nullptr; "
                                                  "std::puts(\"1\"); return *p; }"));
  REQUIRE(crashed.tests.size() == 1);
  CHECK(crashed.tests[0].verdict == Verdict::runtime_error);
  CHECK(crashed.tests[0].signal == SIGSEGV);
  const auto exited = cpp.evaluate(stdio_problem("", "1\n"), fenced("cpp", "int main() { return 3; }"));
  CHECK(exited.tests[0].verdict == Verdict::runtime_error);
  CHECK(exited.tests[0].exit_code == 3);
}

TEST_CASE("printing a prefix of the answer or an extra line is wrong; floats use the tolerance") {
  skip_unless_isolated();
  const CodeVerifier python{small_config("python", modes_here().front())};
  CHECK(python(stdio_problem("", "1\n2\n3\n"), fenced("python", "print(1)\nprint(2)")).score == 0.0);
  CHECK(python(stdio_problem("", "1\n2\n"), fenced("python", "print(1)\nprint(2)\nprint(3)")).score == 0.0);
  r1::Problem third;
  third.tests = r1::Json::parse(R"([{"input": "", "output": "0.333333333\n", "float_tolerance": 1e-6}])");
  CHECK(python(third, fenced("python", "print(1 / 3)")).score == 1.0);
  CHECK(python(third, fenced("python", "print(0.33)")).score == 0.0);
}

TEST_CASE("function-call tests: top-level functions and LeetCode's class Solution") {
  skip_unless_isolated();
  const CodeVerifier python{small_config("python", modes_here().front())};
  r1::Problem problem;
  problem.tests = r1::Json::parse(R"({"fn_name": "merge", "inputs": [[[1, 3], [2]], [[], [5]]], "outputs": [[1, 2, 3], [[5]]]})");
  const char* function = "def merge(a, b):\n    print('debug output is ignored')\n    return sorted(a + b)";
  const char* method = "class Solution:\n    def merge(self, a, b):\n        return tuple(sorted(a + b))";
  CHECK(python(problem, fenced("python", function)).score == 1.0);
  CHECK(python(problem, fenced("python", method)).score == 1.0);
  const auto wrong = python.evaluate(problem, fenced("python", "def merge(a, b):\n    return a + b"));
  CHECK(wrong.tests[0].verdict == Verdict::wrong_answer);  // [1, 3, 2]
  CHECK(wrong.tests[1].verdict == Verdict::accepted);       // [5]
  const auto missing = python.evaluate(problem, fenced("python", "def other(a, b):\n    return a"));
  CHECK(missing.tests[0].verdict == Verdict::runtime_error);
  CHECK(missing.tests[0].detail.find("no function named merge") != std::string::npos);
  // Call-style tests are Python only.
  const CodeVerifier cpp{small_config("cpp", modes_here().front())};
  CHECK_FALSE(cpp(problem, fenced("cpp", "int main() {}")).applicable);
}

TEST_CASE("pass/fail variant, stop at first failure, max tests, missing code, missing tests") {
  skip_unless_isolated();
  auto config = small_config("python", modes_here().front());
  config.all_or_nothing = true;
  const CodeVerifier pass_fail{config};
  CHECK(pass_fail.name() == "code_pass");
  const char* two_of_three = "a, b = map(int, input().split())\nprint(a + b if a < 40 else 0)";
  CHECK(pass_fail(sum_problem(), fenced("python", two_of_three)).score == 0.0);
  CHECK(pass_fail(sum_problem(), fenced("python", kSumPython)).score == 1.0);

  config.all_or_nothing = false;
  config.stop_at_first_failure = true;
  const auto stopped = CodeVerifier{config}.evaluate(sum_problem(), fenced("python", "print(3)"));
  REQUIRE(stopped.tests.size() == 3);
  CHECK(stopped.tests[0].verdict == Verdict::accepted);
  CHECK(stopped.tests[1].verdict == Verdict::wrong_answer);  // 0 expected
  CHECK(stopped.tests[2].detail == "not run: an earlier test failed");
  CHECK(stopped.score == doctest::Approx(1.0 / 3.0));

  config.stop_at_first_failure = false;
  config.max_tests = 1;
  CHECK(CodeVerifier{config}(sum_problem(), fenced("python", "print(3)")).score == 1.0);

  const CodeVerifier python{small_config("python", modes_here().front())};
  const r1::Reward no_code = python(sum_problem(), "I think the answer is 3.");
  CHECK(no_code.applicable);
  CHECK(no_code.score == 0.0);
  CHECK(no_code.reason.find("no ```python code block") != std::string::npos);
  CHECK_FALSE(python(r1::Problem{}, fenced("python", kSumPython)).applicable);
  // Problem::extra can switch the language of one problem.
  r1::Problem cpp_problem = sum_problem();
  cpp_problem.extra = r1::Json{{"code_language", "cpp"}};
  CHECK(python(cpp_problem, fenced("cpp", kSumCpp)).score == 1.0);
}

TEST_CASE("bad configuration and requests raise r1::Error naming the field") {
  skip_unless_isolated();
  CHECK_THROWS_WITH_AS(CodeVerifier{small_config("java", std::nullopt)}, doctest::Contains("unknown code language 'java'"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::code::CodeVerifierConfig::from_json(r1::Json{{"time_limit_ms", -1}}, "verify request"),
                       doctest::Contains("verify request: field 'time_limit_ms' must be"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::code::CodeVerifierConfig::from_json(r1::Json{{"memory_limit_mb", 1}}, "verify request"),
                       doctest::Contains("verify request: field 'memory_limit_mb' must be"), r1::Error);
  const auto parsed = r1::code::CodeVerifierConfig::from_json(
      r1::Json{{"language", "cpp"}, {"time_limit_ms", 500}, {"memory_limit_mb", 128}}, "cfg");
  CHECK(parsed.language == "cpp");
  CHECK(parsed.run_limits.cpu_time_ms == 500);
  CHECK(parsed.run_limits.wall_time_ms == 1000);
  CHECK(parsed.run_limits.address_space_bytes == 128ll << 20);
  r1::code::SandboxWorkspace workspace;
  r1::code::SandboxRequest relative;
  relative.argv = {"python3"};
  CHECK_THROWS_WITH_AS(r1::code::run_sandboxed(workspace, relative), doctest::Contains("argv[0] must be an absolute path"),
                       r1::Error);
  r1::Problem malformed;
  malformed.tests = r1::Json::parse(R"([{"input": "1"}])");
  CHECK_THROWS_WITH_AS(CodeVerifier{}(malformed, "```python\n```"), doctest::Contains("missing field 'output'"),
                       r1::Error);
}

TEST_CASE("each run gets an empty environment, a fresh empty working directory, any stdin, capped output") {
  skip_unless_isolated();
  ::setenv("R1_SANDBOX_TEST_VARIABLE", "visible", 1);
  for (const IsolationMode mode : modes_here()) {
    CAPTURE(to_string(mode));
    r1::code::SandboxWorkspace workspace;
    // A C++ program needs no interpreter setup: it shows the environment exactly.
    r1::code::PreparedProgram program(workspace, r1::code::CodeLanguage::cpp, mode);
    REQUIRE(program
                .prepare(R"(#include <cstdio>
#include <dirent.h>
#include <unistd.h>
extern char** environ;
int main() {
  int variables = 0;
  for (char** e = environ; *e; ++e) ++variables;
  int entries = 0;
  DIR* dir = opendir(".");
  while (dirent* entry = readdir(dir)) entries += entry->d_name[0] != '.';
  FILE* f = fopen("left_behind", "w");
  std::printf("%d %d %d\n", variables, entries, f != nullptr);
  long total = 0, got = 0;
  char buffer[65536];
  while ((got = read(0, buffer, sizeof buffer)) > 0) total += got;
  std::printf("%ld\n", total);
})",
                         small_config("cpp", mode).compile_limits)
                .ok);
    r1::code::SandboxRequest request;
    request.mode = mode;
    request.argv = program.run_argv();
    request.stdin_data.assign(3u << 20, 'x');  // 3 MiB, far over a pipe's buffer
    for (int round = 0; round < 2; ++round) {  // the second run must not see the first's file
      const auto result = r1::code::run_sandboxed(workspace, request);
      CHECK(result.outcome == r1::code::SandboxOutcome::exited);
      CHECK(result.stdout_text == "0 0 1\n3145728\n");
    }
  }
  ::unsetenv("R1_SANDBOX_TEST_VARIABLE");
}

TEST_CASE("output over the cap ends the run with output_limit, keeping exactly the cap") {
  skip_unless_isolated();
  for (const IsolationMode mode : modes_here()) {
    r1::code::SandboxWorkspace workspace;
    r1::code::SandboxRequest request;
    request.mode = mode;
    request.argv = {"/bin/sh", "-c", "while :; do echo 0123456789; done"};
    request.limits.output_bytes = 1000;
    const auto result = r1::code::run_sandboxed(workspace, request);
    CHECK(result.outcome == r1::code::SandboxOutcome::output_limit);
    CHECK(result.stdout_text.size() == 1000);
    CHECK(result.stdout_text.substr(0, 11) == "0123456789\n");
  }
}

// Also the regression test of a deadlock: glibc's setresuid in the cloned child
// waited for threads that existed only in the parent (here oneTBB's workers).
TEST_CASE("many verifications from several threads at once") {
  skip_unless_isolated();
  const CodeVerifier python{small_config("python", modes_here().front())};
  constexpr int kRuns = 8;
  std::vector<r1::Reward> rewards(kRuns);
  tbb::parallel_for(0, kRuns, [&](int i) {
    const std::string code = i % 2 == 0 ? kSumPython : "print(3)";
    rewards[static_cast<std::size_t>(i)] = python(sum_problem(), fenced("python", code));
  });
  for (int i = 0; i < kRuns; ++i) {
    CAPTURE(i);
    CAPTURE(rewards[static_cast<std::size_t>(i)].reason);
    CHECK(rewards[static_cast<std::size_t>(i)].score == doctest::Approx(i % 2 == 0 ? 1.0 : 1.0 / 3.0));
  }
  CHECK(r1::test::live_sandbox_processes(std::chrono::milliseconds(500)).empty());
}

TEST_CASE("a verify request line as in the issue gives the score and a verdict per test") {
  skip_unless_isolated();
  const r1::Json record = r1::Json::parse(R"({"verifier": "code", "language": "python",
      "completion": "```python\nn = int(input())\nprint(n * 2 if n < 3 else 0)\n```",
      "tests": [{"input": "1\n", "output": "2\n"}, {"input": "5\n", "output": "10\n"}]})");
  const CodeVerifier verifier{r1::code::CodeVerifierConfig::from_json(record, "stdin line 1")};
  const r1::Problem problem = r1::code::code_problem_from_json(record, "stdin line 1");
  const r1::Json out = CodeVerifier::to_json(verifier.evaluate(problem, record["completion"].get<std::string>()));
  CHECK(out["score"] == 0.5);
  CHECK(out["passed"] == 1);
  CHECK(out["verdicts"] == r1::Json::parse(R"(["accepted", "wrong answer"])"));
  CHECK_THROWS_WITH_AS(r1::code::code_problem_from_json(r1::Json::parse(R"({"tests": [{"input": "1"}]})"), "stdin line 2"),
                       doctest::Contains("stdin line 2: field 'tests'[0]: missing field 'output'"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::code::code_problem_from_json(r1::Json::parse(R"({"completion": ""})"), "stdin line 3"),
                       doctest::Contains("stdin line 3: missing field 'tests'"), r1::Error);
}

namespace {

// The decimal digits of base**exponent, most significant first (schoolbook).
std::string decimal_power(int base, int exponent) {
  std::vector<int> digits{1};  // least significant first
  for (int i = 0; i < exponent; ++i) {
    int carry = 0;
    for (int& digit : digits) {
      const int value = digit * base + carry;
      digit = value % 10;
      carry = value / 10;
    }
    for (; carry > 0; carry /= 10) digits.push_back(carry % 10);
  }
  std::string text;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) text += static_cast<char>('0' + *it);
  return text;
}

}  // namespace

// CPython >= 3.11 refuses int <-> str conversions of more than 4300 digits unless
// the limit is lifted; the sandbox lifts it (program.hpp).
TEST_CASE("a Python program reading and printing 5,000-digit integers gets credit") {
  skip_unless_isolated();
  const CodeVerifier python{small_config("python", modes_here().front())};
  const std::string seven_power = decimal_power(7, 5916);
  REQUIRE(seven_power.size() == 5000);
  const auto printed = python.evaluate(stdio_problem("", seven_power + "\n"), fenced("python", "print(7**5916)"));
  CAPTURE(printed.tests[0].detail);
  CHECK(printed.tests[0].verdict == Verdict::accepted);

  const std::string ten_power = "1" + std::string(4999, '0');  // 10**4999 on stdin
  const std::string expected = "7" + std::string(4998, '0') + "1";
  const auto read = python.evaluate(stdio_problem(ten_power + "\n", expected + "\n"),
                                    fenced("python", "n = int(input())\nprint(n * 7 + 1)"));
  CAPTURE(read.tests[0].detail);
  CHECK(read.tests[0].verdict == Verdict::accepted);

  r1::Problem call;  // digits(4999) returns str(10**4999 + 3)
  call.tests = r1::Json{{"fn_name", "digits"},
                        {"inputs", r1::Json::array({r1::Json::array({4999})})},
                        {"outputs", r1::Json::array({"1" + std::string(4998, '0') + "3"})}};
  const auto called = python.evaluate(call, fenced("python", "def digits(k):\n    return str(10**k + 3)"));
  CAPTURE(called.tests[0].detail);
  CHECK(called.tests[0].verdict == Verdict::accepted);
}

// With the default limits: RLIMIT_NPROC counts threads, and each thread's stack
// and malloc arena count against RLIMIT_AS (program.hpp).
TEST_CASE("64 threads: busy ones are a time limit, working ones are accepted") {
  skip_unless_isolated();
  auto config = small_config("python", modes_here().front());
  config.run_limits.address_space_bytes = r1::code::SandboxLimits{}.address_space_bytes;
  config.run_limits.processes = r1::code::SandboxLimits{}.processes;
  const CodeVerifier python{config};
  config.language = "cpp";
  const CodeVerifier cpp{config};
  const r1::Problem sum = stdio_problem("", "2016\n");  // 0 + 1 + ... + 63

  const char* python_busy =
      "import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(64):\n"
      "    threading.Thread(target=spin, daemon=True).start()\nspin()";
  // Every thread allocates, and all are alive at once (each waits for the last).
  const char* python_sum =
      "import threading\nparts = [0] * 64\nall_started = threading.Barrier(64)\ndef work(i):\n"
      "    mine = [i] * 1000\n    all_started.wait()\n    parts[i] = mine[999]\n"
      "threads = [threading.Thread(target=work, args=(i,)) for i in range(64)]\nfor t in threads:\n    t.start()\n"
      "for t in threads:\n    t.join()\nprint(sum(parts))";
  const char* cpp_busy =
      "#include <thread>\n#include <vector>\nint main() {\n  std::vector<std::thread> threads;\n"
      "  for (int i = 0; i < 64; ++i) threads.emplace_back([] { volatile unsigned long x = 0; for (;;) ++x; });\n"
      "  for (auto& t : threads) t.join();\n}";
  const char* cpp_sum =
      "#include <atomic>\n#include <cstdio>\n#include <thread>\n#include <vector>\nint main() {\n"
      "  std::atomic<int> started{0};\n  std::vector<long> parts(64);\n  std::vector<std::thread> threads;\n"
      "  for (int i = 0; i < 64; ++i) threads.emplace_back([&, i] {\n"
      "    std::vector<long> mine(1000, i);\n    ++started;\n    while (started < 64) std::this_thread::yield();\n"
      "    parts[i] = mine[999];\n  });\n  for (auto& t : threads) t.join();\n  long total = 0;\n"
      "  for (long p : parts) total += p;\n  std::printf(\"%ld\\n\", total);\n}";
  for (const auto& [verifier, code, verdict] :
       {std::tuple{&python, python_busy, Verdict::time_limit}, std::tuple{&python, python_sum, Verdict::accepted},
        std::tuple{&cpp, cpp_busy, Verdict::time_limit}, std::tuple{&cpp, cpp_sum, Verdict::accepted}}) {
    const std::string language = verifier == &python ? "python" : "cpp";
    const auto report = verifier->evaluate(sum, fenced(language, code));
    CAPTURE(language);
    CAPTURE(code);
    CAPTURE(report.tests[0].detail);
    CHECK(to_string(report.tests[0].verdict) == to_string(verdict));
  }
}

// RLIMIT_AS makes malloc return null: a program that then crashes or gives up ran
// out of memory; a crash with no failed allocation is a runtime error.
TEST_CASE("a failed allocation is a memory limit, whatever the program does next") {
  skip_unless_isolated();
  const CodeVerifier cpp{small_config("cpp", modes_here().front())};
  const CodeVerifier python{small_config("python", modes_here().front())};
  const r1::Problem problem = stdio_problem("500000000\n", "499999999\n");  // 2 GB of int over a 256 MiB cap
  const char* unchecked =
      "#include <cstdio>\n#include <cstdlib>\nint main() {\n  std::size_t n = 0;\n  std::scanf(\"%zu\", &n);\n"
      "  int* a = static_cast<int*>(std::malloc(n * sizeof(int)));\n"
      "  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<int>(i);\n  std::printf(\"%d\\n\", a[n - 1]);\n}";
  const auto crashed = cpp.evaluate(problem, fenced("cpp", unchecked));
  CAPTURE(crashed.tests[0].detail);
  CHECK(crashed.tests[0].verdict == Verdict::memory_limit);
  CHECK(crashed.tests[0].signal == SIGSEGV);
  const char* checked =
      "#include <cstdio>\n#include <cstdlib>\nint main() {\n  std::size_t n = 0;\n  std::scanf(\"%zu\", &n);\n"
      "  int* a = static_cast<int*>(std::calloc(n, sizeof(int)));\n  if (a == nullptr) return 1;\n"
      "  std::printf(\"%d\\n\", a[n - 1] + static_cast<int>(n) - 1);\n}";
  const auto gave_up = cpp.evaluate(problem, fenced("cpp", checked));
  CAPTURE(gave_up.tests[0].detail);
  CHECK(gave_up.tests[0].verdict == Verdict::memory_limit);
  CHECK(gave_up.tests[0].exit_code == 1);
  const auto python_out = python.evaluate(problem, fenced("python", "n = int(input())\na = list(range(n))\nprint(a[-1])"));
  CAPTURE(python_out.tests[0].detail);
  CHECK(python_out.tests[0].verdict == Verdict::memory_limit);
  // A small allocation that succeeds, then a crash: not the cap's doing.
  const auto plain_crash = cpp.evaluate(
      problem, fenced("cpp", "#include <cstdlib>\nint main() { int* a = static_cast<int*>(std::malloc(64)); a[0] = 1;\n"
                             "  volatile int* p = nullptr; return *p + a[0]; }"));
  CHECK(plain_crash.tests[0].verdict == Verdict::runtime_error);
  CHECK(plain_crash.tests[0].signal == SIGSEGV);
}
