#!/usr/bin/env bash
# r1 sft / grpo / eval / distill on the committed toy base: each runs, writes what it says,
# resumes, and rejects bad input with a clear message and a non-zero exit.
set -euo pipefail
r1=$1 base=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # expect_error "message part" command...
  local want=$1; shift
  if "$@" >"$work/out.txt" 2>"$work/err.txt"; then fail "expected failure: $*"; fi
  grep -q -- "$want" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "error message lacks '$want'"; }
}

"$r1" --help >/dev/null
"$r1" --version | grep -q "^r1 " || fail "--version"
expect_error "" "$r1" no-such-command

# --device cuda (Transformer<cuda>) where it cannot run, no usable GPU or an r1 built without the CUDA
# backend: every model command stops before loading anything, saying which of the two is missing.
if ! nvidia-smi -L >/dev/null 2>&1; then
  no_cuda='--device cuda: \(no usable CUDA device\|this r1 was built without the CUDA backend\)'
  expect_error "r1 score: $no_cuda" "$r1" score --model "$base" --device cuda </dev/null
  expect_error "r1 generate: $no_cuda" "$r1" generate --model "$base" --device cuda </dev/null
  expect_error "r1 eval: $no_cuda" "$r1" eval --model "$base" --device cuda
  expect_error "r1 sft: $no_cuda" "$r1" sft --model "$base" --out "$work/no_gpu" --device cuda
  expect_error "r1 grpo: $no_cuda" "$r1" grpo --model "$base" --out "$work/no_gpu" --device cuda
  expect_error "r1 distill: $no_cuda" "$r1" distill --teacher "$base" --student "$base" --out "$work/no_gpu" --device cuda
fi
expect_error "cuda" "$r1" score --model "$base" --device tpu </dev/null

# Problems in the toy task's format, and SFT examples.
for i in $(seq 10 29); do
  a=$(printf "%03d" $((i * 37 % 1000))); b=$(printf "%02d" $((i * 7 % 100)))
  p=$(printf "%05d" $((10#$a * 10#$b)))
  echo "{\"prompt\": \"$a*$b=\", \"answer\": \"$p\"}"
done >"$work/problems.jsonl"
head -4 "$work/problems.jsonl" | sed 's/"answer": "\([0-9]*\)"/"completion": "<think><\/think><answer>\1<\/answer>"/' >"$work/sft.jsonl"

# eval: the paper's metrics as one JSON object.
"$r1" eval --model "$base" --data "$work/problems.jsonl" --samples 2 --max-new-tokens 120 >"$work/eval.json"
grep -q '"pass@1"' "$work/eval.json" && grep -q '"cons@2"' "$work/eval.json" || fail "eval output: $(cat "$work/eval.json")"

# grpo: two steps, then resume to three.
cat >"$work/grpo.json" <<JSON
{"reward": {"math": 1.0, "format": 0.1},
 "trainer": {"steps": 2, "prompts_per_step": 2, "group_size": 4},
 "objective": {"preset": "dapo"}, "optimizer": {"lr": 1e-4},
 "sampling": {"max_new_tokens": 120}, "checkpoint_every": 1}
JSON
"$r1" grpo --config "$work/grpo.json" --model "$base" --train "$work/problems.jsonl" --out "$work/grpo" 2>"$work/grpo_plan.txt"
[[ $(wc -l <"$work/grpo/metrics.jsonl") -eq 2 ]] || fail "grpo wrote $(wc -l <"$work/grpo/metrics.jsonl") metric lines"
[[ -f "$work/grpo/model/model.safetensors" && -f "$work/grpo/checkpoint.r1ckpt" && -f "$work/grpo/curves.svg" ]] || fail "grpo outputs"
grep -q '"rewards/accuracy"' "$work/grpo/metrics.jsonl" || fail "grpo metrics lack rewards/accuracy"
"$r1" grpo --config "$work/grpo.json" --model "$base" --train "$work/problems.jsonl" --out "$work/grpo" --steps 3 --resume 2>/dev/null
[[ $(wc -l <"$work/grpo/metrics.jsonl") -eq 3 ]] || fail "resumed grpo has $(wc -l <"$work/grpo/metrics.jsonl") metric lines"
tail -1 "$work/grpo/metrics.jsonl" | grep -q '"step":2' || fail "resumed run did not continue at step 2"

# sft and distill.
"$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/sft" --steps 2 2>/dev/null | grep -q "final loss" || fail "sft"
[[ -f "$work/sft/model/model.safetensors" ]] || fail "sft model"
# --max-shard-size: the 2.4 MB toy model in 1 MB shards (HF names and index), and it loads again.
"$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/sft_sharded" --steps 1 --max-shard-size 1MB >/dev/null 2>&1 \
  || fail "sft --max-shard-size"
[[ -f "$work/sft_sharded/model/model-00001-of-00003.safetensors" && -f "$work/sft_sharded/model/model-00003-of-00003.safetensors" \
   && -f "$work/sft_sharded/model/model.safetensors.index.json" && ! -e "$work/sft_sharded/model/model.safetensors" ]] \
  || fail "sharded sft model: $(ls "$work/sft_sharded/model")"
"$r1" eval --model "$work/sft_sharded/model" --tokenizer "$base/r1_tokenizer.json" --data "$work/problems.jsonl" \
  --samples 1 --max-new-tokens 8 | grep -q '"pass@1"' || fail "eval of the sharded model"
"$r1" distill --teacher "$base" --student "$base" --data "$work/problems.jsonl" --out "$work/distill" --samples 4 --steps 2 2>/dev/null \
  | grep -q "student trained" || fail "distill"
[[ -s "$work/distill/traces.jsonl" && -f "$work/distill/student/model.safetensors" ]] || fail "distill outputs"

# LoRA with gradient checkpointing (issue 22): grpo trains adapters (KL reference = the frozen base), saves
# them in PEFT's format, resumes; sft too; merge-lora folds the adapter into a full model that evaluates.
cat >"$work/grpo_lora.json" <<JSON
{"reward": {"math": 1.0, "format": 0.1},
 "trainer": {"steps": 2, "prompts_per_step": 2, "group_size": 4},
 "objective": {"preset": "deepseekmath"}, "optimizer": {"lr": 1e-3},
 "lora": {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}, "gradient_checkpointing": true,
 "sampling": {"max_new_tokens": 60}, "checkpoint_every": 1}
JSON
"$r1" grpo --config "$work/grpo_lora.json" --model "$base" --train "$work/problems.jsonl" --out "$work/grpo_lora" 2>"$work/lora_plan.txt"
grep -q "LoRA adapters" "$work/lora_plan.txt" || { cat "$work/lora_plan.txt" >&2; fail "LoRA memory plan"; }
[[ -f "$work/grpo_lora/adapter/adapter_config.json" && -f "$work/grpo_lora/adapter/adapter_model.safetensors" \
   && ! -e "$work/grpo_lora/model" ]] || fail "grpo LoRA outputs: $(ls "$work/grpo_lora")"
grep -q '"peft_type": *"LORA"' "$work/grpo_lora/adapter/adapter_config.json" || fail "adapter_config.json"
"$r1" grpo --config "$work/grpo_lora.json" --model "$base" --train "$work/problems.jsonl" --out "$work/grpo_lora" --steps 3 --resume 2>/dev/null
[[ $(wc -l <"$work/grpo_lora/metrics.jsonl") -eq 3 ]] || fail "resumed LoRA grpo has $(wc -l <"$work/grpo_lora/metrics.jsonl") metric lines"
echo '{"lora": {"r": 2}, "gradient_checkpointing": true}' >"$work/sft_lora.json"
"$r1" sft --config "$work/sft_lora.json" --model "$base" --data "$work/sft.jsonl" --out "$work/sft_lora" --steps 2 2>/dev/null \
  | grep -q "final loss" || fail "sft LoRA"
[[ -f "$work/sft_lora/adapter/adapter_model.safetensors" ]] || fail "sft LoRA adapter"
"$r1" merge-lora --model "$base" --adapter "$work/grpo_lora/adapter" --out "$work/merged" >/dev/null 2>&1 || fail "merge-lora"
"$r1" eval --model "$work/merged" --tokenizer "$base/r1_tokenizer.json" --data "$work/problems.jsonl" --samples 1 \
  --max-new-tokens 8 | grep -q '"pass@1"' || fail "eval of the merged model"
# An adapter applied at evaluation, without merging.
"$r1" eval --model "$base" --adapter "$work/grpo_lora/adapter" --data "$work/problems.jsonl" --samples 1 \
  --max-new-tokens 8 | grep -q '"pass@1"' || fail "eval with --adapter"
echo '{"lora": {"r": 2}, "gradient_checkpoint": true}' >"$work/bad_key.json"
expect_error "unknown field 'gradient_checkpoint'" "$r1" sft --config "$work/bad_key.json" --model "$base" --data "$work/sft.jsonl" --out "$work/bad"
"$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/sft_threads" --steps 1 --threads 1 >/dev/null 2>&1 \
  || fail "--threads after the subcommand"
echo '{"lora": {"r": 2, "lora_dropout": 0.1}}' >"$work/bad_dropout.json"
expect_error "'lora_dropout' = 0.1" "$r1" sft --config "$work/bad_dropout.json" --model "$base" --data "$work/sft.jsonl" --out "$work/bad"
echo '{"lora": {"r": 2, "target_modules": ["qkv"]}}' >"$work/bad_target.json"
expect_error "target_modules" "$r1" sft --config "$work/bad_target.json" --model "$base" --data "$work/sft.jsonl" --out "$work/bad"

# Bad input: clear errors naming what is wrong.
echo '{"trainer": {"stepz": 3}}' >"$work/bad.json"
expect_error "unknown field 'stepz'" "$r1" grpo --config "$work/bad.json" --model "$base" --train "$work/problems.jsonl" --out "$work/bad"
echo '{"objective": {"preset": "dapo", "group_size": 16}}' >"$work/bad_group.json"
expect_error "config: 'objective': field 'group_size' is not an objective setting" "$r1" grpo --config "$work/bad_group.json" --model "$base" --train "$work/problems.jsonl" --out "$work/bad"
expect_error "'model' is required" "$r1" grpo --train "$work/problems.jsonl" --out "$work/bad"
expect_error "reward 'magic'" "$r1" eval --config <(echo '{"reward": {"magic": 1}}') --model "$base" --data "$work/problems.jsonl"
echo 'not json' >"$work/broken.jsonl"
expect_error "broken.jsonl" "$r1" eval --model "$base" --data "$work/broken.jsonl"
expect_error "--max-shard-size: '0' must be a positive size" "$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/bad" --max-shard-size 0
expect_error "--max-shard-size: '5XB' has an unknown unit" "$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/bad" --max-shard-size 5XB
# Memory (issue 22): the plan is printed, and a run over --memory-limit is refused naming the knob.
grep -q "planned memory" "$work/grpo_plan.txt" || fail "grpo printed no memory plan"
expect_error "does not fit in memory" "$r1" grpo --config "$work/grpo.json" --model "$base" --train "$work/problems.jsonl" --out "$work/bad" --memory-limit 1MB
grep -q "turn 'trainer.micro_batch_sequences'" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "memory refusal names no knob"; }
expect_error "does not fit in memory" "$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/bad" --memory-limit 1MB
# Chat templates (issue 22): a conversational prompt needs the model's template; the toy base has none.
echo '{"prompt": [{"role": "user", "content": "012*34="}], "answer": "00408"}' >"$work/chat.jsonl"
expect_error "choose one with --chat-template" "$r1" eval --model "$base" --data "$work/chat.jsonl" --samples 1 --max-new-tokens 4
expect_error "chat template 'vicuna': expected one of chatml" "$r1" eval --model "$base" --data "$work/chat.jsonl" --chat-template vicuna
echo "cli training commands: ok"
