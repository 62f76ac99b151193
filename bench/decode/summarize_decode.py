#!/usr/bin/env python3
"""summarize_decode.py OUTDIR - the table of run_decode.sh from OUTDIR's bandwidth.json (Google Benchmark
JSON of bench_bandwidth), r1_decode.jsonl (bench_decode) and torch_decode.jsonl (torch_decode_peer.py).

Roofline: the 2-thread read-only bandwidth (BM_read_sum/threads:2, median of its repetitions), since a
decode step only reads its weights. GB/s of a row = the bytes a decode step of that weight dtype and batch
must stream (bench_decode's bytes_per_step; the torch rows use r1's count for the same dtype, though torch's
bf16 KV cache is half as large: under 1% of the bytes here) x steps/s. Ratio = r1 / torch at the same
dtype and batch. Prints the table (markdown) on stdout and writes OUTDIR/summary.json.
"""
import json
import os
import sys


def bandwidth(path):
    with open(path) as f:
        report = json.load(f)
    result = {}
    for bench in report["benchmarks"]:
        if bench.get("aggregate_name") not in ("median", "max"):
            continue
        name = bench["run_name"]  # e.g. BM_read_sum/threads:2/repeats:5/real_time
        kernel = "read" if "read_sum" in name else "triad"
        threads = int(name.split("threads:")[1].split("/")[0])
        key = "read_GB_per_s" if kernel == "read" else "triad_GB_per_s"
        result.setdefault(f"{kernel}_{threads}t", {})[bench["aggregate_name"]] = bench[key]
        if kernel == "triad":
            result.setdefault(f"triad_write_allocate_{threads}t", {})[bench["aggregate_name"]] = \
                bench["triad_with_write_allocate_GB_per_s"]
        result["array_MiB"] = bench["array_MiB"]
        result["llc_MiB"] = bench["llc_MiB"]
    return result


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    out = sys.argv[1]
    bw = bandwidth(os.path.join(out, "bandwidth.json"))
    roof = bw["read_2t"]["median"]
    r1 = lines(os.path.join(out, "r1_decode.jsonl"))
    torch_rows = lines(os.path.join(out, "torch_decode.jsonl"))
    bytes_of = {(r["weights"], r["batch"]): r["bytes_per_step"] for r in r1}
    torch_rate = {(r["dtype"], r["batch"]): r["decode_tokens_per_s"] for r in torch_rows}
    rows = []
    for r in r1:
        key = (r["weights"], r["batch"])
        steps_per_s = r["decode_tokens_per_s"] / r["batch"]
        peer = torch_rate.get(key)
        rows.append({"engine": "r1", "weights": r["weights"], "batch": r["batch"],
                     "tokens_per_s": r["decode_tokens_per_s"], "step_ms": 1e3 / steps_per_s,
                     "GB_per_s": r["bytes_per_step"] * steps_per_s / 1e9,
                     "roofline_percent": 100 * r["bytes_per_step"] * steps_per_s / 1e9 / roof,
                     "prefill_ms": r["prefill_ms_median"], "ratio_to_torch": r["decode_tokens_per_s"] / peer if peer else None,
                     "greedy_tokens_equal_to_fp32": r.get("greedy_tokens_equal_to_fp32")})
    for r in torch_rows:
        key = (r["dtype"], r["batch"])
        steps_per_s = r["decode_tokens_per_s"] / r["batch"]
        gbps = bytes_of[key] * steps_per_s / 1e9 if key in bytes_of else None
        rows.append({"engine": "torch " + r["torch"], "weights": r["dtype"], "batch": r["batch"],
                     "tokens_per_s": r["decode_tokens_per_s"], "step_ms": 1e3 / steps_per_s, "GB_per_s": gbps,
                     "roofline_percent": 100 * gbps / roof if gbps else None, "prefill_ms": r["prefill_ms_median"],
                     "ratio_to_torch": None, "decode_steps": r["decode_steps"]})

    def fmt(value, spec):
        return "" if value is None else format(value, spec)

    print(f"Memory bandwidth (GB/s, median of 5; max in brackets), arrays {bw['array_MiB']:.0f} MiB each, "
          f"last-level cache {bw['llc_MiB']:.0f} MiB:")
    for kernel in ("read", "triad", "triad_write_allocate"):
        cells = [f"{t} thread(s) {bw[f'{kernel}_{t}t']['median']:.1f} [{bw[f'{kernel}_{t}t']['max']:.1f}]" for t in (1, 2)]
        print(f"  {kernel:22s} " + ", ".join(cells))
    print(f"Roofline: 2-thread read {roof:.1f} GB/s")
    for name in sorted(os.listdir(out)):
        if name.startswith("bandwidth_read_") and name.endswith("MiB.json"):
            sized = bandwidth(os.path.join(out, name))
            bw[name[len("bandwidth_"):-len(".json")]] = sized
            print(f"  read over one {sized['array_MiB']:.0f} MiB array (a decode step's weight bytes): "
                  f"1 thread {sized['read_1t']['median']:.1f}, 2 threads {sized['read_2t']['median']:.1f} GB/s")
    print()
    print("| engine | weights | batch | decode tokens/s | step ms | GB/s streamed | % of read roofline | prefill ms "
          "| r1 / torch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['engine']} | {row['weights']} | {row['batch']} | {row['tokens_per_s']:.2f} | {row['step_ms']:.1f} "
              f"| {fmt(row['GB_per_s'], '.1f')} | {fmt(row['roofline_percent'], '.0f')} | {row['prefill_ms']:.0f} "
              f"| {fmt(row['ratio_to_torch'], '.2f')} |")
    per_step = {k: v for k, v in bytes_of.items()}
    print("\nBytes per decode step (r1's count): " +
          ", ".join(f"{w} batch {b}: {v / 1e9:.3f} GB" for (w, b), v in sorted(per_step.items())))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"bandwidth_GB_per_s": bw, "roofline_GB_per_s": roof, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
