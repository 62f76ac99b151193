#pragma once
// Per-parameter fp32 optimizer buffers (Adam's moments, SGD's momentum), sized
// lazily from the parameter list on the first step, checked against it on every
// later step, and saved/loaded with a shape check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/optim/state_io.hpp"

namespace r1 {

class SlotBuffers {
 public:
  explicit SlotBuffers(int slots_per_parameter) : slots_(slots_per_parameter) {}

  bool initialized() const { return !names_.empty() || initialized_empty_; }
  std::size_t parameters() const { return names_.size(); }
  std::span<float> slot(std::size_t parameter, int which) { return buffers_[parameter * slots_ + which]; }

  // Sizes the buffers (zero) on first use; afterwards requires the same list.
  void bind(std::span<const ParameterView> parameters, std::string_view who) {
    if (!initialized()) {
      for (const ParameterView& p : parameters) {
        require(p.grad.size() == p.value.size(), who, ": parameter '", p.name, "' has ", p.value.size(),
                " values but ", p.grad.size(), " gradients");
        names_.push_back(p.name);
        for (int s = 0; s < slots_; ++s) buffers_.emplace_back(p.value.size(), 0.0f);
      }
      initialized_empty_ = parameters.empty();
      return;
    }
    require(parameters.size() == names_.size(), who, ": got ", parameters.size(), " parameters, the state holds ",
            names_.size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const ParameterView& p = parameters[i];
      require(p.name == names_[i], who, ": parameter ", i, " is '", p.name, "', the state holds '", names_[i], "'");
      require(p.value.size() == buffers_[i * slots_].size() && p.grad.size() == p.value.size(), who, ": parameter '",
              p.name, "' has ", p.value.size(), " values and ", p.grad.size(), " gradients, the state holds ",
              buffers_[i * slots_].size());
    }
  }

  void save(StateWriter& out) const {
    out.scalar<std::uint64_t>(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) {
      out.text(names_[i]);
      for (int s = 0; s < slots_; ++s) out.floats(buffers_[i * slots_ + s]);
    }
  }

  // Reads buffers; when already bound, the file must hold the same parameters.
  void load(StateReader& in, std::string_view who) {
    const auto count = in.scalar<std::uint64_t>("parameter count");
    if (initialized())
      require(count == names_.size(), who, ": the state file holds ", count, " parameters, expected ", names_.size());
    std::vector<std::string> names;
    std::vector<std::vector<float>> buffers;
    for (std::uint64_t i = 0; i < count; ++i) {
      names.push_back(in.text("parameter name"));
      if (initialized())
        require(names.back() == names_[i], who, ": parameter ", i, " is '", names.back(), "' in the state file, expected '",
                names_[i], "'");
      // Unbound, the first buffer's length comes from the file; the others must match it.
      const std::string field = "buffer of '" + names.back() + "'";
      const std::size_t first = buffers.size();
      buffers.push_back(initialized() ? in.floats(field, buffers_[i * slots_].size()) : read_any_length(in, field));
      for (int s = 1; s < slots_; ++s) buffers.push_back(in.floats(field, buffers[first].size()));
    }
    names_ = std::move(names);
    buffers_ = std::move(buffers);
    initialized_empty_ = count == 0;
  }

 private:
  static std::vector<float> read_any_length(StateReader& in, const std::string& field) {
    // Lengths of an unbound state are only known from the file; the chunked
    // read fails on a truncated file before allocating what it claims.
    const auto size = in.scalar<std::uint64_t>(field);
    std::vector<float> values;
    constexpr std::uint64_t chunk = 1 << 20;
    for (std::uint64_t done = 0; done < size;) {
      const std::uint64_t n = std::min(chunk, size - done);
      values.resize(done + n);
      in.bytes(values.data() + done, n * sizeof(float), field);
      done += n;
    }
    return values;
  }

  int slots_;
  std::vector<std::string> names_;
  std::vector<std::vector<float>> buffers_;  // parameter-major: buffers_[p * slots_ + s]
  bool initialized_empty_ = false;
};

}  // namespace r1
