#!/usr/bin/env python3
"""GSM8K-style arithmetic word problems as conversational JSONL, deterministic for a seed:

    make_word_problems.py OUT.jsonl [--count 64] [--seed 1]

Each line: {"prompt": [{"role": "system", ...}, {"role": "user", ...}], "solution": "<integer>"}, the columns
TRL's GRPO datasets use (r1/tasks/jsonl_dataset.hpp reads "solution" as the gold answer). Two- or three-step
problems over small integers, every answer a positive integer, as GSM8K's are.
"""
import argparse
import json
import random

SYSTEM = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
          "The assistant first thinks about the reasoning process in the mind and then provides the user with "
          "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
          "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
          "</answer>.")

NAMES = ["Natalia", "Weng", "Betty", "Julie", "James", "Albert", "Ken", "Alexis", "Tina", "Mark", "Carla", "Joy"]


def hours(n: int) -> str:
    return f"{n} hour" if n == 1 else f"{n} hours"


def problem(rng: random.Random) -> tuple[str, int]:
    name = rng.choice(NAMES)
    kind = rng.randrange(6)
    if kind == 0:
        a, b, c = rng.randint(2, 40), rng.randint(2, 9), rng.randint(3, 12)
        return (f"{name} has {a} apples. Then {name} buys {b} bags with {c} apples in each bag. "
                f"How many apples does {name} have now?", a + b * c)
    if kind == 1:
        price, count = rng.randint(2, 9), rng.randint(2, 9)
        bill = 10 * ((price * count) // 10 + rng.randint(1, 3))
        return (f"A shop sells pencils at ${price} each. {name} buys {count} pencils and pays with a ${bill} bill. "
                f"How many dollars of change does {name} get?", bill - price * count)
    if kind == 2:
        per_day, days, last = rng.randint(5, 30), rng.randint(2, 7), rng.randint(1, 20)
        return (f"{name} reads {per_day} pages a day for {days} days, and {last} pages on the next day. "
                f"How many pages does {name} read in total?", per_day * days + last)
    if kind == 3:
        v, h, w, k = rng.randint(40, 90), rng.randint(1, 4), rng.randint(30, 80), rng.randint(1, 3)
        return (f"A train travels at {v} km per hour for {hours(h)}, then at {w} km per hour for {hours(k)}. "
                f"How many kilometres does it travel in all?", v * h + w * k)
    if kind == 4:
        friends, each = rng.randint(2, 6), rng.randint(2, 8)
        start = friends * each + rng.randint(1, 30)
        return (f"{name} had {start} stickers and gave {each} stickers to each of {friends} friends. "
                f"How many stickers does {name} have left?", start - friends * each)
    rows, chairs = rng.randint(4, 15), rng.randint(5, 20)
    taken = rng.randint(1, rows * chairs - 1)
    return (f"A hall has {rows} rows of {chairs} chairs. {taken} chairs are taken. How many chairs are free?",
            rows * chairs - taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as out:
        for _ in range(args.count):
            question, answer = problem(rng)
            assert answer > 0
            record = {"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
                      "solution": str(answer)}
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
