#pragma once
// AnyCommunicator: a Communicator chosen at run time (one process, or MPI when the
// program finds itself under mpirun), for programs such as the r1 tool whose trainer
// type must not depend on how they were launched. It refers to a communicator the
// caller owns; each collective is one virtual call, nothing beside the transfer.
//
//   r1::SingleProcess one;
//   r1::AnyCommunicator comm(one);              // or (mpi) for an MpiCommunicator
//   r1::GrpoTrainer<Recipe, r1::AnyCommunicator> trainer{..., comm};
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/dist/communicator.hpp"

namespace r1 {

class AnyCommunicator {
 public:
  template <Communicator Comm>
  explicit AnyCommunicator(Comm& comm) : self_(std::make_unique<Holder<Comm>>(comm)) {}

  int rank() const { return self_->rank(); }
  int size() const { return self_->size(); }
  void all_reduce_sum(std::span<float> values) { self_->all_reduce_sum(values); }
  void all_reduce_sum(std::span<double> values) { self_->all_reduce_sum(values); }
  void broadcast(std::span<char> bytes, int root) { self_->broadcast(bytes, root); }
  std::vector<std::string> all_gather_bytes(std::string_view bytes) { return self_->all_gather_bytes(bytes); }
  void barrier() { self_->barrier(); }
  [[noreturn]] void abort(std::string_view message) { self_->abort(message); }

 private:
  struct Interface {
    virtual ~Interface() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual void all_reduce_sum(std::span<float>) = 0;
    virtual void all_reduce_sum(std::span<double>) = 0;
    virtual void broadcast(std::span<char>, int) = 0;
    virtual std::vector<std::string> all_gather_bytes(std::string_view) = 0;
    virtual void barrier() = 0;
    [[noreturn]] virtual void abort(std::string_view) = 0;
  };
  template <class Comm>
  struct Holder final : Interface {
    explicit Holder(Comm& comm) : comm(comm) {}
    int rank() const override { return comm.rank(); }
    int size() const override { return comm.size(); }
    void all_reduce_sum(std::span<float> values) override { comm.all_reduce_sum(values); }
    void all_reduce_sum(std::span<double> values) override { comm.all_reduce_sum(values); }
    void broadcast(std::span<char> bytes, int root) override { comm.broadcast(bytes, root); }
    std::vector<std::string> all_gather_bytes(std::string_view bytes) override { return comm.all_gather_bytes(bytes); }
    void barrier() override { comm.barrier(); }
    [[noreturn]] void abort(std::string_view message) override { comm.abort(message); }
    Comm& comm;
  };
  std::unique_ptr<Interface> self_;
};

static_assert(Communicator<AnyCommunicator>);

}  // namespace r1
