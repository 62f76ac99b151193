#!/bin/sh
# r1 tokenize end to end on the committed fixture: encode, --special, --decode, a bad line.
#   cli_tokenize_test.sh R1_BINARY FIXTURE_DIR
set -u
r1=$1
fixture=$2
fail() { echo "FAIL: $*"; exit 1; }

# Ids worked out in test_bpe_tokenizer.cpp: "the" -> 116 257; " the" -> 258; <eos> = 265.
out=$(printf '{"text": "the"}\n{"text": " the"}\n' | "$r1" tokenize --tokenizer "$fixture") || fail "encode exited $?"
[ "$out" = '{"ids":[116,257]}
{"ids":[258]}' ] || fail "encode gave: $out"

out=$(printf '{"text": "the"}\n' | "$r1" tokenize --tokenizer "$fixture/tokenizer.json" --special) || fail "--special exited $?"
[ "$out" = '{"ids":[116,257,265]}' ] || fail "--special gave: $out"

out=$(printf '{"ids": [258, 263, 261]}\n' | "$r1" tokenize --tokenizer "$fixture" --decode) || fail "--decode exited $?"
[ "$out" = '{"text":" the<think>12"}' ] || fail "--decode gave: $out"

# A byte cut in half decodes with U+FFFD in its place, never invalid JSON.
out=$(printf '{"ids": [195]}\n' | "$r1" tokenize --tokenizer "$fixture" --decode) || fail "--decode of a lone byte exited $?"
[ "$out" = '{"text":"�"}' ] || fail "--decode of a lone byte gave: $out"

err=$(printf '{"text": "ok"}\n{"txt": 1}\n' | "$r1" tokenize --tokenizer "$fixture" 2>&1 >/dev/null)
status=$?
[ $status -eq 1 ] || fail "a bad line should exit 1, got $status"
case "$err" in *"stdin line 2"*"missing field 'text'"*) ;; *) fail "bad-line error: $err" ;; esac

err=$("$r1" tokenize --tokenizer /nonexistent/tokenizer.json < /dev/null 2>&1)
case "$err" in *"/nonexistent/tokenizer.json: cannot open"*) ;; *) fail "missing file error: $err" ;; esac
echo "ok"
