#pragma once
// BpeTokenizer: a byte-level BPE tokenizer loaded from a HuggingFace
// tokenizer.json (DeepSeek-V3/R1, Qwen2/Qwen3, Llama 3), giving the ids HF
// tokenizers gives. The pipeline is HF's:
//   added tokens (raw) -> normalizer -> added tokens (normalized) -> pre-tokenizer -> BPE model
// and decoding maps ids back through the ByteLevel decoder.
//
//   auto tokenizer = r1::BpeTokenizer::from_file("DeepSeek-R1-Distill-Qwen-1.5B/tokenizer.json");
//   std::vector<r1::TokenId> ids = tokenizer.encode("1+1=2", /*add_special_tokens=*/true);
//   std::string text = tokenizer.decode(ids);
//
// BOS/EOS come from tokenizer_config.json beside tokenizer.json when present
// (bos_token, eos_token, add_bos_token, add_eos_token, as transformers reads
// them), else from a TemplateProcessing post-processor. Text that is not valid
// UTF-8 is tokenized as bytes: ill-formed bytes never match a regex, become
// pieces of their own, and decode() gives the exact bytes back.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/added_vocabulary.hpp"
#include "r1/tokenizer/bpe_model.hpp"
#include "r1/tokenizer/byte_level.hpp"
#include "r1/tokenizer/normalizer.hpp"
#include "r1/tokenizer/pre_tokenizer.hpp"

namespace r1 {

class BpeTokenizer {
 public:
  // Reads tokenizer.json and, when it exists in the same folder, tokenizer_config.json.
  static BpeTokenizer from_file(const std::string& path) {
    const Json tokenizer = read_json_file(path);
    const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
    std::error_code ignored;
    const Json config = std::filesystem::exists(config_path, ignored) ? read_json_file(config_path.string()) : Json();
    return from_json(tokenizer, config, path, config_path.string());
  }

  // `tokenizer` is the content of a tokenizer.json, `config` that of a
  // tokenizer_config.json (or null); the names are used in errors.
  static BpeTokenizer from_json(const Json& tokenizer, const Json& config, const std::string& name = "tokenizer.json",
                                const std::string& config_name = "tokenizer_config.json") {
    BpeTokenizer result;
    require(tokenizer.is_object(), name, ": expected a JSON object");
    require(tokenizer.contains("model"), name, ": missing field 'model'");
    const Json& added_tokens = tokenizer.contains("added_tokens") ? tokenizer["added_tokens"] : Json::array();
    const std::size_t added_count = added_tokens.is_array() ? added_tokens.size() : 0;
    result.model_ = BpeModel::from_json(tokenizer["model"], name + ": model", added_count);
    result.normalizer_ = Normalizer::from_json(tokenizer.value("normalizer", Json()), name + ": normalizer");
    result.pre_tokenizer_ = PreTokenizer::from_json(tokenizer.value("pre_tokenizer", Json()), name + ": pre_tokenizer");
    result.read_decoder(tokenizer.value("decoder", Json()), name + ": decoder");
    result.read_post_processor(tokenizer.value("post_processor", Json()), name + ": post_processor");
    if (result.pre_tokenizer_.byte_level())
      require(result.model_.covers_all_bytes(), name,
              ": the ByteLevel pre-tokenizer needs all 256 byte characters in model.vocab");
    result.read_added_tokens(added_tokens, name + ": added_tokens", result.model_.entries() + added_count);
    result.vocab_size_ = result.model_.size();
    for (const auto& token : result.added_.tokens())
      result.vocab_size_ = std::max<std::int64_t>(result.vocab_size_, std::int64_t{token.id} + 1);
    result.read_config(config, config_name);
    result.build_decode_table();
    return result;
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const {
    std::vector<TokenId> ids;
    BpeModel::Workspace work;
    encode_into(text, add_special_tokens, ids, work);
    return ids;
  }

  // Encodes many texts in parallel with oneTBB; result[i] = encode(texts[i], add_special_tokens).
  std::vector<std::vector<TokenId>> encode_batch(std::span<const std::string> texts, bool add_special_tokens = false) const {
    std::vector<std::vector<TokenId>> result(texts.size());
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, texts.size()), [&](const tbb::blocked_range<std::size_t>& range) {
      BpeModel::Workspace work;
      for (std::size_t i = range.begin(); i != range.end(); ++i) encode_into(texts[i], add_special_tokens, result[i], work);
    });
    return result;
  }

  // The bytes the ids stand for (may end inside a UTF-8 character: see StreamDecoder).
  // r1::Error for an id outside [0, vocab_size()).
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const {
    std::string text;
    for (const TokenId id : ids) {
      require(id >= 0 && id < vocab_size_, "BpeTokenizer::decode: token id ", id, " is outside the vocabulary [0, ",
              vocab_size_, ")");
      if (skip_special_tokens && is_special(id)) continue;
      text += decoded_[static_cast<std::size_t>(id)];
    }
    return text;
  }

  std::int64_t vocab_size() const { return vocab_size_; }
  std::optional<TokenId> token_to_id(std::string_view token) const {
    if (const auto id = added_.token_to_id(token)) return id;
    return model_.token_to_id(token);
  }
  // The token as the vocabulary spells it (byte-level alphabet; added tokens as written).
  std::string_view id_to_token(TokenId id) const {
    require(id >= 0 && id < vocab_size_, "BpeTokenizer: token id ", id, " is outside the vocabulary [0, ", vocab_size_, ")");
    if (const AddedToken* added = added_.find(id)) return added->content;
    return model_.id_to_token(id);
  }
  bool is_special(TokenId id) const {
    const AddedToken* added = added_.find(id);
    return added != nullptr && added->special;
  }
  std::optional<TokenId> bos_token_id() const { return bos_; }
  std::optional<TokenId> eos_token_id() const { return eos_; }
  std::optional<TokenId> pad_token_id() const { return pad_; }
  bool adds_bos() const { return add_bos_; }
  bool adds_eos() const { return add_eos_; }
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }

 private:
  void encode_into(std::string_view text, bool add_special_tokens, std::vector<TokenId>& ids, BpeModel::Workspace& work) const {
    ids.clear();
    if (add_special_tokens) ids.insert(ids.end(), prefix_ids_.begin(), prefix_ids_.end());
    std::vector<AddedTokenSplit> raw_parts, normalized_parts;
    added_.split(text, /*normalized_set=*/false, raw_parts);
    std::string normalized, prefixed;
    for (const auto& raw : raw_parts) {
      if (raw.id >= 0) {
        ids.push_back(raw.id);
        continue;
      }
      const std::string_view segment = text.substr(raw.begin, raw.end - raw.begin);
      std::string_view plain = segment;
      if (!normalizer_.is_identity()) {
        normalized = normalizer_(segment);
        plain = normalized;
      }
      added_.split(plain, /*normalized_set=*/true, normalized_parts);
      for (const auto& part : normalized_parts) {
        if (part.id >= 0) {
          ids.push_back(part.id);
          continue;
        }
        std::string_view piece_text = plain.substr(part.begin, part.end - part.begin);
        if (pre_tokenizer_.add_prefix_space() && !piece_text.empty() && piece_text.front() != ' ') {
          prefixed = " ";
          prefixed += piece_text;
          piece_text = prefixed;
        }
        for (const TextSpan piece : pre_tokenizer_.split(piece_text))
          model_.encode_word(piece_text.substr(piece.begin, piece.end - piece.begin), pre_tokenizer_.byte_level(), ids,
                             work);
      }
    }
    if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  }

  // `id_limit`: vocab entries + added tokens (see BpeModel::from_json).
  void read_added_tokens(const Json& list, const std::string& where, std::size_t id_limit) {
    require(list.is_array(), where, ": expected an array");
    std::vector<AddedToken> tokens;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string here = where + "[" + std::to_string(i) + "]";
      AddedToken token;
      const auto id = json_field<std::int64_t>(list[i], "id", here);
      const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(id_limit, (std::size_t{1} << 31) - 1));
      require(id >= 0 && id < limit, here, ": id ", id, " is outside [0, ", limit,
              "): the vocabulary and added tokens have ", id_limit, " entries");
      token.id = static_cast<TokenId>(id);
      token.content = json_field<std::string>(list[i], "content", here);
      token.single_word = json_field_or<bool>(list[i], "single_word", false, here);
      token.lstrip = json_field_or<bool>(list[i], "lstrip", false, here);
      token.rstrip = json_field_or<bool>(list[i], "rstrip", false, here);
      token.special = json_field_or<bool>(list[i], "special", false, here);
      token.normalized = json_field_or<bool>(list[i], "normalized", !token.special, here);
      // HF re-adds added tokens on load: one whose content is already a vocabulary token takes
      // that token's id, whatever the file says. (For other tokens r1 keeps the file's id; HF
      // renumbers them only when the file's ids are not the next free ones, which no target file does.)
      if (const auto in_vocab = model_.token_to_id(token.content)) token.id = *in_vocab;
      tokens.push_back(std::move(token));
    }
    added_.build(std::move(tokens), [&](const std::string& content) { return normalizer_(content); });
  }

  void read_decoder(const Json& node, const std::string& where) {
    if (node.is_null()) return;
    const auto type = json_field<std::string>(node, "type", where);
    if (type == "ByteLevel") {
      byte_level_decoder_ = true;
    } else if (type == "Sequence") {
      const Json& list = node.value("decoders", Json());
      require(list.is_array(), where, ": Sequence needs a 'decoders' array");
      for (std::size_t i = 0; i < list.size(); ++i) read_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]");
    } else {
      fail(where, ": decoder type '", type, "' is not supported (expected ByteLevel)");
    }
  }

  // TemplateProcessing's "single" template gives the ids around a sequence; ByteLevel
  // changes only offsets (trim_offsets), never ids.
  void read_post_processor(const Json& node, const std::string& where) {
    if (node.is_null()) return;
    const auto type = json_field<std::string>(node, "type", where);
    if (type == "ByteLevel") return;
    if (type == "Sequence") {
      const Json& list = node.value("processors", Json());
      require(list.is_array(), where, ": Sequence needs a 'processors' array");
      for (std::size_t i = 0; i < list.size(); ++i)
        read_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]");
      return;
    }
    require(type == "TemplateProcessing", where, ": post-processor type '", type,
            "' is not supported (expected ByteLevel, TemplateProcessing or a Sequence of them)");
    const Json& single = node.value("single", Json());
    const Json& specials = node.value("special_tokens", Json::object());
    require(single.is_array(), where, ".single: expected an array");
    // Json::value() on a non-object throws nlohmann's type_error (found by fuzz_tokenizer_json).
    require(specials.is_object(), where, ".special_tokens: expected an object, got ", specials.type_name());
    bool after_sequence = false;
    for (const Json& item : single) {
      if (item.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      const auto token = json_field<std::string>(json_field<Json>(item, "SpecialToken", where + ".single"), "id",
                                                 where + ".single.SpecialToken");
      const Json& entry = specials.value(token, Json());
      const auto ids = json_field<std::vector<TokenId>>(entry, "ids", where + ".special_tokens['" + token + "']");
      auto& target = after_sequence ? template_suffix_ : template_prefix_;
      target.insert(target.end(), ids.begin(), ids.end());
    }
  }

  // transformers' reading of tokenizer_config.json: a token is a string or {"content": ...}.
  std::optional<TokenId> config_token(const Json& config, const char* field, const std::string& where) const {
    if (!config.is_object() || !config.contains(field) || config[field].is_null()) return std::nullopt;
    const Json& value = config[field];
    const std::string content = value.is_string() ? value.get<std::string>()
                                                  : json_field<std::string>(value, "content", where + ": " + field);
    const auto id = token_to_id(content);
    require(id.has_value(), where, ": ", field, " '", content, "' is not in the vocabulary");
    return id;
  }

  void read_config(const Json& config, const std::string& where) {
    bos_ = config_token(config, "bos_token", where);
    eos_ = config_token(config, "eos_token", where);
    pad_ = config_token(config, "pad_token", where);
    const bool config_decides = config.is_object() && (config.contains("add_bos_token") || config.contains("add_eos_token"));
    if (config_decides) {
      add_bos_ = json_field_or<bool>(config, "add_bos_token", false, where) && bos_.has_value();
      add_eos_ = json_field_or<bool>(config, "add_eos_token", false, where) && eos_.has_value();
      if (add_bos_) prefix_ids_ = {*bos_};
      if (add_eos_) suffix_ids_ = {*eos_};
    } else {
      prefix_ids_ = template_prefix_;
      suffix_ids_ = template_suffix_;
      add_bos_ = !prefix_ids_.empty();
      add_eos_ = !suffix_ids_.empty();
    }
    for (const TokenId id : prefix_ids_) require(id >= 0 && id < vocab_size_, where, ": special id ", id, " is outside the vocabulary");
    for (const TokenId id : suffix_ids_) require(id >= 0 && id < vocab_size_, where, ": special id ", id, " is outside the vocabulary");
  }

  // HF ByteLevel decoder: a token spelled in the byte-level alphabet becomes its
  // bytes; a token with any other character (most added tokens) stays as written.
  void build_decode_table() {
    decoded_.assign(static_cast<std::size_t>(vocab_size_), std::string());
    for (std::int64_t id = 0; id < vocab_size_; ++id) {
      const AddedToken* added = added_.find(static_cast<TokenId>(id));
      const std::string_view token = added != nullptr ? std::string_view(added->content) : model_.id_to_token(static_cast<TokenId>(id));
      std::string& out = decoded_[static_cast<std::size_t>(id)];
      if (byte_level_decoder_) {
        const auto bytes = byte_level::decode(token);
        out = bytes ? *bytes : std::string(token);
      } else {
        out = std::string(token);
      }
    }
  }

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedVocabulary added_;
  bool byte_level_decoder_ = false;
  std::vector<std::string> decoded_;
  std::vector<TokenId> template_prefix_, template_suffix_, prefix_ids_, suffix_ids_;
  std::optional<TokenId> bos_, eos_, pad_;
  bool add_bos_ = false, add_eos_ = false;
  std::int64_t vocab_size_ = 0;
};

}  // namespace r1
