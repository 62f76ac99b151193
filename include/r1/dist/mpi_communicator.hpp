#pragma once
// MpiCommunicator: the Communicator of ranks launched by mpirun or srun (MPI-3).
// Needs <mpi.h>: link r1::mpi (find_package(MPI)), which r1::r1 does not require.
//
// It initialises MPI when nobody has (and then finalises it), and works on its own
// duplicate of MPI_COMM_WORLD with errors returned, not fatal, so a failed call
// becomes an r1::Error naming the collective.
//
// Sums: MPI_Allreduce with MPI_SUM. Open MPI's algorithms (recursive doubling,
// ring: each chunk is summed along one path, then passed on) give every rank the
// same bits, so ranks that apply the same update from the sum stay identical.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/dist/communicator.hpp"

namespace r1 {

class MpiCommunicator {
 public:
  // Initialises MPI if needed (MPI_THREAD_FUNNELED: only the calling thread talks to MPI; oneTBB's workers never do).
  MpiCommunicator() : MpiCommunicator(nullptr, nullptr) {}
  MpiCommunicator(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;
  ~MpiCommunicator() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_mpi_ && !finalized) MPI_Finalize();
  }

  int rank() const { return rank_; }
  int size() const { return size_; }

  void all_reduce_sum(std::span<float> values) { all_reduce(values.data(), values.size(), MPI_FLOAT); }
  void all_reduce_sum(std::span<double> values) { all_reduce(values.data(), values.size(), MPI_DOUBLE); }

  void broadcast(std::span<char> bytes, int root) {
    require(root >= 0 && root < size_, "MpiCommunicator::broadcast: root ", root, " is not a rank of ", size_);
    for (std::size_t done = 0; done < bytes.size();) {
      const int count = chunk(bytes.size() - done);
      check(MPI_Bcast(bytes.data() + done, count, MPI_CHAR, root, comm_), "MPI_Bcast");
      done += static_cast<std::size_t>(count);
    }
  }

  // Every rank's bytes, in rank order. Sizes are exchanged first; the total must fit an int (2 GiB), as
  // MPI_Allgatherv counts are ints.
  std::vector<std::string> all_gather_bytes(std::string_view bytes) {
    require(bytes.size() <= static_cast<std::size_t>(INT_MAX), "MpiCommunicator::all_gather_bytes: ", bytes.size(),
            " bytes on rank ", rank_, " exceed the 2 GiB an MPI count can hold");
    std::int64_t mine = static_cast<std::int64_t>(bytes.size());
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm_), "MPI_Allgather");
    std::vector<int> counts(sizes.size()), offsets(sizes.size());
    std::int64_t total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      offsets[r] = static_cast<int>(total);
      counts[r] = static_cast<int>(sizes[r]);
      total += sizes[r];
      require(total <= INT_MAX, "MpiCommunicator::all_gather_bytes: ", total,
              " bytes over all ranks exceed the 2 GiB an MPI count can hold");
    }
    std::string gathered(static_cast<std::size_t>(total), '\0');
    check(MPI_Allgatherv(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, gathered.data(), counts.data(),
                         offsets.data(), MPI_CHAR, comm_),
          "MPI_Allgatherv");
    std::vector<std::string> parts(sizes.size());
    for (std::size_t r = 0; r < sizes.size(); ++r) parts[r] = gathered.substr(static_cast<std::size_t>(offsets[r]),
                                                                              static_cast<std::size_t>(counts[r]));
    return parts;
  }

  void barrier() { check(MPI_Barrier(comm_), "MPI_Barrier"); }

  // Prints the message with this rank's number and ends every rank of the job (MPI_Abort), exit status 1.
  [[noreturn]] void abort(std::string_view message) {
    std::fprintf(stderr, "r1 (rank %d of %d): %.*s\n", rank_, size_, static_cast<int>(message.size()),
                 message.data());
    std::fflush(stderr);
    MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, 1);
    std::exit(1);  // MPI_Abort does not return; this satisfies [[noreturn]]
  }

  MPI_Comm native() const { return comm_; }

 private:
  static int chunk(std::size_t remaining) {
    return static_cast<int>(std::min<std::size_t>(remaining, std::size_t{1} << 30));
  }
  void all_reduce(void* data, std::size_t count, MPI_Datatype type) {
    int type_bytes = 0;
    MPI_Type_size(type, &type_bytes);
    auto* bytes = static_cast<char*>(data);
    for (std::size_t done = 0; done < count;) {
      const int n = chunk(count - done);
      check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * static_cast<std::size_t>(type_bytes), n, type, MPI_SUM, comm_),
            "MPI_Allreduce");
      done += static_cast<std::size_t>(n);
    }
  }
  static void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail(call, " failed: ", std::string_view(text, static_cast<std::size_t>(length)));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
};

static_assert(Communicator<MpiCommunicator>);

}  // namespace r1
