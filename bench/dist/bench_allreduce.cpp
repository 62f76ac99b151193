// Gradient all-reduce over MPI ranks: r1's all_reduce_gradients (16 MiB buckets over
// the runs of a flat gradient buffer) against one plain MPI_Allreduce of the same
// buffer, both in place, interleaved, median of rounds. Bus bandwidth as NCCL's tests
// report it: bytes x 2 (N - 1) / N / seconds, the bytes each rank sends and receives
// in a ring all-reduce.
//   mpirun --allow-run-as-root -np 2 bench_dist_allreduce [floats ...]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "r1/core/parameter_view.hpp"
#include "r1/dist/gradient_sync.hpp"
#include "r1/dist/mpi_communicator.hpp"

namespace {
double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  r1::MpiCommunicator comm(&argc, &argv);
  // Default sizes: the reference model's 3.67 M parameters, and 64 M (a 0.5B model's gradient is ~8x that).
  std::vector<std::size_t> sizes{3'670'016, 67'108'864};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  }
  const int n = comm.size();
  if (comm.rank() == 0)
    std::printf("%d ranks; bus GB/s = bytes x 2(N-1)/N / s; median of 9 interleaved rounds\n"
                "%12s %14s %14s %14s %14s %8s\n",
                n, "floats", "r1 ms", "r1 GB/s", "MPI ms", "MPI GB/s", "r1/MPI");
  for (const std::size_t size : sizes) {
    std::vector<float> grad(size, 1.0f / static_cast<float>(comm.rank() + 1)), value(size, 0.0f);
    // Split like a model's tensors: 24 equal runs, consecutive in one buffer.
    std::vector<r1::ParameterView> parameters;
    const std::size_t piece = size / 24;
    for (std::size_t begin = 0; begin < size; begin += piece) {
      const std::size_t count = std::min(piece, size - begin);
      parameters.push_back({"w", {static_cast<std::int64_t>(count)}, std::span(value).subspan(begin, count),
                            std::span(grad).subspan(begin, count), true});
    }
    std::vector<double> ours, plain;
    for (int round = 0; round < 10; ++round) {
      comm.barrier();
      double start = MPI_Wtime();
      r1::all_reduce_gradients(comm, parameters);
      comm.barrier();
      const double r1_seconds = MPI_Wtime() - start;
      start = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, grad.data(), static_cast<int>(size), MPI_FLOAT, MPI_SUM, comm.native());
      comm.barrier();
      const double mpi_seconds = MPI_Wtime() - start;
      if (round == 0) continue;  // warm-up
      ours.push_back(r1_seconds);
      plain.push_back(mpi_seconds);
    }
    const double bytes = static_cast<double>(size) * sizeof(float) * 2.0 * (n - 1) / n;
    const double a = median(ours), b = median(plain);
    if (comm.rank() == 0)
      std::printf("%12zu %14.2f %14.2f %14.2f %14.2f %8.2f\n", size, 1e3 * a, bytes / a / 1e9, 1e3 * b,
                  bytes / b / 1e9, b / a);
  }
  return 0;
}
