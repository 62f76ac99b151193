#!/usr/bin/env bash
# The r1 tool under mpirun: grpo, eval, sft and distill run on 2 ranks with no other flag, rank 0 alone
# writes, results match one process, a 1-process checkpoint resumes on 2 ranks, an error on the ranks ends
# the job with its message, and a rank killed with SIGKILL ends the job with the last checkpoint intact.
set -euo pipefail
r1=$1 base=$2 work=$3
mpirun=(mpirun --allow-run-as-root --oversubscribe -np 2)
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
export R1_THREADS=1

for i in $(seq 10 29); do
  a=$(printf "%03d" $((i * 37 % 1000))); b=$(printf "%02d" $((i * 7 % 100)))
  echo "{\"prompt\": \"$a*$b=\", \"answer\": \"$(printf "%05d" $((10#$a * 10#$b)))\"}"
done >"$work/problems.jsonl"
head -4 "$work/problems.jsonl" | sed 's/"answer": "\([0-9]*\)"/"completion": "<think><\/think><answer>\1<\/answer>"/' >"$work/sft.jsonl"
cat >"$work/grpo.json" <<JSON
{"reward": {"math": 1.0, "format": 0.1},
 "trainer": {"steps": 2, "prompts_per_step": 3, "group_size": 4},
 "objective": {"preset": "dapo"}, "optimizer": {"lr": 1e-4},
 "sampling": {"max_new_tokens": 120}, "checkpoint_every": 1}
JSON
grpo=(grpo --config "$work/grpo.json" --model "$base" --train "$work/problems.jsonl")

# grpo: 2 ranks sample what 1 process samples (step 0's rewards and lengths are equal).
"$r1" "${grpo[@]}" --out "$work/one" 2>/dev/null >/dev/null
"${mpirun[@]}" "$r1" "${grpo[@]}" --out "$work/two" 2>/dev/null >"$work/two.out"
[[ $(wc -l <"$work/two/metrics.jsonl") -eq 2 ]] || fail "2-rank grpo wrote $(wc -l <"$work/two/metrics.jsonl") metric lines"
[[ $(grep -c "r1 grpo: 2 steps" "$work/two.out") -eq 1 ]] || fail "rank 0 alone prints: $(cat "$work/two.out")"
[[ -f "$work/two/model/model.safetensors" && -f "$work/two/checkpoint.r1ckpt" ]] || fail "2-rank grpo outputs"
pick() { python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r['reward'], r['completions/mean_length'])" "$1"; }
[[ "$(pick "$work/one/metrics.jsonl")" == "$(pick "$work/two/metrics.jsonl")" ]] \
  || fail "step 0 differs: $(pick "$work/one/metrics.jsonl") vs $(pick "$work/two/metrics.jsonl")"

# A 1-process checkpoint resumes on 2 ranks.
"${mpirun[@]}" "$r1" "${grpo[@]}" --out "$work/one" --steps 3 --resume 2>/dev/null >/dev/null
[[ $(wc -l <"$work/one/metrics.jsonl") -eq 3 ]] || fail "resumed on 2 ranks: $(wc -l <"$work/one/metrics.jsonl") lines"

# eval: the same report on 2 ranks as in one process.
eval=(eval --model "$base" --data "$work/problems.jsonl" --samples 2 --max-new-tokens 120)
"$r1" "${eval[@]}" >"$work/eval1.json"
"${mpirun[@]}" "$r1" "${eval[@]}" >"$work/eval2.json"
cmp -s "$work/eval1.json" "$work/eval2.json" || fail "eval differs: $(cat "$work/eval1.json") vs $(cat "$work/eval2.json")"

# sft and distill run on 2 ranks.
"${mpirun[@]}" "$r1" sft --model "$base" --data "$work/sft.jsonl" --out "$work/sft" --steps 2 2>/dev/null \
  | grep -q "final loss" || fail "2-rank sft"
"${mpirun[@]}" "$r1" distill --teacher "$base" --student "$base" --data "$work/problems.jsonl" --out "$work/distill" \
  --samples 2 --steps 2 2>/dev/null | grep -q "student trained" || fail "2-rank distill"

# An error ends every rank with its message and a non-zero exit.
if "${mpirun[@]}" "$r1" grpo --config "$work/grpo.json" --model "$base" --train "$work/missing.jsonl" --out "$work/bad" \
  >"$work/bad.out" 2>&1; then
  fail "a missing file did not fail the job"
fi
grep -q "missing.jsonl" "$work/bad.out" || fail "the error lacks the file: $(cat "$work/bad.out")"

# SIGKILL on one rank ends the job (mpirun's doing); the last checkpoint is intact and resumes.
sed 's/"steps": 2/"steps": 100000/' "$work/grpo.json" >"$work/long.json"
"${mpirun[@]}" "$r1" grpo --config "$work/long.json" --model "$base" --train "$work/problems.jsonl" --out "$work/killed" \
  >"$work/killed.out" 2>&1 &
job=$!
for _ in $(seq 1 600); do [[ -f "$work/killed/checkpoint.r1ckpt" ]] && break; sleep 0.1; done
[[ -f "$work/killed/checkpoint.r1ckpt" ]] || fail "no checkpoint within 60 s"
sleep 1
victim=$(pgrep -f -- "--out $work/killed" | while read -r pid; do
  [[ "$(ps -o comm= -p "$pid")" == "$(basename "$r1")" ]] && echo "$pid"; done | tail -1)
[[ -n "$victim" ]] || fail "no rank process found"
kill -9 "$victim"
for _ in $(seq 1 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then kill -9 "$job"; fail "the job did not end within 60 s of SIGKILL"; fi
if wait "$job"; then fail "the job exited 0 after SIGKILL"; fi
"$r1" grpo --config "$work/long.json" --model "$base" --train "$work/problems.jsonl" --out "$work/killed" --resume \
  --steps "$(($(wc -l <"$work/killed/metrics.jsonl") + 1))" >/dev/null 2>"$work/resume.err" \
  || fail "the checkpoint left by the killed job does not resume: $(cat "$work/resume.err")"
echo "ok: grpo/eval/sft/distill on 2 ranks, resume across rank counts, errors and SIGKILL end the job"
