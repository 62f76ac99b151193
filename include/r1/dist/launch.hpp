#pragma once
// How this process was launched: by an MPI launcher (mpirun, mpiexec, srun with
// PMI/PMIx) or on its own. Read from the environment the launchers set, so a
// program can pick its Communicator without MPI being linked in to ask.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace r1 {

namespace detail {
inline int positive_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return 0;
  char* end = nullptr;
  const long parsed = std::strtol(value, &end, 10);
  return end != value && *end == '\0' && parsed > 0 && parsed < (1 << 20) ? static_cast<int>(parsed) : 0;
}
}  // namespace detail

// True under Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), MPICH/Hydra or Slurm's PMI (PMI_SIZE), or PMIx (PMIX_RANK).
inline bool launched_by_mpi() {
  return detail::positive_env("OMPI_COMM_WORLD_SIZE") > 0 || detail::positive_env("PMI_SIZE") > 0 ||
         std::getenv("PMIX_RANK") != nullptr;
}

// Ranks of this job on this machine (1 when not launched by MPI).
inline int local_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const int n = detail::positive_env(name); n > 0) return n;
  return 1;
}

// Threads per rank when the user gave none: the machine's cores shared among its ranks, at least 1.
inline int default_threads_per_rank() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_ranks());
}

}  // namespace r1
