#pragma once
// Helpers of the code-reward suites: processes of this process's sandbox uids,
// and verifier configs with small limits.
#include <dirent.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "r1/reward/code/code_verifier.hpp"

namespace r1::test {

struct SandboxProcess {
  int pid = 0;
  std::uint32_t uid = 0;
  char state = '?';
  std::string name;
};

// Every process (zombies included) of this process's runs: as root, those whose
// real uid is one of its sandbox uids; otherwise (user namespaces) those of its own
// uid that live in a nested PID namespace (NSpid lists more than one pid).
inline std::vector<SandboxProcess> sandbox_processes() {
  std::vector<SandboxProcess> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (const dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status("/proc/" + name + "/status");
    SandboxProcess process;
    process.pid = std::stoi(name);
    std::string line;
    int namespace_depth = 0;
    while (std::getline(status, line)) {
      if (line.rfind("NSpid:", 0) == 0) {
        std::istringstream pids(line.substr(6));
        for (std::string pid; pids >> pid;) ++namespace_depth;
      }
      if (line.rfind("Name:", 0) == 0) process.name = line.substr(6);
      if (line.rfind("State:", 0) == 0 && line.size() > 7) process.state = line[7];
      if (line.rfind("Uid:", 0) == 0) process.uid = static_cast<std::uint32_t>(std::stoul(line.substr(5)));
    }
    const bool ours = ::geteuid() == 0
                          ? process.uid >= code::sandbox_uid_begin() && process.uid < code::sandbox_uid_end()
                          : process.uid == ::geteuid() && namespace_depth > 1 && process.pid != ::getpid();
    if (ours) found.push_back(process);
  }
  ::closedir(proc);
  return found;
}

// Live (non-zombie) sandbox processes, after waiting up to `grace` for SIGKILLed
// ones to finish dying (a SIGKILL is delivered when its target is next scheduled).
inline std::vector<SandboxProcess> live_sandbox_processes(std::chrono::milliseconds grace) {
  const auto until = std::chrono::steady_clock::now() + grace;
  for (;;) {
    std::vector<SandboxProcess> live;
    for (const auto& process : sandbox_processes()) {
      if (process.state != 'Z') live.push_back(process);
    }
    if (live.empty() || std::chrono::steady_clock::now() >= until) return live;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

inline std::string describe(const std::vector<SandboxProcess>& processes) {
  std::string text;
  for (const auto& p : processes) text += std::to_string(p.pid) + " " + p.name + " (" + p.state + ") ";
  return text;
}

// A verifier for tests: small limits so that hostile programs end quickly.
inline code::CodeVerifierConfig small_config(const std::string& language, std::optional<code::IsolationMode> mode) {
  code::CodeVerifierConfig config;
  config.language = language;
  config.mode = mode;
  config.run_limits.cpu_time_ms = 1000;
  config.run_limits.wall_time_ms = 3000;  // 3x the CPU limit: the machine running the tests may be shared
  config.run_limits.address_space_bytes = 256ll << 20;
  config.run_limits.file_size_bytes = 4ll << 20;
  config.run_limits.tmpfs_bytes = 16ll << 20;
  config.run_limits.processes = 16;
  config.run_limits.output_bytes = 64u << 10;
  config.compile_limits.wall_time_ms = 20000;
  config.compile_limits.address_space_bytes = 2ll << 30;
  return config;
}

inline Problem stdio_problem(const std::string& input, const std::string& output) {
  Problem problem;
  problem.tests = Json::array({Json{{"input", input}, {"output", output}}});
  return problem;
}

inline std::string fenced(const std::string& language, const std::string& code) {
  return "Here is my solution.\n```" + language + "\n" + code + "\n```\n";
}

}  // namespace r1::test
