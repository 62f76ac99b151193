#pragma once
// The Communicator concept: what data-parallel training asks of the processes it
// runs on. Ranks 0..size()-1 each hold one; every collective is called by every
// rank, in the same order, with the same sizes (all_gather_bytes excepted).
//
//   r1::MpiCommunicator comm(argc, argv);          // or r1::SingleProcess{}
//   comm.all_reduce_sum(gradients);                // every rank now holds the sum
//   auto parts = comm.all_gather_bytes(my_results); // parts[r] is rank r's bytes
//   if (comm.rank() == 0) save(...);
#include <concepts>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

template <class C>
concept Communicator = requires(C& comm, const C& const_comm, std::span<float> floats, std::span<double> doubles,
                                std::span<char> bytes, std::string_view message, int root) {
  { const_comm.rank() } -> std::convertible_to<int>;
  { const_comm.size() } -> std::convertible_to<int>;
  { comm.all_reduce_sum(floats) };   // in place: every rank gets the element-wise sum over ranks
  { comm.all_reduce_sum(doubles) };
  { comm.broadcast(bytes, root) };   // in place: every rank gets root's bytes (same size on every rank)
  { comm.all_gather_bytes(message) } -> std::same_as<std::vector<std::string>>;  // rank order; sizes may differ
  { comm.barrier() };
  { comm.abort(message) };  // ends every rank with a non-zero exit; never returns
};

// Sums of counts kept in double are exact up to 2^53, so they all-reduce as doubles.
template <Communicator C>
double all_reduce_sum(C& comm, double value) {
  comm.all_reduce_sum(std::span<double>(&value, 1));
  return value;
}

}  // namespace r1
