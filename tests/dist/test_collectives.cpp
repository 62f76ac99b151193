// Each collective of MpiCommunicator against results worked out by hand, run
// under `mpirun -np N` (ctest label mpi): rank r contributes values that depend on
// r, so every expected result is a closed form in N.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "r1/dist/communicator.hpp"
#include "r1/dist/mpi_communicator.hpp"

static_assert(r1::Communicator<r1::MpiCommunicator>);

namespace {
r1::MpiCommunicator* world = nullptr;
}

TEST_CASE("all_reduce_sum of floats and doubles: the sum over ranks on every rank") {
  r1::MpiCommunicator& comm = *world;
  const int n = comm.size(), r = comm.rank();
  // Small integers: every partial sum is exact in float, whatever the order.
  std::vector<float> floats{1.0f, static_cast<float>(r), static_cast<float>(r * r), -2.0f};
  comm.all_reduce_sum(floats);
  CHECK(floats[0] == static_cast<float>(n));
  CHECK(floats[1] == static_cast<float>(n * (n - 1) / 2));
  CHECK(floats[2] == static_cast<float>((n - 1) * n * (2 * n - 1) / 6));
  CHECK(floats[3] == static_cast<float>(-2 * n));
  std::vector<double> doubles{0.5 * r, 1e15};
  comm.all_reduce_sum(doubles);
  CHECK(doubles[0] == 0.25 * n * (n - 1));
  CHECK(doubles[1] == 1e15 * n);
  CHECK(r1::all_reduce_sum(comm, static_cast<double>(r + 1)) == n * (n + 1) / 2.0);
  std::vector<float> empty;
  comm.all_reduce_sum(empty);  // a no-op, on every rank
}

TEST_CASE("all_reduce_sum gives every rank the same bits for values that round") {
  r1::MpiCommunicator& comm = *world;
  std::vector<float> values(1000);
  for (std::size_t k = 0; k < values.size(); ++k) values[k] = 1.0f / static_cast<float>(3 + k + comm.rank() * 7);
  comm.all_reduce_sum(values);
  // Rank 0's result, broadcast as bytes, equals each rank's own.
  std::vector<float> root = values;
  comm.broadcast(std::span<char>(reinterpret_cast<char*>(root.data()), root.size() * sizeof(float)), 0);
  CHECK(root == values);
}

TEST_CASE("broadcast from each root") {
  r1::MpiCommunicator& comm = *world;
  for (int root = 0; root < comm.size(); ++root) {
    std::string bytes = comm.rank() == root ? "root " + std::to_string(root) + " says hi" : std::string(15, '?');
    bytes.resize(15, '.');
    comm.broadcast(std::span<char>(bytes.data(), bytes.size()), root);
    std::string expected = "root " + std::to_string(root) + " says hi";
    expected.resize(15, '.');
    CHECK(bytes == expected);
  }
  std::string none;
  comm.broadcast(std::span<char>(none.data(), 0), 0);
  CHECK_THROWS_AS(comm.broadcast(std::span<char>(none.data(), 0), comm.size()), r1::Error);
}

TEST_CASE("all_gather_bytes: uneven and empty parts, in rank order") {
  r1::MpiCommunicator& comm = *world;
  // Rank r sends r copies of the letter 'a' + r: rank 0 sends nothing.
  const std::string mine(static_cast<std::size_t>(comm.rank()), static_cast<char>('a' + comm.rank()));
  const auto parts = comm.all_gather_bytes(mine);
  REQUIRE(parts.size() == static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r)
    CHECK(parts[static_cast<std::size_t>(r)] == std::string(static_cast<std::size_t>(r), static_cast<char>('a' + r)));
  const auto empty = comm.all_gather_bytes("");
  CHECK(empty == std::vector<std::string>(static_cast<std::size_t>(comm.size())));
  // Bytes, not text: zeros survive.
  const std::string binary{"\0x\0", 3};
  for (const auto& part : comm.all_gather_bytes(binary)) CHECK(part == binary);
  comm.barrier();
}

int main(int argc, char** argv) {
  r1::MpiCommunicator comm(&argc, &argv);
  world = &comm;
  doctest::Context context(argc, argv);
  if (comm.rank() != 0) context.setOption("out", "/dev/null");  // one report, from rank 0; failures still count
  const int failed = context.run();
  // Every rank's verdict: a failure on any rank fails the job.
  const double failures = r1::all_reduce_sum(comm, failed != 0 ? 1.0 : 0.0);
  return failures > 0 ? 1 : 0;
}
