# decode_ab_steps.sh: the steps run_decode_ab.sh and run_decode_builds.sh share; source it, then call:
#   probe_read_rooflines OUTDIR BUILD   bench_bandwidth's read-only sum over one array of a decode step's fp32 and
#                                       of its bf16 weight bytes (WEIGHT_MIB, default "1884 942"), THREADS threads
#                                       -> OUTDIR/bandwidth_read_<MiB>MiB.json (read by summarize_decode_ab.py)
#   run_decode_round OUTDIR BINARY WEIGHTS KEY VALUE ALTERNATION
#                                       one bench_decode process (a warm-up and one timed round) at CONFIG,
#                                       BATCHES, PROMPT_TOKENS, NEW_TOKENS, THREADS; its JSON lines, tagged with
#                                       KEY: VALUE and the alternation, appended to OUTDIR/decode_ab.jsonl

probe_read_rooflines() {
  local mib
  for mib in ${WEIGHT_MIB:-1884 942}; do
    echo "== bench_bandwidth read_sum over $mib MiB" >&2
    R1_THREADS=$THREADS R1_BANDWIDTH_ARRAY_MIB=$mib "$2/bench/memory/bench_bandwidth" --benchmark_filter=read_sum \
      --benchmark_format=json --benchmark_out="$1/bandwidth_read_${mib}MiB.json" --benchmark_out_format=json >/dev/null
  done
}

run_decode_round() {
  echo "== $2 --weights $3 ($4 $5, alternation $6, load $(cut -d' ' -f1 /proc/loadavg))" >&2
  R1_THREADS=$THREADS "$2" --config "$CONFIG" --batch "$BATCHES" --weights "$3" \
    --prompt-tokens "$PROMPT_TOKENS" --new-tokens "$NEW_TOKENS" --rounds 1 |
    /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    if line.strip():
        row = json.loads(line); row[sys.argv[1]] = sys.argv[2]; row["alternation"] = int(sys.argv[3]); print(json.dumps(row))' \
      "$4" "$5" "$6" >> "$1/decode_ab.jsonl"
}
