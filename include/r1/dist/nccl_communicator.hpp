#pragma once
// NcclCommunicator: the Communicator of one rank per GPU. Sums and broadcasts act
// on device buffers through NCCL; NCCL's unique id is broadcast over MPI, as
// llm.c bootstraps it, and the host-side collectives (all_gather_bytes, barrier,
// abort) go through MPI. Needs CUDA, NCCL and MPI: link r1::nccl.
//
// Every call is enqueued on `stream` and waited for before it returns, so a caller
// that reads the result on another stream or on the host sees it complete.
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/dist/communicator.hpp"
#include "r1/dist/mpi_communicator.hpp"

namespace r1 {

class NcclCommunicator {
 public:
  // Uses the device this thread has selected (cudaSetDevice before, one device per rank).
  explicit NcclCommunicator(MpiCommunicator& mpi, cudaStream_t stream = nullptr) : mpi_(&mpi), stream_(stream) {
    ncclUniqueId id{};
    if (mpi.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi.broadcast(std::span<char>(reinterpret_cast<char*>(&id), sizeof id), 0);
    check(ncclCommInitRank(&comm_, mpi.size(), id, mpi.rank()), "ncclCommInitRank");
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  ~NcclCommunicator() {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  int rank() const { return mpi_->rank(); }
  int size() const { return mpi_->size(); }

  // `values` live on the device.
  void all_reduce_sum(std::span<float> values) { all_reduce(values.data(), values.size(), ncclFloat32); }
  void all_reduce_sum(std::span<double> values) { all_reduce(values.data(), values.size(), ncclFloat64); }
  void broadcast(std::span<char> device_bytes, int root) {
    require(root >= 0 && root < size(), "NcclCommunicator::broadcast: root ", root, " is not a rank of ", size());
    check(ncclBroadcast(device_bytes.data(), device_bytes.data(), device_bytes.size(), ncclChar, root, comm_, stream_),
          "ncclBroadcast");
    wait();
  }
  // Host bytes, over MPI.
  std::vector<std::string> all_gather_bytes(std::string_view bytes) { return mpi_->all_gather_bytes(bytes); }
  void barrier() { mpi_->barrier(); }
  [[noreturn]] void abort(std::string_view message) {
    ncclCommAbort(comm_);
    comm_ = nullptr;
    mpi_->abort(message);
  }

 private:
  void all_reduce(void* data, std::size_t count, ncclDataType_t type) {
    check(ncclAllReduce(data, data, count, type, ncclSum, comm_, stream_), "ncclAllReduce");
    wait();
  }
  void wait() {
    const cudaError_t status = cudaStreamSynchronize(stream_);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error state before reporting
      fail("NcclCommunicator: cudaStreamSynchronize failed: ", cudaGetErrorName(status), " (",
           cudaGetErrorString(status), ")");
    }
  }
  static void check(ncclResult_t result, const char* call) {
    if (result != ncclSuccess) fail(call, " failed: ", ncclGetErrorString(result));
  }

  MpiCommunicator* mpi_;
  cudaStream_t stream_;
  ncclComm_t comm_ = nullptr;
};

static_assert(Communicator<NcclCommunicator>);

}  // namespace r1
