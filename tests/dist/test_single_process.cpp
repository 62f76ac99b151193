// SingleProcess: rank 0 of 1, every collective leaves the data as it is; and the
// Communicator concept rejects a type missing one collective.
#include <doctest/doctest.h>

#include <span>
#include <string>
#include <vector>

#include "r1/dist/communicator.hpp"
#include "r1/dist/single_process.hpp"

static_assert(r1::Communicator<r1::SingleProcess>);

namespace {
struct NoAllGather {
  int rank() const { return 0; }
  int size() const { return 1; }
  void all_reduce_sum(std::span<float>) {}
  void all_reduce_sum(std::span<double>) {}
  void broadcast(std::span<char>, int) {}
  void barrier() {}
  void abort(std::string_view) {}
};
static_assert(!r1::Communicator<NoAllGather>);
}  // namespace

TEST_CASE("SingleProcess: collectives of one rank") {
  r1::SingleProcess comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  std::vector<float> values{1.5f, -2.0f};
  comm.all_reduce_sum(values);
  CHECK(values == std::vector<float>{1.5f, -2.0f});
  CHECK(r1::all_reduce_sum(comm, 7.0) == 7.0);
  std::string bytes = "abc";
  comm.broadcast(std::span<char>(bytes.data(), bytes.size()), 0);
  CHECK(bytes == "abc");
  CHECK_THROWS_AS(comm.broadcast(std::span<char>(bytes.data(), bytes.size()), 1), r1::Error);
  CHECK(comm.all_gather_bytes("xy") == std::vector<std::string>{"xy"});
  comm.barrier();
}
