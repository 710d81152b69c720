"""Top-k softmax router and the two load-balancing rules.

`route` scores tokens against experts in float32 (softmax over a linear projection), picks the top-k
experts per token (optionally after adding a per-expert selection bias, the aux-loss-free rule),
gathers the chosen experts' softmax weights and optionally renormalises them to sum to 1. It also
returns per-expert assignment counts (summing to T*k). `switch_aux_loss` is the Switch-Transformer
balance loss E * sum_e f_e * P_e; `update_balance_bias` is the sign rule that nudges the bias of
overloaded experts down and of underloaded experts up after each optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch


@dataclass
class RouterOutput:
    scores: torch.Tensor  # [T, E] float32 softmax probabilities
    topk_ids: torch.Tensor  # [T, k] int64, distinct per row
    topk_weights: torch.Tensor  # [T, k] float32
    counts: torch.Tensor  # [E] int64 assignments per expert, sum = T * k


def route(
    x: torch.Tensor,
    router_weight: torch.Tensor,
    top_k: int,
    renormalize: bool,
    selection_bias: Optional[torch.Tensor] = None,
) -> RouterOutput:
    with torch.autocast(device_type=x.device.type, enabled=False):
        compute_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        logits = x.to(compute_dtype) @ router_weight.to(compute_dtype).t()
        scores = torch.softmax(logits, dim=-1)
        selector = scores if selection_bias is None else scores + selection_bias.to(compute_dtype)
        topk_ids = torch.topk(selector.detach(), top_k, dim=-1).indices
        topk_weights = scores.gather(1, topk_ids)
        if renormalize:
            topk_weights = topk_weights / topk_weights.sum(dim=-1, keepdim=True)
    counts = torch.bincount(topk_ids.reshape(-1), minlength=router_weight.shape[0])
    return RouterOutput(scores, topk_ids, topk_weights, counts)


def switch_aux_loss(scores: torch.Tensor, counts: torch.Tensor, top_k: int) -> torch.Tensor:
    n_experts = scores.shape[1]
    fraction = counts.to(scores.dtype) / max(1, scores.shape[0] * top_k)
    mean_prob = scores.mean(dim=0)
    return n_experts * torch.sum(fraction * mean_prob)


@torch.no_grad()
def update_balance_bias(bias: torch.Tensor, counts: torch.Tensor, rate: float) -> None:
    load = counts.to(bias.dtype)
    bias.add_(rate * torch.sign(load.mean() - load))
