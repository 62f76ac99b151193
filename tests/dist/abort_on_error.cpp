// An r1::Error on one rank ends every rank with that rank's message and a non-zero
// exit, rather than leaving the others waiting in a collective: rank 1 fails while
// rank 0 waits in a barrier. Run by test_dist_abort (tests/dist/CMakeLists.txt).
#include <cstdio>

#include "r1/core/error.hpp"
#include "r1/dist/mpi_communicator.hpp"

int main(int argc, char** argv) {
  r1::MpiCommunicator comm(&argc, &argv);
  try {
    if (comm.rank() == 1) r1::fail("data.jsonl: line 3: field 'prompt' is missing");
    comm.barrier();  // rank 0 waits here; rank 1 never comes
    std::puts("rank passed the barrier: the job did not end");
    return 0;
  } catch (const r1::Error& error) {
    comm.abort(error.what());
  }
}
