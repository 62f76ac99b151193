#!/usr/bin/env python3
"""The PyTorch peer of bench_train_step: one training micro-batch (forward + backward of the mean
token NLL) at the Qwen2.5-0.5B shape on the same GPU, bf16, attention through
torch.nn.functional.scaled_dot_product_attention (causal, GQA), random weights, nothing downloaded.

The model is written out here (no `transformers` needed): Qwen2's decoder as HF's modeling_qwen2.py
computes it (RMSNorm, q/k/v with biases, rotary embeddings with theta 1e6, GQA attention, SwiGLU MLP,
tied LM head). Precision modes:
  autocast  fp32 parameters, bf16 autocast (r1's layout: fp32 master, bf16 compute, fp32 accumulation)
  bf16      bf16 parameters
Each reports ms per micro-batch, tokens/s and MFU with the same FLOP count and peak as bench_train_step
(6 P + causal attention per token; 4096 dense bf16 FLOP/clk/SM on sm_90, 2048 on sm_80).

  python3 torch_train_step_peer.py [--sequences 16] [--sequence-length 512] [--steps 5]
                                   [--modes autocast,bf16] [--compile] [--sm-clock-mhz X] [--json FILE]
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

CONFIG = dict(vocab=151936, hidden=896, intermediate=4864, layers=24, heads=14, kv_heads=2, head_dim=64,
              rope_theta=1e6, eps=1e-6)


class RmsNorm(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):  # HF Qwen2RMSNorm: normalise in fp32, scale in the input's type
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, e = c["hidden"], c["head_dim"]
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], e
        self.input_layernorm = RmsNorm(d, c["eps"])
        self.q_proj = torch.nn.Linear(d, c["heads"] * e, bias=True)
        self.k_proj = torch.nn.Linear(d, c["kv_heads"] * e, bias=True)
        self.v_proj = torch.nn.Linear(d, c["kv_heads"] * e, bias=True)
        self.o_proj = torch.nn.Linear(c["heads"] * e, d, bias=False)
        self.post_attention_layernorm = RmsNorm(d, c["eps"])
        self.gate_proj = torch.nn.Linear(d, c["intermediate"], bias=False)
        self.up_proj = torch.nn.Linear(d, c["intermediate"], bias=False)
        self.down_proj = torch.nn.Linear(c["intermediate"], d, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)      # (B, H, T, E)
        k = self.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)   # (B, K, T, E)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin  # RoFormer (Su et al. 2021) eq. 34, HF's half-split layout
        k = k * cos + rotate_half(k) * sin
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)  # (B, H, T, E)
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Qwen2(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab"], c["hidden"])
        self.layers = torch.nn.ModuleList(Layer(c) for _ in range(c["layers"]))
        self.norm = RmsNorm(c["hidden"], c["eps"])

    def forward(self, ids, targets):
        t = ids.shape[1]
        e = self.c["head_dim"]
        inv_freq = 1.0 / (self.c["rope_theta"] ** (torch.arange(0, e, 2, device=ids.device).float() / e))
        angles = torch.outer(torch.arange(t, device=ids.device).float(), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        x = self.embed_tokens(ids)
        cos, sin = angles.cos(), angles.sin()  # (T, E), fp32; each layer casts them to q's type
        for layer in self.layers:
            x = layer(x, cos, sin)
        logits = F.linear(self.norm(x), self.embed_tokens.weight)  # tied head
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


def parameter_count(c):
    d, f, v, a, kw = c["hidden"], c["intermediate"], c["vocab"], c["heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
    qkv = a + 2 * kw
    return v * d + c["layers"] * (2 * d + d * qkv + qkv + a * d + 3 * f * d) + d


def dense_bf16_flops_per_clock_per_sm(major, minor):
    return {(8, 0): 2048, (9, 0): 4096}.get((major, minor), 0)


def sm_clock_mhz():
    """The device's maximum SM clock (what cudaDevAttrClockRate reports), via nvidia-smi."""
    import subprocess
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits", "-i", "0"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        return float(out.splitlines()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--sequence-length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--modes", default="autocast,bf16")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model first (adds compile time)")
    parser.add_argument("--sm-clock-mhz", type=float, default=0.0)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return 1
    device = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    clock = args.sm_clock_mhz or sm_clock_mhz()
    peak = dense_bf16_flops_per_clock_per_sm(props.major, props.minor) * props.multi_processor_count * clock * 1e6
    print(f"torch {torch.__version__}, device {props.name}, sm_{props.major}{props.minor}, "
          f"{props.multi_processor_count} SMs, SM clock {clock:.0f} MHz, peak {peak / 1e12:.1f} TFLOP/s")
    c = CONFIG
    b, t = args.sequences, args.sequence_length
    generator = torch.Generator(device="cpu").manual_seed(2024)
    ids = torch.randint(0, c["vocab"], (b, t + 1), generator=generator).to(device)
    inputs, targets = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()
    tokens = b * t
    flops_per_token = 6 * parameter_count(c) + 12.0 * c["layers"] * c["heads"] * c["head_dim"] * (t + 1) / 2
    results = {"torch": torch.__version__, "device": props.name, "sm_count": props.multi_processor_count,
               "sm_clock_mhz": clock, "peak_bf16_tflops": peak / 1e12, "parameters": parameter_count(c),
               "sequences": b, "sequence_length": t, "modes": {}}
    for mode in [m for m in args.modes.split(",") if m]:
        if mode not in ("autocast", "bf16"):
            sys.exit(f"--modes: unknown mode '{mode}' (autocast, bf16)")
        torch.manual_seed(2024)
        with device:  # built and initialised on the GPU: no 2 GB of host initialisation and copy
            model = Qwen2(c)
        with torch.no_grad():  # HF's initializer_range 0.02; norms 1; biases 0
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith(".bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, 0.02)
        model = model.to(dtype=torch.bfloat16 if mode == "bf16" else torch.float32)
        step_model = torch.compile(model) if args.compile else model

        def step():
            for p in model.parameters():
                p.grad = None
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=(mode == "autocast")):
                loss = step_model(inputs, targets)
            loss.backward()
            return loss

        start = time.perf_counter()
        loss = step()  # warm-up (and compilation)
        torch.cuda.synchronize()
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / args.steps
        rate = tokens / seconds
        mfu = flops_per_token * rate / peak if peak > 0 else 0.0
        print(f"{mode}: train step (forward + backward, {b} x {t} tokens): {1e3 * seconds:.1f} ms, {rate:.0f} tokens/s, "
              f"{flops_per_token * rate / 1e12:.1f} TFLOP/s, MFU {100 * mfu:.1f}% (warm-up {warmup:.2f} s, loss "
              f"{loss.item():.3f}; ln V = {math.log(c['vocab']):.3f}; peak memory "
              f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)")
        results["modes"][mode] = {"train_step_ms": 1e3 * seconds, "train_tokens_per_second": rate,
                                  "model_tflops": flops_per_token * rate / 1e12, "mfu": mfu, "loss": loss.item(),
                                  "compiled": args.compile}
        del model, step_model
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
