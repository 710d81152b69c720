"""Optimizers: Newton-Schulz orthogonalisation (singular values pulled towards 1, batched over
experts, tall and wide matrices), which parameters Muon owns, and the schedule factor reaching every
group through base_lr."""

from __future__ import annotations

import torch

from kiln_kernels.config import run_config_from_dict
from kiln_kernels.model import TransformerLM
from kiln_kernels.optim import Muon, build_optimizer, orthogonalize


def test_orthogonalize_pulls_singular_values_towards_one():
    g = torch.Generator().manual_seed(0)
    for shape in [(16, 64), (64, 16), (3, 24, 40)]:
        m = torch.randn(*shape, generator=g) * torch.logspace(-2, 1, shape[-1])  # badly conditioned
        sv = torch.linalg.svdvals(orthogonalize(m, steps=5))
        raw = torch.linalg.svdvals(m)
        assert (raw.amax(-1) / raw.amin(-1)).min() > 10
        assert sv.min() > 0.3 and sv.max() < 1.3, (shape, sv.min(), sv.max())


def test_muon_owns_hidden_matrices_and_adamw_the_rest():
    cfg = run_config_from_dict({"model": {"vocab_size": 32, "d_model": 16, "n_layers": 1, "n_heads": 2,
                                          "max_seq_len": 8, "moe": {"n_experts": 2, "top_k": 1, "d_expert": 8}},
                                "optimizer": {"name": "muon", "lr": 0.01, "muon_lr": 0.05},
                                "data": {"seq_len": 8, "sources": [{"name": "s", "shards": ["x.bin"]}]}})
    model = TransformerLM(cfg.model)
    opt = build_optimizer(model, cfg)
    adamw, muon = opt.optimizers
    assert isinstance(muon, Muon)
    names = {id(p): n for n, p in model.named_parameters()}
    muon_names = {names[id(p)] for g in muon.param_groups for p in g["params"]}
    assert muon_names == {"blocks.0.attn.qkv.weight", "blocks.0.attn.out.weight", "blocks.0.ffn.w_gate",
                          "blocks.0.ffn.w_up", "blocks.0.ffn.w_down"}
    adamw_names = {names[id(p)] for g in adamw.param_groups for p in g["params"]}
    assert "embed.weight" in adamw_names and "blocks.0.ffn.router" in adamw_names
    assert adamw_names.isdisjoint(muon_names) and len(adamw_names | muon_names) == len(names)
    assert sorted(g["base_lr"] for g in opt.param_groups) == [0.01, 0.01, 0.05]
    state = opt.state_dict()
    opt.load_state_dict(state)
