#pragma once
// What a user tunes per run of the sampler: a plain struct with defaults, a
// validator and a JSON loader. Field names match the JSON keys (and the flags
// of `r1 generate`), which follow the names vLLM and HF GenerationConfig use.
//
//   {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 1024,
//    "eos_token_ids": [1], "stop_strings": ["</answer>"]}
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/token_batch.hpp"

namespace r1 {

struct SamplerConfig {
  float temperature = 1.0f;          // 0 = greedy (argmax); logits are divided by it otherwise
  int top_k = 0;                     // keep the k most likely tokens; 0 = off
  float top_p = 1.0f;                // nucleus: smallest set with probability >= top_p; 1 = off
  float min_p = 0.0f;                // keep tokens with p >= min_p * p_max; 0 = off
  float repetition_penalty = 1.0f;   // CTRL penalty on tokens already in prompt or completion; 1 = off
  int max_new_tokens = 256;          // the completion stops with FinishReason::length after this many
  std::vector<TokenId> eos_token_ids;   // finish with FinishReason::eos; the token is kept in ids
  std::vector<TokenId> stop_token_ids;  // finish with FinishReason::stop; the token is kept in ids
  std::vector<std::string> stop_strings;  // matched on decoded text (needs a detokenizer); FinishReason::stop
  // Ids never drawn: their logits are -inf before every other processor, so the log-probs reported are those of
  // the distribution renormalised without them (HF's bad_words_ids for one-token words; llama.cpp's logit bias
  // of -inf). An evaluation can forbid a behaviour's opening token this way.
  std::vector<TokenId> banned_token_ids;
  int max_batch_sequences = 0;       // most sequences in one KV cache at once (whole prompts); 0 = all
  // Ids the tokenizer can decode are [0, decodable_vocab_size): the logits of the rows above (a padded
  // embedding: Qwen2.5 has 151,936 rows for ~151,665 ids) are -inf, never drawn. 0 = the model's vocabulary.
  std::int64_t decodable_vocab_size = 0;

  // Throws r1::Error naming the first field out of range; `where` names the source.
  void validate(std::string_view where = "SamplerConfig") const {
    require(std::isfinite(temperature) && temperature >= 0.0f, where, ": temperature = ", temperature,
            ": expected a finite value >= 0 (0 = greedy)");
    require(top_k >= 0, where, ": top_k = ", top_k, ": expected >= 0 (0 = off)");
    require(std::isfinite(top_p) && top_p > 0.0f && top_p <= 1.0f, where, ": top_p = ", top_p,
            ": expected a value in (0, 1]");
    require(std::isfinite(min_p) && min_p >= 0.0f && min_p <= 1.0f, where, ": min_p = ", min_p,
            ": expected a value in [0, 1]");
    require(std::isfinite(repetition_penalty) && repetition_penalty > 0.0f, where, ": repetition_penalty = ",
            repetition_penalty, ": expected a finite value > 0 (1 = off)");
    require(max_new_tokens >= 1, where, ": max_new_tokens = ", max_new_tokens, ": expected >= 1");
    require(max_batch_sequences >= 0, where, ": max_batch_sequences = ", max_batch_sequences,
            ": expected >= 0 (0 = all)");
    require(decodable_vocab_size >= 0, where, ": decodable_vocab_size = ", decodable_vocab_size,
            ": expected >= 0 (0 = the model's vocabulary)");
    for (std::size_t i = 0; i < eos_token_ids.size(); ++i)
      require(eos_token_ids[i] >= 0, where, ": eos_token_ids[", i, "] = ", eos_token_ids[i], ": expected >= 0");
    for (std::size_t i = 0; i < stop_token_ids.size(); ++i)
      require(stop_token_ids[i] >= 0, where, ": stop_token_ids[", i, "] = ", stop_token_ids[i], ": expected >= 0");
    for (std::size_t i = 0; i < banned_token_ids.size(); ++i)
      require(banned_token_ids[i] >= 0, where, ": banned_token_ids[", i, "] = ", banned_token_ids[i],
              ": expected >= 0");
    for (std::size_t i = 0; i < stop_strings.size(); ++i)
      require(!stop_strings[i].empty(), where, ": stop_strings[", i, "] is empty: expected a non-empty string");
  }

  // Throws r1::Error unless every configured token id lies in [0, vocab_size).
  void validate_tokens(std::int64_t vocab_size, std::string_view where = "SamplerConfig") const {
    for (const auto* list : {&eos_token_ids, &stop_token_ids, &banned_token_ids}) {
      const char* name = list == &eos_token_ids    ? "eos_token_ids"
                         : list == &stop_token_ids ? "stop_token_ids"
                                                   : "banned_token_ids";
      for (std::size_t i = 0; i < list->size(); ++i)
        require((*list)[i] >= 0 && (*list)[i] < vocab_size, where, ": ", name, "[", i, "] = ", (*list)[i],
                " is outside the vocabulary [0, ", vocab_size, ")");
    }
  }

  bool greedy() const { return temperature == 0.0f; }
};

namespace detail {
// An integer field that must be written as a JSON integer within int's range
// (nlohmann would silently truncate 2.5 or wrap 1e10).
inline int json_int_field_or(const Json& object, std::string_view field, int fallback, std::string_view where) {
  const auto it = object.find(field);
  if (it == object.end()) return fallback;
  require(it->is_number_integer(), where, ": field '", field, "': expected an integer, got ", detail::json_excerpt(*it));
  // get<std::int64_t> would wrap an unsigned value above INT64_MAX (18446744073709551615 to -1).
  const bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= 2147483647ULL
                                             : std::in_range<int>(it->get<std::int64_t>());
  require(fits, where, ": field '", field, "' = ", it->dump(), ": out of range for an int");
  return static_cast<int>(it->get<std::int64_t>());
}
// A number field (integer or float) whose value fits a float (1e300 would be
// undefined behaviour in the conversion).
inline float json_float_field_or(const Json& object, std::string_view field, float fallback, std::string_view where) {
  const auto it = object.find(field);
  if (it == object.end()) return fallback;
  require(it->is_number(), where, ": field '", field, "': expected a number, got ", detail::json_excerpt(*it));
  require(std::abs(it->get<double>()) <= std::numeric_limits<float>::max(), where, ": field '", field,
          "' = ", it->dump(), ": out of range for a float");
  return static_cast<float>(it->get<double>());
}
// A list of token ids, each a JSON integer in [0, 2^31).
inline std::vector<TokenId> json_token_list_or(const Json& object, std::string_view field, std::string_view where) {
  const auto it = object.find(field);
  if (it == object.end()) return {};
  require(it->is_array(), where, ": field '", field, "': expected an array of token ids, got ", it->dump());
  std::vector<TokenId> ids;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& id = (*it)[i];
    require(id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() <= 2147483647LL, where,
            ": ", field, "[", i, "] = ", id.dump(), ": expected a non-negative integer token id");
    ids.push_back(static_cast<TokenId>(id.get<std::int64_t>()));
  }
  return ids;
}
}  // namespace detail

// Reads a SamplerConfig from a JSON object; absent fields keep their defaults,
// unknown fields are an error (a typo must not silently change sampling).
inline SamplerConfig sampler_config_from_json(const Json& object, std::string_view where = "sampler config") {
  require(object.is_object(), where, ": expected a JSON object, got ", object.type_name());
  static constexpr std::string_view kFields[] = {
      "temperature",    "top_k",          "top_p",        "min_p",        "repetition_penalty",
      "max_new_tokens", "eos_token_ids",  "stop_token_ids", "stop_strings", "max_batch_sequences",
      "decodable_vocab_size", "banned_token_ids"};
  for (const auto& item : object.items()) {
    bool known = false;
    for (const auto field : kFields) known = known || item.key() == field;
    require(known, where, ": unknown field '", item.key(), "'");
  }
  SamplerConfig config;
  config.temperature = detail::json_float_field_or(object, "temperature", config.temperature, where);
  config.top_k = detail::json_int_field_or(object, "top_k", config.top_k, where);
  config.top_p = detail::json_float_field_or(object, "top_p", config.top_p, where);
  config.min_p = detail::json_float_field_or(object, "min_p", config.min_p, where);
  config.repetition_penalty =
      detail::json_float_field_or(object, "repetition_penalty", config.repetition_penalty, where);
  config.max_new_tokens = detail::json_int_field_or(object, "max_new_tokens", config.max_new_tokens, where);
  config.eos_token_ids = detail::json_token_list_or(object, "eos_token_ids", where);
  config.stop_token_ids = detail::json_token_list_or(object, "stop_token_ids", where);
  config.banned_token_ids = detail::json_token_list_or(object, "banned_token_ids", where);
  config.stop_strings = json_field_or<std::vector<std::string>>(object, "stop_strings", {}, where);
  config.max_batch_sequences =
      detail::json_int_field_or(object, "max_batch_sequences", config.max_batch_sequences, where);
  config.decodable_vocab_size =
      detail::json_int_field_or(object, "decodable_vocab_size", static_cast<int>(config.decodable_vocab_size), where);
  config.validate(where);
  return config;
}

// Reads and validates a SamplerConfig from a JSON file.
inline SamplerConfig load_sampler_config(const std::string& path) {
  return sampler_config_from_json(read_json_file(path), path);
}

}  // namespace r1
