#pragma once
// Each subcommand of the r1 tool lives in its own command_<name>.cpp and
// registers a function that adds itself to the CLI11 app:
//
//   static const bool registered = r1::cli::register_command("score", [](CLI::App& app) {
//     auto* command = app.add_subcommand("score", "Per-token log-probs of JSONL sequences");
//     ...
//     command->callback([=] { ... });
//   });
//
// Commands report errors by throwing r1::Error; main prints them to stderr and exits 1.
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <fstream>

#include "r1/core/error.hpp"
#include "r1/dist/any_communicator.hpp"

namespace r1::cli {

using CommandSetup = std::function<void(CLI::App&)>;

struct RegisteredCommand {
  std::string name;
  CommandSetup setup;
};

inline std::vector<RegisteredCommand>& command_registry() {
  static std::vector<RegisteredCommand> commands;
  return commands;
}

inline bool register_command(std::string name, CommandSetup setup) {
  command_registry().push_back({std::move(name), std::move(setup)});
  return true;
}

// The ranks this run spans: this process alone, or every rank of an mpirun/srun job (main.cpp decides).
// Training and evaluation run over all of them; rank 0 alone writes files and prints results.
inline AnyCommunicator*& communicator_slot() {
  static AnyCommunicator* slot = nullptr;
  return slot;
}
inline AnyCommunicator& communicator() {
  require(communicator_slot() != nullptr, "r1: no communicator (main sets one before any command runs)");
  return *communicator_slot();
}
inline bool writes_output() { return communicator().rank() == 0; }

// Input of a data subcommand: the named file, or stdin for "" or "-".
class InputLines {
 public:
  explicit InputLines(const std::string& path) {
    if (path.empty() || path == "-") {
      in_ = &std::cin;
      name_ = "stdin";
    } else {
      file_ = std::make_unique<std::ifstream>(path, std::ios::binary);
      require(file_->good(), path, ": cannot open for reading");
      in_ = file_.get();
      name_ = path;
    }
  }
  // Next line into `line`; false at the end. `where()` names the line for errors.
  bool next(std::string& line) {
    if (!std::getline(*in_, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++number_;
    return true;
  }
  std::string where() const { return name_ + " line " + std::to_string(number_); }

 private:
  std::unique_ptr<std::ifstream> file_;
  std::istream* in_ = nullptr;
  std::string name_;
  long number_ = 0;
};

}  // namespace r1::cli
