#!/usr/bin/env python3
"""make_golden.py - golden values for tests/model/test_golden.cpp, computed by an
implementation independent of r1: PyTorch autograd in float64 over a Llama/Qwen2
decoder written from HF's modelling equations (rotate-half RoPE, GQA, q/k/v bias,
RMSNorm, SwiGLU). Reads the r1-made checkpoint golden_qwen2/ with its own
safetensors parser (the format is 8-byte length + JSON + raw data).

Run: /usr/bin/python3 tests/data/model/make_golden.py   (writes golden_qwen2.json)
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "golden_qwen2")

# The batch of the test: two sequences packed, the second scored from position 3.
SEQUENCES = [[1, 5, 9, 33, 12, 0, 7, 36, 2], [1, 20, 21, 22, 3, 17]]
SCORE_FROM = [1, 3]
TEMPERATURE = 0.8
ENTROPY_WEIGHT = 0.1  # loss = -mean(logprob) - 0.1 * mean(entropy) over scored tokens
FULL_GRADIENTS = ["model.norm.weight", "model.layers.0.input_layernorm.weight", "model.layers.1.self_attn.k_proj.bias",
                  "model.layers.0.self_attn.q_proj.bias", "model.layers.1.post_attention_layernorm.weight"]


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32"
        b, e = entry["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(entry["shape"])
        out[name] = t.to(torch.float64).requires_grad_(True)
    return out


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):  # x: [T, heads, E]
    T, _, E = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, E, 2, dtype=torch.float64) / E))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    x1, x2 = x[..., : E // 2], x[..., E // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(w, c, ids):
    D, H, K = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    E = c.get("head_dim") or D // H  # HF LlamaConfig: head_dim, default hidden_size // num_attention_heads
    eps, theta = c["rms_norm_eps"], c["rope_theta"]
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    T = len(ids)
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, w[p + "input_layernorm.weight"], eps)
        q = h @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]
        k = h @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]
        v = h @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]
        q, k, v = rope(q.view(T, H, E), theta), rope(k.view(T, K, E), theta), v.view(T, K, E)
        k = k.repeat_interleave(H // K, dim=1)
        v = v.repeat_interleave(H // K, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(E) + mask
        o = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * E)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
    return rmsnorm(x, w["model.norm.weight"], eps) @ head.T


def main():
    with open(os.path.join(MODEL, "config.json")) as f:
        c = json.load(f)
    w = read_safetensors(os.path.join(MODEL, "model.safetensors"))
    logprobs, entropies, last_logits = [], [], []
    total_lp, total_ent, scored = 0.0, 0.0, 0
    for ids, start in zip(SEQUENCES, SCORE_FROM):
        logits = forward(w, c, ids)
        last_logits.append(logits[-1].detach().tolist())
        logp = (logits / TEMPERATURE).log_softmax(-1)
        ent = -(logp.exp() * logp).sum(-1)
        row_lp, row_ent = [0.0] * len(ids), [0.0] * len(ids)
        for t in range(start, len(ids)):
            lp_t = logp[t - 1, ids[t]]
            row_lp[t], row_ent[t] = lp_t.item(), ent[t - 1].item()
            total_lp = total_lp + lp_t
            total_ent = total_ent + ent[t - 1]
            scored += 1
        logprobs += row_lp
        entropies += row_ent
    loss = -(total_lp / scored) - ENTROPY_WEIGHT * (total_ent / scored)
    loss.backward()
    golden = {
        "generator": "tests/data/model/make_golden.py (PyTorch %s, float64 autograd)" % torch.__version__,
        "sequences": SEQUENCES, "score_from": SCORE_FROM, "temperature": TEMPERATURE,
        "entropy_weight": ENTROPY_WEIGHT, "scored_tokens": scored,
        "logprobs": logprobs, "entropies": entropies, "last_logits": last_logits, "loss": loss.item(),
        "gradient_norms": {name: t.grad.norm().item() for name, t in w.items()},
        "gradients": {name: w[name].grad.reshape(-1).tolist() for name in FULL_GRADIENTS},
    }
    with open(os.path.join(HERE, "golden_qwen2.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
