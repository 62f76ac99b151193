// PEFT adapter directories: save/load round trips, BF16 files, every malformed-directory error; and
// lora_merge against a hand-worked example and a naive double-precision loop.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "lora_test_support.hpp"
#include "r1/core/json.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/core/rng.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/peft_adapter.hpp"

namespace {

namespace fs = std::filesystem;
using r1::LoraConfig;
using r1::LoraTarget;
using r1::test::expect_error;

std::string fresh_dir(const std::string& name) { return r1::test::fresh_lora_dir("peft_adapter", name); }

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
  r1::Philox rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// One adapter of rank r on q_proj (out 6, in 4) and down_proj (out 4, in 10) of layers 0 and 1.
struct Adapter {
  LoraConfig config;
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<std::vector<float>> values;

  explicit Adapter(int r) {
    config.r = r;
    config.target_modules = {LoraTarget::q_proj, LoraTarget::down_proj};
    std::uint64_t seed = 1;
    for (std::int64_t layer = 0; layer < 2; ++layer)
      for (const auto& [target, out, in] : {std::tuple{LoraTarget::q_proj, 6, 4}, std::tuple{LoraTarget::down_proj, 4, 10}}) {
        add(r1::lora_tensor_name(layer, target, false), {r, in}, seed++);
        add(r1::lora_tensor_name(layer, target, true), {out, r}, seed++);
      }
  }
  void add(std::string name, std::vector<std::int64_t> shape, std::uint64_t seed) {
    names.push_back(std::move(name));
    values.push_back(random_values(static_cast<std::size_t>(shape[0] * shape[1]), seed));
    shapes.push_back(std::move(shape));
  }
  std::vector<r1::SafetensorsTensorView> views() const {
    std::vector<r1::SafetensorsTensorView> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], shapes[i], values[i]});
    return out;
  }
};

// Slots shaped like `adapter`'s tensors, filled by the loader.
struct Slots {
  std::vector<std::vector<float>> storage;
  std::vector<r1::ParameterView> views;
  explicit Slots(const Adapter& adapter) {
    for (std::size_t i = 0; i < adapter.names.size(); ++i)
      storage.emplace_back(adapter.values[i].size(), std::numeric_limits<float>::quiet_NaN());
    for (std::size_t i = 0; i < adapter.names.size(); ++i)
      views.push_back({adapter.names[i], adapter.shapes[i], storage[i], {}, false});
  }
};

}  // namespace

TEST_CASE("save_peft_adapter writes PEFT's two files; loading gives back the config and every tensor bitwise") {
  const Adapter adapter(3);
  const auto dir = fresh_dir("round_trip");
  r1::save_peft_adapter(dir, adapter.config, adapter.views(), "tiny/base");
  CHECK(fs::exists(fs::path(dir) / "adapter_config.json"));
  CHECK(fs::exists(fs::path(dir) / "adapter_model.safetensors"));
  for (const auto& entry : fs::directory_iterator(dir))  // no temporary left behind
    CHECK((entry.path().filename() == "adapter_config.json" || entry.path().filename() == "adapter_model.safetensors"));

  const auto json = r1::read_json_file((fs::path(dir) / "adapter_config.json").string());
  CHECK(json["base_model_name_or_path"] == "tiny/base");
  const auto config = r1::load_peft_adapter_config(dir);
  CHECK(config.r == 3);
  CHECK(config.target_modules == adapter.config.target_modules);

  r1::SafetensorsFile file((fs::path(dir) / "adapter_model.safetensors").string());
  CHECK(file.metadata()["format"] == "pt");
  for (const auto& tensor : file.tensors()) CHECK(tensor.dtype == "F32");

  Slots slots(adapter);
  r1::load_peft_adapter_tensors(dir, slots.views);
  for (std::size_t i = 0; i < adapter.names.size(); ++i) {
    INFO(adapter.names[i]);
    CHECK(slots.storage[i] == adapter.values[i]);  // bitwise: F32 both ways
  }

  // Saving again replaces both files.
  Adapter second(3);
  second.values[0][0] = 42.0f;
  second.config.alpha = 5;
  r1::save_peft_adapter(dir, second.config, second.views(), "tiny/base");
  CHECK(r1::load_peft_adapter_config(dir).alpha == 5.0f);
  r1::load_peft_adapter_tensors(dir, slots.views);
  CHECK(slots.storage[0][0] == 42.0f);
}

TEST_CASE("a BF16 adapter file is read, each value the BF16 the file holds") {
  const Adapter adapter(2);
  const auto dir = fresh_dir("bf16");
  r1::save_peft_adapter(dir, adapter.config, adapter.views(), "tiny/base");
  r1::write_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), adapter.views(),
                        r1::SafetensorsDtype::bf16);
  Slots slots(adapter);
  r1::load_peft_adapter_tensors(dir, slots.views);
  for (std::size_t i = 0; i < adapter.names.size(); ++i)
    for (std::size_t j = 0; j < adapter.values[i].size(); ++j)
      CHECK(slots.storage[i][j] == r1::bf16_to_float(r1::float_to_bf16(adapter.values[i][j])));
}

TEST_CASE("a missing, misshapen, extra or doubly asked tensor is an error naming the file and tensor") {
  const Adapter adapter(2);
  const auto dir = fresh_dir("errors");
  r1::save_peft_adapter(dir, adapter.config, adapter.views(), "tiny/base");
  const std::string file = (fs::path(dir) / "adapter_model.safetensors").string();

  {  // The model asks for a tensor the file lacks.
    Adapter more(2);
    more.add(r1::lora_tensor_name(5, LoraTarget::q_proj, false), {2, 4}, 99);
    Slots slots(more);
    expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); },
                 file + ": tensor 'base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight' is missing");
  }
  {  // Wrong shape: the model's q_proj has in_features 5, the file's 4.
    Adapter other(2);
    other.shapes[0] = {2, 5};
    other.values[0].resize(10);
    Slots slots(other);
    expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); },
                 file + ": tensor '" + adapter.names[0] + "' has shape [2,4], the model expects [2,5]");
  }
  {  // The file holds a tensor nobody asked for.
    Adapter fewer(2);
    const std::string dropped = fewer.names.back();
    fewer.names.pop_back();
    fewer.shapes.pop_back();
    fewer.values.pop_back();
    Slots slots(fewer);
    expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); },
                 file + ": tensor '" + dropped + "' is in the adapter but the model has no place for it");
    for (const auto& values : slots.storage) CHECK(std::isnan(values[0]));  // nothing written before the checks
  }
  {  // The same name twice.
    Slots slots(adapter);
    slots.views.push_back(slots.views[0]);
    expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); }, "is asked for twice");
  }
  {  // A destination of the wrong size.
    Slots slots(adapter);
    slots.views[1].value = slots.views[1].value.first(1);
    expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); }, "the destination holds 1 values");
  }
}

TEST_CASE("a truncated adapter file, a pickle-only directory and a missing config are errors saying so") {
  const Adapter adapter(2);
  const auto dir = fresh_dir("truncated");
  r1::save_peft_adapter(dir, adapter.config, adapter.views(), "tiny/base");
  const fs::path file = fs::path(dir) / "adapter_model.safetensors";
  fs::resize_file(file, fs::file_size(file) - 4);
  Slots slots(adapter);
  expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); }, file.string() + ": tensor '");
  expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); }, "run past the data section");
  fs::resize_file(file, 5);
  expect_error([&] { r1::load_peft_adapter_tensors(dir, slots.views); }, "truncated");

  const auto pickle = fresh_dir("pickle");
  std::ofstream(fs::path(pickle) / "adapter_model.bin") << "PK";
  expect_error([&] { r1::load_peft_adapter_tensors(pickle, slots.views); }, "only adapter_model.bin is here");
  const auto empty = fresh_dir("empty");
  expect_error([&] { r1::load_peft_adapter_tensors(empty, slots.views); }, "no adapter_model.safetensors");
  expect_error([&] { r1::load_peft_adapter_config(empty); }, "no adapter_config.json");
  std::ofstream(fs::path(empty) / "adapter_config.json") << R"({"peft_type": "LORA", "target_modules": ["q_proj"], "r": )";
  expect_error([&] { r1::load_peft_adapter_config(empty); }, "adapter_config.json: malformed JSON");
  std::ofstream(fs::path(empty) / "adapter_config.json", std::ios::trunc)
      << R"({"peft_type": "LORA", "target_modules": ["q_proj"], "use_dora": true})";
  expect_error([&] { r1::load_peft_adapter_config(empty); }, "adapter_config.json: field 'use_dora'");
}

TEST_CASE("save_peft_adapter refuses tensors that are not LoRA factors of the config's rank, writing nothing") {
  Adapter adapter(2);
  const auto dir = fresh_dir("refused") + "/adapter";
  auto views = adapter.views();
  views[0].shape = {3, 4};  // lora_A is (r, in) with r = 2
  views[0].data = std::span<const float>(adapter.values[0]).first(12);
  adapter.values[0].resize(12);
  expect_error([&] { r1::save_peft_adapter(dir, adapter.config, views, "m"); }, "lora_A is (r, in) with r = 2");
  views = adapter.views();
  views[1].shape = {6, 3};
  expect_error([&] { r1::save_peft_adapter(dir, adapter.config, views, "m"); }, "lora_B is (out, r) with r = 2");
  views = adapter.views();
  views[1].name = "model.layers.0.self_attn.q_proj.weight";
  expect_error([&] { r1::save_peft_adapter(dir, adapter.config, views, "m"); }, "is not a LoRA factor");
  LoraConfig bad = adapter.config;
  bad.r = 0;
  expect_error([&] { r1::save_peft_adapter(dir, bad, adapter.views(), "m"); }, "field 'r' = 0");
  CHECK(!fs::exists(dir));
}

// W = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [2, -1]], A = [[1, 0, -1], [0.5, 2, 0]], scale 0.5:
//   B A = [[1*1 + 0*0.5, 1*0 + 0*2, 1*-1 + 0*0], [2*1 - 1*0.5, 2*0 - 1*2, 2*-1 - 1*0]] = [[1, 0, -1], [1.5, -2, -2]]
//   W + 0.5 B A = [[1.5, 2, 2.5], [4.75, 4, 5]]
// Every number is a short binary fraction, so the result is exact in float and double.
TEST_CASE_TEMPLATE("lora_merge on a hand-worked 2x3 example of rank 2", Scalar, float, double) {
  std::vector<Scalar> w = {1, 2, 3, 4, 5, 6};
  const std::vector<Scalar> b = {1, 0, 2, -1};
  const std::vector<Scalar> a = {1, 0, -1, 0.5, 2, 0};
  r1::lora_merge<Scalar>(w.data(), 2, 3, a.data(), b.data(), 2, Scalar(0.5));
  CHECK(w == std::vector<Scalar>{1.5, 2, 2.5, 4.75, 4, 5});
}

// Against W + s * sum_k B[o,k] A[k,i] in double (long double for the double merge). Tolerance: the merge
// rounds an r-term dot product (|error| <= gamma_r * sum_k |B A|, gamma_r = r u / (1 - r u); Higham,
// "Accuracy and Stability of Numerical Algorithms", 2nd ed., eq. 3.5), its product with s (u) and the sum
// with W (u |result|), u the unit roundoff of Scalar. To first order that is u (|exact| + (r + 1) |s| sum
// |B A|); (r + 2) covers the second-order terms while r u << 1.
TEST_CASE_TEMPLATE("lora_merge matches a naive triple loop on random sizes", Scalar, float, double) {
  using Wide = std::conditional_t<std::is_same_v<Scalar, float>, double, long double>;
  const Wide u = std::numeric_limits<Scalar>::epsilon() / 2;
  r1::Philox rng(7);
  for (int trial = 0; trial < 12; ++trial) {
    const auto out = static_cast<std::int64_t>(1 + rng() % 70);
    const auto in = static_cast<std::int64_t>(1 + rng() % 90);
    const auto r = static_cast<std::int64_t>(1 + rng() % 33);
    const auto scale = static_cast<Scalar>(0.25 + rng.uniform() * 4);
    const auto draw = [&](std::int64_t n) {
      std::vector<Scalar> v(static_cast<std::size_t>(n));
      for (auto& x : v) x = static_cast<Scalar>(rng.normal());
      return v;
    };
    const auto base = draw(out * in), a = draw(r * in), b = draw(out * r);
    auto w = base;
    r1::lora_merge<Scalar>(w.data(), out, in, a.data(), b.data(), r, scale);
    int failures = 0;
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t i = 0; i < in; ++i) {
        Wide sum = 0, magnitude = 0;
        for (std::int64_t k = 0; k < r; ++k) {
          const Wide term = Wide(b[static_cast<std::size_t>(o * r + k)]) * Wide(a[static_cast<std::size_t>(k * in + i)]);
          sum += term;
          magnitude += std::abs(term);
        }
        const auto at = static_cast<std::size_t>(o * in + i);
        const Wide exact = Wide(base[at]) + Wide(scale) * sum;
        const Wide tolerance = u * (std::abs(exact) + Wide(r + 2) * std::abs(Wide(scale)) * magnitude);
        if (std::abs(Wide(w[at]) - exact) > tolerance && ++failures <= 3)
          FAIL_CHECK("out ", out, " in ", in, " r ", r, " at (", o, ", ", i, "): ", double(w[at]), " vs ",
                     double(exact), ", tolerance ", double(tolerance));
      }
    CHECK(failures == 0);
  }
  std::vector<Scalar> none;
  r1::lora_merge<Scalar>(none.data(), 0, 5, nullptr, nullptr, 2, Scalar(1));  // an empty weight is fine
  CHECK_THROWS_AS(r1::lora_merge<Scalar>(none.data(), 1, 1, none.data(), none.data(), 0, Scalar(1)), r1::Error);
}
