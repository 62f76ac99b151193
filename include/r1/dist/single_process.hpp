#pragma once
// SingleProcess: the Communicator of a run without MPI. Rank 0 of 1: every
// collective leaves its data as it is, and costs nothing.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/dist/communicator.hpp"

namespace r1 {

class SingleProcess {
 public:
  int rank() const { return 0; }
  int size() const { return 1; }
  void all_reduce_sum(std::span<float>) {}
  void all_reduce_sum(std::span<double>) {}
  void broadcast(std::span<char>, int root) { require(root == 0, "broadcast: root ", root, " is not a rank of 1"); }
  std::vector<std::string> all_gather_bytes(std::string_view bytes) { return {std::string(bytes)}; }
  void barrier() {}
  [[noreturn]] void abort(std::string_view message) {
    std::fprintf(stderr, "r1: %.*s\n", static_cast<int>(message.size()), message.data());
    std::exit(1);
  }
};

static_assert(Communicator<SingleProcess>);

}  // namespace r1
