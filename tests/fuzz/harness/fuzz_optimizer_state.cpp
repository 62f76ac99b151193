// Optimizer state files (optim/state_io.hpp): AdamW::load_state and
// Sgd::load_state, into a fresh optimizer (buffer sizes come from the file) and
// into one already bound to parameters (the file must match them).
//
// The first byte picks: bit 0 AdamW or Sgd, bit 1 bound or fresh, bit 2
// recompute the trailing CRC-32 (so the fuzzer gets past it).
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "r1/io/crc32.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/sgd.hpp"

namespace {

struct Params {
  std::vector<float> w{0.5f, -1.5f}, w_grad{0.25f, 1.0f};
  std::vector<float> b{2.0f}, b_grad{-0.5f};
  std::vector<r1::ParameterView> views() {
    return {{"layer.weight", {2}, w, w_grad, true}, {"layer.bias", {1}, b, b_grad, false}};
  }
};

template <class Optimizer>
void load(Optimizer optimizer, bool bound, const std::string& bytes) {
  Params params;
  auto views = params.views();
  if (bound) optimizer.step(views);
  std::istringstream in(bytes);
  r1::fuzz::run_expecting_errors([&] {
    optimizer.load_state(in);
    optimizer.step(views);  // a state that loaded must be usable
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(r1::fuzz::as_text(data + 1, size - 1));
  if ((data[0] & 4) && bytes.size() >= 4) {
    const std::uint32_t crc = r1::crc32(std::string_view(bytes).substr(0, bytes.size() - 4));
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);  // little-endian, as StateWriter writes it
  }
  const bool bound = data[0] & 2;
  r1::SgdConfig sgd;
  sgd.momentum = 0.9f;  // so Sgd keeps a buffer per parameter
  if (data[0] & 1) load(r1::Sgd(sgd), bound, bytes);
  else load(r1::AdamW(r1::AdamWConfig{}), bound, bytes);
  return 0;
}
