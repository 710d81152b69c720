"""The naive MoE implementation: a Python loop over tokens and their chosen experts.

Slow by design (T * k tiny matmuls); it exists as an obviously-correct second opinion for tests of
the reference implementation and as the baseline in the CPU benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import register_moe_impl


def naive_experts(x, topk_ids, topk_weights, w_gate, w_up, w_down):
    rows = []
    for t in range(x.shape[0]):
        acc = torch.zeros_like(x[t])
        for j in range(topk_ids.shape[1]):
            e = int(topk_ids[t, j])
            hidden = F.silu(x[t] @ w_gate[e]) * (x[t] @ w_up[e])
            acc = acc + topk_weights[t, j] * (hidden @ w_down[e])
        rows.append(acc)
    if not rows:
        return x.new_zeros(x.shape)
    return torch.stack(rows)


register_moe_impl("naive", naive_experts, description="per-token Python loop (tests only)")
