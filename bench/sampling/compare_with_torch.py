#!/usr/bin/env python3
"""compare_with_torch.py - r1's generation benchmark and its PyTorch peer in the
same run, at the same thread count, with the ratio of new tokens per second.

    /usr/bin/python3 bench/sampling/compare_with_torch.py BUILD_DIR [--threads 2] [--rounds 2]

Runs BUILD_DIR/bench/sampling/bench_generate (batch 8 = 8 prompts x G 1, batch 64
= 8 prompts x G 8), and bench_generate_native (the same, built with -march=native)
when it was built (not when r1's own flags already are -march=native), and torch_generate_peer.py for the same shapes, alternating
r1 and torch `--rounds` times so both see the same machine load, and prints the
median of each with the ratio r1 / torch. Prints a JSON line at the end.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from build_flags import build_flags, build_label  # noqa: E402


def run_r1(binary, threads):
    env = dict(os.environ, R1_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_format=json"], env=env, check=True, capture_output=True, text=True).stdout
    result = {}
    for bench in json.loads(out)["benchmarks"]:
        if int(bench["batch"]) in (8, 64):  # the batches the peer runs (bench_generate also times batch 1)
            result[int(bench["batch"])] = bench["new_tokens_per_s"]
    return result


def run_torch(threads, samples):
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(threads)
    command = ["/usr/bin/python3", os.path.join(HERE, "torch_generate_peer.py"), "--threads", str(threads),
               "--prompts", "8", "--samples", str(samples)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["new_tokens_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    main_binary = os.path.join(args.build_dir, "bench", "sampling", "bench_generate")
    builds = {build_label(main_binary): main_binary}
    native = os.path.join(args.build_dir, "bench", "sampling", "bench_generate_native")
    if os.path.exists(native):
        builds["r1 native"] = native
    for label, binary in builds.items():
        print(f"{label}: {binary} built with {build_flags(binary)}", file=sys.stderr)
    r1_rates = {label: {8: [], 64: []} for label in builds}
    torch_rates = {8: [], 64: []}
    for _ in range(args.rounds):
        for label, binary in builds.items():
            for batch, rate in run_r1(binary, args.threads).items():
                r1_rates[label][batch].append(rate)
        for batch, samples in ((8, 1), (64, 8)):
            torch_rates[batch].append(run_torch(args.threads, samples))
    summary = {"threads": args.threads, "rounds": args.rounds}
    for batch in (8, 64):
        torch_rate = statistics.median(torch_rates[batch])
        summary[f"batch{batch}"] = {"torch_new_tokens_per_s": torch_rate}
        for label in builds:
            r1_rate = statistics.median(r1_rates[label][batch])
            key = label.replace(" ", "_")
            summary[f"batch{batch}"][f"{key}_new_tokens_per_s"] = r1_rate
            summary[f"batch{batch}"][f"{key}_ratio"] = r1_rate / torch_rate
            print(f"batch {batch:3d}: {label:9s} {r1_rate:9.0f} tok/s   torch {torch_rate:9.0f} tok/s   "
                  f"r1/torch {r1_rate / torch_rate:5.2f}x", file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
