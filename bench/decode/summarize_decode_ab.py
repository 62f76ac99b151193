#!/usr/bin/env python3
"""summarize_decode_ab.py OUTDIR - the table of run_decode_ab.sh from OUTDIR/decode_ab.jsonl (bench_decode and
bench_decode_widen lines, one timed round each, tagged with binary and alternation) and the read-only sums of
bench_bandwidth over a decode step's fp32 and bf16 weight bytes (OUTDIR/bandwidth_read_<MiB>MiB.json).
Lines of run_decode_builds.sh also carry a build, and its rows are kept apart by build.

A row = one decode path (fp32 weights; bf16 weights by each path bench_decode and its twins ran) and batch:
the median, minimum and maximum over the alternations of decode tokens/s, the median step time, the bytes a
step streams (bench_decode's count) times steps/s, and that as % of the 2-thread read rate over an array of the
same weight dtype's bytes (median of bench_bandwidth's repetitions): the fp32 rows against the larger array,
the bf16 rows against the smaller. Prints markdown and writes OUTDIR/summary_ab.json.
"""
import json
import os
import statistics
import sys


def read_rate(path):
    with open(path) as f:
        report = json.load(f)
    for bench in report["benchmarks"]:
        if bench.get("aggregate_name") == "median" and "threads:2" in bench["run_name"]:
            return bench["read_GB_per_s"], bench["array_MiB"]
    raise SystemExit(f"{path}: no 2-thread median read_sum")


def main():
    out = sys.argv[1]
    rates = {}
    for name in os.listdir(out):
        if name.startswith("bandwidth_read_") and name.endswith("MiB.json"):
            gbps, mib = read_rate(os.path.join(out, name))
            rates[mib] = gbps
    if not rates:
        raise SystemExit(f"{out}: no bandwidth_read_*MiB.json")
    with open(os.path.join(out, "decode_ab.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    groups = {}
    for r in rows:
        if r["weights"] == "fp32":
            path = "fp32"
        else:
            path = "bf16 " + r["bf16_path"]
        if "build" in r:  # run_decode_builds.sh: the same paths from two builds
            path = r["build"] + ", " + path
        groups.setdefault((path, r["batch"]), []).append(r)
    big, small = max(rates), min(rates)
    table = []
    for (path, batch), group in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        rate = [g["decode_tokens_per_s"] for g in group]
        steps_per_s = statistics.median(rate) / batch
        bytes_per_step = group[0]["bytes_per_step"]
        roof = rates[big] if group[0]["weights"] == "fp32" else rates[small]
        table.append({"path": path, "batch": batch, "n": len(group), "tokens_per_s_median": statistics.median(rate),
                      "tokens_per_s_min": min(rate), "tokens_per_s_max": max(rate),
                      "step_ms_median": statistics.median(g["decode_step_ms_median"] for g in group),
                      "step_ms_min": min(g["decode_step_ms_min"] for g in group),
                      "GB_per_s": bytes_per_step * steps_per_s / 1e9,
                      "roofline_GB_per_s": roof, "roofline_percent": 100 * bytes_per_step * steps_per_s / 1e9 / roof,
                      "fastest_step_roofline_percent":
                          100 * bytes_per_step / (min(g["decode_step_ms_min"] for g in group) / 1e3) / 1e9 / roof,
                      "greedy_tokens_equal_to_fp32": [g.get("greedy_tokens_equal_to_fp32") for g in group]})
    print("Read roofline (2 threads, median): " + ", ".join(f"{mib:.0f} MiB {gbps:.1f} GB/s" for mib, gbps in sorted(rates.items())))
    print("| path | batch | n | tokens/s median [min, max] | step ms median | GB/s streamed | % of read roofline |"
          " fastest step ms | its tokens/s | its % of roofline |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for t in table:
        print(f"| {t['path']} | {t['batch']} | {t['n']} | {t['tokens_per_s_median']:.2f} [{t['tokens_per_s_min']:.2f}, "
              f"{t['tokens_per_s_max']:.2f}] | {t['step_ms_median']:.1f} | {t['GB_per_s']:.1f} | {t['roofline_percent']:.0f}% | "
              f"{t['step_ms_min']:.1f} | {1e3 * t['batch'] / t['step_ms_min']:.2f} | {t['fastest_step_roofline_percent']:.0f}% |")
    with open(os.path.join(out, "summary_ab.json"), "w") as f:
        json.dump({"read_roofline_GB_per_s": rates, "rows": table}, f, indent=1)


if __name__ == "__main__":
    main()
