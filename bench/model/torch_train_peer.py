#!/usr/bin/env python3
"""torch_train_peer.py - the PyTorch peer of bench_train_step: the same Llama-layout
model (d 256, 4 layers, 4 heads, vocab 512, SwiGLU 768, untied head, RMSNorm eps 1e-5,
rotate-half RoPE theta 1e4), fp32 on the CPU, one train step = forward over batch 8 x
seq 256, mean next-token cross-entropy, backward, torch.optim.AdamW(lr 3e-4,
betas (0.9, 0.95), eps 1e-8, weight decay 0.1). Prints one JSON line: median wall and
process-CPU ms per step.

Run with Debian's torch: /usr/bin/python3 torch_train_peer.py --threads 2
Thread pools read their environment when torch loads, so the variables are set first;
OMP_WAIT_POLICY=PASSIVE stops OpenMP workers spinning against the BLAS threads.
"""
import os
import sys


def _threads_from_argv():
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return "2"


for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, _threads_from_argv())
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class Norm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.square().mean(-1, keepdim=True) + self.eps))


class Layer(nn.Module):
    def __init__(self, d, heads, ffn, eps):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = Norm(d, eps), Norm(d, eps)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        e = d // self.heads
        h = self.norm1(x)

        def split(y):
            return y.view(b, t, self.heads, e).transpose(1, 2)

        def rotate(y):
            half = torch.cat((-y[..., e // 2:], y[..., : e // 2]), -1)
            return y * cos + half * sin

        q, k, v = rotate(split(self.q(h))), rotate(split(self.k(h))), split(self.v(h))
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(e) + mask).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, d))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(nn.Module):
    def __init__(self, vocab, d, layers, heads, ffn, eps, theta, seq):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Layer(d, heads, ffn, eps) for _ in range(layers))
        self.norm = Norm(d, eps)
        self.head = nn.Linear(d, vocab, bias=False)
        e = d // heads
        inv = 1.0 / theta ** (torch.arange(0, e, 2).float() / e)
        angle = torch.outer(torch.arange(seq).float(), inv)
        self.register_buffer("cos", torch.cat((angle.cos(), angle.cos()), -1))
        self.register_buffer("sin", torch.cat((angle.sin(), angle.sin()), -1))
        self.register_buffer("mask", torch.full((seq, seq), float("-inf")).triu(1))
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        return self.head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    batch, seq, vocab = 8, 256, 512
    model = Model(vocab, 256, 4, 4, 768, 1e-5, 10000.0, seq)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    tokens = torch.randint(0, vocab, (batch, seq + 1))
    times, cpu_times = [], []
    for i in range(a.warmup + a.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "step_ms": 1000 * statistics.median(times), "step_ms_min": 1000 * min(times),
                      "step_cpu_ms": 1000 * statistics.median(cpu_times)}))


if __name__ == "__main__":
    main()
