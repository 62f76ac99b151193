// AdamW and SGD against update sequences worked out by hand, and their state
// files: round trip, shape mismatch, corruption, a payload that fails partway.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/sgd.hpp"

static_assert(r1::Optimizer<r1::AdamW>);
static_assert(r1::Optimizer<r1::Sgd>);

namespace {

// Owned parameters with their views.
struct Params {
  std::vector<float> w{0.5f, -1.5f}, w_grad{0, 0};
  std::vector<float> b{2.0f}, b_grad{0};
  std::vector<r1::ParameterView> views() {
    return {{"layer.weight", {2}, w, w_grad, true}, {"layer.bias", {1}, b, b_grad, false}};
  }
};

// Gradients of the three steps.
constexpr double grads[3][3] = {{0.3, -2.0, 1.0}, {-0.1, -1.0, 0.5}, {0.4, 0.5, -0.25}};

void set_grads(Params& p, int step) {
  p.w_grad = {static_cast<float>(grads[step][0]), static_cast<float>(grads[step][1])};
  p.b_grad = {static_cast<float>(grads[step][2])};
}

// Each AdamW step is ~10 float operations per value, each rounding by at most
// 2^-24 relative; over 3 steps on values of magnitude ≤ 2 that is ≤ 30 · 6e-8 · 2
// ≈ 4e-6 absolute.
constexpr double three_step_tolerance = 4e-6;

}  // namespace

TEST_CASE("AdamW: three steps against the update worked out by hand (Loshchilov & Hutter 2019, Alg. 2)") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  r1::AdamW adam({static_cast<float>(lr), static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(eps),
                  static_cast<float>(wd)});
  Params p;
  const double start[3] = {0.5, -1.5, 2.0};
  for (int step = 0; step < 3; ++step) {
    set_grads(p, step);
    auto views = p.views();
    adam.step(views);
  }
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    const bool decays = k < 2;  // the bias has weight_decay = false
    const double g1 = grads[0][k], g2 = grads[1][k], g3 = grads[2][k];
    double theta = start[k];
    // Step 1: m = 0.1 g1, v = 0.001 g1²; bias-corrected m̂ = g1, v̂ = g1².
    if (decays) theta *= 1 - lr * wd;
    double m = (1 - b1) * g1, v = (1 - b2) * g1 * g1;
    theta -= lr / (1 - b1) * m / (std::sqrt(v) / std::sqrt(1 - b2) + eps);
    // Step 2.
    if (decays) theta *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g2, v = b2 * v + (1 - b2) * g2 * g2;
    theta -= lr / (1 - b1 * b1) * m / (std::sqrt(v) / std::sqrt(1 - b2 * b2) + eps);
    // Step 3.
    if (decays) theta *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g3, v = b2 * v + (1 - b2) * g3 * g3;
    theta -= lr / (1 - b1 * b1 * b1) * m / (std::sqrt(v) / std::sqrt(1 - b2 * b2 * b2) + eps);
    const float got = k < 2 ? p.w[static_cast<std::size_t>(k)] : p.b[0];
    CHECK(std::abs(got - theta) <= three_step_tolerance);
  }
  CHECK(adam.steps() == 3);
}

TEST_CASE("SGD with momentum and Nesterov: three steps by hand (torch.optim.SGD)") {
  for (bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    const double lr = 0.1, mu = 0.9, wd = 0.01;
    r1::Sgd sgd({static_cast<float>(lr), static_cast<float>(mu), 0, static_cast<float>(wd), nesterov});
    Params p;
    const double start[3] = {0.5, -1.5, 2.0};
    for (int step = 0; step < 3; ++step) {
      set_grads(p, step);
      auto views = p.views();
      sgd.step(views);
    }
    for (int k = 0; k < 3; ++k) {
      CAPTURE(k);
      const double decay = k < 2 ? wd : 0;
      double theta = start[k], buffer = 0;
      for (int step = 0; step < 3; ++step) {
        const double g = grads[step][k] + decay * theta;
        buffer = step == 0 ? g : mu * buffer + g;
        theta -= lr * (nesterov ? g + mu * buffer : buffer);
      }
      const float got = k < 2 ? p.w[static_cast<std::size_t>(k)] : p.b[0];
      CHECK(std::abs(got - theta) <= three_step_tolerance);
    }
  }
}

namespace {

template <class Optimizer>
void check_state_round_trip(Optimizer a, Optimizer fresh) {
  Params pa;
  for (int step = 0; step < 2; ++step) {
    set_grads(pa, step);
    auto views = pa.views();
    a.step(views);
  }
  std::stringstream saved;
  a.save_state(saved);
  const std::string bytes = saved.str();
  Params pb = pa;
  // The restored optimizer continues exactly as the original.
  std::istringstream in(bytes);
  fresh.load_state(in);
  CHECK(fresh.learning_rate() == a.learning_rate());
  set_grads(pa, 2);
  set_grads(pb, 2);
  auto va = pa.views();
  auto vb = pb.views();
  a.step(va);
  fresh.step(vb);
  CHECK(pa.w == pb.w);
  CHECK(pa.b == pb.b);

  SUBCASE("a flipped byte anywhere fails the checksum or a field check") {
    for (std::size_t at : {std::size_t{2}, std::size_t{12}, bytes.size() / 2, bytes.size() - 12, bytes.size() - 1}) {
      CAPTURE(at);
      std::string corrupted = bytes;
      corrupted[at] = static_cast<char>(corrupted[at] ^ 0x5a);
      std::istringstream bad(corrupted);
      Optimizer target = a;
      CHECK_THROWS_AS(target.load_state(bad), r1::Error);
    }
  }
  SUBCASE("truncated") {
    for (std::size_t keep : {std::size_t{0}, std::size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
      std::istringstream bad(bytes.substr(0, keep));
      Optimizer target = a;
      CHECK_THROWS_AS(target.load_state(bad), r1::Error);
    }
  }
  SUBCASE("state of other parameters") {
    std::vector<float> other(3), other_grad(3);
    std::vector<r1::ParameterView> views{{"other.weight", {3}, other, other_grad, true}};
    Optimizer target = fresh;
    Optimizer bound = Optimizer{};
    bound.init(views);
    std::istringstream state(bytes);
    CHECK_THROWS_WITH_AS(bound.load_state(state), doctest::Contains("parameters"), r1::Error);
    // An unbound optimizer adopts the file, then refuses a different parameter list.
    std::istringstream again(bytes);
    Optimizer unbound = Optimizer{};
    unbound.load_state(again);
    CHECK_THROWS_AS(unbound.step(views), r1::Error);
  }
  SUBCASE("the other optimizer's state") {
    std::stringstream other_state;
    if constexpr (std::is_same_v<Optimizer, r1::AdamW>) r1::Sgd{}.save_state(other_state);
    else r1::AdamW{}.save_state(other_state);
    Optimizer target = a;
    CHECK_THROWS_WITH_AS(target.load_state(other_state), doctest::Contains("format tag"), r1::Error);
  }
}

}  // namespace

TEST_CASE("AdamW state: save/load round trip and corrupted state") {
  check_state_round_trip(r1::AdamW({0.05f, 0.9f, 0.99f, 1e-8f, 0.1f}), r1::AdamW({0.05f, 0.9f, 0.99f, 1e-8f, 0.1f}));
}

TEST_CASE("SGD state: save/load round trip and corrupted state") {
  check_state_round_trip(r1::Sgd({0.05f, 0.9f, 0, 0.01f, false}), r1::Sgd({0.05f, 0.9f, 0, 0.01f, false}));
}

TEST_CASE("optimizers check their parameter lists and configs") {
  Params p;
  auto views = p.views();
  r1::AdamW adam;
  adam.step(views);
  views.pop_back();
  CHECK_THROWS_AS(adam.step(views), r1::Error);  // fewer parameters than the state
  auto renamed = p.views();
  renamed[1].name = "other.bias";
  CHECK_THROWS_WITH_AS(adam.step(renamed), doctest::Contains("other.bias"), r1::Error);
  auto mismatched = p.views();
  mismatched[0].grad = mismatched[0].grad.first(1);
  r1::AdamW fresh;
  CHECK_THROWS_AS(fresh.init(mismatched), r1::Error);  // value/grad sizes differ
  CHECK_THROWS_AS(r1::AdamW({0.1f, 1.0f, 0.999f, 1e-8f, 0}), r1::Error);  // beta1 = 1
  CHECK_THROWS_AS(adam.set_learning_rate(-1), r1::Error);
  CHECK_THROWS_AS(r1::Sgd({0.1f, 0, 0, 0, /*nesterov=*/true}), r1::Error);  // Nesterov needs momentum
  const auto from_json = r1::AdamWConfig::from_json(r1::Json{{"lr", 3e-6}, {"weight_decay", 0.0}});
  CHECK(from_json.lr == 3e-6f);
  CHECK(from_json.beta2 == 0.999f);
  CHECK_THROWS_WITH_AS(r1::AdamWConfig::from_json(r1::Json{{"learning_rate", 1}}), doctest::Contains("learning_rate"),
                       r1::Error);
  CHECK(r1::SgdConfig::from_json(r1::Json{{"momentum", 0.9}}).momentum == 0.9f);
}

namespace {

// A bound optimizer's state is read in place (r1/optim/slot_buffers.hpp), so a payload that fails partway
// leaves buffers that are part file, part old state: step() and save_state() must refuse them, naming the
// failed load, until a good load or reset().
template <class Optimizer>
void check_failed_payload(Optimizer a, const char* name) {
  Params pa;
  for (int step = 0; step < 2; ++step) {
    set_grads(pa, step);
    auto views = pa.views();
    a.step(views);
  }
  std::stringstream saved;
  a.save_state(saved);
  const std::string bytes = saved.str();
  // Layout: tag 8, version 4, header floats, step 8, count 8, then "layer.weight" (8 + 12) and its buffers.
  // Cutting inside the last buffer or the checksum fails after values were overwritten.
  for (std::size_t keep : {bytes.size() - 6, bytes.size() - 1}) {
    CAPTURE(keep);
    Optimizer target = a;
    std::istringstream bad(bytes.substr(0, keep));
    CHECK_THROWS_WITH_AS(target.load_state(bad), doctest::Contains("truncated"), r1::Error);
    Params p = pa;
    auto views = p.views();
    const std::string step_error = std::string(name) + "::step: the optimizer state is unusable: an earlier load_state failed";
    CHECK_THROWS_WITH_AS(target.step(views), doctest::Contains(step_error.c_str()), r1::Error);
    CHECK_THROWS_WITH_AS(target.step(views), doctest::Contains("truncated"), r1::Error);  // the load's own error
    std::stringstream refused;
    CHECK_THROWS_WITH_AS(target.save_state(refused), doctest::Contains("unusable"), r1::Error);
    CHECK(refused.str().empty());
    CHECK(p.w == pa.w);  // the refused step changed nothing

    SUBCASE("a complete load recovers it, continuing exactly as the original") {
      std::istringstream good(bytes);
      target.load_state(good);
      Params pb = pa, pc = pa;
      set_grads(pb, 2);
      set_grads(pc, 2);
      auto vb = pb.views();
      auto vc = pc.views();
      Optimizer original = a;
      original.step(vb);
      target.step(vc);
      CHECK(pb.w == pc.w);
      CHECK(pb.b == pc.b);
    }
    SUBCASE("reset() recovers it as a fresh optimizer bound to the same parameters") {
      target.reset();
      CHECK(target.steps() == 0);
      Params pb = pa, pc = pa;
      set_grads(pb, 2);
      set_grads(pc, 2);
      auto vb = pb.views();
      auto vc = pc.views();
      Optimizer never_stepped{a.config()};
      target.step(vb);
      never_stepped.step(vc);
      CHECK(pb.w == pc.w);
      CHECK(pb.b == pc.b);
      CHECK(target.steps() == 1);
    }
  }

  SUBCASE("failures before any value is overwritten leave it usable and unchanged") {
    for (std::size_t keep : {std::size_t{5}, std::size_t{20}}) {  // inside the tag; inside the header
      Optimizer target = a;
      std::istringstream bad(bytes.substr(0, keep));
      CHECK_THROWS_AS(target.load_state(bad), r1::Error);
      Params pb = pa, pc = pa;
      set_grads(pb, 2);
      set_grads(pc, 2);
      auto vb = pb.views();
      auto vc = pc.views();
      Optimizer original = a;
      original.step(vb);
      target.step(vc);
      CHECK(pb.w == pc.w);
    }
    // The first parameter's name differs: refused before its buffer is touched.
    std::string renamed = bytes;
    const auto at = renamed.find("layer.weight");
    REQUIRE(at != std::string::npos);
    renamed[at] = 'X';
    Optimizer target = a;
    std::istringstream bad(renamed);
    CHECK_THROWS_WITH_AS(target.load_state(bad), doctest::Contains("Xayer.weight"), r1::Error);
    Params p = pa;
    auto views = p.views();
    CHECK_NOTHROW(target.step(views));
  }
  SUBCASE("an unbound optimizer whose load fails stays unbound and usable") {
    Optimizer unbound{a.config()};
    std::istringstream bad(bytes.substr(0, bytes.size() - 1));
    CHECK_THROWS_AS(unbound.load_state(bad), r1::Error);
    std::vector<float> other(3), other_grad(3, 1.0f);
    std::vector<r1::ParameterView> views{{"other.weight", {3}, other, other_grad, true}};
    CHECK_NOTHROW(unbound.step(views));  // binds to any parameter list: nothing of the file was adopted
    CHECK(unbound.steps() == 1);
  }
}

}  // namespace

TEST_CASE("AdamW: a payload that fails partway leaves it unusable until a load or reset()") {
  check_failed_payload(r1::AdamW({0.05f, 0.9f, 0.99f, 1e-8f, 0.1f}), "AdamW");
}

TEST_CASE("SGD: a payload that fails partway leaves it unusable until a load or reset()") {
  check_failed_payload(r1::Sgd({0.05f, 0.9f, 0, 0.01f, false}), "Sgd");
}
