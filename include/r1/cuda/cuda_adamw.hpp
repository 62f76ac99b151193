#pragma once
// r1::gpu::CudaAdamW: the AdamW policy of a recipe whose model lives on the GPU
// (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", algorithm 2, in
// torch.optim.AdamW's form; the per-value math is r1/cuda/math/adamw.hpp). It satisfies
// r1::Optimizer like r1::AdamW, and:
//   - step(DeviceParameters) (what Transformer<cuda>::parameters() returns) runs the fused
//     kernel (kernels/adamw.cu) over the model's fp32 master weights and gradients with the
//     moments on the device, and rewrites the bf16 storage copy in the same pass; nothing
//     crosses to the host. Adjacent tensors with the same weight-decay flag are one launch.
//   - step(std::span<const ParameterView>) runs the same per-value function on the host, with
//     host moments: the CPU twin of the device step (and AdamW for any host model).
//   - save_state / load_state write and read r1::AdamW's format (tag "r1.AdamW", version 2):
//     the same file moves a run between r1::AdamW on the CPU and CudaAdamW on the GPU.
// The state belongs to the first parameter list it steps (device or host) and must meet
// the same names and sizes afterwards. A state loaded before the first step is kept on the
// host and moved to the device by that step.
//
//   using Recipe = r1::Grpo<r1::Transformer<r1::cuda>, r1::KvSampler, Verifier, r1::gpu::CudaAdamW, Objective>;
//
// Rounding differs from r1::AdamW's host loop (which divides by sqrt(1 - b2^t) after the
// square root): the two agree to a few fp32 roundings of each update, not bit for bit.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/cuda/arena.hpp"
#include "r1/cuda/check.hpp"
#include "r1/cuda/device_parameters.hpp"
#include "r1/cuda/math/adamw.hpp"
#include "r1/cuda/ops/adamw.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/optimizer_base.hpp"
#include "r1/optim/state_io.hpp"

namespace r1::gpu {

class CudaAdamW : public OptimizerBase<AdamWConfig> {
 public:
  CudaAdamW() : CudaAdamW(AdamWConfig{}) {}
  explicit CudaAdamW(const AdamWConfig& config) : OptimizerBase(config, "CudaAdamW") {}

  // Sizes (zeroed) device moments for `parameters` now rather than at the first step.
  template <class Model>
  void init(const DeviceParameters<Model>& parameters) {
    bind_device(parameters.tensors(), parameters.count(), parameters.stream());
  }

  template <class Model>
  void step(const DeviceParameters<Model>& parameters) {
    using T = std::remove_pointer_t<decltype(parameters.storage())>;
    bind_device(parameters.tensors(), parameters.count(), parameters.stream());
    float* master = parameters.values();
    const float* grad = parameters.gradients();
    T* copy = parameters.storage();
    ++step_;
    AdamWHyper hyper = hyper_for_step();
    // Runs of adjacent tensors that share the weight-decay flag: one launch each.
    for (std::size_t first = 0; first < slots_.size();) {
      std::size_t last = first + 1;
      while (last < slots_.size() && slots_[last].weight_decay == slots_[first].weight_decay &&
             slots_[last].offset == slots_[last - 1].offset + slots_[last - 1].size)
        ++last;
      const std::int64_t offset = slots_[first].offset;
      const std::int64_t count = slots_[last - 1].offset + slots_[last - 1].size - offset;
      hyper.weight_decay = slots_[first].weight_decay ? config_.weight_decay : 0.0f;
      adamw_step<T>(master + offset, device_m_ + offset, device_v_ + offset, grad + offset,
                    copy != nullptr ? copy + offset : nullptr, count, hyper, nullptr, parameters.stream());
      first = last;
    }
    parameters.values_written();
  }

  // The CPU twin: adamw_update (the kernel's own function) over host parameters and host moments.
  void step(std::span<const ParameterView> parameters) {
    bind_host(parameters);
    ++step_;
    AdamWHyper hyper = hyper_for_step();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const ParameterView& p = parameters[i];
      hyper.weight_decay = p.weight_decay ? config_.weight_decay : 0.0f;
      float* m = host_m_.data() + slots_[i].offset;
      float* v = host_v_.data() + slots_[i].offset;
      for (std::size_t k = 0; k < p.value.size(); ++k) {
        const AdamWState s = adamw_update({p.value[k], m[k], v[k]}, p.grad[k], hyper);
        p.value[k] = s.param;
        m[k] = s.m;
        v[k] = s.v;
      }
    }
  }

  // r1::AdamW's layout (r1/optim/adamw.hpp, r1/optim/slot_buffers.hpp): tag, version, lr, b1, b2, eps,
  // weight decay, step, parameter count, then per parameter its name, m and v; CRC-32 trailer.
  void save_state(std::ostream& out) const {
    std::vector<float> m, v;
    moments_on_host(m, v);
    StateWriter writer(out, "CudaAdamW state");
    AdamW::write_state_header(writer, config_, step_);
    writer.scalar<std::uint64_t>(slots_.size());
    for (const Slot& slot : slots_) {
      writer.text(slot.name);
      writer.floats(std::span<const float>(m.data() + slot.offset, static_cast<std::size_t>(slot.size)));
      writer.floats(std::span<const float>(v.data() + slot.offset, static_cast<std::size_t>(slot.size)));
    }
    writer.finish();
  }

  // Restores the learning rate, step count and moments (b1, b2, eps, weight decay stay as configured).
  // Everything is read and its checksum verified before anything changes: a failed load leaves the
  // optimizer as it was. A bound state requires the file's names and sizes to match.
  void load_state(std::istream& in) {
    StateReader reader(in, "CudaAdamW state");
    const AdamW::StateHeader header = AdamW::read_state_header(reader, config_, "CudaAdamW state");
    const auto count = reader.scalar<std::uint64_t>("parameter count");
    std::vector<Slot> slots;
    std::vector<float> m, v;
    if (home_ != Home::none) {
      require(count == slots_.size(), "CudaAdamW state: the file holds ", count, " parameters, expected ",
              slots_.size());
      m.assign(static_cast<std::size_t>(total_), 0.0f);
      v.assign(static_cast<std::size_t>(total_), 0.0f);
      for (const Slot& slot : slots_) {
        const std::string name = reader.text("parameter name");
        require(name == slot.name, "CudaAdamW state: parameter '", name, "' in the file, expected '", slot.name, "'");
        const std::string field = "buffer of '" + name + "'";
        for (float* buffer : {m.data() + slot.offset, v.data() + slot.offset}) {
          const auto size = reader.scalar<std::uint64_t>("buffer length");
          require(size == static_cast<std::uint64_t>(slot.size), "CudaAdamW state: ", field, " has ", size,
                  " values, expected ", slot.size);
          reader.bytes(buffer, static_cast<std::size_t>(slot.size) * sizeof(float), field);
        }
      }
    } else {
      std::int64_t offset = 0;
      for (std::uint64_t i = 0; i < count; ++i) {
        Slot slot;
        slot.name = reader.text("parameter name");
        slot.offset = offset;
        const std::string field = "buffer of '" + slot.name + "'";
        append_floats(reader, field, -1, m);
        slot.size = static_cast<std::int64_t>(m.size()) - offset;
        append_floats(reader, field, slot.size, v);
        offset += slot.size;
        slots.push_back(std::move(slot));
      }
    }
    reader.finish();
    config_.lr = header.lr;
    step_ = header.step;
    switch (home_) {
      case Home::device:
        R1_CUDA_CHECK(cudaDeviceSynchronize(), "CudaAdamW::load_state");
        R1_CUDA_CHECK(cudaMemcpy(device_m_, m.data(), m.size() * sizeof(float), cudaMemcpyHostToDevice),
                      "CudaAdamW::load_state");
        R1_CUDA_CHECK(cudaMemcpy(device_v_, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice),
                      "CudaAdamW::load_state");
        break;
      case Home::host:
        host_m_ = std::move(m);
        host_v_ = std::move(v);
        break;
      case Home::none:
        slots_ = std::move(slots);
        host_m_ = std::move(m);
        host_v_ = std::move(v);
        pending_ = true;
        break;
    }
  }

  // Zero moments for the same parameters and step 0; drops a state loaded but not yet bound.
  void reset() {
    step_ = 0;
    std::fill(host_m_.begin(), host_m_.end(), 0.0f);
    std::fill(host_v_.begin(), host_v_.end(), 0.0f);
    if (home_ == Home::device) {
      R1_CUDA_CHECK(cudaDeviceSynchronize(), "CudaAdamW::reset");
      R1_CUDA_CHECK(cudaMemset(device_m_, 0, static_cast<std::size_t>(total_) * sizeof(float)), "CudaAdamW::reset");
      R1_CUDA_CHECK(cudaMemset(device_v_, 0, static_cast<std::size_t>(total_) * sizeof(float)), "CudaAdamW::reset");
    }
    if (home_ == Home::none) {
      slots_.clear();
      host_m_.clear();
      host_v_.clear();
      pending_ = false;
    }
  }

  bool on_device() const { return home_ == Home::device; }

 private:
  enum class Home { none, host, device };
  struct Slot {
    std::string name;
    std::int64_t offset = 0, size = 0;  // in the moment buffers
    bool weight_decay = true;
  };

  AdamWHyper hyper_for_step() const {
    AdamWHyper base;
    base.learning_rate = config_.lr;
    base.beta1 = config_.beta1;
    base.beta2 = config_.beta2;
    base.eps = config_.eps;
    return adamw_hyper_for_step(base, static_cast<long>(step_));
  }

  // A state loaded while unbound must name the same tensors, with the same sizes, in order.
  template <class Tensors>
  void check_pending(const Tensors& tensors, const char* who) const {
    require(tensors.size() == slots_.size(), who, ": the loaded state holds ", slots_.size(), " parameters, the model ",
            tensors.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const auto size = static_cast<std::int64_t>(tensor_size(tensors[i]));
      require(tensor_name(tensors[i]) == slots_[i].name && size == slots_[i].size, who, ": parameter ", i, " is '",
              tensor_name(tensors[i]), "' of ", size, " values, the loaded state holds '", slots_[i].name, "' of ",
              slots_[i].size);
    }
  }
  static const std::string& tensor_name(const DeviceTensor& t) { return t.name; }
  static std::size_t tensor_size(const DeviceTensor& t) { return static_cast<std::size_t>(t.size); }
  static const std::string& tensor_name(const ParameterView& p) { return p.name; }
  static std::size_t tensor_size(const ParameterView& p) { return p.value.size(); }

  void bind_device(std::span<const DeviceTensor> tensors, std::int64_t count, cudaStream_t stream) {
    require(home_ != Home::host, "CudaAdamW::step: this state belongs to host parameters; a device model needs its "
                                 "own CudaAdamW");
    if (home_ == Home::device) {
      require(tensors.size() == slots_.size() && count == total_, "CudaAdamW::step: got ", tensors.size(),
              " tensors of ", count, " values, the state holds ", slots_.size(), " of ", total_);
      for (std::size_t i = 0; i < tensors.size(); ++i)
        require(tensors[i].name == slots_[i].name && tensors[i].offset == slots_[i].offset &&
                    tensors[i].size == slots_[i].size,
                "CudaAdamW::step: tensor ", i, " is '", tensors[i].name, "', the state holds '", slots_[i].name, "'");
      return;
    }
    if (pending_) check_pending(tensors, "CudaAdamW::step");
    for (const DeviceTensor& t : tensors)
      require(t.offset >= 0 && t.size >= 0 && t.offset + t.size <= count, "CudaAdamW::step: tensor '", t.name,
              "' at [", t.offset, ", ", t.offset + t.size, ") lies outside the ", count, " parameters");
    arena_ = DeviceArena(2 * DeviceArena::padded_bytes<float>(static_cast<std::size_t>(count)));
    device_m_ = arena_.allocate<float>(static_cast<std::size_t>(count), "AdamW first moments").data;
    device_v_ = arena_.allocate<float>(static_cast<std::size_t>(count), "AdamW second moments").data;
    fill_zero(DeviceSpan<float>{device_m_, static_cast<std::size_t>(count)}, stream, "CudaAdamW moments");
    fill_zero(DeviceSpan<float>{device_v_, static_cast<std::size_t>(count)}, stream, "CudaAdamW moments");
    std::vector<Slot> slots;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const DeviceTensor& t = tensors[i];
      slots.push_back({t.name, t.offset, t.size, t.weight_decay});
      if (pending_ && t.size > 0) {  // the loaded moments, from their packed host layout to the model's
        R1_CUDA_CHECK(cudaMemcpyAsync(device_m_ + t.offset, host_m_.data() + slots_[i].offset,
                                      static_cast<std::size_t>(t.size) * sizeof(float), cudaMemcpyHostToDevice, stream),
                      "CudaAdamW::step");
        R1_CUDA_CHECK(cudaMemcpyAsync(device_v_ + t.offset, host_v_.data() + slots_[i].offset,
                                      static_cast<std::size_t>(t.size) * sizeof(float), cudaMemcpyHostToDevice, stream),
                      "CudaAdamW::step");
      }
    }
    R1_CUDA_CHECK(cudaStreamSynchronize(stream), "CudaAdamW::step");  // before the host buffers go
    slots_ = std::move(slots);
    total_ = count;
    host_m_ = {};
    host_v_ = {};
    pending_ = false;
    home_ = Home::device;
  }

  void bind_host(std::span<const ParameterView> parameters) {
    require(home_ != Home::device, "CudaAdamW::step: this state belongs to a device model's parameters; got host "
                                   "parameters (pass the model's DeviceParameters, or use another optimizer)");
    for (const ParameterView& p : parameters)
      require(p.grad.size() == p.value.size(), "CudaAdamW::step: parameter '", p.name, "' has ", p.value.size(),
              " values but ", p.grad.size(), " gradients");
    if (home_ == Home::host || pending_) {
      check_pending(parameters, "CudaAdamW::step");
    } else {
      std::int64_t offset = 0;
      for (const ParameterView& p : parameters) {
        slots_.push_back({p.name, offset, static_cast<std::int64_t>(p.value.size()), p.weight_decay});
        offset += static_cast<std::int64_t>(p.value.size());
      }
      host_m_.assign(static_cast<std::size_t>(offset), 0.0f);
      host_v_.assign(static_cast<std::size_t>(offset), 0.0f);
    }
    total_ = static_cast<std::int64_t>(host_m_.size());
    pending_ = false;
    home_ = Home::host;
  }

  // m and v in the layout of slots_ (offset, size), for writing.
  void moments_on_host(std::vector<float>& m, std::vector<float>& v) const {
    if (home_ != Home::device) {
      m = host_m_;
      v = host_v_;
      return;
    }
    m.resize(static_cast<std::size_t>(total_));
    v.resize(static_cast<std::size_t>(total_));
    R1_CUDA_CHECK(cudaDeviceSynchronize(), "CudaAdamW::save_state");
    R1_CUDA_CHECK(cudaMemcpy(m.data(), device_m_, m.size() * sizeof(float), cudaMemcpyDeviceToHost),
                  "CudaAdamW::save_state");
    R1_CUDA_CHECK(cudaMemcpy(v.data(), device_v_, v.size() * sizeof(float), cudaMemcpyDeviceToHost),
                  "CudaAdamW::save_state");
  }

  // Appends one float array to `out`; its length must be `expected` unless that is negative. Read in
  // chunks, so a corrupted length fails at the end of the file rather than allocating what it claims.
  static void append_floats(StateReader& reader, const std::string& field, std::int64_t expected,
                            std::vector<float>& out) {
    const auto size = reader.scalar<std::uint64_t>("buffer length");
    require(expected < 0 || size == static_cast<std::uint64_t>(expected), "CudaAdamW state: ", field, " has ", size,
            " values, expected ", expected);
    constexpr std::uint64_t chunk = 1 << 20;
    for (std::uint64_t done = 0; done < size;) {
      const std::uint64_t n = std::min(chunk, size - done);
      const std::size_t at = out.size();
      out.resize(at + static_cast<std::size_t>(n));
      reader.bytes(out.data() + at, static_cast<std::size_t>(n) * sizeof(float), field);
      done += n;
    }
  }

  Home home_ = Home::none;
  std::vector<Slot> slots_;
  std::int64_t total_ = 0;
  bool pending_ = false;  // slots_ and host moments came from load_state and are not bound yet
  std::vector<float> host_m_, host_v_;
  DeviceArena arena_;
  float* device_m_ = nullptr;
  float* device_v_ = nullptr;
};

}  // namespace r1::gpu
