#!/usr/bin/env python3
"""Runs torch.optim.AdamW / torch.optim.SGD in float32 on the parameters and
gradient sequences of each case, as a peer for test_optim_torch_peer.
Usage: torch_optim_peer.py cases.json results.json"""
import json
import sys

import torch


def run(case):
    params = [torch.tensor(p["value"], dtype=torch.float32, requires_grad=True) for p in case["params"]]
    decay = [p for p, spec in zip(params, case["params"]) if spec["weight_decay"]]
    no_decay = [p for p, spec in zip(params, case["params"]) if not spec["weight_decay"]]
    cfg = case["config"]
    if case["optimizer"] == "adamw":
        groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"], foreach=False)
    else:
        groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
        opt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], dampening=cfg["dampening"],
                              nesterov=cfg["nesterov"], foreach=False)
    for step_grads in case["grads"]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
    return {"values": [p.detach().tolist() for p in params]}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump([run(c) for c in cases], f)


if __name__ == "__main__":
    main()
