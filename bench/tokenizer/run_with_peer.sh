#!/bin/sh
# r1's BPE encode throughput beside HF's Rust tokenizers, same corpus, same machine, same run.
#   bench/tokenizer/run_with_peer.sh BUILD_DIR [deepseek_v3|qwen3|llama3]
# Uses the conformance test's npm cache (BUILD_DIR/tests/tokenizer/reference_cache), filled on demand.
set -eu
build=${1:?usage: run_with_peer.sh BUILD_DIR [model]}
model=${2:-qwen3}
here=$(cd "$(dirname "$0")" && pwd)
cache=$build/tests/tokenizer/reference_cache
sh "$here/../../scripts/tokenizer_conformance/prepare.sh" "$cache"
json=$(grep "^$model	" "$cache/out/models.txt" | cut -f2)
corpus=$cache/out/corpus.jsonl
echo "model $model, corpus $(wc -c < "$corpus") bytes of JSONL, $(nproc) cores"
R1_TOKENIZER_JSON=$json R1_TOKENIZER_CORPUS=$corpus "$build/bench/tokenizer/bench_tokenizer" --benchmark_format=console
TOKENIZERS_PARALLELISM=false node "$here/peer_hf_tokenizers.js" "$cache/npm" "$json" "$corpus"
TOKENIZERS_PARALLELISM=true node "$here/peer_hf_tokenizers.js" "$cache/npm" "$json" "$corpus"
