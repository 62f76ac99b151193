#pragma once
// LoRA adapters of a decoder's projections (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language
// Models", eq. 3): a frozen W0 (out, in) gains B A, B (out, r) and A (r, in), scaled by s = alpha / r:
//
//   y = x W0^T + s (x A^T) B^T                                   forward;  xa = x A^T (N, r) kept
//   dB += s dy^T xa,  dxa = s dy B,  dA += dxa^T x,  dx += dxa A   backward
//
// One flat buffer of values (and one of gradients) in layer order, A then B of each targeted module, as
// PEFT names and shapes them (lora_tensor_name). A is drawn as PEFT's default init does, kaiming-uniform
// with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)) (PEFT LoraLayer.reset_lora_parameters; torch's
// kaiming_uniform_: bound = sqrt(6 / ((1 + a^2) in))); B = 0, so a fresh adapter leaves the model unchanged.
// The projections write into fused outputs (q|k|v, gate|up): a module adds into its columns of them.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace r1 {

// Where one projection's output lands in its (possibly fused) output rows.
struct LoraProjection {
  std::int64_t in = 0, out = 0;   // W0 is (out, in)
  std::int64_t column = 0;        // first output column in the fused rows
  std::int64_t row_stride = 0;    // width of the fused rows
};

template <class Scalar>
class BasicLoraAdapters {
 public:
  using Index = Eigen::Index;

  struct Module {
    LoraTarget target;
    std::int64_t layer = 0;
    LoraProjection projection;
    std::int64_t a = 0, b = 0;  // offsets of A (r, in) and B (out, r) in the flat buffers
    std::int64_t index_in_layer = 0;
  };
  struct Tensor {
    std::string name;
    std::vector<std::int64_t> shape;
    std::int64_t offset = 0, size = 0;
  };

  // `projection_of(target)` gives each target's shape and place; the same for every layer.
  template <class ProjectionOf>
  BasicLoraAdapters(const LoraConfig& config, std::int64_t layers, ProjectionOf&& projection_of) : config_(config) {
    config_.validate("lora");
    const std::int64_t r = config_.r;
    std::int64_t offset = 0;
    for (std::int64_t l = 0; l < layers; ++l) {
      std::int64_t index = 0;
      for (int t = 0; t < kLoraTargetCount; ++t) {
        const auto target = static_cast<LoraTarget>(t);
        if (!config_.targets(target)) continue;
        Module module{target, l, projection_of(target), 0, 0, index++};
        module.a = offset;
        tensors_.push_back({lora_tensor_name(l, target, false), {r, module.projection.in}, offset, r * module.projection.in});
        offset += r * module.projection.in;
        module.b = offset;
        tensors_.push_back({lora_tensor_name(l, target, true), {module.projection.out, r}, offset, module.projection.out * r});
        offset += module.projection.out * r;
        modules_.push_back(module);
      }
      if (l == 0) modules_per_layer_ = index;
    }
    values_.assign(static_cast<std::size_t>(offset), Scalar(0));
    gradients_.assign(static_cast<std::size_t>(offset), Scalar(0));
  }

  const LoraConfig& config() const { return config_; }
  Scalar scale() const { return static_cast<Scalar>(config_.scale()); }
  std::int64_t rank() const { return config_.r; }
  std::int64_t parameter_count() const { return static_cast<std::int64_t>(values_.size()); }
  std::int64_t modules_per_layer() const { return modules_per_layer_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }
  std::span<Scalar> values() { return values_; }
  std::span<const Scalar> values() const { return values_; }
  std::span<Scalar> gradients() { return gradients_; }
  std::span<const Scalar> gradients() const { return gradients_; }
  void zero_grad() { std::fill(gradients_.begin(), gradients_.end(), Scalar(0)); }

  // The targeted modules of `layer`, in target order.
  std::span<const Module> modules_of(std::int64_t layer) const {
    return std::span<const Module>(modules_).subspan(static_cast<std::size_t>(layer * modules_per_layer_),
                                                     static_cast<std::size_t>(modules_per_layer_));
  }
  const Module* find(std::int64_t layer, LoraTarget target) const {
    for (const auto& module : modules_of(layer))
      if (module.target == target) return &module;
    return nullptr;
  }

  // A ~ U(-1/sqrt(in), 1/sqrt(in)) from Philox(seed), B = 0 (PEFT's default; see the top).
  void init(std::uint64_t seed) {
    Philox rng(seed);
    for (const auto& module : modules_) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(module.projection.in));
      Scalar* a = values_.data() + module.a;
      for (std::int64_t i = 0; i < config_.r * module.projection.in; ++i)
        a[i] = static_cast<Scalar>((2 * rng.uniform() - 1) * bound);
      std::fill_n(values_.data() + module.b, module.projection.out * config_.r, Scalar(0));
    }
  }

  // y[:, column .. column + out) += s (x A^T) B^T, rows of y `row_stride` apart; xa (N, r) = x A^T.
  void forward(const Module& module, const Scalar* x, Index rows, Scalar* y, Scalar* xa) const {
    const Index r = config_.r, in = module.projection.in, out = module.projection.out;
    const auto A = matrix(values_.data() + module.a, r, in);
    const auto B = matrix(values_.data() + module.b, out, r);
    const Scalar s = scale();
    parallel_chunks(rows, chunk_count(rows, 32), [&](int, Index begin, Index end) {
      const auto X = matrix(x + begin * in, end - begin, in);
      auto XA = mutable_matrix(xa + begin * r, end - begin, r);
      XA.noalias() = X * A.transpose();                                                     // (n, r)
      strided(y + begin * module.projection.row_stride + module.projection.column, end - begin, out,
              module.projection.row_stride)
          .noalias() += s * XA * B.transpose();                                             // (n, out)
    });
  }

  // From dy = d loss / d y (the fused rows): dA, dB accumulate; dx (N, in) += s (dy B) A. `scratch` holds
  // N x r values.
  void backward(const Module& module, const Scalar* x, const Scalar* xa, const Scalar* dy, Index rows, Scalar* dx,
                AlignedVector<Scalar>& scratch) {
    const Index r = config_.r, in = module.projection.in, out = module.projection.out;
    if (static_cast<Index>(scratch.size()) < rows * r) scratch.resize(static_cast<std::size_t>(rows * r));
    const auto A = matrix(values_.data() + module.a, r, in);
    const auto B = matrix(values_.data() + module.b, out, r);
    const Scalar s = scale();
    const auto dY = const_strided(dy + module.projection.column, rows, out, module.projection.row_stride);
    const auto XA = matrix(xa, rows, r);
    const auto X = matrix(x, rows, in);
    auto dXA = mutable_matrix(scratch.data(), rows, r);
    mutable_matrix(gradients_.data() + module.b, out, r).noalias() += s * dY.transpose() * XA;  // (out, r)
    dXA.noalias() = s * dY * B;                                                               // (N, r)
    mutable_matrix(gradients_.data() + module.a, r, in).noalias() += dXA.transpose() * X;     // (r, in)
    parallel_chunks(rows, chunk_count(rows, 32), [&](int, Index begin, Index end) {
      mutable_matrix(dx + begin * in, end - begin, in).noalias() +=
          matrix(scratch.data() + begin * r, end - begin, r) * A;                              // (n, in)
    });
  }

 private:
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  static Eigen::Map<const RowMajor> matrix(const Scalar* data, Index rows, Index cols) { return {data, rows, cols}; }
  static Eigen::Map<RowMajor> mutable_matrix(Scalar* data, Index rows, Index cols) { return {data, rows, cols}; }
  static Eigen::Map<RowMajor, 0, Stride> strided(Scalar* data, Index rows, Index cols, Index stride) {
    return {data, rows, cols, Stride(stride)};
  }
  static Eigen::Map<const RowMajor, 0, Stride> const_strided(const Scalar* data, Index rows, Index cols, Index stride) {
    return {data, rows, cols, Stride(stride)};
  }

  LoraConfig config_;
  std::vector<Module> modules_;
  std::vector<Tensor> tensors_;
  std::int64_t modules_per_layer_ = 0;
  AlignedVector<Scalar> values_, gradients_;
};

}  // namespace r1
