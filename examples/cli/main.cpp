// r1: the command-line tool. Subcommands register themselves (command.hpp).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "r1/core/threads.hpp"

int main(int argc, char** argv) {
  CLI::App app{"r1: reasoning RL (the DeepSeek-R1 recipe) in C++20", "r1"};
  app.set_version_flag("--version", std::string("r1 ") + R1_VERSION);
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "Worker threads (default: R1_THREADS, else all cores)")->check(CLI::NonNegativeNumber);

  auto& registry = r1::cli::command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : registry) command.setup(app);

  std::unique_ptr<r1::ThreadLimit> limit;
  app.parse_complete_callback([&] { limit = std::make_unique<r1::ThreadLimit>(threads); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const r1::Error& e) {
    std::cout.flush();
    std::cerr << "r1: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "r1: unexpected error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
