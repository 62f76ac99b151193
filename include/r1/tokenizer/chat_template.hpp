#pragma once
// Chat templates: a conversation ({role, content} messages) rendered as the model's own
// tokenizer_config.json "chat_template" would render it with add_generation_prompt=True, for the families
// r1 trains. The Jinja source is not interpreted: the family is recognised by its distinctive markers,
// and an unrecognised template is an r1::Error naming the option that picks one (--chat-template).
//
//   auto chat = r1::chat_template_from_config(r1::read_json_file("Qwen2.5-0.5B/tokenizer_config.json"), path);
//   std::string text = r1::render_chat(chat, {{"user", "What is 2+3?"}});
//   // "<|im_start|>system\nYou are Qwen, ...<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
//
// Families and the published templates they follow (no tools):
//   chatml       Qwen2 / Qwen2.5 (and plain ChatML): '<|im_start|>' + role + '\n' + content + '<|im_end|>\n' per
//                message, '<|im_start|>assistant\n' to open the reply. Qwen's templates put a default system
//                message first when the conversation has none ("You are Qwen, created by Alibaba Cloud. You are
//                a helpful assistant."; Qwen2.5-Math: "Please reason step by step, ..."): it is read from the
//                template's own literal.
//   llama3       Llama 3 / 3.1 / 3.2 / 3.3: bos_token, then per message '<|start_header_id|>' + role +
//                '<|end_header_id|>\n\n' + content|trim + '<|eot_id|>'. From 3.1 on ("Cutting Knowledge Date"
//                in the template) a system header always comes first: "Cutting Knowledge Date: December
//                2023\nToday Date: 26 Jul 2024\n\n" + the system message|trim (26 Jul 2024 is the templates'
//                date_string default; 3.2's transformers renders today's date instead, via strftime_now).
//   deepseek_r1  DeepSeek-R1 / V3 and the R1-Distill models: bos_token + the system messages joined by
//                "\n\n", '<｜User｜>' + content, '<｜Assistant｜>' + the reply (R1's templates keep only what
//                follows its last '</think>', V3's all of it) + '<｜end▁of▁sentence｜>', then '<｜Assistant｜>'
//                (with '<think>\n' when the template adds it, as R1's of 2025-02 do).
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatFamily { chatml, llama3, deepseek_r1 };

// A recognised template: the family and what its source fixes.
struct ChatTemplate {
  ChatFamily family = ChatFamily::chatml;
  std::string bos_token;       // tokenizer_config.json's bos_token (llama3, deepseek_r1 write it first)
  std::string default_system;  // chatml: the system message used when the conversation has none
  bool llama_dated_system = false;  // llama3: the 3.1+ system header (knowledge cutoff and date)
  bool open_think = false;          // deepseek_r1: '<think>\n' after the generation prompt
  bool cut_reasoning = false;       // deepseek_r1: a reply keeps only what follows its last '</think>'
};

inline constexpr std::string_view kChatTemplateNames = "chatml, llama3, llama3_1, deepseek_r1";

// A family by name (the --chat-template option): chatml, llama3 (3.0 form), llama3_1 (3.1+ form, dated
// system header), deepseek_r1 (with '<think>\n'). `bos_token` goes where the template writes it.
inline ChatTemplate chat_template_named(std::string_view name, std::string bos_token, std::string_view where) {
  ChatTemplate chat;
  chat.bos_token = std::move(bos_token);
  if (name == "chatml") {
    chat.family = ChatFamily::chatml;
  } else if (name == "llama3") {
    chat.family = ChatFamily::llama3;
  } else if (name == "llama3_1") {
    chat.family = ChatFamily::llama3;
    chat.llama_dated_system = true;
  } else if (name == "deepseek_r1") {
    chat.family = ChatFamily::deepseek_r1;
    chat.open_think = true;
    chat.cut_reasoning = true;
  } else {
    fail(where, ": chat template '", name, "': expected one of ", kChatTemplateNames);
  }
  return chat;
}

namespace detail {
// The value of a Jinja string literal starting at `text[begin]` (a quote), escapes resolved (\n, \t, \\,
// \', \"), or nullopt when it does not close.
inline std::optional<std::string> jinja_string_literal(std::string_view text, std::size_t begin) {
  const char quote = text[begin];
  std::string value;
  for (std::size_t i = begin + 1; i < text.size(); ++i) {
    if (text[i] == quote) return value;
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[++i];
      value += next == 'n' ? '\n' : next == 't' ? '\t' : next;
    } else {
      value += text[i];
    }
  }
  return std::nullopt;
}

// Qwen's default system message: the literal '<|im_start|>system\n...<|im_end|>\n' in the template (the
// branch taken when messages[0] is not a system message), or "" for plain ChatML.
inline std::string chatml_default_system(std::string_view source) {
  constexpr std::string_view open = "<|im_start|>system\\n", close = "<|im_end|>";
  for (std::size_t at = source.find(open); at != std::string_view::npos; at = source.find(open, at + 1)) {
    if (at == 0 || (source[at - 1] != '\'' && source[at - 1] != '"')) continue;  // must open a literal
    const auto literal = jinja_string_literal(source, at - 1);
    if (!literal) continue;
    const std::string_view value(*literal);
    const std::size_t start = std::string_view("<|im_start|>system\n").size();
    if (value.size() < start || !value.ends_with(std::string(close) + "\n")) continue;  // "... + messages[0]..." form
    return std::string(value.substr(start, value.size() - start - close.size() - 1));
  }
  return {};
}
}  // namespace detail

// The family of a chat_template's Jinja source, by markers, or nullopt when none is recognised.
inline std::optional<ChatTemplate> recognise_chat_template(std::string_view source, std::string bos_token) {
  ChatTemplate chat;
  chat.bos_token = std::move(bos_token);
  if (source.find("<|im_start|>") != std::string_view::npos && source.find("<|im_end|>") != std::string_view::npos) {
    chat.family = ChatFamily::chatml;
    chat.default_system = detail::chatml_default_system(source);
    return chat;
  }
  if (source.find("<|start_header_id|>") != std::string_view::npos && source.find("<|eot_id|>") != std::string_view::npos) {
    chat.family = ChatFamily::llama3;
    chat.llama_dated_system = source.find("Cutting Knowledge Date") != std::string_view::npos;
    return chat;
  }
  if (source.find("<｜User｜>") != std::string_view::npos && source.find("<｜Assistant｜>") != std::string_view::npos) {
    chat.family = ChatFamily::deepseek_r1;
    chat.open_think = source.find("<｜Assistant｜><think>\\n") != std::string_view::npos;
    chat.cut_reasoning = source.find("split('</think>')") != std::string_view::npos;  // R1's, not V3's
    return chat;
  }
  return std::nullopt;
}

// A special token of tokenizer_config.json: a string, {"content": ...} (AddedToken), or null/absent = "".
inline std::string tokenizer_config_token(const Json& config, std::string_view field, std::string_view where) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  require(it->is_object(), where, ": field '", field, "' must be a string or an object with 'content'");
  return json_field<std::string>(*it, "content", std::string(where) + ": field '" + std::string(field) + "'");
}

// The template of a tokenizer_config.json (`where` names the file): its "chat_template" (a string, or a
// list of {name, template} whose "default" is taken, as transformers does). No template, or one of an
// unknown family, is an r1::Error naming the option that chooses one explicitly.
inline ChatTemplate chat_template_from_config(const Json& config, std::string_view where) {
  require(config.is_object(), where, ": expected a JSON object");
  const std::string bos = tokenizer_config_token(config, "bos_token", where);
  const auto it = config.find("chat_template");
  require(it != config.end() && !it->is_null(), where, ": no 'chat_template' to render conversational prompts with; ",
          "choose one with --chat-template (", kChatTemplateNames, ")");
  std::string source;
  if (it->is_string()) {
    source = it->get<std::string>();
  } else {
    require(it->is_array(), where, ": field 'chat_template' must be a string or a list of {name, template}");
    for (const auto& entry : *it)
      if (entry.is_object() && entry.value("name", Json()).is_string() && entry["name"] == "default")
        source = json_field<std::string>(entry, "template", std::string(where) + ": chat_template 'default'");
    require(!source.empty(), where, ": field 'chat_template' has no template named 'default'");
  }
  const auto chat = recognise_chat_template(source, bos);
  require(chat.has_value(), where, ": the chat_template is none r1 recognises (ChatML, Llama 3, DeepSeek-R1); ",
          "choose one with --chat-template (", kChatTemplateNames, ")");
  return *chat;
}

// Messages from a JSON list of {role, content} objects (a conversational "prompt" column).
inline std::vector<ChatMessage> chat_messages_from_json(const Json& list, std::string_view where) {
  require(list.is_array(), where, ": expected a list of {role, content} messages");
  std::vector<ChatMessage> messages;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = std::string(where) + "[" + std::to_string(i) + "]";
    require(list[i].is_object(), at, ": expected a {role, content} object");
    messages.push_back({json_field<std::string>(list[i], "role", at), json_field<std::string>(list[i], "content", at)});
  }
  return messages;
}

namespace detail {
// Jinja's |trim: Python's str.strip(), whitespace at both ends.
inline std::string_view jinja_trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}
}  // namespace detail

// The conversation as the template renders it with add_generation_prompt=True (the reply left open).
inline std::string render_chat(const ChatTemplate& chat, std::span<const ChatMessage> messages) {
  std::string text;
  switch (chat.family) {
    case ChatFamily::chatml: {
      if ((messages.empty() || messages.front().role != "system") && !chat.default_system.empty())
        text += "<|im_start|>system\n" + chat.default_system + "<|im_end|>\n";
      for (const auto& message : messages) text += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n";
      text += "<|im_start|>assistant\n";
      return text;
    }
    case ChatFamily::llama3: {
      text += chat.bos_token;
      std::size_t first = 0;
      if (chat.llama_dated_system) {
        std::string_view system;
        if (!messages.empty() && messages.front().role == "system") {
          system = detail::jinja_trim(messages.front().content);
          first = 1;
        }
        text += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
        text += system;
        text += "<|eot_id|>";
      }
      for (std::size_t i = first; i < messages.size(); ++i) {
        text += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
        text += detail::jinja_trim(messages[i].content);
        text += "<|eot_id|>";
      }
      text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return text;
    }
    case ChatFamily::deepseek_r1: {
      text += chat.bos_token;
      bool first_system = true;
      for (const auto& message : messages)
        if (message.role == "system") {
          if (!first_system) text += "\n\n";
          text += message.content;
          first_system = false;
        }
      for (const auto& message : messages) {
        if (message.role == "user") {
          text += "<｜User｜>" + message.content;
        } else if (message.role == "assistant") {
          std::string_view content = message.content;
          if (const auto end = content.rfind("</think>"); chat.cut_reasoning && end != std::string_view::npos)
            content = content.substr(end + std::string_view("</think>").size());
          text += "<｜Assistant｜>";
          text += content;
          text += "<｜end▁of▁sentence｜>";
        }
      }
      text += chat.open_think ? "<｜Assistant｜><think>\n" : "<｜Assistant｜>";
      return text;
    }
  }
  return text;
}

}  // namespace r1
