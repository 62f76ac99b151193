#pragma once
// Per-parameter fp32 optimizer buffers (Adam's moments, SGD's momentum), sized
// lazily from the parameter list on the first step, checked against it on every
// later step, and saved/loaded with a shape check.
//
// Loading never holds a second copy of the state (at 0.5B parameters AdamW's is
// 4 GB). Bound (after init() or a step), the file's values are read straight into
// the buffers; unbound, into buffers sized from the file, adopted when the whole
// state, checksum included, has read back. What a failed load leaves:
//   - unchanged, when it fails before any buffer value is overwritten: the tag,
//     version, header fields and parameter count, the first parameter's name and
//     length, and every failure of an unbound load;
//   - unusable, when a bound load fails after overwriting part of the buffers (a
//     truncated or unreadable payload, a later parameter's name or length, the
//     checksum): bind() (every step and init) and save() then throw, naming the
//     failed load, until a load succeeds or reset() zeroes the buffers. A
//     half-read state is never used silently.
// Inside a trainer checkpoint (r1/train/checkpoint.hpp) the container's checksum
// has been verified before this reads, so only an I/O error can fail mid-payload.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
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
    require_usable(who);
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

  // Why the buffers are unusable (the failed load's error), empty while they are usable.
  const std::string& failed_load() const { return failed_load_; }
  void require_usable(std::string_view who) const {
    require(failed_load_.empty(), who, ": the optimizer state is unusable: an earlier load_state failed after "
            "overwriting part of it (", failed_load_, "); load a complete state or call reset()");
  }
  // Zero buffers for the same parameters, as init() leaves them; clears a failed load.
  void reset() {
    for (auto& buffer : buffers_) std::fill(buffer.begin(), buffer.end(), 0.0f);
    failed_load_.clear();
  }

  void save(StateWriter& out, std::string_view who) const {
    require_usable(who);
    out.scalar<std::uint64_t>(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) {
      out.text(names_[i]);
      for (int s = 0; s < slots_; ++s) out.floats(buffers_[i * slots_ + s]);
    }
  }

  // Reads the buffers and then the state's trailing checksum (the buffers are the last field of every
  // optimizer state); when bound, the file must hold the same parameters. What a failure leaves: above.
  void load(StateReader& in, std::string_view who) {
    const auto count = in.scalar<std::uint64_t>("parameter count");
    if (initialized()) {
      require(count == names_.size(), who, ": the state file holds ", count, " parameters, expected ", names_.size());
      load_in_place(in, who);
    } else {
      load_unbound(in, who, count);
    }
  }

 private:
  void load_in_place(StateReader& in, std::string_view who) {
    bool overwritten = false;
    try {
      for (std::size_t i = 0; i < names_.size(); ++i) {
        const std::string name = in.text("parameter name");
        require(name == names_[i], who, ": parameter ", i, " is '", name, "' in the state file, expected '", names_[i], "'");
        const std::string field = "buffer of '" + name + "'";
        for (int s = 0; s < slots_; ++s) {
          std::vector<float>& buffer = buffers_[i * slots_ + s];
          read_length(in, who, field, buffer.size());
          overwritten = true;
          in.bytes(buffer.data(), buffer.size() * sizeof(float), field);
        }
      }
      in.finish();
      failed_load_.clear();  // a complete state replaces whatever a failed load left
    } catch (const std::exception& error) {
      if (overwritten) failed_load_ = error.what();
      throw;
    }
  }

  void load_unbound(StateReader& in, std::string_view who, std::uint64_t count) {
    std::vector<std::string> names;
    std::vector<std::vector<float>> buffers;
    for (std::uint64_t i = 0; i < count; ++i) {
      names.push_back(in.text("parameter name"));
      // The first buffer's length comes from the file; the others must match it.
      const std::string field = "buffer of '" + names.back() + "'";
      const std::size_t first = buffers.size();
      buffers.push_back(read_any_length(in, field));
      // The first buffer's values were read, so its length is no longer only a claim: the others are
      // allocated at exactly that length.
      for (int s = 1; s < slots_; ++s) {
        const std::size_t size = buffers[first].size();
        read_length(in, who, field, size);
        buffers.emplace_back(size);
        in.bytes(buffers.back().data(), size * sizeof(float), field);
      }
    }
    in.finish();
    names_ = std::move(names);
    buffers_ = std::move(buffers);
    initialized_empty_ = count == 0;
  }

  static void read_length(StateReader& in, std::string_view who, const std::string& field, std::size_t expected) {
    const auto size = in.scalar<std::uint64_t>(field);
    require(size == expected, who, ": ", field, " has ", size, " values, expected ", expected);
  }

  // Lengths of an unbound state are only known from the file, and a corrupted one must not allocate what
  // it claims: capacity grows with what has been read (doubling from 1 Mi floats, never past the claimed
  // length), so a truncated file fails first, and the buffer ends at exactly its length. The extra memory
  // is the old storage during a reallocation: less than this one buffer.
  static std::vector<float> read_any_length(StateReader& in, const std::string& field) {
    const auto size = in.scalar<std::uint64_t>(field);
    std::vector<float> values;
    constexpr std::uint64_t chunk = 1 << 20;
    for (std::uint64_t done = 0; done < size;) {
      if (values.capacity() == done) values.reserve(static_cast<std::size_t>(std::min(size, std::max(2 * done, chunk))));
      const std::uint64_t n = std::min(chunk, size - done);
      values.resize(static_cast<std::size_t>(done + n));
      in.bytes(values.data() + done, n * sizeof(float), field);
      done += n;
    }
    return values;
  }

  int slots_;
  std::vector<std::string> names_;
  std::vector<std::vector<float>> buffers_;  // parameter-major: buffers_[p * slots_ + s]
  bool initialized_empty_ = false;
  std::string failed_load_;
};

}  // namespace r1
