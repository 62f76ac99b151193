#!/usr/bin/env python3
"""compare_with_torch.py - issue 3's speed figure: r1's train step (bench_train_step)
and the PyTorch peer (torch_train_peer.py) on the same machine in the same run, at 1
and 2 threads. Prints ms/step for both, the ratio torch/r1 (> 1: r1 faster), r1's
GFLOP/s and that as % of the GEMM peak measured by the same binary (BM_GemmPeak), the step's
matmuls alone (BM_StepMatmuls) as GFLOP/s, as % of the peak measured right after each of their
iterations (the median of those ratios, so drift of the machine's speed cancels) and as share of
the step's time, and both sides' process CPU time per step (the steadier figure when other work
shares the machine).

Run: python3 bench/model/compare_with_torch.py [--rounds=N] BUILD/bench/model/bench_model_train_step \
         [BUILD/bench/model/bench_model_train_step_native or OTHER_BUILD/bench/model/bench_model_train_step]
(--rounds=N alternates r1 and the peer N times and prints medians.)
(the peer runs under /usr/bin/python3, where Debian's python3-torch lives). Machines
shared with other work give noisy absolute numbers; the ratio is measured back to back.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from build_flags import build_flags, build_label  # noqa: E402


def run_r1(binary):
    out = subprocess.run([binary, "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        name, threads = b["name"].split("/")[:2]
        results[(name, int(threads))] = b
    return results


def run_torch(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "torch_train_peer.py"), "--threads", str(threads)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_results(runs):
    """Per benchmark and field, the median over rounds (machines shared with other work drift by tens of %)."""
    merged = {}
    for key in runs[0]:
        merged[key] = {field: statistics.median(run[key][field] for run in runs)
                       for field in runs[0][key] if isinstance(runs[0][key][field], (int, float))}
    return merged


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--rounds=")]
    rounds = int(next((arg.split("=", 1)[1] for arg in sys.argv[1:] if arg.startswith("--rounds=")), "1"))
    if len(args) not in (1, 2):
        sys.exit(__doc__)
    # Each build is labelled by its flags ("r1 native" for -march=native), so two build folders can be compared.
    builds = [(build_label(binary), binary) for binary in args]
    if len(builds) == 2 and builds[0][0] == builds[1][0]:
        builds = [(f"{label} ({i + 1})", binary) for i, (label, binary) in enumerate(builds)]
    r1_runs = {label: [] for label, _ in builds}
    peer_runs = {1: [], 2: []}
    # Rounds alternate r1 and the peer, so both see the same drift of the machine.
    for _ in range(rounds):
        for label, binary in builds:
            r1_runs[label].append(run_r1(binary))
        for threads in (1, 2):
            try:
                peer_runs[threads].append(run_torch(threads))
            except (OSError, subprocess.CalledProcessError) as error:
                print(f"(PyTorch peer unavailable: {error})")
                peer_runs[threads].append({"step_ms": float("nan"), "step_cpu_ms": float("nan")})
    results = {label: median_results(runs) for label, runs in r1_runs.items()}
    for label, binary in builds:
        print(f"{label}: {binary} built with {build_flags(binary)}")
    peers = {threads: {field: statistics.median(run[field] for run in runs) for field in ("step_ms", "step_cpu_ms")}
             for threads, runs in peer_runs.items()}
    print("build     | threads | r1 ms/step | torch ms/step | torch/r1 | r1 CPU ms | torch CPU ms | torch/r1 CPU | "
          "r1 GFLOP/s | GEMM peak GFLOP/s | r1 % of peak | matmuls GFLOP/s | peak beside them | matmuls % of peak | "
          "matmul ms / step ms")
    for label, r1 in results.items():
        for threads in (1, 2):
            step = r1[("BM_TrainStep", threads)]
            peak = r1[("BM_GemmPeak", threads)]["GFLOP/s"]
            peer = peers[threads]
            gflops = step["GFLOP/s"]
            matmuls = r1[("BM_StepMatmuls", threads)]
            print(f"{label:9s} | {threads:7d} | {step['real_time']:10.1f} | {peer['step_ms']:13.1f} | "
                  f"{peer['step_ms'] / step['real_time']:8.2f} | {step['cpu_time']:9.1f} | {peer['step_cpu_ms']:12.1f} | "
                  f"{peer['step_cpu_ms'] / step['cpu_time']:12.2f} | {gflops:10.1f} | {peak:17.1f} | {100 * gflops / peak:11.1f} | "
                  f"{matmuls['GFLOP/s']:15.1f} | {matmuls['peak GFLOP/s']:16.1f} | {matmuls['% of peak']:17.1f} | "
                  f"{matmuls['real_time'] / step['real_time']:19.2f}")


if __name__ == "__main__":
    main()
