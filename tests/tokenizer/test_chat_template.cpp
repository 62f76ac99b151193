// Chat templates (issue 22): each published template is recognised by its markers and renders every
// conversation exactly as @huggingface/jinja renders the template itself (tests/data/tokenizer/
// chat_templates: templates.json, rendered.json, render.mjs); the key strings are also written out here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/tokenizer/chat_template.hpp"

namespace {

const std::string kDir = std::string(R1_TEST_DATA_DIR) + "/tokenizer/chat_templates";

std::vector<r1::ChatMessage> conversation(const std::string& name) {
  if (name == "one_user") return {{"user", "What is 2+3?"}};
  if (name == "system_user") return {{"system", " Be brief.\n"}, {"user", "  What is 2+3? \n"}};
  return {{"system", "S1"}, {"system", "S2"}, {"user", "Q1"}, {"assistant", "<think>x</think>A1"}, {"user", "Q2"}};
}

}  // namespace

TEST_CASE("every published template renders every conversation as Jinja does") {
  const r1::Json templates = r1::read_json_file(kDir + "/templates.json");
  const r1::Json rendered = r1::read_json_file(kDir + "/rendered.json");
  int checked = 0;
  for (const auto& [name, config] : templates.items()) {
    const r1::ChatTemplate chat = r1::chat_template_from_config(config, name);
    for (const auto& [conversation_name, expected] : rendered[name].items()) {
      CAPTURE(name);
      CAPTURE(conversation_name);
      const auto messages = conversation(conversation_name);
      CHECK(r1::render_chat(chat, messages) == expected.get<std::string>());
      ++checked;
    }
  }
  CHECK(checked == 15);
}

TEST_CASE("the rendered strings, written out") {
  const r1::Json templates = r1::read_json_file(kDir + "/templates.json");
  const std::vector<r1::ChatMessage> one_user{{"user", "What is 2+3?"}};
  const auto render = [&](const char* name) {
    return r1::render_chat(r1::chat_template_from_config(templates[name], name), one_user);
  };
  CHECK(render("qwen2_5") ==
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
  CHECK(render("llama3") ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+3?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(render("llama3_1") ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+3?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(render("deepseek_r1") == "<｜begin▁of▁sentence｜><｜User｜>What is 2+3?<｜Assistant｜><think>\n");
  CHECK(render("deepseek_v3") == "<｜begin▁of▁sentence｜><｜User｜>What is 2+3?<｜Assistant｜>");
  // A multi-turn R1 conversation: systems joined, the earlier reply's reasoning cut.
  CHECK(r1::render_chat(r1::chat_template_from_config(templates["deepseek_r1"], "r1"), conversation("multi_turn")) ==
        "<｜begin▁of▁sentence｜>S1\n\nS2<｜User｜>Q1<｜Assistant｜>A1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><think>\n");
}

TEST_CASE("named templates equal the recognised ones, and Qwen2.5-Math's default system is read from its source") {
  const r1::Json templates = r1::read_json_file(kDir + "/templates.json");
  const std::vector<r1::ChatMessage> messages = conversation("multi_turn");
  const auto same = [&](const char* named, const char* file, const std::string& bos) {
    CAPTURE(named);
    CHECK(r1::render_chat(r1::chat_template_named(named, bos, "--chat-template"), messages) ==
          r1::render_chat(r1::chat_template_from_config(templates[file], file), messages));
  };
  same("llama3", "llama3", "<|begin_of_text|>");
  same("llama3_1", "llama3_1", "<|begin_of_text|>");
  same("deepseek_r1", "deepseek_r1", "<｜begin▁of▁sentence｜>");
  same("chatml", "qwen2_5", "");  // the conversation has a system message: no default

  // Qwen2.5-Math's template: the same form with another default system message, a backslash escaped in
  // the Jinja literal.
  std::string math = templates["qwen2_5"]["chat_template"].get<std::string>();
  const std::string qwen = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  math.replace(math.find(qwen), qwen.size(), "Please reason step by step, and put your final answer within \\\\boxed{}.");
  const auto chat = r1::recognise_chat_template(math, "");
  REQUIRE(chat.has_value());
  CHECK(chat->default_system == "Please reason step by step, and put your final answer within \\boxed{}.");
  // Plain ChatML has no default system message.
  const auto plain = r1::recognise_chat_template(
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
      "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
      "");
  REQUIRE(plain.has_value());
  CHECK(r1::render_chat(*plain, std::vector<r1::ChatMessage>{{"user", "hi"}}) ==
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("an unknown or missing template is an error naming --chat-template") {
  const r1::Json unknown = {{"chat_template", "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}"}};
  CHECK_THROWS_WITH_AS(r1::chat_template_from_config(unknown, "tokenizer_config.json"),
                       doctest::Contains("tokenizer_config.json: the chat_template is none r1 recognises"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::chat_template_from_config(unknown, "tokenizer_config.json"),
                       doctest::Contains("choose one with --chat-template (chatml, llama3, llama3_1, deepseek_r1)"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::chat_template_from_config(r1::Json::object(), "cfg"),
                       doctest::Contains("cfg: no 'chat_template'"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::chat_template_named("vicuna", "", "--chat-template"),
                       doctest::Contains("--chat-template: chat template 'vicuna': expected one of chatml"), r1::Error);
  // transformers' list form: the template named "default".
  const r1::Json listed = {{"chat_template", r1::Json::array({{{"name", "tool_use"}, {"template", "x"}},
                                                              {{"name", "default"}, {"template", "<|im_start|><|im_end|>"}}})}};
  CHECK(r1::chat_template_from_config(listed, "cfg").family == r1::ChatFamily::chatml);
}
