#!/usr/bin/env node
// The peer of bench_tokenizer: HF's Rust tokenizers (npm @anush008/tokenizers, tokenizers 0.22)
// encoding the same corpus, as MB/s of UTF-8 input. One encodeBatch call over the corpus:
// TOKENIZERS_PARALLELISM=false makes it one thread (HF's own switch), otherwise rayon uses all cores.
//   node peer_hf_tokenizers.js NPM_DIR tokenizer.json corpus.jsonl
"use strict";
const fs = require("fs");
const path = require("path");
const [npmDir, tokenizerPath, corpusPath] = process.argv.slice(2);
const req = require("module").createRequire(path.join(path.resolve(npmDir), "x.js"));
const { Tokenizer } = req("@anush008/tokenizers");
const tokenizer = Tokenizer.fromFile(tokenizerPath);
const texts = fs.readFileSync(corpusPath, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, "utf8"), 0);
async function main() {
  await tokenizer.encodeBatch(texts.slice(0, 200), { addSpecialTokens: false });  // warm-up
  const rounds = 3;
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < rounds; ++r) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    await tokenizer.encodeBatch(texts, { addSpecialTokens: false });
    const cpu = process.cpuUsage(cpuStart);  // every thread of the process, microseconds
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e6);
  }
  const mode = process.env.TOKENIZERS_PARALLELISM === "false" ? "single-thread" : "parallel";
  console.log(JSON.stringify({ peer: "hf-tokenizers-rust", mode, bytes, seconds: best, mb_per_s: bytes / best / 1e6,
                                cpu_seconds: bestCpu, mb_per_cpu_s: bytes / bestCpu / 1e6 }));
}
main();
