#pragma once
// A model-written program made ready to run in a sandbox: its source written into
// a SandboxWorkspace, C++ compiled there once (in the sandbox too: the compiler
// reads untrusted input, and `#include "/etc/shadow"` must find nothing), and the
// command line of each test run.
//
//   Python:  /usr/bin/env GLIBC_TUNABLES=glibc.malloc.arena_max=1 /usr/bin/python3 -I -B
//              -X int_max_str_digits=0 /prog/run_driver.py /prog/solution.py     (stdin/stdout tests)
//              ... /prog/call_driver.py /prog/solution.py NAME                    (call tests)
//   C++:     g++ -O2 -std=c++20 -pipe -pthread -Wl,--wrap=malloc,... -o /prog/solution
//              /prog/solution.cpp /prog/r1_runtime.cpp, then /prog/solution
//
// What the drivers and r1_runtime.cpp add, so that a correct program is not failed
// by the sandbox's limits:
//   - Python's int/str conversion limit is off (CPython >= 3.11 refuses more than
//     4300 digits by default, CVE-2020-10735; the CPU limit bounds the quadratic
//     cost instead). PYTHONINTMAXSTRDIGITS would not do: -I implies -E, which
//     ignores PYTHON* variables; Pythons before 3.11 keep an unknown -X in
//     sys._xoptions (docs.python.org/3/using/cmdline.html#cmdoption-X).
//   - threads get kThreadStackBytes of stack, not RLIMIT_STACK: glibc sizes a
//     thread's stack by RLIMIT_STACK (pthread_create(3)), 64 MiB here, and all of
//     it counts against RLIMIT_AS, so 64 threads would need 4 GiB;
//   - one malloc arena: each further arena reserves 64 MiB of address space
//     (glibc's HEAP_MAX_SIZE on 64-bit), up to 8 per core (mallopt(3) M_ARENA_MAX);
//   - C++ only: a malloc, calloc or realloc that returns null writes
//     kAllocationFailedMarker to stderr once, so that a program that then crashes
//     or gives up is graded memory limit (verdict.hpp).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/reward/code/extract.hpp"
#include "r1/reward/code/sandbox.hpp"
#include "r1/reward/code/verdict.hpp"

namespace r1::code {

// An executable: `preferred` when it exists, else the first `name` on PATH, else "".
inline std::string find_executable(const std::string& preferred, const std::string& name) {
  if (::access(preferred.c_str(), X_OK) == 0) return preferred;
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// /usr/bin/python3 (visible in every mode), else python3 on PATH (which the
// namespaces mode sees only when it lives under /usr, /bin or /lib*).
inline const std::string& python_interpreter() {
  static const std::string path = find_executable("/usr/bin/python3", "python3");
  return path;
}
inline const std::string& cpp_compiler() {
  static const std::string path = find_executable("/usr/bin/g++", "g++");
  return path;
}

// The stack of every thread but the main one: glibc's own default under the usual
// 8 MiB RLIMIT_STACK, what programs are written against. 64 of them fit in the
// default 1 GiB address space.
inline constexpr std::int64_t kThreadStackBytes = 8ll << 20;

// Runs a stdin/stdout test: the solution as the __main__ module, as if run directly
// (one more traceback frame), after setting the thread stack size.
inline std::string python_run_driver() {
  return "import _thread\nimport sys\n_thread.stack_size(" + std::to_string(kThreadStackBytes) +
         ")\n"
         "sys.argv = sys.argv[1:]\n__file__ = sys.argv[0]\n"
         "with open(__file__, 'rb') as source:\n    code = compile(source.read(), __file__, 'exec')\n"
         "del _thread, sys, source\nexec(code)\n";
}

// The body of the call-style driver (python_call_driver): reads the argument list
// as JSON from stdin, runs the solution with its prints discarded, calls the
// function (top-level, or a method of class Solution as on LeetCode) and prints
// the result as JSON.
inline constexpr std::string_view kPythonCallDriverBody = R"PY(import contextlib, io, json, sys
def _r1_main():
    arguments = json.loads(sys.stdin.read())
    sys.stdin = io.StringIO("")
    with open(sys.argv[1]) as source_file:
        source = source_file.read()
    namespace = {"__name__": "solution"}  # a main guard must not run and wait for input
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "solution.py", "exec"), namespace)
        function = namespace.get(sys.argv[2])
        if function is None and isinstance(namespace.get("Solution"), type):
            function = getattr(namespace["Solution"](), sys.argv[2], None)
        if not callable(function):
            print("r1: the solution defines no function named " + sys.argv[2], file=sys.stderr)
            sys.exit(3)
        result = function(*arguments)
    def plain(value):
        if isinstance(value, (set, frozenset, tuple)):
            return list(value)
        raise TypeError("result of type " + type(value).__name__ + " is not JSON")
    sys.stdout.write(json.dumps(result, default=plain))
_r1_main()
)PY";

// Runs a call-style test after setting the thread stack size.
inline std::string python_call_driver() {
  return "import _thread\n_thread.stack_size(" + std::to_string(kThreadStackBytes) + ")\n" +
         std::string(kPythonCallDriverBody);
}

// Compiled and linked with every C++ solution (see the top of this file). Its
// constructor runs before the solution's static initialisers (priority 101).
inline std::string cpp_runtime_source() {
  return R"CPP(#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <atomic>
#include <cstddef>
namespace {
std::atomic_flag r1_reported = ATOMIC_FLAG_INIT;
void* r1_note(void* result, bool asked) {
  if (result == nullptr && asked && !r1_reported.test_and_set()) {
    static const char message[] = ")CPP" + std::string(kAllocationFailedMarker) + R"CPP(\n";
    (void)!::write(2, message, sizeof message - 1);
  }
  return result;
}
__attribute__((constructor(101))) void r1_runtime_setup() {
  ::mallopt(M_ARENA_MAX, 1);
  pthread_attr_t attr;
  if (::pthread_attr_init(&attr) != 0) return;
  ::pthread_attr_setstacksize(&attr, )CPP" + std::to_string(kThreadStackBytes) + R"CPP();
  ::pthread_setattr_default_np(&attr);
  ::pthread_attr_destroy(&attr);
}
}  // namespace
extern "C" {
void* __real_malloc(std::size_t);
void* __real_calloc(std::size_t, std::size_t);
void* __real_realloc(void*, std::size_t);
void* __wrap_malloc(std::size_t size) { return r1_note(__real_malloc(size), size != 0); }
void* __wrap_calloc(std::size_t count, std::size_t size) { return r1_note(__real_calloc(count, size), count != 0 && size != 0); }
void* __wrap_realloc(void* old, std::size_t size) { return r1_note(__real_realloc(old, size), size != 0); }
}
)CPP";
}

// Default limits of the compile step: compilers need more room than solutions.
inline SandboxLimits default_compile_limits() {
  SandboxLimits limits;
  limits.wall_time_ms = 30000;
  limits.cpu_time_ms = 30000;
  limits.address_space_bytes = 4ll << 30;
  limits.file_size_bytes = 64ll << 20;
  limits.tmpfs_bytes = 256ll << 20;
  limits.open_files = 256;
  limits.processes = 32;
  limits.output_bytes = 64u << 10;
  return limits;
}

struct CompileResult {
  bool ok = true;
  bool sandbox_failed = false;  // the failure was the sandbox's, not the program's
  std::string message;          // compiler diagnostics or the sandbox's error
};

class PreparedProgram {
 public:
  PreparedProgram(const SandboxWorkspace& workspace, CodeLanguage language, IsolationMode mode,
                  bool allow_unisolated = false)
      : workspace_(workspace), language_(language), mode_(mode), allow_unisolated_(allow_unisolated) {}

  // Writes the source (and the call driver); compiles C++. Python is not compiled:
  // a syntax error shows as a runtime error of every test.
  CompileResult prepare(std::string_view source, const SandboxLimits& compile_limits) {
    CompileResult result;
    if (language_ == CodeLanguage::python) {
      if (python_interpreter().empty()) return {false, true, "no python3 interpreter found (/usr/bin/python3 or PATH)"};
      workspace_.write_program_file("solution.py", source);
      workspace_.write_program_file("run_driver.py", python_run_driver());
      workspace_.write_program_file("call_driver.py", python_call_driver());
      return result;
    }
    if (cpp_compiler().empty()) return {false, true, "no C++ compiler found (/usr/bin/g++ or PATH)"};
    workspace_.write_program_file("solution.cpp", source);
    workspace_.write_program_file("r1_runtime.cpp", cpp_runtime_source());
    const std::string dir = workspace_.visible_program_dir(mode_);
    SandboxRequest request;
    request.mode = mode_;
    request.argv = {cpp_compiler(), "-O2", "-std=c++20", "-pipe", "-pthread", "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc",
                    "-o", dir + "/solution", dir + "/solution.cpp", dir + "/r1_runtime.cpp"};
    request.env = {"PATH=/usr/bin:/bin", "TMPDIR=.", "LANG=C"};
    request.program_dir_writable = true;
    request.allow_unisolated = allow_unisolated_;
    request.limits = compile_limits;
    const SandboxResult compile = run_sandboxed(workspace_, request);
    if (compile.outcome == SandboxOutcome::sandbox_error) return {false, true, compile.error};
    if (compile.outcome != SandboxOutcome::exited || compile.exit_code != 0) {
      result.ok = false;
      result.message = compile.outcome == SandboxOutcome::wall_timeout ? "compile time limit exceeded"
                       : compile.outcome == SandboxOutcome::output_limit ? "compiler output over the limit"
                                                                         : compile.stderr_text;
      if (result.message.empty()) result.message = "compiler failed (" + std::string(to_string(compile.outcome)) + ")";
    }
    // The binary becomes the caller's again: runs of other uids read it, none writes it.
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(workspace_.program_dir(), ignored)) {
      ::lchown(entry.path().c_str(), ::geteuid(), ::getegid());
    }
    return result;
  }

  // The command line of one run; `function_name` non-empty for a call-style test.
  std::vector<std::string> run_argv(const std::string& function_name = {}) const {
    const std::string dir = workspace_.visible_program_dir(mode_);
    if (language_ == CodeLanguage::cpp) return {dir + "/solution"};
    std::vector<std::string> argv = {"/usr/bin/env", "GLIBC_TUNABLES=glibc.malloc.arena_max=1", python_interpreter(),
                                     "-I", "-B", "-X", "int_max_str_digits=0"};
    if (function_name.empty()) {
      argv.insert(argv.end(), {dir + "/run_driver.py", dir + "/solution.py"});
    } else {
      argv.insert(argv.end(), {dir + "/call_driver.py", dir + "/solution.py", function_name});
    }
    return argv;
  }

 private:
  const SandboxWorkspace& workspace_;
  CodeLanguage language_;
  IsolationMode mode_;
  bool allow_unisolated_;
};

}  // namespace r1::code
