#!/usr/bin/env bash
# The R1-Zero recipe's GRPO step on one machine: 1 rank x T threads against N ranks x T/N threads,
# from the example's own metrics (step_time, timing/communication), median over the steps after the
# first. Run from a build folder:  ../bench/dist/run_grpo_ranks.sh [steps] [ranks] [threads]
set -euo pipefail
steps=${1:-20}; ranks=${2:-2}; threads=${3:-2}
bin=${R1_BIN:-bin/r1_zero}
base=$(cd "$(dirname "$0")/../.." && pwd)/examples/r1_zero/base
out=$(mktemp -d)
"$bin" --base "$base" --out "$out/one" --grpo-steps "$steps" --held-out 16 --threads "$threads" >/dev/null 2>&1
R1_THREADS=$((threads / ranks)) mpirun --allow-run-as-root --oversubscribe -np "$ranks" \
  "$bin" --base "$base" --out "$out/many" --grpo-steps "$steps" --held-out 16 >/dev/null 2>&1
python3 - "$out" "$ranks" "$threads" <<'PY'
import json, statistics, sys
out, ranks, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def read(name):
    rows = [json.loads(line) for line in open(f"{out}/{name}/metrics.jsonl")][1:]
    step = statistics.median(r["step_time"] for r in rows)
    comm = statistics.median(r.get("timing/communication", 0.0) for r in rows)
    return step, comm
one, _ = read("one")
many, comm = read("many")
print(f"GRPO step, median of steps 2..: 1 rank x {threads} threads {1e3*one:.0f} ms; "
      f"{ranks} ranks x {threads//ranks} threads {1e3*many:.0f} ms ({one/many:.2f}x); "
      f"communication {1e3*comm:.1f} ms = {100*comm/many:.1f}% of the {ranks}-rank step")
PY
rm -rf "$out"
