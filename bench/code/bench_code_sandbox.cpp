// Sandboxed runs per second (runs/s = items_per_second) of a trivial Python and
// a trivial C++ program, against the peer: a bare fork+exec of the same program
// with the same stdin/stdout plumbing and no isolation. Compile excluded
// (sandbox_*: the C++ binary is built once) and included (verifier_*: a whole
// CodeVerifier call on one test, extraction and workspace included).
//
//   build-code/bench/code/bench_code_sandbox --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "r1/reward/code/code_verifier.hpp"

namespace {

using r1::code::IsolationMode;

const char* kPythonSum = "a, b = map(int, input().split())\nprint(a + b)\n";
const char* kCppSum = "#include <cstdio>\nint main() { long a, b; if (std::scanf(\"%ld %ld\", &a, &b) != 2) return 1;"
                      " std::printf(\"%ld\\n\", a + b); }\n";

// One workspace per language, prepared once; runs only read it.
struct Prepared {
  r1::code::SandboxWorkspace workspace;
  std::vector<std::string> argv_namespaces, argv_process_group;
};

Prepared& prepared(r1::code::CodeLanguage language) {
  static Prepared python_ready, cpp_ready;
  static const bool ready = [] {
    for (auto [language, target] : {std::pair{r1::code::CodeLanguage::python, &python_ready},
                                    std::pair{r1::code::CodeLanguage::cpp, &cpp_ready}}) {
      const auto mode = r1::code::sandbox_capabilities().mode;
      r1::code::PreparedProgram program(target->workspace, language, mode);
      const auto compiled = program.prepare(language == r1::code::CodeLanguage::python ? kPythonSum : kCppSum,
                                            r1::code::default_compile_limits());
      if (!compiled.ok) throw r1::Error("benchmark program does not build: " + compiled.message);
      target->argv_namespaces = r1::code::PreparedProgram(target->workspace, language, IsolationMode::namespaces).run_argv();
      target->argv_process_group =
          r1::code::PreparedProgram(target->workspace, language, IsolationMode::process_group).run_argv();
    }
    return true;
  }();
  (void)ready;
  return language == r1::code::CodeLanguage::python ? python_ready : cpp_ready;
}

// The peer: fork, exec with stdin from a pipe and stdout into a pipe, read, wait.
void bare_fork_exec(const std::vector<std::string>& argv, const std::string& input, std::string& output) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) throw r1::Error("pipe failed");
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  char* empty_env[] = {nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    ::execve(args[0], args.data(), empty_env);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (::write(in[1], input.data(), input.size()) != static_cast<ssize_t>(input.size())) throw r1::Error("write failed");
  ::close(in[1]);
  output.clear();
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

void check_sum(benchmark::State& state, const std::string& output) {
  if (output != "3\n") state.SkipWithError(("wrong output: '" + output + "'").c_str());
}

void BM_bare_fork_exec(benchmark::State& state, r1::code::CodeLanguage language) {
  const Prepared& program = prepared(language);
  std::string output;
  for (auto _ : state) {
    bare_fork_exec(program.argv_process_group, "1 2\n", output);
    check_sum(state, output);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_sandbox(benchmark::State& state, r1::code::CodeLanguage language, IsolationMode mode) {
  if (mode == IsolationMode::namespaces && !r1::code::sandbox_capabilities().namespaces) {
    state.SkipWithError("namespaces are not available here");
    return;
  }
  const Prepared& program = prepared(language);
  r1::code::SandboxRequest request;
  request.mode = mode;
  request.argv = mode == IsolationMode::namespaces ? program.argv_namespaces : program.argv_process_group;
  request.stdin_data = "1 2\n";
  for (auto _ : state) {
    const auto result = r1::code::run_sandboxed(program.workspace, request);
    check_sum(state, result.stdout_text);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_verifier(benchmark::State& state, const char* language) {
  r1::code::CodeVerifierConfig config;
  config.language = language;
  const r1::code::CodeVerifier verifier{config};
  r1::Problem problem;
  problem.tests = r1::Json::array({r1::Json{{"input", "1 2\n"}, {"output", "3\n"}}});
  const std::string completion =
      std::string("```") + language + "\n" + (std::string(language) == "python" ? kPythonSum : kCppSum) + "```\n";
  for (auto _ : state) {
    if (verifier(problem, completion).score != 1.0) state.SkipWithError("the trivial program did not pass");
  }
  state.SetItemsProcessed(state.iterations());
}

using r1::code::CodeLanguage;
BENCHMARK_CAPTURE(BM_bare_fork_exec, python, CodeLanguage::python)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_sandbox, python_namespaces, CodeLanguage::python, IsolationMode::namespaces)
    ->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_sandbox, python_process_group, CodeLanguage::python, IsolationMode::process_group)
    ->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_bare_fork_exec, cpp, CodeLanguage::cpp)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_sandbox, cpp_namespaces, CodeLanguage::cpp, IsolationMode::namespaces)
    ->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_sandbox, cpp_process_group, CodeLanguage::cpp, IsolationMode::process_group)
    ->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_verifier, python, "python")->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK_CAPTURE(BM_verifier, cpp_compile_included, "cpp")->UseRealTime()->Threads(1)->Threads(2)->MinTime(5);

}  // namespace

BENCHMARK_MAIN();
