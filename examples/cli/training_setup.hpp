#pragma once
// Glue shared by `r1 sft`, `r1 grpo`, `r1 eval` and `r1 distill`: a JSON config
// file whose fields flags may override, and the pieces it names (model,
// tokenizer, prompt template, problems, rewards).
//
// Config fields (all optional unless a command needs them):
//   "model": "DIR"                    HF folder (config.json + model.safetensors)
//   "tokenizer": "FILE" | {...}       tokenizer.json (byte-level BPE), or {"type": "char",
//                                     "special_tokens": [...], "symbols": "..."}; default: DIR/tokenizer.json,
//                                     else DIR/r1_tokenizer.json
//   "template": "raw" | "chat" | "r1_zero" | "deepseek_chat"   how a problem's prompt becomes the model's prompt
//                                     (raw: conversational prompts through the model's chat template)
//   "chat_template": "chatml" | "llama3" | "llama3_1" | "deepseek_r1"   instead of tokenizer_config.json's
//   "train": "FILE", "eval": "FILE"   JSONL problems (prompt, answer/solution, numbers/target, tests)
//   "reward": {"math": 1, "format": 0.1}   weighted verifiers: math, format, format_lenient, tag_count, countdown, code
//   "out": "DIR"
//   "max_shard_size": bytes | "500MB"   largest weight file the trained model is saved in (--max-shard-size)
//   "lora": {"r": 16, "lora_alpha": 32, "target_modules": "all-linear", ...}   train LoRA adapters on a frozen
//                                     base (PEFT's names, r1/model/lora_config.hpp); saved as OUT/adapter
//   "gradient_checkpointing": true    keep layer inputs only, recompute each layer in backward
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/checkpoint_dir.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/transformer.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/tasks/jsonl_dataset.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/tokenizer/chat_template.hpp"
#include "r1/tokenizer/prompt_template.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/memory_plan.hpp"
#include "r1/train/text_codec.hpp"

namespace r1::cli {

// The config file, or an empty object when none was given. One file may serve every command, so a field
// is known when any command reads it; any other is an error naming it (a misspelt "gradient_checkpoint"
// must not silently train without it).
inline Json read_config(const std::string& path) {
  if (path.empty()) return Json::object();
  Json config = read_json_file(path);
  require(config.is_object(), path, ": expected a JSON object at the top level");
  require_known_fields(config,
                       {"model", "teacher", "student", "tokenizer", "template", "chat_template", "train", "eval",
                        "reward", "out", "max_shard_size", "trainer", "objective", "optimizer", "schedule",
                        "sampling", "evaluation", "eval_every", "checkpoint_every", "lora", "gradient_checkpointing",
                        "sampling_weights"},
                       path);
  return config;
}

// A flag given on the command line replaces the config's field.
template <class T>
void override_field(Json& config, const std::string& field, const std::optional<T>& flag) {
  if (flag) config[field] = *flag;
}

inline std::string config_string(const Json& config, const std::string& field, const std::string& fallback = {}) {
  return json_field_or<std::string>(config, field, fallback, "config");
}

// The largest shard of the saved model: --max-shard-size, else the config's "max_shard_size" (bytes, or
// a size such as "500MB" or "2GiB", r1::parse_byte_size), else 5 GB as HF's save_pretrained
// (kDefaultMaxShardBytes). Commands read it before training, so a bad size fails at once.
inline std::int64_t max_shard_bytes(const Json& config, const std::optional<std::string>& flag) {
  if (flag) return parse_byte_size(*flag, "--max-shard-size");
  const auto field = config.find("max_shard_size");
  if (field == config.end()) return kDefaultMaxShardBytes;
  if (field->is_number_integer()) {
    const auto bytes = field->get<std::int64_t>();
    require(bytes > 0, "config: 'max_shard_size' = ", bytes, ": expected a positive size");
    return bytes;
  }
  require(field->is_string(), "config: 'max_shard_size' must be a number of bytes or a size such as \"5GB\"");
  return parse_byte_size(field->get<std::string>(), "config: 'max_shard_size'");
}

inline std::string required_string(const Json& config, const std::string& field, const char* flag) {
  const auto value = config_string(config, field);
  require(!value.empty(), "config: '", field, "' is required (set it in the config file or with ", flag, ")");
  return value;
}

// A tokenizer of either kind behind one interface.
class AnyTokenizer {
 public:
  explicit AnyTokenizer(CharTokenizer tokenizer) : impl_(std::move(tokenizer)) {}
  explicit AnyTokenizer(BpeTokenizer tokenizer) : impl_(std::move(tokenizer)) {}

  std::vector<TokenId> encode(std::string_view text) const {
    return std::visit([&](const auto& t) { return t.encode(text); }, impl_);
  }
  std::string decode(std::span<const TokenId> ids) const {
    return std::visit([&](const auto& t) { return t.decode(ids); }, impl_);
  }
  std::optional<TokenId> eos_token_id() const {
    return std::visit([](const auto& t) { return t.eos_token_id(); }, impl_);
  }
  std::optional<TokenId> bos_token_id() const {
    return std::visit([](const auto& t) { return t.bos_token_id(); }, impl_);
  }
  std::int64_t vocab_size() const {
    return std::visit([](const auto& t) { return static_cast<std::int64_t>(t.vocab_size()); }, impl_);
  }

 private:
  std::variant<CharTokenizer, BpeTokenizer> impl_;
};

inline AnyTokenizer char_tokenizer_from_json(const Json& spec, std::string_view where) {
  return AnyTokenizer(CharTokenizer(json_field<std::vector<std::string>>(spec, "special_tokens", where),
                                    json_field<std::string>(spec, "symbols", where)));
}

// From the config's "tokenizer" (a path or a char spec), else beside the model.
inline AnyTokenizer load_tokenizer(const Json& config, const std::string& model_dir) {
  if (config.contains("tokenizer") && config["tokenizer"].is_object())
    return char_tokenizer_from_json(config["tokenizer"], "config: 'tokenizer'");
  std::string path = config_string(config, "tokenizer");
  if (path.empty() && !model_dir.empty()) {
    for (const char* name : {"tokenizer.json", "r1_tokenizer.json"})
      if (std::filesystem::exists(std::filesystem::path(model_dir) / name)) {
        path = (std::filesystem::path(model_dir) / name).string();
        break;
      }
  }
  require(!path.empty(), "config: no tokenizer: set 'tokenizer' (or --tokenizer), or put tokenizer.json in the model folder");
  const Json file = read_json_file(path);
  if (file.is_object() && file.value("type", "") == "char") return char_tokenizer_from_json(file, path);
  return AnyTokenizer(BpeTokenizer::from_file(path));
}

// The chat template conversational prompts are rendered with: the config's "chat_template" (--chat-template:
// chatml, llama3, llama3_1, deepseek_r1), else the one of tokenizer_config.json beside the tokenizer file (or
// in the model folder), recognised by its markers (r1/tokenizer/chat_template.hpp). When neither gives one,
// `error` says why and how to choose, raised by the first conversational prompt.
struct ChatTemplateChoice {
  std::optional<ChatTemplate> chat;
  std::string error;
};
inline ChatTemplateChoice chat_template_choice(const Json& config) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  const auto tokenizer = config.find("tokenizer");
  if (tokenizer != config.end() && tokenizer->is_string())
    candidates.push_back(fs::path(tokenizer->get<std::string>()).parent_path() / "tokenizer_config.json");
  for (const char* field : {"model", "teacher"})  // r1 distill's tokenizer is the teacher's
    if (const std::string model = config_string(config, field); !model.empty())
      candidates.push_back(fs::path(model) / "tokenizer_config.json");
  fs::path config_path;
  for (const auto& candidate : candidates)
    if (config_path.empty() && fs::exists(candidate)) config_path = candidate;
  const bool has_config = !config_path.empty();
  const Json tokenizer_config = has_config ? read_json_file(config_path.string()) : Json::object();
  ChatTemplateChoice choice;
  const std::string named = config_string(config, "chat_template");
  if (!named.empty()) {
    choice.chat = chat_template_named(named, tokenizer_config_token(tokenizer_config, "bos_token", config_path.string()),
                                      "config: 'chat_template' (--chat-template)");
    return choice;
  }
  if (!has_config) {
    choice.error = "a conversational prompt needs a chat template: no tokenizer_config.json beside the tokenizer or "
                   "in the model folder; choose one with --chat-template (" + std::string(kChatTemplateNames) + ")";
    return choice;
  }
  try {
    choice.chat = chat_template_from_config(tokenizer_config, config_path.string());
  } catch (const Error& error) {
    choice.error = error.what();
  }
  return choice;
}

// How a problem's prompt becomes prompt text. "raw" (the default) renders a conversational prompt
// ({"prompt": [{"role", "content"}, ...]}) with the model's chat template and leaves a string as it is;
// "chat" renders a string prompt as one user message too; "r1_zero" and "deepseek_chat" wrap the prompt's
// text (a conversation's last user message).
inline std::function<std::string(const Problem&)> prompt_template(const Json& config) {
  const std::string name = config_string(config, "template", "raw");
  if (name == "r1_zero") return [](const Problem& problem) { return r1_zero_prompt_text(problem.prompt); };
  if (name == "deepseek_chat") return [](const Problem& problem) { return deepseek_chat_text(problem.prompt); };
  require(name == "raw" || name == "chat", "config: 'template' = '", name,
          "': expected raw, chat, r1_zero or deepseek_chat");
  const auto choice = std::make_shared<const ChatTemplateChoice>(chat_template_choice(config));
  const bool all_chat = name == "chat";
  return [choice, all_chat](const Problem& problem) {
    const bool conversational = problem.extra.is_object() && problem.extra.contains("prompt_messages");
    if (!conversational && !all_chat) return problem.prompt;
    require(choice->chat.has_value(), choice->error);
    const std::vector<ChatMessage> messages =
        conversational ? chat_messages_from_json(problem.extra["prompt_messages"], "prompt")
                       : std::vector<ChatMessage>{{"user", problem.prompt}};
    return render_chat(*choice->chat, messages);
  };
}

// The codec: template + tokenizer; decoding drops a final EOS token (it is not text) and never throws on
// an id: one the tokenizer lacks reads as U+FFFD (decode_completion flags it).
inline TextCodec make_codec(const AnyTokenizer& tokenizer, const Json& config) {
  TextCodec codec;
  auto text_of = prompt_template(config);
  codec.render_prompt = [&tokenizer, text_of](const Problem& problem) { return tokenizer.encode(text_of(problem)); };
  const auto eos = tokenizer.eos_token_id();
  codec.vocab_size = tokenizer.vocab_size();
  codec.decode = [&tokenizer, eos, vocab = codec.vocab_size](std::span<const TokenId> ids) {
    if (eos && !ids.empty() && ids.back() == *eos) ids = ids.first(ids.size() - 1);
    return decode_replacing_undecodable(ids, vocab, [&tokenizer](std::span<const TokenId> run) { return tokenizer.decode(run); });
  };
  return codec;
}

// "reward": {"math": 1.0, "format": 0.1, ...}; default: math accuracy alone.
inline RewardList make_reward(const Json& config) {
  Json spec = config.contains("reward") ? config["reward"] : Json{{"math", 1.0}};
  require(spec.is_object() && !spec.empty(), "config: 'reward' must be an object of verifier -> weight");
  RewardList list;
  for (const auto& [name, weight_json] : spec.items()) {
    require(weight_json.is_number(), "config: reward '", name, "': the weight must be a number");
    const double weight = weight_json.get<double>();
    if (name == "math")
      list.add(MathAnswer{}, weight);
    else if (name == "format")
      list.add(R1Format{}, weight);
    else if (name == "format_lenient")
      list.add(R1Format{R1FormatOptions{.strict = false}}, weight);
    else if (name == "tag_count")
      list.add(TagCount{}, weight);
    else if (name == "countdown")
      list.add(Countdown{}, weight);
    else if (name == "code")  // the problems' "tests", run in the sandbox; Python unless a problem says otherwise
      list.add(code::CodeVerifier{}, weight);
    else
      fail("config: reward '", name, "': expected math, format, format_lenient, tag_count, countdown or code");
  }
  return list;
}

// The SFT settings of `r1 sft` and `r1 distill`: "trainer" (SftConfig), "optimizer" (AdamW) and
// "schedule" (default: constant at the optimiser's rate), with flag overrides.
struct SftSettings {
  SftConfig sft;
  AdamWConfig adam;
  LrSchedule schedule;
};
inline SftSettings sft_settings(const Json& config, std::optional<std::int64_t> steps, std::optional<std::uint64_t> seed,
                                std::optional<float> lr) {
  Json trainer = config.value("trainer", Json::object());
  if (steps) trainer["steps"] = *steps;
  if (seed) trainer["seed"] = *seed;
  Json optimizer = config.value("optimizer", Json::object());
  if (lr) optimizer["lr"] = *lr;
  SftSettings settings;
  settings.sft = SftConfig::from_json(trainer, "config: 'trainer'");
  settings.adam = AdamWConfig::from_json(optimizer, "config: 'optimizer'");
  settings.schedule = config.contains("schedule") ? LrSchedule::from_json(config["schedule"], "config: 'schedule'")
                                                  : LrSchedule(ConstantSchedule{settings.adam.lr});
  return settings;
}

inline std::vector<Problem> load_problems(const std::string& path) {
  auto problems = load_jsonl_problems(path);
  require(!problems.empty(), path, ": no problems");
  return problems;
}

// This process's resident set in bytes (/proc/self/statm's second field), 0 when unknown.
inline std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Prints the plan to stderr, then refuses (r1::Error naming the knob to turn) when it exceeds
// --memory-limit (a size, e.g. 20GB), else the memory this run can have: what it holds now (the model is
// loaded) plus MemAvailable. A machine whose /proc says nothing is not checked.
inline void check_memory_plan(const MemoryPlan& plan, const std::optional<std::string>& memory_limit,
                              std::string_view who) {
  std::fprintf(stderr, "%.*s: planned memory (fp32)\n%s", static_cast<int>(who.size()), who.data(), plan.table().c_str());
  if (memory_limit) {
    require_memory_fits(plan, static_cast<std::uint64_t>(parse_byte_size(*memory_limit, "--memory-limit")), who,
                        "--memory-limit");
    return;
  }
  const std::uint64_t available = available_memory_bytes();
  if (available == 0) return;
  require_memory_fits(plan, available + resident_bytes(), who, "MemAvailable + this process's resident set");
}

// Less memory per parameter (issue 22): "lora" (the base then loads frozen, without a gradient buffer,
// and adapters train) and "gradient_checkpointing" (activations recomputed). The LoRA settings return too,
// for the memory plan.
struct LoadedForTraining {
  Transformer<cpu> model;
  std::optional<LoraConfig> lora;
};
inline LoadedForTraining load_for_training(const std::string& model_dir, const Json& config) {
  std::optional<LoraConfig> lora;
  if (config.contains("lora") && !config["lora"].is_null()) {
    lora = LoraConfig::from_json(config["lora"], "config: 'lora'");
    require(lora->dropout == 0, "config: 'lora': field 'lora_dropout' = ", lora->dropout,
            ": r1 trains LoRA adapters without dropout; set it to 0");
  }
  const bool checkpointing = json_field_or<bool>(config, "gradient_checkpointing", false, "config");
  LoadedForTraining loaded{Transformer<cpu>::load(model_dir, lora), lora};
  loaded.model.set_gradient_checkpointing(checkpointing);
  return loaded;
}

// The trained model: with LoRA the adapter alone, in PEFT's format (OUT/adapter; `r1 merge-lora` folds it
// into a full checkpoint), else the whole model (OUT/model).
template <class Model>
std::string save_trained_model(const Model& model, const std::string& out, const std::string& base_model,
                               std::int64_t max_shard_bytes) {
  if (model.has_lora()) {
    model.save_adapter(out + "/adapter", base_model);
    return out + "/adapter";
  }
  model.save(out + "/model", SafetensorsDtype::f32, max_shard_bytes);
  return out + "/model";
}

}  // namespace r1::cli
