#!/usr/bin/env python3
"""An independent PyTorch implementation of r1's GRPO-family losses and advantage
estimators, written from the papers (in the style of verl's core_algos and TRL's
GRPOTrainer), used as a peer by test_rl_torch_peer. Gradients come from autograd,
in float64. Usage: torch_peer.py cases.json results.json"""
import json
import sys

import torch

D = torch.float64


def aggregate(per_token, mask, seq_index, sequences, mode, constant, batch_tokens, batch_sequences):
    masked = per_token * mask
    if mode == "token_mean":  # DAPO Eq. 8
        return masked.sum() / batch_tokens
    seq_sum = torch.zeros(sequences, dtype=D).index_add(0, seq_index, masked)
    if mode == "sequence_mean_token_mean":  # DeepSeekMath Eq. 3
        seq_len = torch.zeros(sequences, dtype=D).index_add(0, seq_index, mask)
        return (seq_sum / seq_len.clamp(min=1)).sum() / batch_sequences
    if mode == "constant_normaliser":  # Dr. GRPO
        return (seq_sum / constant).sum() / batch_sequences
    if mode == "sequence_sum":
        return seq_sum.sum() / batch_sequences
    raise ValueError(mode)


def loss_case(case):
    cfg = case["config"]
    offsets = case["offsets"]
    sequences = len(offsets) - 1
    seq_index = torch.tensor([s for s in range(sequences) for _ in range(offsets[s], offsets[s + 1])], dtype=torch.long)
    lp = torch.tensor(case["logprobs"], dtype=D, requires_grad=True)
    ent = torch.tensor(case["entropies"], dtype=D, requires_grad=True)
    old = torch.tensor(case["old_logprobs"], dtype=D)
    ref = torch.tensor(case["ref_logprobs"], dtype=D)
    mask = torch.tensor(case["mask"], dtype=D)
    adv = torch.tensor(case["advantages"], dtype=D)
    eps_low, eps_high, c = cfg["eps_low"], cfg["eps_high"], cfg["dual_clip_c"]

    log_ratio = lp - old
    kind = cfg["policy_loss"]
    if kind == "gspo":  # GSPO-token (Zheng et al. 2025): s_i,t = sg[s_i] * pi_t / sg[pi_t]
        seq_len = torch.zeros(sequences, dtype=D).index_add(0, seq_index, mask)
        seq_lr = torch.zeros(sequences, dtype=D).index_add(0, seq_index, log_ratio * mask) / seq_len.clamp(min=1)
        log_ratio = seq_lr[seq_index].detach() + lp - lp.detach()
    ratio = torch.exp(log_ratio)
    if kind in ("clipped", "gspo"):
        loss1 = -adv * ratio
        loss2 = -adv * torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
        pg = torch.maximum(loss1, loss2)
        if c > 0:  # dual clip (Ye et al. 2020)
            pg = torch.where(adv < 0, torch.minimum(pg, -adv * c), pg)
    elif kind == "cispo":  # MiniMax-M1 Eq. 4
        pg = -adv * torch.clamp(ratio, 1 - eps_low, 1 + eps_high).detach() * lp
    elif kind == "reinforce":
        pg = -adv * lp
    else:
        raise ValueError(kind)

    log_r = ref - lp
    kl = {"k1": -log_r, "k2": 0.5 * log_r ** 2, "k3": torch.exp(log_r) - 1 - log_r}[cfg["kl_estimator"]]
    per_token = pg + cfg["beta"] * kl - cfg["entropy_coef"] * ent
    loss = aggregate(per_token, mask, seq_index, sequences, cfg["aggregation"], cfg["aggregation_constant"],
                     case["batch_tokens"], case["batch_sequences"])
    loss.backward()
    return {"loss": loss.item(), "d_logprobs": lp.grad.tolist(), "d_entropies": ent.grad.tolist()}


def advantage_case(case):
    """TRL's group normalisation, torch.std (unbiased) or the population std."""
    cfg = case["config"]
    rewards = torch.tensor(case["rewards"], dtype=D).view(-1, case["group_size"])
    mean = rewards.mean(dim=1, keepdim=True)
    unbiased = cfg["std_estimator"] == "sample"
    estimator = cfg["advantage_estimator"]
    if estimator == "grpo":
        if cfg["scaling"] == "group":
            scale = rewards.std(dim=1, keepdim=True, unbiased=unbiased)
            out = (rewards - mean) / (scale + cfg["advantage_eps"])
        elif cfg["scaling"] == "batch":
            scale = rewards.flatten().std(unbiased=unbiased)
            out = (rewards - mean) / (scale + cfg["advantage_eps"])
        else:
            out = rewards - mean
    elif estimator == "dr_grpo":
        out = rewards - mean
    elif estimator == "rloo":  # leave-one-out baseline
        g = rewards.shape[1]
        out = rewards - (rewards.sum(dim=1, keepdim=True) - rewards) / (g - 1)
    else:
        raise ValueError(estimator)
    return {"advantages": out.flatten().tolist()}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = [loss_case(c) if c["kind"] == "loss" else advantage_case(c) for c in cases]
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
