#!/usr/bin/env bash
# Runs r1's fuzz targets, each for SECONDS from its committed seed corpus
# (tests/fuzz/corpus/<target>) with its dictionary; exits non-zero on any finding
# (a crash, a sanitizer report, an uncaught exception, a timeout, memory beyond
# the limit) and copies the input that caused it to FINDINGS_DIR.
#   run_fuzzers.sh BIN_DIR SECONDS [TARGET...]          (default: every fuzz_* in BIN_DIR)
# Environment: R1_FUZZ_FINDINGS (default BIN_DIR/findings), R1_FUZZ_CORPUS_OUT (keep the grown
# corpora there instead of a temporary folder), R1_FUZZ_ARGS (extra libFuzzer flags).
# Exits 77 (ctest: skipped) when no fuzzer was built, which is the case without clang++.
set -uo pipefail
bin=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
findings=${R1_FUZZ_FINDINGS:-$bin/findings}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for exe in "$bin"/fuzz_*; do
    [[ -x $exe && -f $exe ]] && targets+=("$(basename "$exe" | sed 's/^fuzz_//')")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz: SKIPPED: no fuzz target in $bin (they are built only with clang++ and its libFuzzer;" \
       "see tests/fuzz/README.md)"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/r1_fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus_out=${R1_FUZZ_CORPUS_OUT:-$work/corpus}
failed=()
for target in "${targets[@]}"; do
  exe=$bin/fuzz_$target
  if [[ ! -x $exe ]]; then
    echo "fuzz: $target: no executable $exe"
    failed+=("$target")
    continue
  fi
  mkdir -p "$corpus_out/$target" "$work/artifacts/$target"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/")
  [[ -f $here/dict/$target.dict ]] && args+=(-dict="$here/dict/$target.dict")
  # shellcheck disable=SC2206
  args+=(${R1_FUZZ_ARGS:-})
  log=$work/$target.log
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$exe" "${args[@]}" "$corpus_out/$target" "$here/corpus/$target" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+.*(cov|ft):' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  if [[ $rc -ne 0 ]]; then
    echo "fuzz: $target: FINDING (exit $rc) after ${runs:-?} runs; log tail:"
    tail -n 40 "$log"
    mkdir -p "$findings/$target"
    cp "$work/artifacts/$target/"* "$findings/$target/" 2>/dev/null &&
      echo "fuzz: $target: the input is in $findings/$target/ (rerun: $exe <file>)"
    failed+=("$target")
  else
    echo "fuzz: $target: ok, ${seconds}s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: findings in: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no finding"
