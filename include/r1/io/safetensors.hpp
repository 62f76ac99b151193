#pragma once
// safetensors (https://github.com/huggingface/safetensors, "Format"): an 8-byte
// little-endian header length n, n bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data,
// offsets relative to its start. Every size and offset in a file is untrusted and
// checked before use; each failure is an r1::Error naming the file and tensor.
//
//   r1::SafetensorsFile file("model.safetensors");
//   std::vector<float> w = file.read("model.norm.weight");        // F32 / BF16 / F16 -> fp32
//   r1::write_safetensors("out.safetensors", tensors, r1::SafetensorsDtype::bf16);
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/atomic_file.hpp"

namespace r1 {

static_assert(std::endian::native == std::endian::little, "r1's safetensors code assumes a little-endian host");

// Dtypes r1 converts to and from fp32. Other safetensors dtypes are recognised in headers but not read.
enum class SafetensorsDtype { f32, bf16, f16 };

inline std::string_view to_string(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::f32: return "F32";
    case SafetensorsDtype::bf16: return "BF16";
    case SafetensorsDtype::f16: return "F16";
  }
  return "?";
}

// ---- fp32 <-> 16-bit conversions ----

inline float bf16_to_float(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }

// Round to nearest, ties to even (as torch's float -> bfloat16); NaN stays a (quiet) NaN.
inline std::uint16_t float_to_bf16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0)
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

// IEEE 754 binary16 to fp32, exact (subnormals, infinities and NaN included).
inline float f16_to_float(std::uint16_t half) {
  const std::uint32_t sign = std::uint32_t{half & 0x8000u} << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  std::uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal: value = mantissa * 2^-24.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign != 0 ? -magnitude : magnitude;
}

// ---- reading ----

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "BF16", "F16", "I64", ...
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section
  std::int64_t elements() const {
    std::int64_t count = 1;
    for (const auto extent : shape) count *= extent;
    return count;
  }
};

namespace detail {
// Element size in bytes of a safetensors dtype, 0 when unknown.
inline std::uint64_t safetensors_dtype_size(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}
// The reference implementation's bound on header size; a larger one is a corrupt or hostile file.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;
}  // namespace detail

class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::string path) : path_(std::move(path)) {
    std::error_code error;
    const auto file_size = std::filesystem::file_size(path_, error);
    require(!error, path_, ": cannot read (", error.message(), ")");
    in_.open(path_, std::ios::binary);
    require(in_.good(), path_, ": cannot open for reading");
    require(file_size >= 8, path_, ": truncated: ", file_size, " bytes, shorter than the 8-byte header length");
    unsigned char length_bytes[8];
    in_.read(reinterpret_cast<char*>(length_bytes), 8);
    require(in_.good(), path_, ": cannot read the header length");
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
    require(header_length <= file_size - 8, path_, ": header length ", header_length, " exceeds the file (",
            file_size, " bytes)");
    require(header_length <= detail::kMaxSafetensorsHeader, path_, ": header length ", header_length,
            " exceeds the limit of ", detail::kMaxSafetensorsHeader, " bytes");
    std::string header(static_cast<std::size_t>(header_length), '\0');
    in_.read(header.data(), static_cast<std::streamsize>(header_length));
    require(in_.good(), path_, ": cannot read the ", header_length, "-byte header");
    data_start_ = 8 + header_length;
    data_size_ = file_size - data_start_;
    parse_header(header);
  }

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const Json& metadata() const { return metadata_; }
  const SafetensorsTensor* find(std::string_view name) const {
    for (const auto& tensor : tensors_)
      if (tensor.name == name) return &tensor;
    return nullptr;
  }

  // The tensor converted to fp32 into `out` (exactly elements() entries).
  void read(const SafetensorsTensor& tensor, std::span<float> out) {
    require(static_cast<std::int64_t>(out.size()) == tensor.elements(), path_, ": tensor '", tensor.name, "' has ",
            tensor.elements(), " elements, the destination ", out.size());
    const std::uint64_t bytes = tensor.end - tensor.begin;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(data_start_ + tensor.begin));
    if (tensor.dtype == "F32") {
      in_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
      require(in_.good(), path_, ": tensor '", tensor.name, "': read failed");
      return;
    }
    require(tensor.dtype == "BF16" || tensor.dtype == "F16", path_, ": tensor '", tensor.name, "' has dtype ",
            tensor.dtype, "; r1 reads F32, BF16 and F16");
    halves_.resize(out.size());
    in_.read(reinterpret_cast<char*>(halves_.data()), static_cast<std::streamsize>(bytes));
    require(in_.good(), path_, ": tensor '", tensor.name, "': read failed");
    if (tensor.dtype == "BF16") std::transform(halves_.begin(), halves_.end(), out.begin(), bf16_to_float);
    else std::transform(halves_.begin(), halves_.end(), out.begin(), f16_to_float);
  }
  std::vector<float> read(std::string_view name) {
    const SafetensorsTensor* tensor = find(name);
    require(tensor != nullptr, path_, ": no tensor named '", name, "'");
    std::vector<float> out(static_cast<std::size_t>(tensor->elements()));
    read(*tensor, out);
    return out;
  }

 private:
  void parse_header(const std::string& header) {
    const Json json = parse_json(header, path_ + ": header");
    require(json.is_object(), path_, ": the header must be a JSON object");
    for (const auto& [name, entry] : json.items()) {
      if (name == "__metadata__") {
        require(entry.is_object(), path_, ": __metadata__ must be an object");
        for (const auto& [key, value] : entry.items())
          require(value.is_string(), path_, ": __metadata__ entry '", key, "' must be a string");
        metadata_ = entry;
        continue;
      }
      const std::string where = path_ + ": tensor '" + name + "'";
      require(entry.is_object(), where, ": expected an object with dtype, shape and data_offsets");
      SafetensorsTensor tensor;
      tensor.name = name;
      tensor.dtype = json_field<std::string>(entry, "dtype", where);
      const std::uint64_t element_size = detail::safetensors_dtype_size(tensor.dtype);
      require(element_size != 0, where, ": unknown dtype '", tensor.dtype, "'");
      const auto shape = entry.find("shape");
      require(shape != entry.end() && shape->is_array(), where, ": 'shape' must be an array");
      std::uint64_t elements = 1;
      for (const auto& extent : *shape) {
        require(extent.is_number_unsigned(), where, ": shape entries must be non-negative integers");
        const auto value = extent.get<std::uint64_t>();
        require(value == 0 || elements <= std::numeric_limits<std::uint64_t>::max() / 8 / value, where,
                ": shape ", shape->dump(), " overflows");
        elements *= value;
        tensor.shape.push_back(static_cast<std::int64_t>(value));
      }
      const auto offsets = entry.find("data_offsets");
      require(offsets != entry.end() && offsets->is_array() && offsets->size() == 2 && (*offsets)[0].is_number_unsigned() &&
                  (*offsets)[1].is_number_unsigned(),
              where, ": 'data_offsets' must be two non-negative integers");
      tensor.begin = (*offsets)[0].get<std::uint64_t>();
      tensor.end = (*offsets)[1].get<std::uint64_t>();
      require(tensor.begin <= tensor.end, where, ": data_offsets [", tensor.begin, ", ", tensor.end, "] are reversed");
      require(tensor.end <= data_size_, where, ": data_offsets [", tensor.begin, ", ", tensor.end,
              "] run past the data section (", data_size_, " bytes)");
      require(elements * element_size == tensor.end - tensor.begin, where, ": shape ", shape->dump(), " of ",
              tensor.dtype, " needs ", elements * element_size, " bytes, data_offsets span ", tensor.end - tensor.begin);
      tensors_.push_back(std::move(tensor));
    }
    std::vector<const SafetensorsTensor*> by_offset;
    for (const auto& tensor : tensors_) by_offset.push_back(&tensor);
    std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) { return a->begin < b->begin; });
    for (std::size_t i = 1; i < by_offset.size(); ++i)
      require(by_offset[i]->begin >= by_offset[i - 1]->end, path_, ": tensors '", by_offset[i - 1]->name, "' and '",
              by_offset[i]->name, "' overlap");
  }

  std::string path_;
  std::ifstream in_;
  std::uint64_t data_start_ = 0, data_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  Json metadata_ = Json::object();
  std::vector<std::uint16_t> halves_;
};

// ---- writing ----

struct SafetensorsTensorView {
  std::string name;
  std::vector<std::int64_t> shape;
  std::span<const float> data;
};

namespace detail {
// Values converted to BF16 per write: the extra memory of a save (256 KiB), whatever the tensor's size.
inline constexpr std::size_t kSafetensorsConversionChunk = std::size_t{1} << 17;

// Writes a safetensors file into `file`, streaming: the header first (every size is known up front), then
// each tensor as it lies in memory (F32) or converted to BF16 a chunk at a time; nothing the size of the
// model (or of a tensor) is allocated. Errors about the tensors name `where`, the file the caller means.
inline void write_safetensors_to(AtomicFileWriter& file, const std::string& where,
                                 std::span<const SafetensorsTensorView> tensors, SafetensorsDtype dtype,
                                 const Json& metadata) {
  require(dtype == SafetensorsDtype::f32 || dtype == SafetensorsDtype::bf16, where, ": r1 writes F32 or BF16, not ",
          to_string(dtype));
  const std::uint64_t element_size = dtype == SafetensorsDtype::f32 ? 4 : 2;
  Json header = Json::object();
  Json meta = metadata.is_object() ? metadata : Json::object();
  meta["format"] = "pt";  // transformers refuses safetensors files without it
  header["__metadata__"] = meta;
  std::uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    std::int64_t elements = 1;
    for (const auto extent : tensor.shape) elements *= extent;
    require(elements == static_cast<std::int64_t>(tensor.data.size()), where, ": tensor '", tensor.name, "' has ",
            tensor.data.size(), " values for a shape of ", elements);
    require(!header.contains(tensor.name), where, ": tensor '", tensor.name, "' appears twice");
    header[tensor.name] = {{"dtype", to_string(dtype)}, {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + static_cast<std::uint64_t>(elements) * element_size}}};
    offset += static_cast<std::uint64_t>(elements) * element_size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  file.write(std::string_view(length_bytes, 8));
  file.write(text);
  std::vector<std::uint16_t> halves;
  for (const auto& tensor : tensors) {
    if (dtype == SafetensorsDtype::f32) {
      file.write(std::string_view(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size_bytes()));
      continue;
    }
    for (std::size_t first = 0; first < tensor.data.size(); first += kSafetensorsConversionChunk) {
      const auto piece = tensor.data.subspan(first, std::min(kSafetensorsConversionChunk, tensor.data.size() - first));
      halves.resize(piece.size());
      std::transform(piece.begin(), piece.end(), halves.begin(), float_to_bf16);
      file.write(std::string_view(reinterpret_cast<const char*>(halves.data()), halves.size() * 2));
    }
  }
}
}  // namespace detail

// Writes the tensors in the given order as `dtype` (F32 or BF16, rounded to nearest even), with
// __metadata__ {"format": "pt"} plus `metadata`, atomically and durably (`path`.tmp, fsynced, renamed
// into place; AtomicFileWriter), streaming (detail::write_safetensors_to).
inline void write_safetensors(const std::string& path, std::span<const SafetensorsTensorView> tensors,
                              SafetensorsDtype dtype = SafetensorsDtype::f32, const Json& metadata = Json::object()) {
  AtomicFileWriter file(path, path + ".tmp");
  detail::write_safetensors_to(file, path, tensors, dtype, metadata);
  file.commit();
}

}  // namespace r1
