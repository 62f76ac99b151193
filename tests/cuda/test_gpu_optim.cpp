// Fused AdamW (three steps, fp32 master weights, bf16 copy) and the global
// gradient norm with its clip coefficient, against double-precision references.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <sstream>
#include <string>

#include "adamw_reference.hpp"
#include "gpu_test_support.hpp"
#include "r1/cuda/cuda_adamw.hpp"
#include "r1/cuda/ops/adamw.hpp"
#include "r1/cuda/ops/grad_norm.hpp"
#include "r1/optim/adamw.hpp"

using r1::test::u32;

TEST_CASE("adamw_step follows PyTorch's AdamW for three steps and writes the bf16 copy") {
  const std::int64_t n = 1027;
  r1::gpu::AdamWHyper base;
  base.learning_rate = 1e-3f;
  base.weight_decay = 0.1f;
  base.grad_scale = 0.5f;
  auto params = r1::test::random_values<float>(n, 61);
  r1::gpu::DeviceArena arena(1 << 20);
  auto master = r1::test::upload<float>(arena, params, "master");
  auto m = arena.allocate<float>(n, "m");
  auto v = arena.allocate<float>(n, "v");
  auto copy = arena.allocate<r1::gpu::bf16>(n, "bf16 copy");
  auto grad = arena.allocate<float>(n, "grad");
  auto clip = r1::test::upload<float>(arena, {0.8}, "clip coefficient");
  r1::gpu::fill_zero(m, nullptr, "m");
  r1::gpu::fill_zero(v, nullptr, "v");

  // Reference state in double, and a running bound on each quantity's absolute error.
  std::vector<double> p(params), mom(n, 0.0), var(n, 0.0), err_p(n, 0.0), err_m(n, 0.0), err_v(n, 0.0);
  const double b1 = base.beta1, b2 = base.beta2, lr = base.learning_rate, wd = base.weight_decay,
               eps = base.eps;
  for (int step = 1; step <= 3; ++step) {
    const auto g = r1::test::random_values<float>(n, 70 + step);
    auto grad_upload = r1::test::upload<float>(arena, g, "grad step");
    const auto hyper = r1::gpu::adamw_hyper_for_step(base, step);
    r1::gpu::adamw_step<r1::gpu::bf16>(master.data, m.data, v.data, grad_upload.data, copy.data, n, hyper, clip.data,
                                       nullptr);
    const double bc1 = hyper.bias_correction1, bc2 = hyper.bias_correction2;  // the fp32 values the kernel uses
    const double scale = 0.5 * double(0.8f);
    for (std::int64_t i = 0; i < n; ++i) {
      const double gi = g[i] * scale;
      // g * scale: 2 roundings.  m: b1 m + (1-b1) g, 3 roundings on terms of size b1|m| + (1-b1)|g|.
      const double e_g = 2 * u32 * std::abs(gi);
      err_m[i] = b1 * err_m[i] + (1 - b1) * e_g + 3 * u32 * (b1 * std::abs(mom[i]) + (1 - b1) * std::abs(gi));
      err_v[i] = b2 * err_v[i] + (1 - b2) * 2 * std::abs(gi) * e_g + 4 * u32 * (b2 * var[i] + (1 - b2) * gi * gi);
      mom[i] = b1 * mom[i] + (1 - b1) * gi;
      var[i] = b2 * var[i] + (1 - b2) * gi * gi;
      const double m_hat = mom[i] / bc1, v_hat = var[i] / bc2, denom = std::sqrt(v_hat) + eps;
      const double ratio = m_hat / denom;
      // m_hat, v_hat: + u each; sqrt(v_hat) carries half of v_hat's relative error, + u; + eps, the
      // division and the lr product: 3 u of |ratio|.
      const double e_vhat = err_v[i] / bc2 + u32 * v_hat;
      const double e_denom = (v_hat > 0 ? 0.5 * e_vhat / std::sqrt(v_hat) : std::sqrt(e_vhat)) + 2 * u32 * denom;
      const double e_ratio = (err_m[i] / bc1 + u32 * std::abs(m_hat)) / denom + std::abs(ratio) * e_denom / denom +
                             3 * u32 * std::abs(ratio);
      // decay: p * (1 - lr wd) (2 roundings on |p|), then p - lr * ratio (1 rounding on the result).
      const double decayed = p[i] * (1 - lr * wd);
      err_p[i] = err_p[i] + 2 * u32 * std::abs(p[i]) + lr * e_ratio + u32 * std::abs(decayed - lr * ratio);
      p[i] = decayed - lr * ratio;
    }
  }
  const auto got_p = r1::test::download(master);
  const auto got_m = r1::test::download(m);
  const auto got_v = r1::test::download(v);
  std::vector<double> bound_p(n), bound_m(n), bound_v(n);
  for (std::int64_t i = 0; i < n; ++i) {
    bound_p[i] = err_p[i] + 1e-30;
    bound_m[i] = err_m[i] + 1e-30;
    bound_v[i] = err_v[i] + 1e-30;
  }
  r1::test::check_within(got_m, mom, bound_m, "adamw m");
  r1::test::check_within(got_v, var, bound_v, "adamw v");
  r1::test::check_within(got_p, p, bound_p, "adamw master weights");
  // The bf16 copy is exactly the master weight rounded to nearest even.
  const auto got_copy = r1::test::download(copy);
  int mismatches = 0;
  for (std::int64_t i = 0; i < n; ++i)
    mismatches += got_copy[i] != r1::gpu::round_to_bf16(static_cast<float>(got_p[i]));
  CHECK(mismatches == 0);
  auto bad = base;
  bad.eps = 0.0f;
  CHECK_THROWS_AS(r1::gpu::adamw_step<float>(master.data, m.data, v.data, grad.data, nullptr, n, bad, nullptr, nullptr),
                  r1::Error);
}

TEST_CASE("global_grad_norm and its clip coefficient match the double reference") {
  for (const std::int64_t n : {std::int64_t{3} * 1024 * 256 + 17, std::int64_t{5}, std::int64_t{0}}) {
    INFO("n = ", n);
    const auto g = r1::test::random_values<float>(static_cast<std::size_t>(n), 81);
    double sum = 0;
    for (double v : g) sum += v * v;
    const double norm = std::sqrt(sum);
    r1::gpu::DeviceArena arena(1 << 24);
    auto grads = arena.allocate<float>(static_cast<std::size_t>(n), "grads");
    if (n > 0) grads = r1::test::upload<float>(arena, g, "grads");
    auto workspace = arena.allocate<float>(r1::gpu::grad_norm_workspace_floats, "workspace");
    auto result = arena.allocate<float>(2, "norm and clip");
    const float max_norm = n > 0 ? static_cast<float>(norm / 2) : 1.0f;
    r1::gpu::global_grad_norm(grads.data, n, workspace.data, result.data, result.data + 1, max_norm, nullptr);
    const auto got = r1::test::download(result);
    // Each thread sums ceil(n / (1024 * 256)) <= 4 squares (1 rounding each, plus the square),
    // the block tree adds 10 levels, the double stage nothing at fp32 scale: (4 + 1 + 10) u
    // relative on the sum of squares (no cancellation: all terms are >= 0), halved by the square
    // root, plus the final fp32 conversion: 8.5 u.
    CHECK(std::abs(got[0] - norm) <= 8.5 * u32 * norm);
    // clip = max_norm / (norm + 1e-6): the norm's 8.5 u, the addition and the division: 10.5 u.
    const double expected_clip = std::min(1.0, double(max_norm) / (norm + 1e-6));
    CHECK(std::abs(got[1] - expected_clip) <= 10.5 * u32 * expected_clip);
  }
  CHECK_THROWS_AS(r1::gpu::global_grad_norm(nullptr, 1, nullptr, nullptr, reinterpret_cast<float*>(8), 0.0f, nullptr),
                  r1::Error);
}

TEST_CASE("scale_gradients multiplies each value once in fp32, as r1::clip_grad_norm does on the host") {
  const std::int64_t n = 70001;
  const auto g = r1::test::random_values<float>(static_cast<std::size_t>(n), 91);
  r1::gpu::DeviceArena arena(1 << 20);
  auto grads = r1::test::upload<float>(arena, g, "grads");
  const float factor = 0.3713f;
  r1::gpu::scale_gradients(grads.data, n, factor, nullptr);
  const auto got = r1::test::download(grads);
  int mismatches = 0;  // one correctly rounded fp32 product on both sides: equal bits
  for (std::int64_t i = 0; i < n; ++i) mismatches += got[i] != double(static_cast<float>(g[i]) * factor);
  CHECK(mismatches == 0);
  CHECK_THROWS_AS(r1::gpu::scale_gradients(grads.data, n, std::nanf(""), nullptr), r1::Error);
}

namespace {

// The device side of a model as gpu::DeviceParameters sees it (r1/cuda/device_parameters.hpp):
// three tensors, decayed / not / decayed, so CudaAdamW runs three launches.
struct DeviceModelStandIn {
  r1::gpu::DeviceArena arena{std::size_t{1} << 20};
  std::vector<r1::gpu::DeviceTensor> tensors{{"w1", 0, 600, true}, {"norm", 600, 27, false}, {"w2", 627, 400, true}};
  std::int64_t count = 1027;
  float* master = arena.allocate<float>(1027, "master").data;
  float* grads = arena.allocate<float>(1027, "grads").data;
  r1::gpu::bf16* copy = arena.allocate<r1::gpu::bf16>(1027, "bf16 copy").data;
  int writes = 0;

  std::span<const r1::gpu::DeviceTensor> device_tensors() const { return tensors; }
  std::int64_t device_parameter_count() const { return count; }
  float* device_values() { return master; }
  float* device_gradients() { return grads; }
  r1::gpu::bf16* device_storage() { return copy; }
  cudaStream_t device_stream() const { return nullptr; }
  void device_values_written() { ++writes; }
};

}  // namespace

TEST_CASE("CudaAdamW steps device parameters per weight-decay group and saves r1::AdamW's format") {
  DeviceModelStandIn model;
  const auto initial = r1::test::random_values<float>(1027, 93);
  r1::gpu::copy_to_device<float>(std::vector<float>(initial.begin(), initial.end()),
                                 r1::gpu::DeviceSpan<float>{model.master, 1027}, nullptr, "master");
  r1::AdamWConfig config;
  config.lr = 1e-2f;
  config.weight_decay = 0.1f;
  r1::gpu::CudaAdamW optimizer(config);
  std::vector<r1::test::AdamWReference> reference;
  for (const auto& t : model.tensors)
    reference.emplace_back(std::vector<double>(initial.begin() + t.offset, initial.begin() + t.offset + t.size));
  const r1::gpu::DeviceParameters<DeviceModelStandIn> parameters(model);
  for (int step = 1; step <= 3; ++step) {
    const auto g = r1::test::random_values<float>(1027, 100 + step);
    r1::gpu::copy_to_device<float>(std::vector<float>(g.begin(), g.end()), r1::gpu::DeviceSpan<float>{model.grads, 1027},
                                   nullptr, "grads");
    optimizer.step(parameters);
    r1::gpu::AdamWHyper hyper;
    hyper.learning_rate = config.lr;
    hyper = r1::gpu::adamw_hyper_for_step(hyper, step);
    for (std::size_t t = 0; t < model.tensors.size(); ++t) {
      const auto& tensor = model.tensors[t];
      hyper.weight_decay = tensor.weight_decay ? config.weight_decay : 0.0f;
      reference[t].step(std::vector<double>(g.begin() + tensor.offset, g.begin() + tensor.offset + tensor.size), 1.0,
                        hyper);
    }
  }
  CHECK(model.writes == 3);  // the model learns after each step that its host mirror is stale
  CHECK(optimizer.on_device());
  const auto got = r1::test::download(r1::gpu::DeviceSpan<float>{model.master, 1027});
  const auto copy = r1::test::download(r1::gpu::DeviceSpan<r1::gpu::bf16>{model.copy, 1027});
  int copy_mismatches = 0;
  for (std::size_t t = 0; t < model.tensors.size(); ++t) {
    const auto& tensor = model.tensors[t];
    const std::vector<double> part(got.begin() + tensor.offset, got.begin() + tensor.offset + tensor.size);
    r1::test::check_within(part, reference[t].p, r1::test::AdamWReference::with_floor(reference[t].err_p), tensor.name);
  }
  for (std::size_t i = 0; i < got.size(); ++i) copy_mismatches += copy[i] != r1::gpu::round_to_bf16(float(got[i]));
  CHECK(copy_mismatches == 0);

  // The state file is r1::AdamW's: it loads there and saves back byte for byte, and a fresh
  // CudaAdamW that loads it continues exactly as this one.
  std::ostringstream saved;
  optimizer.save_state(saved);
  r1::AdamW adamw(config);
  std::istringstream in(saved.str());
  adamw.load_state(in);
  std::ostringstream resaved;
  adamw.save_state(resaved);
  CHECK(resaved.str() == saved.str());

  DeviceModelStandIn twin;
  r1::gpu::copy_to_device<float>(r1::gpu::copy_to_host(r1::gpu::DeviceSpan<float>{model.master, 1027}, nullptr, "m"),
                                 r1::gpu::DeviceSpan<float>{twin.master, 1027}, nullptr, "master");
  r1::gpu::CudaAdamW resumed(config);
  std::istringstream again(saved.str());
  resumed.load_state(again);  // unbound: kept on the host until the first step binds it
  const auto g = r1::test::random_values<float>(1027, 200);
  for (auto* m : {&model, &twin})
    r1::gpu::copy_to_device<float>(std::vector<float>(g.begin(), g.end()), r1::gpu::DeviceSpan<float>{m->grads, 1027},
                                   nullptr, "grads");
  optimizer.step(parameters);
  resumed.step(r1::gpu::DeviceParameters<DeviceModelStandIn>(twin));
  CHECK(r1::test::download(r1::gpu::DeviceSpan<float>{twin.master, 1027}) ==
        r1::test::download(r1::gpu::DeviceSpan<float>{model.master, 1027}));
  CHECK(resumed.steps() == 4);
}
