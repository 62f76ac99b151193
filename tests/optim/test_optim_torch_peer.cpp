// AdamW and SGD against torch.optim (tests/optim/torch_optim_peer.py) over six
// steps of random gradients, with a parameter excluded from weight decay.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <unistd.h>
#include <vector>

#include "../rl/python_peer.hpp"
#include "r1/core/rng.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/sgd.hpp"

namespace {

struct Case {
  std::string label;
  std::vector<std::vector<float>> values;                  // per parameter
  std::vector<std::vector<std::vector<float>>> grads;      // per step, per parameter
  std::vector<bool> decays;
};

Case random_case(r1::Philox& rng, std::string label) {
  Case c{std::move(label), {}, {}, {}};
  const std::size_t sizes[] = {5, 3};
  for (std::size_t s : sizes) {
    std::vector<float> v(s);
    for (float& x : v) x = static_cast<float>(2 * rng.uniform() - 1);
    c.values.push_back(v);
  }
  c.decays = {true, false};
  for (int step = 0; step < 6; ++step) {
    std::vector<std::vector<float>> per_param;
    for (std::size_t s : sizes) {
      std::vector<float> g(s);
      for (float& x : g) x = static_cast<float>(rng.normal());
      per_param.push_back(g);
    }
    c.grads.push_back(per_param);
  }
  return c;
}

template <class Optimizer>
std::vector<std::vector<float>> run_mine(Optimizer optimizer, Case c) {
  std::vector<std::vector<float>> grads(c.values.size());
  const std::vector<std::string> names{"first.weight", "second.bias"};
  for (const auto& step_grads : c.grads) {
    std::vector<r1::ParameterView> views;
    for (std::size_t p = 0; p < c.values.size(); ++p) {
      grads[p] = step_grads[p];
      views.push_back({names[p], {static_cast<std::int64_t>(c.values[p].size())}, c.values[p], grads[p],
                       c.decays[p]});
    }
    optimizer.step(views);
  }
  return c.values;
}

r1::Json case_json(const Case& c, const std::string& optimizer, const r1::Json& config) {
  r1::Json params = r1::Json::array();
  for (std::size_t p = 0; p < c.values.size(); ++p) params.push_back({{"value", c.values[p]}, {"weight_decay", c.decays[p]}});
  return {{"optimizer", optimizer}, {"config", config}, {"params", params}, {"grads", c.grads}};
}

}  // namespace

TEST_CASE("AdamW and SGD match torch.optim over six steps") {
  r1::test::require_python_torch();
  r1::Philox rng(3);
  r1::Json cases = r1::Json::array();
  std::vector<std::vector<std::vector<float>>> mine;
  std::vector<std::string> labels;
  for (const r1::AdamWConfig& config : {r1::AdamWConfig{1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f},
                                        r1::AdamWConfig{3e-3f, 0.9f, 0.95f, 1e-6f, 0.0f}}) {
    const Case c = random_case(rng, "adamw");
    mine.push_back(run_mine(r1::AdamW(config), c));
    labels.push_back(c.label + " beta2=" + std::to_string(config.beta2));
    cases.push_back(case_json(c, "adamw",
                              {{"lr", config.lr}, {"beta1", config.beta1}, {"beta2", config.beta2}, {"eps", config.eps},
                               {"weight_decay", config.weight_decay}}));
  }
  for (const r1::SgdConfig& config : {r1::SgdConfig{0.1f, 0.9f, 0.0f, 0.01f, false}, r1::SgdConfig{0.1f, 0.9f, 0.0f, 0.01f, true},
                                      r1::SgdConfig{0.05f, 0.5f, 0.1f, 0.0f, false}, r1::SgdConfig{0.05f, 0.0f, 0.0f, 0.0f, false}}) {
    const Case c = random_case(rng, "sgd");
    mine.push_back(run_mine(r1::Sgd(config), c));
    labels.push_back(c.label + " momentum=" + std::to_string(config.momentum) + (config.nesterov ? " nesterov" : ""));
    cases.push_back(case_json(c, "sgd",
                              {{"lr", config.lr}, {"momentum", config.momentum}, {"dampening", config.dampening},
                               {"weight_decay", config.weight_decay}, {"nesterov", config.nesterov}}));
  }
  const std::string script = std::string(R1_SOURCE_DIR) + "/tests/optim/torch_optim_peer.py";
  const r1::Json peer = r1::test::run_python_peer(script, cases, "r1_optim_peer_" + std::to_string(::getpid()));
  REQUIRE(peer.size() == mine.size());
  for (std::size_t c = 0; c < mine.size(); ++c) {
    CAPTURE(labels[c]);
    const auto expected = peer[c]["values"].get<std::vector<std::vector<double>>>();
    REQUIRE(expected.size() == mine[c].size());
    for (std::size_t p = 0; p < expected.size(); ++p)
      for (std::size_t k = 0; k < expected[p].size(); ++k) {
        CAPTURE(p);
        CAPTURE(k);
        // Both sides are float32 and differ only in the order and fusion of a few
        // operations: ≤ 4 roundings of 2^-24 per step, 6 steps, on values and
        // updates of magnitude ≤ max(|θ|, 1): 24 · 6e-8 ≈ 1.5e-6.
        CHECK(std::abs(mine[c][p][k] - expected[p][k]) <= 1.5e-6 * std::max(1.0, std::abs(expected[p][k])));
      }
  }
}
