"""The MoE feed-forward layer (nn.Module) used by the model.

Holds the router projection, the stacked SwiGLU expert weights and the aux-loss-free selection
bias (a buffer, so it is saved with the model); routes tokens with moe.router, computes experts
through the implementation named in the config (moe registry), and exposes the balance loss of the
last forward pass plus the per-expert counts the trainer uses for the bias rule and statistics.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..config import MoEConfig
from . import get_moe_impl
from .router import route, switch_aux_loss, update_balance_bias


class MoEFeedForward(nn.Module):
    def __init__(self, d_model: int, cfg: MoEConfig, init_std: float = 0.02) -> None:
        super().__init__()
        self.cfg = cfg
        e, h = cfg.n_experts, cfg.d_expert
        self.router = nn.Parameter(torch.empty(e, d_model))
        self.w_gate = nn.Parameter(torch.empty(e, d_model, h))
        self.w_up = nn.Parameter(torch.empty(e, d_model, h))
        self.w_down = nn.Parameter(torch.empty(e, h, d_model))
        self.register_buffer("selection_bias", torch.zeros(e))
        self.impl_name = cfg.impl
        self.last_counts = torch.zeros(e, dtype=torch.long)
        self.last_aux_loss = torch.zeros(())
        for w in (self.router, self.w_gate, self.w_up):
            nn.init.normal_(w, std=init_std)
        nn.init.normal_(self.w_down, std=init_std / math.sqrt(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        bias = self.selection_bias if self.cfg.balance == "aux_free" else None
        routed = route(flat, self.router, self.cfg.top_k, self.cfg.renormalize, bias)
        self.last_counts = routed.counts.detach()
        if self.cfg.balance == "aux_loss":
            self.last_aux_loss = switch_aux_loss(routed.scores, routed.counts, self.cfg.top_k)
        else:
            self.last_aux_loss = flat.new_zeros((), dtype=torch.float32)
        impl = get_moe_impl(self.impl_name, flat.device.type)
        weights = routed.topk_weights.to(flat.dtype) if flat.dtype == torch.float64 else routed.topk_weights
        w_gate, w_up, w_down = self.w_gate, self.w_up, self.w_down
        if torch.is_autocast_enabled(flat.device.type):
            dtype = torch.get_autocast_dtype(flat.device.type)
            flat, w_gate, w_up, w_down = (t.to(dtype) for t in (flat, w_gate, w_up, w_down))
        y = impl.fn(flat, routed.topk_ids, weights, w_gate, w_up, w_down)
        return y.reshape(shape).to(x.dtype)

    def update_bias(self) -> None:
        if self.cfg.balance == "aux_free":
            update_balance_bias(self.selection_bias, self.last_counts.to(self.selection_bias.device), self.cfg.bias_update_rate)
