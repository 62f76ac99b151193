// r1: the command-line tool. Subcommands register themselves (command.hpp).
// Under mpirun or srun every rank runs the same command over an MpiCommunicator
// (when built with MPI); rank 0 alone writes and prints.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "command.hpp"
#include "r1/core/threads.hpp"
#include "r1/dist/any_communicator.hpp"
#include "r1/dist/launch.hpp"
#include "r1/dist/single_process.hpp"
#if R1_WITH_MPI
#include "r1/dist/mpi_communicator.hpp"
#endif

int main(int argc, char** argv) {
  r1::SingleProcess one;
  std::unique_ptr<r1::AnyCommunicator> comm;
#if R1_WITH_MPI
  std::optional<r1::MpiCommunicator> mpi;
  if (r1::launched_by_mpi()) {
    mpi.emplace(&argc, &argv);
    comm = std::make_unique<r1::AnyCommunicator>(*mpi);
  }
#endif
  if (!comm) comm = std::make_unique<r1::AnyCommunicator>(one);
  r1::cli::communicator_slot() = comm.get();
  if (comm->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;

  CLI::App app{"r1: reasoning RL (the DeepSeek-R1 recipe) in C++20", "r1"};
  app.set_version_flag("--version", std::string("r1 ") + R1_VERSION);
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads,
                 "Worker threads per rank (default: R1_THREADS, else all cores; under mpirun, the cores shared "
                 "among the ranks)")
      ->check(CLI::NonNegativeNumber);
  app.fallthrough();  // `r1 grpo --threads 2` as well as `r1 --threads 2 grpo`

  auto& registry = r1::cli::command_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : registry) command.setup(app);

  std::unique_ptr<r1::ThreadLimit> limit;
  app.parse_complete_callback([&] {
    if (threads == 0 && comm->size() > 1 && std::getenv("R1_THREADS") == nullptr)
      threads = r1::default_threads_per_rank();
    limit = std::make_unique<r1::ThreadLimit>(threads);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const r1::Error& e) {
    std::cout.flush();
    if (comm->size() > 1) comm->abort(std::string("r1: error: ") + e.what());  // ends every rank
    std::cerr << "r1: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    if (comm->size() > 1) comm->abort(std::string("r1: unexpected error: ") + e.what());
    std::cerr << "r1: unexpected error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
