// safetensors: the 8-byte header length, the JSON header and the data section
// of an untrusted model file; every tensor is read back when it is small.
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "r1/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = r1::fuzz::write_scratch_file("model.safetensors", r1::fuzz::as_text(data, size));
  r1::fuzz::run_expecting_errors([&] {
    r1::SafetensorsFile file(path);
    (void)file.metadata().dump();
    for (const auto& tensor : file.tensors()) {
      r1::fuzz::run_expecting_errors([&] {
        if (tensor.elements() <= (1 << 16)) (void)file.read(tensor.name);
      });
    }
  });
  return 0;
}
