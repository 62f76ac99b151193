#!/usr/bin/env python3
"""torch_generate_peer.py - the PyTorch peer of bench_generate: sampled generation
with a KV cache for the reference Llama-style model (RMSNorm, RoPE rotate-half,
causal multi-head attention, SwiGLU, untied head, no biases).

Same workload as r1's benchmark: P prompts of --prompt-len random ids, G samples
each (prefilled once per prompt, the cache repeated G times), --new-tokens
sampled at temperature 1 from the softmax (torch.multinomial), every row decoded
together each step, no early stop. Reports new tokens per second (median of
--reps after one warm-up) as one JSON line on stdout.

Run with Debian's torch:  /usr/bin/python3 torch_generate_peer.py --threads 2 --prompts 8 --samples 8
Thread caps are set before torch loads (OMP/OPENBLAS/MKL_NUM_THREADS), and
OMP_WAIT_POLICY=PASSIVE so OpenMP workers do not spin against OpenBLAS's.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def thread_count_from_argv():
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "2"


for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, thread_count_from_argv())
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Decoder(torch.nn.Module):
    def __init__(self, vocab, d_model, layers, heads, ffn, max_len, theta=10000.0, eps=1e-5):
        super().__init__()
        self.heads, self.head_dim, self.eps = heads, d_model // heads, eps
        linear = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.embed = torch.nn.Embedding(vocab, d_model)
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            block = torch.nn.Module()
            block.norm1 = torch.nn.Parameter(torch.ones(d_model))
            block.qkv = linear(d_model, 3 * d_model)
            block.out = linear(d_model, d_model)
            block.norm2 = torch.nn.Parameter(torch.ones(d_model))
            block.gate_up = linear(d_model, 2 * ffn)
            block.down = linear(ffn, d_model)
            self.layers.append(block)
        self.final_norm = torch.nn.Parameter(torch.ones(d_model))
        self.head = linear(d_model, vocab)
        inverse = 1.0 / theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)
        angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inverse)
        self.register_buffer("cos", torch.cat([angles.cos()] * 2, -1), persistent=False)
        self.register_buffer("sin", torch.cat([angles.sin()] * 2, -1), persistent=False)
        for parameter in self.parameters():
            if parameter.dim() == 2:
                torch.nn.init.normal_(parameter, std=0.02)

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rope(self, x, start):
        cos, sin = self.cos[start : start + x.shape[2]], self.sin[start : start + x.shape[2]]
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), -1)
        return x * cos + rotated * sin

    def forward(self, ids, start, cache):
        """ids (B, T) appended at positions start.. to cache[l] = (K, V) of shape (B, H, Tmax, hd)."""
        B, T = ids.shape
        x = self.embed(ids)
        for block, (keys, values) in zip(self.layers, cache):
            q, k, v = block.qkv(self.rms(x, block.norm1)).split(x.shape[-1], -1)
            q, k, v = (t.view(B, T, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
            q, k = self.rope(q, start), self.rope(k, start)
            keys[:, :, start : start + T] = k
            values[:, :, start : start + T] = v
            k_all, v_all = keys[:, :, : start + T], values[:, :, : start + T]
            scores = q @ k_all.transpose(-2, -1) / math.sqrt(self.head_dim)
            if T > 1:
                causal = torch.ones(T, start + T, dtype=torch.bool).tril(start)
                scores = scores.masked_fill(~causal, float("-inf"))
            attended = (scores.softmax(-1) @ v_all).transpose(1, 2).reshape(B, T, -1)
            x = x + block.out(attended)
            gate, up = block.gate_up(self.rms(x, block.norm2)).chunk(2, -1)
            x = x + block.down(F.silu(gate) * up)
        return self.head(self.rms(x[:, -1], self.final_norm))  # (B, V): last position only


@torch.no_grad()
def generate(model, prompts, samples, new_tokens, generator):
    P, prompt_len = prompts.shape
    B, max_len = P * samples, prompt_len + new_tokens
    shape = (P, model.heads, max_len, model.head_dim)
    cache = [(torch.empty(shape), torch.empty(shape)) for _ in model.layers]
    logits = model(prompts, 0, cache)  # one prefill per prompt
    if samples > 1:  # share it with the G samples
        cache = [(k.repeat_interleave(samples, 0), v.repeat_interleave(samples, 0)) for k, v in cache]
        logits = logits.repeat_interleave(samples, 0)
    out = torch.empty(B, new_tokens, dtype=torch.long)
    logprobs = torch.empty(B, new_tokens)
    for step in range(new_tokens):
        log_softmax = logits.log_softmax(-1)
        token = torch.multinomial(log_softmax.exp(), 1, generator=generator)  # (B, 1)
        out[:, step] = token[:, 0]
        logprobs[:, step] = log_softmax.gather(1, token)[:, 0]
        if step + 1 < new_tokens:
            logits = model(token, prompt_len + step, cache)
    return out, logprobs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=768)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1, help="G: samples per prompt")
    parser.add_argument("--prompt-len", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = Decoder(args.vocab, args.d_model, args.layers, args.heads, args.ffn, args.prompt_len + args.new_tokens).eval()
    prompts = torch.randint(0, args.vocab, (args.prompts, args.prompt_len))
    generator = torch.Generator().manual_seed(args.seed)
    generate(model, prompts, args.samples, 4, generator)  # warm-up
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        generate(model, prompts, args.samples, args.new_tokens, generator)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    new_tokens = args.prompts * args.samples * args.new_tokens
    print(json.dumps({
        "peer": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "prompts": args.prompts, "samples": args.samples, "batch": args.prompts * args.samples,
        "prompt_len": args.prompt_len, "new_tokens": args.new_tokens,
        "ms": 1e3 * seconds, "new_tokens_per_second": new_tokens / seconds,
    }))


if __name__ == "__main__":
    main()
