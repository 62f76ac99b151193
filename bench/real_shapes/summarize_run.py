#!/usr/bin/env python3
"""The figures of one run_real_shape.sh run: OUTDIR/summary.json and OUTDIR/summary.md.

    summarize_run.py OUTDIR

Reads what run_real_shape.sh left in OUTDIR: run.json (the settings), <phase>.time (GNU time -v), <phase>.log
(r1's stderr and stdout), <phase>.rss.tsv (resident size sampled once a second), <phase>.exit, grpo/metrics.jsonl
(one line a step, r1/train/grpo_trainer.hpp's fill_metrics) and prompt_tokens.json (the training prompts'
token counts after the chat template).

Per step: the phases r1 times (every "timing/*" field; generation, verification and training today, and
whatever finer fields, such as old log-probs or the reference, a later r1 writes), step_time, and two rates:
  generation tokens/s  = completion tokens of the step / timing/generation
  training tokens/s    = tokens the update ran forward and backward over / timing/training, where those tokens
                         are B x (mean prompt tokens of the data set + mean completion length); the prompt
                         term is the data set's mean, not the step's own prompts (the metrics do not log it).
Per process: peak resident size (GNU time's "Maximum resident set size"), wall time, and the time spent
outside the logged steps (load, reference copy, saves, final export) = wall - sum(step_time).
"""
import json
import math
import pathlib
import re
import sys

PHASES = ("run", "resume")


def read_json(path: pathlib.Path, default=None):
    return json.loads(path.read_text()) if path.exists() else default


def gnu_time(path: pathlib.Path) -> dict:
    """The fields of `/usr/bin/time -v` that matter here."""
    if not path.exists():
        return {}
    text = path.read_text(errors="replace")
    out = {}
    if m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", text):
        out["peak_rss_gb"] = int(m.group(1)) * 1024 / 1e9
    if m := re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text):
        seconds = 0.0
        for part in m.group(1).split(":"):
            seconds = seconds * 60 + float(part)
        out["wall_s"] = seconds
    for field, key in (("User time (seconds)", "user_s"), ("System time (seconds)", "system_s")):
        if m := re.search(re.escape(field) + r": ([\d.]+)", text):
            out[key] = float(m.group(1))
    if m := re.search(r"Percent of CPU this job got: (\d+)%", text):
        out["cpu_percent"] = int(m.group(1))
    if m := re.search(r"Command terminated by signal (\d+)", text):
        out["signal"] = int(m.group(1))
    if m := re.search(r"Exit status: (\d+)", text):
        out["exit_status"] = int(m.group(1))
    return out


def rss_timeline(path: pathlib.Path) -> dict:
    """Peak of the 1 s samples and when it happened (seconds after the process started)."""
    if not path.exists():
        return {}
    samples = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].isdigit():
            samples.append((float(parts[0]), int(parts[1]) * 1024 / 1e9))
    if not samples:
        return {}
    t, peak = max(samples, key=lambda s: s[1])
    return {"sampled_peak_rss_gb": peak, "sampled_peak_at_s": t, "samples": len(samples)}


def memory_plan(log: str) -> str:
    """The table `r1 grpo` prints at start ('planned memory'), as printed."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "planned memory" in line:
            table = [line]
            for follow in lines[i + 1:]:
                if not follow.startswith("  "):
                    break
                table.append(follow)
            return "\n".join(table)
    return ""


def failure(log: str, exit_status) -> str:
    """The line that says why a process failed: r1's error, or the kernel's kill."""
    if exit_status in (0, None):
        return ""
    for line in reversed(log.splitlines()):
        if re.search(r"error|does not fit|unknown|Killed|terminate|what\(\)", line, re.IGNORECASE):
            return line.strip()
    tail = [l for l in log.splitlines() if l.strip()]
    return tail[-1].strip() if tail else f"exit status {exit_status}"


def mean(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else None


def main() -> None:
    out = pathlib.Path(sys.argv[1]).resolve()
    settings = read_json(out / "run.json", {})
    batch = settings.get("prompts_per_step", 0) * settings.get("group_size", 0)
    prompt_tokens = read_json(out / "prompt_tokens.json", {})
    mean_prompt = prompt_tokens.get("mean")
    run_steps = settings.get("steps", 0)

    processes = []
    for phase in PHASES:
        log_path = out / f"{phase}.log"
        if not log_path.exists():
            continue
        log = log_path.read_text(errors="replace")
        exit_file = out / f"{phase}.exit"
        exit_status = int(exit_file.read_text().strip()) if exit_file.exists() else None
        process = {"phase": phase, "exit_status": exit_status, **gnu_time(out / f"{phase}.time"),
                   **rss_timeline(out / f"{phase}.rss.tsv"), "memory_plan": memory_plan(log),
                   "load_average_1_5_min_at_end": (out / f"{phase}.loadavg").read_text().split()[:2]
                   if (out / f"{phase}.loadavg").exists() else None,
                   "error": failure(log, exit_status), "resumed_line": next(
                       (l.strip() for l in log.splitlines() if "resumed from" in l), "")}
        processes.append(process)

    steps = []
    metrics_path = out / "grpo" / "metrics.jsonl"
    if metrics_path.exists():
        for line in metrics_path.read_text().splitlines():
            if not line.strip():
                continue
            m = json.loads(line)
            completion_tokens = m.get("completions/mean_length", 0.0) * batch
            timings = {k.split("/", 1)[1]: v for k, v in m.items() if k.startswith("timing/")}
            generation, training = timings.get("generation"), timings.get("training")
            trained_tokens = batch * (mean_prompt + m.get("completions/mean_length", 0.0)) if mean_prompt else None
            steps.append({
                "step": m.get("step"),
                "phase": "run" if m.get("step", 0) < run_steps else "resume",
                "step_time_s": m.get("step_time"),
                "timing_s": timings,
                "completion_tokens": completion_tokens,
                "generation_tokens_per_s": completion_tokens / generation if generation else None,
                "training_tokens_per_s": trained_tokens / training if trained_tokens and training else None,
                "training_completion_tokens_per_s": completion_tokens / training if training else None,
                "completions_clipped_ratio": m.get("completions/clipped_ratio"),
                "undecodable_completions": m.get("completions/undecodable"),
                "kl": m.get("kl"), "loss": m.get("loss"), "grad_norm": m.get("grad_norm"),
                "skipped_updates": m.get("skipped_updates"),
            })
    for process in processes:
        logged = [s["step_time_s"] for s in steps if s["phase"] == process["phase"] and s["step_time_s"]]
        process["steps_logged"] = len(logged)
        if "wall_s" in process and logged:
            process["outside_steps_s"] = process["wall_s"] - sum(logged)

    saved = {}
    if (out / "saved_bytes.tsv").exists():
        for line in (out / "saved_bytes.tsv").read_text().splitlines():
            size, path = line.split("\t", 1)
            saved[str(pathlib.Path(path).relative_to(out))] = int(size) / 1e9
    lora_files = sorted(str(p.relative_to(out)) for p in out.rglob("adapter_config.json"))
    summary = {
        "settings": settings,
        "prompt_tokens": prompt_tokens,
        "processes": processes,
        "steps": steps,
        "mean_over_steps": {
            "step_time_s": mean([s["step_time_s"] for s in steps]),
            **{f"timing_{k}_s": mean([s["timing_s"].get(k) for s in steps])
               for k in sorted({k for s in steps for k in s["timing_s"]})},
            "generation_tokens_per_s": mean([s["generation_tokens_per_s"] for s in steps]),
            "training_tokens_per_s": mean([s["training_tokens_per_s"] for s in steps]),
        },
        "peak_rss_gb": max((p.get("peak_rss_gb", 0.0) for p in processes), default=None),
        "lora_adapter_files": lora_files,
        "saved_gb": saved,
    }
    if settings.get("mode") == "lora" and not lora_files:
        summary["lora_warning"] = ("MODE lora, but no adapter_config.json was written: this r1 did not apply the "
                                   "'lora' section (a build without LoRA ignores unknown top-level config keys), "
                                   "so these figures are not of a LoRA run")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    print((out / "summary.md").read_text())


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(summary: dict) -> str:
    s = summary["settings"]
    lines = [f"# r1 grpo at the {s.get('shape')} shape, {s.get('mode')} ({s.get('date', '')})", ""]
    lines.append(f"r1 {s.get('r1_commit', '?')} ({s.get('r1_binary', '')}); {s.get('machine', '')}; "
                 f"{s.get('threads', '?')} threads.")
    lines.append(f"{s.get('prompts_per_step')} prompts x {s.get('group_size')} samples per step, max_new_tokens "
                 f"{s.get('max_new_tokens')}, beta {s.get('beta')}, AdamW lr {s.get('lr')}, checkpoint_every 1; "
                 f"{s.get('steps')} steps, then --resume to {s.get('steps', 0) + s.get('resume_steps', 0)}. Prompts: "
                 f"{fmt(summary['prompt_tokens'].get('mean'))} tokens on average "
                 f"(max {summary['prompt_tokens'].get('max', '–')}) after the chat template.")
    lines.append("")
    if "lora_warning" in summary:
        lines += [f"**{summary['lora_warning']}.**", ""]
    lines.append("| process | exit | wall (s) | peak RSS (GB) | sampled peak at (s) | steps | outside steps (s) | "
                 "CPU | load avg (1, 5 min) at end | error |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for p in summary["processes"]:
        load = ", ".join(p.get("load_average_1_5_min_at_end") or ["–"])
        lines.append(f"| {p['phase']} | {p.get('exit_status', '–')} | {fmt(p.get('wall_s'))} | "
                     f"{fmt(p.get('peak_rss_gb'), 2)} | {fmt(p.get('sampled_peak_at_s'), 0)} | {p.get('steps_logged', 0)} | "
                     f"{fmt(p.get('outside_steps_s'))} | {p.get('cpu_percent', '–')}% | {load} | "
                     f"{p.get('error', '').replace('|', '/')} |")
    lines += ["", "GB = 10^9 bytes. Peak RSS: GNU time's maximum resident set size; the sampled peak's time is "
              "seconds after the process started (1 s samples). Outside steps: wall time minus the logged steps' "
              "step_time: loading, the reference copy, checkpoint saves (after every step, and once more at the "
              "end), the final model export. CPU: GNU time's share (200% = both cores busy throughout).", ""]
    if summary.get("saved_gb"):
        lines.append("Saved: " + ", ".join(f"{k} {v:.2f} GB" for k, v in summary["saved_gb"].items()) + ".")
        lines.append("")
    timing_names = sorted({k for st in summary["steps"] for k in st["timing_s"]})
    header = "| step | process | step (s) | " + " | ".join(f"{k} (s)" for k in timing_names) + \
             " | completion tokens | generation tok/s | training tok/s |"
    lines += [header, "|" + "---:|" * (3 + len(timing_names) + 3)]
    for st in summary["steps"]:
        lines.append(f"| {st['step']} | {st['phase']} | {fmt(st['step_time_s'])} | " +
                     " | ".join(fmt(st["timing_s"].get(k), 2) for k in timing_names) +
                     f" | {fmt(st['completion_tokens'], 0)} | {fmt(st['generation_tokens_per_s'], 2)} | "
                     f"{fmt(st['training_tokens_per_s'], 1)} |")
    lines.append("")
    for p in summary["processes"]:
        if p.get("memory_plan"):
            lines += [f"Memory plan printed by the {p['phase']} process:", "", "```", p["memory_plan"], "```", ""]
            break
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
