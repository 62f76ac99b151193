#pragma once
// Normalizer: tokenizer.json's "normalizer" for the families r1 targets:
// null or an empty Sequence (DeepSeek-V3/R1, Llama 3) and NFC (Qwen2/Qwen3).
// Other types raise r1::Error when the file is loaded.
#include <string>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/tokenizer/unicode_nfc.hpp"

namespace r1 {

class Normalizer {
 public:
  Normalizer() = default;  // identity

  static Normalizer from_json(const Json& node, const std::string& where) {
    Normalizer result;
    if (!node.is_null()) result.add(node, where);
    return result;
  }

  bool is_identity() const { return !nfc_; }
  std::string operator()(std::string_view text) const { return nfc_ ? nfc::normalize(text) : std::string(text); }

 private:
  void add(const Json& node, const std::string& where) {
    require(node.is_object(), where, ": expected an object");
    const auto type = json_field<std::string>(node, "type", where);
    if (type == "Sequence") {
      const Json& list = node.contains("normalizers") ? node["normalizers"] : Json();
      require(list.is_array(), where, ": Sequence needs a 'normalizers' array");
      for (std::size_t i = 0; i < list.size(); ++i) add(list[i], where + ".normalizers[" + std::to_string(i) + "]");
    } else if (type == "NFC") {
      nfc_ = true;  // idempotent: NFC twice is NFC
    } else {
      fail(where, ": normalizer type '", type, "' is not supported (expected NFC or a Sequence of it)");
    }
  }

  bool nfc_ = false;
};

}  // namespace r1
