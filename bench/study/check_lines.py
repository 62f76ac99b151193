#!/usr/bin/env python3
"""check_lines.py - how right a quotient model's check lines are when it is made to check.

r1_zero_aha's bases check in 5% of worked solutions at most, so sampling them says little about the check's
arithmetic. This probe writes the prompt, the estimate line and <check> for the model (r1/tasks/quotient.hpp:
"4837/612<think>48/6=8<check>"), lets `r1 generate` sample the rest, and reads every check line
"m*b=P<rel>A" of the completions: the product right (and the divisor copied), the relation right for the true
m*b against the dividend, the dividend copied, and the answer the walk ends on.

    python3 bench/study/check_lines.py --r1 build/bin/r1 MODEL_DIR [MODEL_DIR ...]

Problems are drawn as the task draws them (a d-digit divisor, a dividend in [b, 10b)), 200 a level by default,
the same problems for every model; 4 samples each at T 0.6 / top-p 0.95, the example's evaluation setting.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

# The char tokenizer r1_zero_aha writes (r1_tokenizer.json): special tokens first, then one id per symbol.
SPECIAL = ["<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "<check>", "<ok>", "<wrong>"]
SYMBOLS = "0123456789/*=,<>"
SYMBOL_ID = {c: len(SPECIAL) + i for i, c in enumerate(SYMBOLS)}
LINE = re.compile(r"(\d+)\*(\d+)=(\d+)([<>=])(\d+)")
ANSWER = re.compile(r"<answer>(\d+)</answer>")


def check_tokenizer(model):
    with open(os.path.join(model, "r1_tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("special_tokens") != SPECIAL or spec.get("symbols") != SYMBOLS:
        sys.exit(f"{model}/r1_tokenizer.json: not the quotient task's char tokenizer")


def decode(ids):
    return "".join(SPECIAL[i] if i < len(SPECIAL) else SYMBOLS[i - len(SPECIAL)] for i in ids if i != 1)


def problems(levels, per_level, seed):
    draw = random.Random(seed)
    out = []
    for digits in levels:
        for _ in range(per_level):
            divisor = draw.randint(10 ** (digits - 1), 10**digits - 1)
            dividend = draw.randint(divisor, 10 * divisor - 1)
            out.append((digits, dividend, divisor))
    return out


def forced_prefix(digits, dividend, divisor):
    """The prompt, <think>, the estimate line (long division's trial quotient) and <check>, as token ids."""
    leading = dividend // 10 ** (digits - 1)
    leading_divisor = divisor // 10 ** (digits - 1)
    estimate = min(9, leading // leading_divisor)
    prompt = f"{dividend:0{digits + 1}d}/{divisor}"
    estimate_line = f"{leading:02d}/{leading_divisor}={estimate}"
    return [SYMBOL_ID[c] for c in prompt] + [2] + [SYMBOL_ID[c] for c in estimate_line] + [6]


def read(problem, texts, tally):
    digits, dividend, divisor = problem
    for text in texts:
        tally["samples"] += 1
        answer = ANSWER.search(text)
        tally["answer_right"] += bool(answer) and int(answer.group(1)) == dividend // divisor
        for line in LINE.finditer(text):
            multiplier, written_divisor, product, relation, written_dividend = line.groups()
            true_product = int(multiplier) * divisor
            true_relation = "<" if true_product < dividend else ">" if true_product > dividend else "="
            product_right = int(written_divisor) == divisor and int(product) == true_product
            relation_right = relation == true_relation
            tally["lines"] += 1
            tally["products_right"] += product_right
            tally["relations_right"] += relation_right
            tally["lines_right"] += product_right and relation_right and int(written_dividend) == dividend


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model folders (config.json, model.safetensors, r1_tokenizer.json)")
    parser.add_argument("--r1", default="build/bin/r1", help="the r1 tool")
    parser.add_argument("--levels", default="2,3,4,5", help="divisor digits")
    parser.add_argument("--per-level", type=int, default=200)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    drawn = problems(levels, args.per_level, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        prompts = os.path.join(folder, "prompts.jsonl")
        with open(prompts, "w", encoding="utf-8") as f:
            for problem in drawn:
                f.write(json.dumps({"ids": forced_prefix(*problem)}) + "\n")
        print(f"check lines when made to check: {args.per_level} problems a level x {args.samples} samples at "
              f"T {args.temperature} / top-p 0.95, seed {args.seed}")
        print("| model | digits | answer right | lines a sample | products right | relations right | lines all right |")
        print("|---|---|---|---|---|---|---|")
        for model in args.models:
            check_tokenizer(model)
            result = subprocess.run(
                [args.r1, "generate", "--model", model, "--n", str(args.samples), "--temperature",
                 str(args.temperature), "--top-p", "0.95", "--max-new-tokens", "150", "--seed", "2", prompts],
                check=True, capture_output=True, text=True)
            rows = [json.loads(line) for line in result.stdout.splitlines()]
            for digits in levels:
                tally = dict.fromkeys(
                    ["samples", "answer_right", "lines", "products_right", "relations_right", "lines_right"], 0)
                for problem, row in zip(drawn, rows):
                    if problem[0] == digits:
                        read(problem, [decode(c["ids"]) for c in row["completions"]], tally)
                lines = max(1, tally["lines"])
                print(f"| {model} | {digits} | {100 * tally['answer_right'] / tally['samples']:.0f}% | "
                      f"{tally['lines'] / tally['samples']:.2f} | {100 * tally['products_right'] / lines:.0f}% | "
                      f"{100 * tally['relations_right'] / lines:.0f}% | {100 * tally['lines_right'] / lines:.0f}% |")


if __name__ == "__main__":
    main()
