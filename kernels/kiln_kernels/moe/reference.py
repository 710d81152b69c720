"""The reference MoE implementation: permute tokens by expert, batched expert matmuls, unpermute.

Assignments (token, slot) are sorted by expert id (stable), gathered into one contiguous [T*k, d]
block, pushed through each expert's SwiGLU either with torch._grouped_mm (when this torch build
supports it for the dtype/device/alignment) or with one matmul per non-empty expert, scaled by
their router weights, and summed back per token with index_add_. Dropless: every assignment is
computed. It runs on any device and dtype and is the oracle for accelerator kernels.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from . import register_moe_impl


def grouped_mm_usable(x: torch.Tensor, w: torch.Tensor) -> bool:
    if not hasattr(torch, "_grouped_mm") or x.dtype != w.dtype:
        return False
    if x.device.type == "cpu":
        ok_dtype = x.dtype in (torch.float32, torch.bfloat16)
    elif x.device.type == "cuda":
        ok_dtype = x.dtype == torch.bfloat16
    else:
        return False
    elem = x.element_size()
    return ok_dtype and (w.shape[1] * elem) % 16 == 0 and (w.shape[2] * elem) % 16 == 0


def _per_expert_matmul(xs: torch.Tensor, w: torch.Tensor, splits: list[int]) -> torch.Tensor:
    parts = [chunk @ w[e] for e, chunk in enumerate(torch.split(xs, splits)) if splits[e] > 0]
    if not parts:
        return xs.new_zeros((0, w.shape[2]))
    return torch.cat(parts)


def reference_experts(x, topk_ids, topk_weights, w_gate, w_up, w_down, grouped: Optional[bool] = None):
    n_tokens, top_k = topk_ids.shape
    n_experts = w_gate.shape[0]
    flat_ids = topk_ids.reshape(-1)
    order = torch.argsort(flat_ids, stable=True)
    token_of = order // top_k
    counts = torch.bincount(flat_ids, minlength=n_experts)
    xs = x.index_select(0, token_of)
    if grouped is None:
        grouped = grouped_mm_usable(xs, w_gate) and grouped_mm_usable(xs, w_down)
    if grouped:
        offs = torch.cumsum(counts, 0).to(torch.int32)
        hidden = F.silu(torch._grouped_mm(xs, w_gate, offs=offs)) * torch._grouped_mm(xs, w_up, offs=offs)
        out = torch._grouped_mm(hidden, w_down, offs=offs)
    else:
        splits = counts.tolist()
        hidden = F.silu(_per_expert_matmul(xs, w_gate, splits)) * _per_expert_matmul(xs, w_up, splits)
        out = _per_expert_matmul(hidden, w_down, splits)
    out = out * topk_weights.reshape(-1).index_select(0, order).unsqueeze(1).to(out.dtype)
    return out.new_zeros((n_tokens, out.shape[1])).index_add_(0, token_of, out)


register_moe_impl("reference", reference_experts, description="sort by expert + per-expert matmul / grouped_mm")
