#pragma once
// The tensors of an HF model directory: model.safetensors, or the shards listed
// in model.safetensors.index.json ({"metadata": {"total_size": bytes},
// "weight_map": {tensor name: shard file}}); reading and writing.
//
//   r1::CheckpointTensors tensors("Qwen2.5-0.5B");
//   tensors.read("model.norm.weight", {896}, destination);   // checks the shape, converts to fp32
//   r1::write_checkpoint_tensors("out/model", views, r1::SafetensorsDtype::bf16,
//                                r1::parse_byte_size("500MB", "--max-shard-size"));
//
// When a directory holds both model.safetensors and an index, the single file
// wins, as in transformers' from_pretrained (it looks for SAFE_WEIGHTS_NAME
// before SAFE_WEIGHTS_INDEX_NAME); the writer therefore never leaves a stale
// model.safetensors beside a new index.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/io/safetensors.hpp"

namespace r1 {

// transformers' file names (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME).
inline constexpr std::string_view kCheckpointSingleFile = "model.safetensors";
inline constexpr std::string_view kCheckpointIndexFile = "model.safetensors.index.json";

class CheckpointTensors {
 public:
  explicit CheckpointTensors(const std::string& directory) : directory_(directory) {
    namespace fs = std::filesystem;
    const fs::path single = fs::path(directory) / kCheckpointSingleFile;
    const fs::path index = fs::path(directory) / kCheckpointIndexFile;
    if (fs::exists(single)) {
      auto& file = open_file("model.safetensors");
      for (const auto& tensor : file.tensors()) weight_map_[tensor.name] = "model.safetensors";
      return;
    }
    require(fs::exists(index), directory, ": neither model.safetensors nor model.safetensors.index.json exists");
    const Json json = read_json_file(index.string());
    const auto map = json.find("weight_map");
    require(json.is_object() && map != json.end() && map->is_object(), index.string(),
            ": expected an object with a 'weight_map' object");
    for (const auto& [name, file] : map->items()) {
      require(file.is_string(), index.string(), ": weight_map['", name, "'] must be a file name");
      const auto shard = file.get<std::string>();
      // Shards live in the directory itself: no paths, so an index cannot point anywhere else.
      require(!shard.empty() && shard.find('/') == std::string::npos && shard.find('\\') == std::string::npos &&
                  shard != "." && shard != "..",
              index.string(), ": weight_map['", name, "'] = '", shard, "' is not a plain file name");
      weight_map_[name] = shard;
    }
  }

  bool contains(std::string_view name) const { return weight_map_.find(std::string(name)) != weight_map_.end(); }

  // Reads tensor `name` of shape `shape` into `out` as fp32; r1::Error when missing or shaped otherwise.
  void read(const std::string& name, const std::vector<std::int64_t>& shape, std::span<float> out) {
    const auto it = weight_map_.find(name);
    require(it != weight_map_.end(), directory_, ": tensor '", name, "' is missing from the checkpoint");
    auto& file = open_file(it->second);
    const SafetensorsTensor* tensor = file.find(name);
    require(tensor != nullptr, file.path(), ": tensor '", name, "' is listed in the index but not in the file");
    require(tensor->shape == shape, file.path(), ": tensor '", name, "' has shape ", Json(tensor->shape).dump(),
            ", the model expects ", Json(shape).dump());
    file.read(*tensor, out);
  }

 private:
  SafetensorsFile& open_file(const std::string& name) {
    auto& slot = files_[name];
    if (!slot) slot = std::make_unique<SafetensorsFile>((std::filesystem::path(directory_) / name).string());
    return *slot;
  }

  std::string directory_;
  std::map<std::string, std::string> weight_map_;
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files_;
};

// ---- writing ----

// The default largest shard: transformers' save_pretrained(max_shard_size="5GB") and huggingface_hub's
// MAX_SHARD_SIZE, 5 * 10^9 bytes. Matching it makes r1's directories look like the ones HF tools write
// (a model over 5 GB gets the shards save_pretrained would give it), while every model r1 trains today
// stays one model.safetensors, as before (Qwen2.5-0.5B in F32 is 2 GB).
inline constexpr std::int64_t kDefaultMaxShardBytes = 5'000'000'000;

// "5GB", "500MB", "1.5GB", "2GiB", "1048576" -> bytes. Decimal units (KB, MB, GB, TB = 10^3..10^12) as
// huggingface_hub's parse_size_to_int, binary ones (KiB, MiB, GiB, TiB = 2^10..2^40) as transformers'
// convert_file_size_to_int, case-insensitive; a fraction is truncated to whole bytes as the hub does. Unlike
// transformers, a lowercase "b" never means bits. `where` (a flag, a config field) names the input in
// errors; a size that is not positive or not a size at all is an r1::Error.
inline std::int64_t parse_byte_size(std::string_view text, std::string_view where) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  std::string_view rest = text;
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value, std::chars_format::fixed);
  require(error == std::errc{} && std::isfinite(value), where, ": '", text,
          "' is not a size (expected bytes, or a number with KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  std::string unit(end, rest.data() + rest.size());
  while (!unit.empty() && is_space(unit.front())) unit.erase(unit.begin());
  for (auto& c : unit) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  static const std::map<std::string, double> kUnits = {
      {"", 1.0},         {"B", 1.0},         {"KB", 1e3},           {"MB", 1e6},
      {"GB", 1e9},       {"TB", 1e12},       {"KIB", 1024.0},       {"MIB", 1048576.0},
      {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
  const auto found = kUnits.find(unit);
  require(found != kUnits.end(), where, ": '", text, "' has an unknown unit (expected KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  const double bytes = std::trunc(value * found->second);
  // 2^63 is exactly representable; anything from it up does not fit an int64.
  require(bytes < 9223372036854775808.0, where, ": '", text, "' is too large");
  require(bytes >= 1, where, ": '", text, "' must be a positive size");
  return static_cast<std::int64_t>(bytes);
}

// Shard `index` (0-based) of `count`: "model-00001-of-00003.safetensors", transformers' naming
// (filename_pattern "model{suffix}.safetensors", suffix f"-{idx+1:05d}-of-{nb_shards:05d}").
inline std::string checkpoint_shard_name(std::size_t index, std::size_t count) {
  const auto padded = [](std::size_t n) {
    std::string digits = std::to_string(n);
    return std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
  };
  return "model-" + padded(index + 1) + "-of-" + padded(count) + ".safetensors";
}

// Whether `name` is a shard file as checkpoint_shard_name writes: model-DDDDD-of-DDDDD.safetensors.
// transformers' save_pretrained removes the same pattern (r"(.*?)-\d{5}-of-\d{5}" after the prefix) when
// it cleans a directory before saving.
inline bool is_checkpoint_shard_name(std::string_view name) {
  constexpr std::string_view prefix = "model-", middle = "-of-", suffix = ".safetensors";
  if (name.size() != prefix.size() + 5 + middle.size() + 5 + suffix.size()) return false;
  const auto digits = [&](std::size_t at) {
    for (std::size_t i = at; i < at + 5; ++i)
      if (name[i] < '0' || name[i] > '9') return false;
    return true;
  };
  return name.starts_with(prefix) && digits(prefix.size()) && name.substr(prefix.size() + 5, middle.size()) == middle &&
         digits(prefix.size() + 5 + middle.size()) && name.ends_with(suffix);
}

// Groups tensors (their byte sizes, in order) into shards of at most `max_shard_bytes` each: greedy in
// order, a new shard whenever the next tensor would tip the current one over the limit. A tensor larger
// than the limit therefore sits alone in its own shard (it tips over whatever precedes and follows it).
// This is transformers' shard_checkpoint (<= 4.39) and huggingface_hub's
// split_state_dict_into_shards_factory, except that the hub files an oversized tensor before the shard
// still being filled; r1 keeps every shard in tensor order. The limit counts tensor bytes only, as
// theirs does; each file is larger by its header.
inline std::vector<std::vector<std::size_t>> plan_checkpoint_shards(std::span<const std::uint64_t> tensor_bytes,
                                                                    std::int64_t max_shard_bytes) {
  require(max_shard_bytes > 0, "max shard size ", max_shard_bytes, " bytes: expected a positive size");
  const auto limit = static_cast<std::uint64_t>(max_shard_bytes);
  std::vector<std::vector<std::size_t>> shards;
  std::uint64_t current_bytes = 0;
  for (std::size_t i = 0; i < tensor_bytes.size(); ++i) {
    if (shards.empty() || current_bytes + tensor_bytes[i] > limit) {
      shards.emplace_back();
      current_bytes = 0;
    }
    shards.back().push_back(i);
    current_bytes += tensor_bytes[i];
  }
  return shards;
}

namespace detail {
inline void remove_stale_checkpoint_file(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::remove(path, error);
  require(!error, path.string(), ": cannot remove this file of the previous checkpoint (", error.message(), ")");
}

// Shard files (is_checkpoint_shard_name) in `directory` that `keep` does not name.
inline std::vector<std::filesystem::path> stale_checkpoint_shards(const std::filesystem::path& directory,
                                                                  const std::vector<std::string>& keep) {
  std::vector<std::filesystem::path> stale;
  std::error_code error;
  for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!is_checkpoint_shard_name(name) || std::find(keep.begin(), keep.end(), name) != keep.end()) continue;
    std::error_code type_error;
    if (it->is_directory(type_error)) continue;  // not a file r1 (or HF) wrote
    stale.push_back(it->path());
  }
  require(!error, directory.string(), ": cannot list the directory (", error.message(), ")");
  return stale;
}
}  // namespace detail

// Writes `tensors` (in order, as `dtype`) into `directory` as transformers' save_pretrained does: one
// model.safetensors when they fit in `max_shard_bytes` (plan_checkpoint_shards), else shards
// model-0000i-of-0000N.safetensors, each a standalone safetensors file with __metadata__ {"format": "pt"},
// and model.safetensors.index.json. Files of a previous checkpoint the loader would otherwise pick up
// (model.safetensors beside a new index; an index beside a new model.safetensors; shards the new index
// does not name) are removed. Every file goes through a temporary renamed into place, and shards are all
// written before any is moved in, so a failed write (an r1::Error naming the file) leaves the previous
// checkpoint loadable; a failure while moving shards in leaves no index, so the directory refuses to
// load instead of mixing old and new tensors.
inline void write_checkpoint_tensors(const std::string& directory, std::span<const SafetensorsTensorView> tensors,
                                     SafetensorsDtype dtype = SafetensorsDtype::f32,
                                     std::int64_t max_shard_bytes = kDefaultMaxShardBytes) {
  namespace fs = std::filesystem;
  require(max_shard_bytes > 0, directory, ": max shard size ", max_shard_bytes, " bytes: expected a positive size");
  const fs::path dir = directory.empty() ? fs::path(".") : fs::path(directory);
  const fs::path single = dir / kCheckpointSingleFile, index = dir / kCheckpointIndexFile;
  const std::uint64_t element_size = detail::safetensors_dtype_size(to_string(dtype));
  std::vector<std::uint64_t> tensor_bytes;
  for (const auto& tensor : tensors) tensor_bytes.push_back(tensor.data.size() * element_size);
  const auto shards = plan_checkpoint_shards(tensor_bytes, max_shard_bytes);

  if (shards.size() <= 1) {
    write_safetensors(single.string(), tensors, dtype);
    // The new single file already wins over any index (see the top of this file); these go for tidiness.
    if (fs::exists(index)) detail::remove_stale_checkpoint_file(index);
    for (const auto& stale : detail::stale_checkpoint_shards(dir, {})) detail::remove_stale_checkpoint_file(stale);
    return;
  }

  std::vector<std::string> names;
  // Written completely and fsynced, not yet moved in; one destroyed uncommitted removes its temporary.
  std::vector<std::unique_ptr<AtomicFileWriter>> pending;
  Json weight_map = Json::object();
  std::uint64_t total_bytes = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    names.push_back(checkpoint_shard_name(s, shards.size()));
    std::vector<SafetensorsTensorView> members;
    for (const auto i : shards[s]) {
      require(!weight_map.contains(tensors[i].name), directory, ": tensor '", tensors[i].name, "' appears twice");
      members.push_back(tensors[i]);
      weight_map[tensors[i].name] = names.back();
      total_bytes += tensor_bytes[i];
    }
    const fs::path path = dir / names.back();
    pending.push_back(std::make_unique<AtomicFileWriter>(path.string(), fs::path(path.string() + ".tmp")));
    detail::write_safetensors_to(*pending.back(), path.string(), members, dtype, Json::object());
    pending.back()->finish();
  }
  // No index while shards are moved in: a half-moved set under the old index would load a mix.
  if (fs::exists(index)) detail::remove_stale_checkpoint_file(index);
  for (auto& shard : pending) shard->commit();
  // transformers' index layout (save_pretrained: json.dumps(index, indent=2, sort_keys=True) + "\n";
  // nlohmann's objects are sorted by key). total_size counts tensor bytes, not file bytes.
  const Json index_json = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  write_file_atomically(index.string(), index_json.dump(2) + "\n");
  // Until this goes, the loader still reads the previous single-file checkpoint, whole and consistent.
  if (fs::exists(single)) detail::remove_stale_checkpoint_file(single);
  for (const auto& stale : detail::stale_checkpoint_shards(dir, names)) detail::remove_stale_checkpoint_file(stale);
}

}  // namespace r1
