// The hostile battery: programs, in Python and C++, that do what a policy under
// RL will sooner or later write: loop, sleep, fork without end, allocate without
// end, flood stdout/stderr/disk, write and delete outside their directory, read a
// secret file and environment variable planted here, connect to a listener opened
// here, kill their parent, leave children behind, close stdout, change process
// group, exhaust descriptors. For each: the verdict is the right one, the secrets
// appear nowhere in what comes back, the planted files are intact, the listener
// saw no connection, no process of the run is left, and the next run works.
//
// Built twice: test_code_hostile runs in the best mode of the machine,
// test_code_hostile_fallback forces the process_group mode (R1_HOSTILE_FALLBACK).
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "code_test_support.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "skip.hpp"

using r1::code::CodeVerifier;
using r1::code::IsolationMode;
using r1::code::Verdict;

namespace {

IsolationMode mode_under_test() {
#ifdef R1_HOSTILE_FALLBACK
  return IsolationMode::process_group;
#else
  return r1::code::sandbox_capabilities().mode;
#endif
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string random_token(const char* prefix) {
  std::random_device device;
  return std::string(prefix) + std::to_string(device()) + std::to_string(device());
}

// What the test plants and watches: a root-only secret file, a world-readable
// file in a world-readable directory, an environment variable, a TCP listener.
struct Canaries {
  std::string secret_dir, secret_file, secret_text = random_token("R1-CANARY-");
  std::string public_dir, public_file, public_text = random_token("R1-PUBLIC-");
  std::string env_text = random_token("R1-ENV-");
  int listener = -1;
  int port = 0;

  Canaries() {
    std::string pattern = (std::filesystem::temp_directory_path() / "r1-canary-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    secret_dir = pattern;
    ::chmod(secret_dir.c_str(), 0700);
    secret_file = secret_dir + "/secret.txt";
    std::ofstream(secret_file) << secret_text;
    ::chmod(secret_file.c_str(), 0600);
    pattern = (std::filesystem::temp_directory_path() / "r1-public-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    public_dir = pattern;
    ::chmod(public_dir.c_str(), 0755);
    public_file = public_dir + "/keep.txt";
    std::ofstream(public_file) << public_text;
    ::chmod(public_file.c_str(), 0644);
    ::setenv("R1_CANARY_ENV", env_text.c_str(), 1);

    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~Canaries() {
    ::close(listener);
    std::error_code ignored;
    std::filesystem::remove_all(secret_dir, ignored);
    std::filesystem::remove_all(public_dir, ignored);
  }

  std::string fill(std::string source) const {
    const std::pair<std::string, std::string> holes[] = {
        {"{SECRET_FILE}", secret_file}, {"{SECRET_DIR}", secret_dir}, {"{PUBLIC_FILE}", public_file},
        {"{PUBLIC_DIR}", public_dir},   {"{PORT}", std::to_string(port)}};
    for (const auto& [hole, value] : holes) {
      for (std::size_t at = source.find(hole); at != std::string::npos; at = source.find(hole)) {
        source.replace(at, hole.size(), value);
      }
    }
    return source;
  }

  bool listener_saw_a_connection() const {
    const int accepted = ::accept(listener, nullptr, nullptr);
    if (accepted >= 0) ::close(accepted);
    return accepted >= 0;
  }
};

// Host paths the programs try to create; none may exist afterwards.
const char* const kForbiddenHostFiles[] = {"/etc/r1_pwned", "/usr/r1_pwned", "/r1_pwned", "/etc/r1_pwned_sh"};

struct Hostile {
  const char* name;
  const char* language;
  const char* source;
  std::set<Verdict> verdicts;  // acceptable verdicts of the one test (input "", expected "ok\n")
  int signal = 0;               // expected signal of a runtime error, when it matters
};

const Hostile kBattery[] = {
    // ---- Python ----
    {"py infinite loop", "python", "while True:\n    pass", {Verdict::time_limit}},
    {"py sleep past the limit", "python", "import time\ntime.sleep(100)", {Verdict::time_limit}},
    {"py fork bomb", "python", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
     {Verdict::time_limit}},
    {"py one huge allocation", "python", "x = bytearray(10**10)\nprint('ok')", {Verdict::memory_limit}},
    {"py growing allocation", "python", "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))",
     {Verdict::memory_limit}},
    {"py huge stdout", "python", "while True:\n    print('x' * 1000)", {Verdict::output_limit}},
    {"py huge stderr", "python", "import sys\nwhile True:\n    sys.stderr.write('x' * 1000)", {Verdict::output_limit}},
    {"py huge file", "python", "with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))",
     {Verdict::output_limit}},
    {"py write outside its directory", "python",
     "import os\nfor target in ['/etc/r1_pwned', '/usr/r1_pwned', '/r1_pwned', '../r1_pwned', '{SECRET_DIR}/pwned',\n"
     "               '{PUBLIC_DIR}/pwned', os.path.dirname(os.path.abspath(__file__)) + '/pwned']:\n"
     "    try:\n        open(target, 'w').write('pwned')\n    except OSError:\n        pass\nprint('ok')",
     {Verdict::accepted}},
    {"py delete files", "python",
     "import os, shutil\nfor path in ['{SECRET_FILE}', '{PUBLIC_FILE}', __file__]:\n    try:\n        os.remove(path)\n"
     "    except OSError:\n        pass\nshutil.rmtree('{PUBLIC_DIR}', ignore_errors=True)\n"
     "shutil.rmtree(os.path.dirname(os.path.abspath(__file__)), ignore_errors=True)\nprint('ok')",
     {Verdict::accepted}},
    {"py read secret file and environment", "python",
     "import os\nfound = []\nfor path in ['{SECRET_FILE}', '/proc/1/environ', '/proc/%d/environ' % os.getppid()]:\n"
     "    try:\n        found.append(open(path, 'rb').read().decode('latin1'))\n    except OSError:\n        pass\n"
     "found.append(os.environ.get('R1_CANARY_ENV', ''))\nfound = [f for f in found if f]\n"
     "print('ok' if not found else 'LEAK ' + ' '.join(found))",
     {Verdict::accepted}},
    {"py shell reads the secret", "python",
     "import subprocess\nr = subprocess.run(['/bin/sh', '-c', 'cat {SECRET_FILE}; echo pwned > /etc/r1_pwned_sh'],\n"
     "                   capture_output=True, text=True)\nprint('ok' if not r.stdout else 'LEAK ' + r.stdout)",
     {Verdict::accepted}},
    {"py connect to the listener", "python",
     "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {PORT}), timeout=1).sendall(b'pwned')\n"
     "    print('connected')\nexcept OSError:\n    print('ok')",
     {Verdict::accepted}},
    {"py kill its parent", "python",
     "import os, signal\nfor target in [os.getppid(), 1, -1]:\n    try:\n        os.kill(target, signal.SIGKILL)\n"
     "    except OSError:\n        pass\nprint('ok')",
     {Verdict::accepted}},
    {"py background child outlives it", "python",
     "import os, time\nif os.fork() == 0:\n    time.sleep(100)\nelse:\n    print('ok')", {Verdict::accepted}},
    {"py daemon in a new session", "python",
     "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(100)\n"
     "    os._exit(0)\nos.wait()\nprint('ok')",
     {Verdict::accepted}},
    {"py changes its process group", "python",
     "import os, time\nos.setpgid(0, 0)\nif os.fork() == 0:\n    os.setpgid(0, 0)\n    time.sleep(100)\nprint('ok')",
     {Verdict::accepted}},
    {"py closes stdout", "python", "import os\nos.close(1)", {Verdict::wrong_answer}},
    {"py exhausts file descriptors", "python",
     "import os\ncount = 0\ntry:\n    while True:\n        os.open('/dev/null', os.O_RDONLY)\n        count += 1\n"
     "except OSError:\n    pass\nprint('ok' if count <= 64 else 'opened %d' % count)",
     {Verdict::accepted}},
    // 64 threads, under the default limits, are in test_code_sandbox.cpp.
    {"py spinning threads", "python",
     "import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(2):\n"
     "    threading.Thread(target=spin, daemon=True).start()\nspin()",
     {Verdict::time_limit}},
    {"py kills itself with SIGSEGV", "python", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
     {Verdict::runtime_error}, SIGSEGV},
    // ---- C++ ----
    {"cpp infinite loop", "cpp", "int main() { volatile unsigned long x = 0; for (;;) ++x; }", {Verdict::time_limit}},
    {"cpp sleep past the limit", "cpp", "#include <unistd.h>\nint main() { sleep(100); }", {Verdict::time_limit}},
    {"cpp fork bomb", "cpp", "#include <unistd.h>\nint main() { for (;;) fork(); }", {Verdict::time_limit}},
    {"cpp one huge allocation", "cpp",
     "#include <cstdio>\nint main() { char* p = new char[std::size_t(8) << 30]; p[0] = 'o'; std::puts(p); }",
     {Verdict::memory_limit}},
    {"cpp touches memory until malloc fails", "cpp",
     "#include <cstdlib>\n#include <cstring>\nvolatile char sink;\nint main() {\n  for (;;) {\n"
     "    char* p = static_cast<char*>(std::malloc(1 << 20));\n    std::memset(p, 1, 1 << 20);\n    sink = p[4096];\n  }\n}",
     {Verdict::memory_limit}},
    {"cpp huge stdout", "cpp", "#include <cstdio>\nint main() { for (;;) std::puts(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"); }",
     {Verdict::output_limit}},
    {"cpp huge file", "cpp",
     "#include <cstdio>\nint main() { std::FILE* f = std::fopen(\"big.bin\", \"wb\"); static char block[1 << 16];\n"
     "  for (;;) std::fwrite(block, 1, sizeof block, f); }",
     {Verdict::output_limit}},
    {"cpp read secret file and environment", "cpp",
     "#include <cstdlib>\n#include <fstream>\n#include <iostream>\n#include <sstream>\nint main() {\n"
     "  std::ifstream in(\"{SECRET_FILE}\");\n  std::stringstream text;\n  text << in.rdbuf();\n"
     "  const char* env = std::getenv(\"R1_CANARY_ENV\");\n"
     "  std::cout << (text.str().empty() && env == nullptr ? std::string(\"ok\") : \"LEAK \" + text.str() + (env ? env : \"\"))"
     " << \"\\n\";\n}",
     {Verdict::accepted}},
    {"cpp connect to the listener", "cpp",
     "#include <arpa/inet.h>\n#include <cstdio>\n#include <sys/socket.h>\nint main() {\n"
     "  int fd = socket(AF_INET, SOCK_STREAM, 0);\n  sockaddr_in a{};\n  a.sin_family = AF_INET;\n"
     "  a.sin_port = htons({PORT});\n  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);\n"
     "  bool connected = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;\n"
     "  std::puts(connected ? \"connected\" : \"ok\");\n}",
     {Verdict::accepted}},
    // setuid(0) succeeds in the user-namespace mode (the program is uid 0 there): what
    // must not follow is a capability.
    {"cpp kill its parent, ptrace it, become root", "cpp",
     "#include <csignal>\n#include <cstdio>\n#include <linux/capability.h>\n#include <sys/ptrace.h>\n"
     "#include <sys/syscall.h>\n#include <unistd.h>\nint main() {\n"
     "  bool escaped = ptrace(PTRACE_ATTACH, getppid(), nullptr, nullptr) == 0;\n"
     "  kill(getppid(), SIGKILL);\n  kill(1, SIGKILL);\n  kill(-1, SIGKILL);\n  (void)setuid(0);\n"
     "  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};\n  __user_cap_data_struct caps[2] = {};\n"
     "  syscall(SYS_capget, &header, caps);\n"
     "  escaped = escaped || (caps[0].effective | caps[1].effective | caps[0].permitted | caps[1].permitted) != 0;\n"
     "  std::puts(escaped ? \"escaped\" : \"ok\");\n}",
     {Verdict::accepted}},
    {"cpp background child outlives it", "cpp",
     "#include <cstdio>\n#include <unistd.h>\nint main() { if (fork() == 0) { sleep(100); return 0; } std::puts(\"ok\"); }",
     {Verdict::accepted}},
    {"cpp daemon in a new session", "cpp",
     "#include <cstdio>\n#include <sys/wait.h>\n#include <unistd.h>\nint main() {\n"
     "  if (fork() == 0) { setsid(); if (fork() == 0) { close(1); close(2); sleep(100); } _exit(0); }\n"
     "  wait(nullptr);\n  std::puts(\"ok\");\n}",
     {Verdict::accepted}},
    {"cpp changes its process group", "cpp",
     "#include <cstdio>\n#include <unistd.h>\nint main() { setpgid(0, 0); if (fork() == 0) { setpgid(0, 0); sleep(100); }\n"
     "  std::puts(\"ok\"); }",
     {Verdict::accepted}},
    {"cpp closes stdout", "cpp", "#include <unistd.h>\nint main() { close(1); }", {Verdict::wrong_answer}},
    {"cpp exhausts file descriptors", "cpp",
     "#include <cstdio>\n#include <fcntl.h>\nint main() { int count = 0; while (open(\"/dev/null\", O_RDONLY) >= 0) ++count;\n"
     "  std::puts(count <= 64 ? \"ok\" : \"too many\"); }",
     {Verdict::accepted}},
    {"cpp stack overflow", "cpp",
     "int dive(int x) { volatile char frame[4096]; frame[0] = static_cast<char>(x); return dive(x + 1) + frame[0]; }\n"
     "int main() { return dive(0); }",
     {Verdict::runtime_error}, SIGSEGV},
    {"cpp includes the secret at compile time", "cpp", "#include \"{SECRET_FILE}\"\nint main() {}",
     {Verdict::compile_error}},
};

}  // namespace

TEST_CASE("hostile programs get the right verdict and leave nothing behind") {
  const auto& caps = r1::code::sandbox_capabilities();
  if (!caps.isolated || (mode_under_test() == IsolationMode::process_group && !caps.root)) {
    // Never run this battery unisolated: its programs call kill(-1, SIGKILL), which
    // as the caller's uid kills every process of the caller (see sandbox.hpp).
    r1::test::skip_suite(caps.isolated ? "the process_group mode is refused without root"
                                       : "the sandbox refuses untrusted code here (not root, no namespaces)");
  }
  const IsolationMode mode = mode_under_test();
  MESSAGE("mode under test: ", to_string(mode), "; ", caps.description);
  Canaries canaries;
  const CodeVerifier python{r1::test::small_config("python", mode)};
  const CodeVerifier cpp{r1::test::small_config("cpp", mode)};
  const r1::Problem problem = r1::test::stdio_problem("", "ok\n");
  REQUIRE(std::size(kBattery) >= 25);

  for (const Hostile& hostile : kBattery) {
    const std::string name = hostile.name;
    CAPTURE(name);
    const bool is_python = std::string(hostile.language) == "python";
    const std::string completion = r1::test::fenced(hostile.language, canaries.fill(hostile.source));
    const r1::code::CodeReport report = (is_python ? python : cpp).evaluate(problem, completion);
    REQUIRE(report.tests.size() == 1);
    const r1::code::TestResult& result = report.tests[0];
    CAPTURE(to_string(result.verdict));
    CAPTURE(result.detail);
    CAPTURE(result.wall_ms);
    CHECK(hostile.verdicts.count(result.verdict) == 1);
    if (hostile.signal != 0) CHECK(result.signal == hostile.signal);
    // The run ends at its wall-clock limit at the latest, whatever it left behind;
    // 1 s of slack covers the kill and the final reads on a loaded machine.
    CHECK(result.wall_ms < python.config().run_limits.wall_time_ms + 1000.0);

    // Nothing secret came back; the planted files are intact; no connection was made.
    for (const std::string* secret : {&canaries.secret_text, &canaries.env_text}) {
      CHECK(result.detail.find(*secret) == std::string::npos);
      CHECK(report.compile_output.find(*secret) == std::string::npos);
    }
    CHECK(read_file(canaries.secret_file) == canaries.secret_text);
    CHECK(read_file(canaries.public_file) == canaries.public_text);
    CHECK_FALSE(std::filesystem::exists(canaries.secret_dir + "/pwned"));
    CHECK_FALSE(std::filesystem::exists(canaries.public_dir + "/pwned"));
    for (const char* path : kForbiddenHostFiles) CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(canaries.listener_saw_a_connection());

    // No process of the run is left. With a PID namespace the kernel has killed
    // them all before the supervisor could be reaped: no grace at all. Without it,
    // SIGKILLed processes finish dying when next scheduled: up to 1 s of grace.
    const auto grace = mode == IsolationMode::namespaces ? std::chrono::milliseconds(0) : std::chrono::milliseconds(1000);
    const auto left = r1::test::live_sandbox_processes(grace);
    CHECK_MESSAGE(left.empty(), "left behind: ", r1::test::describe(left));
    // Not even a zombie: the run's reaper (PID 1 of its namespace, or the supervisor
    // as child subreaper in process_group mode) has reaped them all. Zombies left to
    // the host's PID 1 would count against the slot uid's RLIMIT_NPROC, and the
    // slot's next runs could not fork.
    const auto unreaped = r1::test::sandbox_processes();
    CHECK_MESSAGE(unreaped.empty(), "not reaped: ", r1::test::describe(unreaped));

    // And the next run works.
    CHECK(python(problem, r1::test::fenced("python", "print('ok')")).score == 1.0);
  }
}
