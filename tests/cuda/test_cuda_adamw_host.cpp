// gpu::CudaAdamW without a device: its host step (the CPU twin of the fused kernel:
// the same r1/cuda/math/adamw.hpp function) against the double-precision AdamW
// reference with derived fp32 error bounds, and its state files, which must be
// r1::AdamW's format byte for byte in both directions (a run moves between the CPU
// and the GPU through a checkpoint). Needs the CUDA runtime library, no device.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "adamw_reference.hpp"
#include "r1/concepts.hpp"
#include "r1/cuda/cuda_adamw.hpp"
#include "r1/optim/adamw.hpp"

static_assert(r1::Optimizer<r1::gpu::CudaAdamW>);

namespace {

// Two named parameters (one decayed matrix, one undecayed norm) over owned buffers.
struct HostParameters {
  std::vector<float> values, grads;
  std::vector<r1::ParameterView> views;
  explicit HostParameters(unsigned seed) : values(37), grads(37) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (auto& v : values) v = normal(rng);
    const std::span<float> all(values), all_grads(grads);
    views.push_back({"model.layers.0.mlp.up_proj.weight", {4, 7}, all.subspan(0, 28), all_grads.subspan(0, 28), true});
    views.push_back({"model.norm.weight", {9}, all.subspan(28, 9), all_grads.subspan(28, 9), false});
  }
  void set_gradients(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (auto& g : grads) g = normal(rng);
  }
};

std::string state_of(const auto& optimizer) {
  std::ostringstream out;
  optimizer.save_state(out);
  return out.str();
}

}  // namespace

TEST_CASE("CudaAdamW's host step follows AdamW within the derived fp32 bounds") {
  r1::AdamWConfig config;
  config.lr = 1e-2f;
  config.weight_decay = 0.1f;
  r1::gpu::CudaAdamW optimizer(config);
  HostParameters params(3);
  std::vector<double> initial(params.values.begin(), params.values.end());
  // The reference per tensor: the decayed matrix and the undecayed norm.
  r1::test::AdamWReference matrix({initial.begin(), initial.begin() + 28}), norm({initial.begin() + 28, initial.end()});
  for (int step = 1; step <= 3; ++step) {
    params.set_gradients(40 + step);
    const std::vector<double> g(params.grads.begin(), params.grads.end());
    optimizer.step(std::span<const r1::ParameterView>(params.views));
    r1::gpu::AdamWHyper hyper;
    hyper.learning_rate = config.lr;
    hyper = r1::gpu::adamw_hyper_for_step(hyper, step);
    hyper.weight_decay = config.weight_decay;
    matrix.step({g.begin(), g.begin() + 28}, 1.0, hyper);
    hyper.weight_decay = 0.0f;
    norm.step({g.begin() + 28, g.end()}, 1.0, hyper);
  }
  std::vector<double> got(params.values.begin(), params.values.end());
  r1::test::AdamWReference* parts[] = {&matrix, &norm};
  std::size_t at = 0;
  for (auto* part : parts)
    for (std::size_t i = 0; i < part->p.size(); ++i, ++at) {
      INFO("value ", at);
      CHECK(std::abs(got[at] - part->p[i]) <= part->err_p[i] + 1e-30);
    }
  CHECK(optimizer.steps() == 3);
  CHECK_FALSE(optimizer.on_device());
}

TEST_CASE("CudaAdamW writes and reads r1::AdamW's state format, in both directions") {
  r1::AdamWConfig config;
  config.lr = 3e-3f;
  HostParameters a(5), b(5);

  SUBCASE("CudaAdamW -> AdamW") {
    r1::gpu::CudaAdamW cuda_adamw(config);
    for (int step = 0; step < 2; ++step) {
      a.set_gradients(60 + step);
      cuda_adamw.step(std::span<const r1::ParameterView>(a.views));
    }
    const std::string saved = state_of(cuda_adamw);
    r1::AdamW adamw(config);
    std::istringstream in(saved);
    adamw.load_state(in);
    CHECK(adamw.steps() == 2);
    CHECK(state_of(adamw) == saved);  // every field, moment and the checksum as AdamW writes them
  }
  SUBCASE("AdamW -> CudaAdamW, unbound and bound") {
    r1::AdamW adamw(config);
    for (int step = 0; step < 2; ++step) {
      a.set_gradients(70 + step);
      adamw.step(std::span<const r1::ParameterView>(a.views));
    }
    const std::string saved = state_of(adamw);
    r1::gpu::CudaAdamW unbound(config);
    std::istringstream in(saved);
    unbound.load_state(in);
    CHECK(state_of(unbound) == saved);
    // Binding the loaded state to parameters of the same names and sizes keeps it.
    b.set_gradients(0);
    std::fill(b.grads.begin(), b.grads.end(), 0.0f);
    r1::gpu::CudaAdamW bound(config);
    bound.step(std::span<const r1::ParameterView>(b.views));  // binds; zero gradients
    std::istringstream again(saved);
    bound.load_state(again);
    CHECK(bound.steps() == 2);
    CHECK(state_of(bound) == saved);
  }
  SUBCASE("a corrupted or mismatched state is an r1::Error and changes nothing") {
    r1::gpu::CudaAdamW cuda_adamw(config);
    a.set_gradients(80);
    cuda_adamw.step(std::span<const r1::ParameterView>(a.views));
    const std::string before = state_of(cuda_adamw);
    std::string corrupted = before;
    corrupted[corrupted.size() / 2] ^= 0x5a;
    std::istringstream bad(corrupted);
    CHECK_THROWS_AS(cuda_adamw.load_state(bad), r1::Error);
    std::istringstream truncated(before.substr(0, before.size() - 9));
    CHECK_THROWS_AS(cuda_adamw.load_state(truncated), r1::Error);
    CHECK(state_of(cuda_adamw) == before);
    // Other parameters: a different name.
    HostParameters other(5);
    other.views[1].name = "model.layers.0.input_layernorm.weight";
    r1::gpu::CudaAdamW elsewhere(config);
    elsewhere.step(std::span<const r1::ParameterView>(other.views));
    std::istringstream in(before);
    CHECK_THROWS_AS(elsewhere.load_state(in), r1::Error);
    // And the state stays with the parameters it first stepped.
    CHECK_THROWS_AS(cuda_adamw.step(std::span<const r1::ParameterView>(other.views)), r1::Error);
  }
}
