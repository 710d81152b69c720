"""Optimizers for the trainer: AdamW alone, or Muon for hidden matrices with AdamW for the rest.

Muon keeps a Nesterov momentum buffer per matrix and replaces the update by an approximately
orthogonal matrix with the same row/column spaces (a quintic Newton-Schulz iteration), scaled by
sqrt(max(1, rows/cols)). It applies to 2-D weights inside the blocks and to each expert's slice of
the stacked [E, d, h] expert weights; embeddings, the output head, norms and the router use AdamW.
Every parameter group carries `base_lr`; the trainer sets `lr = base_lr * schedule factor`.
"""

from __future__ import annotations

import torch

from .config import RunConfig

_NS_COEFFS = (3.4445, -4.7750, 2.0315)


def orthogonalize(update: torch.Tensor, steps: int) -> torch.Tensor:
    """Approximate U V^T of update = U S V^T over the last two dims, by Newton-Schulz iterations."""
    x = update.float()
    transposed = x.shape[-2] > x.shape[-1]
    if transposed:
        x = x.mT
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    a, b, c = _NS_COEFFS
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * gram @ gram) @ x
    if transposed:
        x = x.mT
    return x.to(update.dtype)


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr: float, momentum: float = 0.95, weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "ns_steps": ns_steps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(p.grad)
                nesterov = p.grad.add(buf, alpha=group["momentum"])
                direction = orthogonalize(nesterov, group["ns_steps"])
                scale = max(1.0, p.shape[-2] / p.shape[-1]) ** 0.5
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(direction, alpha=-group["lr"] * scale)


class OptimizerSet:
    """Several optimizers stepped together, with one state dict (checkpoints) and one group list."""

    def __init__(self, optimizers: list) -> None:
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list:
        return [g for opt in self.optimizers for g in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()

    def state_dict(self) -> dict:
        return {"optimizers": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict) -> None:
        for opt, sub in zip(self.optimizers, state["optimizers"], strict=True):
            opt.load_state_dict(sub)


def _is_muon_param(name: str, p: torch.nn.Parameter) -> bool:
    inside_blocks = name.startswith("blocks.")
    is_router = name.endswith(".router")
    return inside_blocks and not is_router and p.ndim >= 2


def build_optimizer(model: torch.nn.Module, cfg: RunConfig) -> OptimizerSet:
    o = cfg.optimizer
    named = list(model.named_parameters())
    muon_params = [p for n, p in named if o.name == "muon" and _is_muon_param(n, p)]
    muon_ids = {id(p) for p in muon_params}
    decay = [p for n, p in named if p.ndim >= 2 and id(p) not in muon_ids]
    no_decay = [p for n, p in named if p.ndim < 2]
    groups = [g for g in ({"params": decay, "weight_decay": o.weight_decay, "base_lr": o.lr},
                          {"params": no_decay, "weight_decay": 0.0, "base_lr": o.lr}) if g["params"]]
    optimizers = [torch.optim.AdamW(groups, lr=o.lr, betas=tuple(o.betas), eps=o.eps, foreach=False)]
    if muon_params:
        optimizers.append(Muon([{"params": muon_params, "base_lr": o.muon_lr}], lr=o.muon_lr,
                               momentum=o.muon_momentum, weight_decay=o.weight_decay, ns_steps=o.muon_ns_steps))
    return OptimizerSet(optimizers)
