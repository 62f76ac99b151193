#!/usr/bin/env python3
"""torch_decode_peer.py - PyTorch peer of bench_decode: greedy KV-cached decoding of a
Qwen2 decoder at a checkpoint's shape (random weights), in fp32 or bf16.

    /usr/bin/python3 bench/decode/torch_decode_peer.py --config bench/real_shapes/qwen2.5-0.5b.config.json \
        --dtype bf16 --batch 1,8 --threads 2

The Qwen2 decoder written out (as HF transformers' Qwen2ForCausalLM computes it, eager attention):
RMSNorm (in fp32, then cast back), RoPE (rotate_half, theta from the config), grouped-query
attention (num_attention_heads query heads share num_key_value_heads key/value heads), q/k/v
biases, SwiGLU MLP, LM head tied to the embedding when the config says so. Weights N(0, 0.02),
norms 1, biases 0 (bench_decode's init_random; the values do not change the timing). In bf16
every weight and activation is bf16 and the softmax and norms run in fp32, as HF does with
torch_dtype=bfloat16; the logits are cast to fp32 for the argmax.

Per batch size, after one warm-up round: --rounds times, prefill --batch random prompts of
--prompt-tokens (timed apart), then --new-tokens decode steps with a preallocated KV cache,
each feeding the previous argmax (no end-of-sequence). A round stops early once its decode has
taken --max-decode-s (slow dtype paths: decode tokens/s is then over the steps run, and
`decode_steps` says how many). Decode tokens/s = batch x steps / decode time, median of rounds.

Runs with Debian's python3-torch (1.13): /usr/bin/python3, with libopenblas0 (libopenblas-dev)
for fp32 GEMMs. Sets OMP/OPENBLAS/MKL_NUM_THREADS = --threads and OMP_WAIT_POLICY=PASSIVE unless
already set (see /work/shared/tools/torch_peer.py for why). Prints one JSON line per batch size
on stdout, a summary on stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time


def _early_threads():
    # BLAS/OpenMP pools read these when torch loads: set them before the import.
    n = "2"
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            n = sys.argv[i + 1]
        elif a.startswith("--threads="):
            n = a.split("=", 1)[1]
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_early_threads()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Qwen2:
    """Weights as plain tensors (HF's layout: Linear weights (out, in)); forward(ids, pos0, cache)."""

    def __init__(self, config, dtype, seed):
        g = torch.Generator().manual_seed(seed)
        self.dtype = dtype
        self.d = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config["num_key_value_heads"]
        self.head_dim = config.get("head_dim") or self.d // self.heads
        self.eps = config["rms_norm_eps"]
        self.layers_n = config["num_hidden_layers"]
        ff, vocab, E = config["intermediate_size"], config["vocab_size"], self.head_dim
        bias = config.get("model_type") == "qwen2" or config.get("attention_bias", False)

        def matrix(rows, cols):  # drawn in fp32, stored in dtype: the peak is one tensor, not the model
            return (torch.randn(rows, cols, generator=g) * 0.02).to(dtype)

        self.embed = matrix(vocab, self.d)
        self.layers = []
        for _ in range(self.layers_n):
            self.layers.append({
                "in_norm": torch.ones(self.d, dtype=dtype),
                "q": matrix(self.heads * E, self.d), "q_b": torch.zeros(self.heads * E, dtype=dtype) if bias else None,
                "k": matrix(self.kv_heads * E, self.d), "k_b": torch.zeros(self.kv_heads * E, dtype=dtype) if bias else None,
                "v": matrix(self.kv_heads * E, self.d), "v_b": torch.zeros(self.kv_heads * E, dtype=dtype) if bias else None,
                "o": matrix(self.d, self.heads * E),
                "post_norm": torch.ones(self.d, dtype=dtype),
                "gate": matrix(ff, self.d), "up": matrix(ff, self.d), "down": matrix(self.d, ff),
            })
        self.norm = torch.ones(self.d, dtype=dtype)
        self.head = self.embed if config.get("tie_word_embeddings", False) else matrix(vocab, self.d)
        theta = config.get("rope_theta", 10000.0)
        inv = 1.0 / (theta ** (torch.arange(0, E, 2, dtype=torch.float32) / E))
        self.inv_freq = inv

    def parameter_count(self):
        tensors = [self.embed, self.norm] + [t for layer in self.layers for t in layer.values() if t is not None]
        if self.head is not self.embed:
            tensors.append(self.head)
        return sum(t.numel() for t in tensors)

    def rms_norm(self, x, weight):  # HF Qwen2RMSNorm: in fp32, cast back, then the weight
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * h.to(x.dtype)

    def rope(self, positions):  # cos, sin (T, E) in the model's dtype, as HF's rotary embedding returns
        angles = torch.outer(positions.float(), self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        return emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    @staticmethod
    def rotate(x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def make_cache(self, batch, max_positions):
        shape = (batch, self.kv_heads, max_positions, self.head_dim)
        return [(torch.zeros(shape, dtype=self.dtype), torch.zeros(shape, dtype=self.dtype)) for _ in range(self.layers_n)]

    def forward(self, ids, pos0, cache):
        B, T = ids.shape
        E, H, K = self.head_dim, self.heads, self.kv_heads
        group = H // K
        x = F.embedding(ids, self.embed)  # (B, T, D)
        cos, sin = self.rope(torch.arange(pos0, pos0 + T))
        visible = pos0 + T
        mask = None
        if T > 1:  # causal within the new positions; all cached positions are visible
            mask = torch.full((T, visible), float("-inf")).triu(pos0 + 1)
        for layer, (keys, values) in zip(self.layers, cache):
            h = self.rms_norm(x, layer["in_norm"])
            q = F.linear(h, layer["q"], layer["q_b"]).view(B, T, H, E).transpose(1, 2)  # (B, H, T, E)
            k = F.linear(h, layer["k"], layer["k_b"]).view(B, T, K, E).transpose(1, 2)  # (B, K, T, E)
            v = F.linear(h, layer["v"], layer["v_b"]).view(B, T, K, E).transpose(1, 2)
            q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
            keys[:, :, pos0:visible] = k
            values[:, :, pos0:visible] = v
            q = q.reshape(B, K, group * T, E)  # the query heads of a key/value head share its keys
            scores = torch.matmul(q, keys[:, :, :visible].transpose(-1, -2)) / (E ** 0.5)  # (B, K, group*T, visible)
            if mask is not None:
                scores = (scores.view(B, K, group, T, visible) + mask).view(B, K, group * T, visible)
            probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(self.dtype)
            attn = torch.matmul(probs, values[:, :, :visible]).view(B, H, T, E).transpose(1, 2).reshape(B, T, H * E)
            x = x + F.linear(attn, layer["o"])
            h = self.rms_norm(x, layer["post_norm"])
            x = x + F.linear(F.silu(F.linear(h, layer["gate"])) * F.linear(h, layer["up"]), layer["down"])
        last = self.rms_norm(x[:, -1], self.norm)
        return F.linear(last, self.head).float()  # (B, V)


def decode_round(model, prompts, new_tokens, max_decode_s):
    B, P = prompts.shape
    cache = model.make_cache(B, P + new_tokens)
    t0 = time.perf_counter()
    next_ids = model.forward(prompts, 0, cache).argmax(-1)
    prefill_s = time.perf_counter() - t0
    generated, decode_s = [], 0.0
    for step in range(new_tokens):
        t0 = time.perf_counter()
        next_ids = model.forward(next_ids[:, None], P + step, cache).argmax(-1)
        decode_s += time.perf_counter() - t0
        generated.append(next_ids)
        if decode_s > max_decode_s:
            break
    return prefill_s, decode_s, len(generated), torch.stack(generated, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--batch", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-decode-s", type=float, default=60.0, help="stop a round's decode after this long")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        config = json.load(f)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    t0 = time.perf_counter()
    model = Qwen2(config, dtype, a.seed)
    print(f"torch_decode_peer: torch {torch.__version__}, {a.dtype}, {model.parameter_count()} parameters, "
          f"init {time.perf_counter() - t0:.1f} s, {torch.get_num_threads()} threads", file=sys.stderr)
    g = torch.Generator().manual_seed(a.seed + 1)
    batches = [int(b) for b in a.batch.split(",")]
    all_prompts = torch.randint(0, config["vocab_size"], (max(batches), a.prompt_tokens), generator=g)
    with torch.inference_mode():
        for B in batches:
            prompts = all_prompts[:B]
            t0 = time.perf_counter()
            _, _, _, reference = decode_round(model, prompts, a.new_tokens, a.max_decode_s)  # warm-up
            warm_up_s = time.perf_counter() - t0
            prefill, rates, steps = [], [], []
            for _ in range(a.rounds):
                prefill_s, decode_s, n, generated = decode_round(model, prompts, a.new_tokens, a.max_decode_s)
                n_check = min(n, reference.shape[1])
                assert torch.equal(generated[:, :n_check], reference[:, :n_check]), "greedy tokens changed between rounds"
                prefill.append(prefill_s)
                rates.append(B * n / decode_s)
                steps.append(n)
            out = {"peer": "torch", "torch": torch.__version__, "dtype": a.dtype, "batch": B, "threads": torch.get_num_threads(),
                   "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens, "decode_steps": min(steps),
                   "rounds": a.rounds, "decode_tokens_per_s": statistics.median(rates),
                   "prefill_ms_median": 1e3 * statistics.median(prefill), "warm_up_round_ms": 1e3 * warm_up_s}
            print(json.dumps(out), flush=True)
            print(f"  {a.dtype} batch {B}: {out['decode_tokens_per_s']:.2f} tokens/s "
                  f"({out['decode_steps']} steps), prefill {out['prefill_ms_median']:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
