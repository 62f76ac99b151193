#pragma once
// The tensors of an HF model directory: model.safetensors, or the shards listed
// in model.safetensors.index.json ({"weight_map": {tensor name: shard file}}).
//
//   r1::CheckpointTensors tensors("Qwen2.5-0.5B");
//   tensors.read("model.norm.weight", {896}, destination);   // checks the shape, converts to fp32
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/safetensors.hpp"

namespace r1 {

class CheckpointTensors {
 public:
  explicit CheckpointTensors(const std::string& directory) : directory_(directory) {
    namespace fs = std::filesystem;
    const fs::path single = fs::path(directory) / "model.safetensors";
    const fs::path index = fs::path(directory) / "model.safetensors.index.json";
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

}  // namespace r1
