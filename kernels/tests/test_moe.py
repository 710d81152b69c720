"""Reference MoE vs the naive per-token loop (outputs and gradients, float64), the grouped_mm path,
empty experts, the layer's use of the registry, and the registry's error for unknown names."""

from __future__ import annotations

import pytest
import torch

from kiln_kernels.config import MoEConfig
from kiln_kernels.errors import MoEImplError
from kiln_kernels.moe import available_moe_impls, get_moe_impl, register_moe_impl
from kiln_kernels.moe.layer import MoEFeedForward
from kiln_kernels.moe.naive import naive_experts
from kiln_kernels.moe.reference import grouped_mm_usable, reference_experts
from kiln_kernels.moe.router import route


def make_problem(tokens=24, d=8, h=12, experts=5, k=2, dtype=torch.float64, seed=0, skip_expert=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(tokens, d, dtype=dtype, generator=g)
    router = torch.randn(experts, d, dtype=dtype, generator=g)
    bias = None
    if skip_expert is not None:
        bias = torch.zeros(experts, dtype=dtype)
        bias[skip_expert] = -100.0  # never selected
    routed = route(x, router, k, True, bias)
    ws = [torch.randn(experts, d, h, dtype=dtype, generator=g) * 0.3,
          torch.randn(experts, d, h, dtype=dtype, generator=g) * 0.3,
          torch.randn(experts, h, d, dtype=dtype, generator=g) * 0.3]
    weights = routed.topk_weights.to(dtype)
    return x, routed.topk_ids, weights, ws


def outputs_and_grads(fn, x, ids, weights, ws, **kw):
    leaves = [t.clone().requires_grad_(True) for t in (x, weights, *ws)]
    y = fn(leaves[0], ids, leaves[1], *leaves[2:], **kw)
    upstream = torch.randn(y.shape, dtype=y.dtype, generator=torch.Generator().manual_seed(7))
    grads = torch.autograd.grad(y, leaves, upstream)
    return y.detach(), grads


@pytest.mark.parametrize("skip_expert", [None, 3])
def test_reference_matches_naive_outputs_and_gradients_float64(skip_expert):
    x, ids, weights, ws = make_problem(skip_expert=skip_expert)
    if skip_expert is not None:
        assert not (ids == skip_expert).any()
    y_ref, g_ref = outputs_and_grads(reference_experts, x, ids, weights, ws, grouped=False)
    y_naive, g_naive = outputs_and_grads(naive_experts, x, ids, weights, ws)
    torch.testing.assert_close(y_ref, y_naive, rtol=1e-12, atol=1e-12)
    for name, a, b in zip(["x", "weights", "w_gate", "w_up", "w_down"], g_ref, g_naive):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"gradient of {name} differs")
    if skip_expert is not None:
        assert torch.count_nonzero(g_ref[2][skip_expert]) == 0


def test_reference_grouped_mm_path_matches_naive_float32():
    x, ids, weights, ws = make_problem(d=16, h=32, dtype=torch.float32, seed=2, skip_expert=1)
    if not grouped_mm_usable(x, ws[0]):
        pytest.skip("torch._grouped_mm is not available for float32 on this build")
    y_g, g_g = outputs_and_grads(reference_experts, x, ids, weights, ws, grouped=True)
    y_n, g_n = outputs_and_grads(naive_experts, x, ids, weights, ws)
    torch.testing.assert_close(y_g, y_n, rtol=1e-4, atol=1e-5)
    for a, b in zip(g_g, g_n):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_layer_output_is_independent_of_implementation():
    torch.manual_seed(0)
    cfg = MoEConfig(n_experts=6, top_k=3, d_expert=10, impl="reference")
    layer = MoEFeedForward(8, cfg).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    y_ref = layer(x)
    (gx_ref,) = torch.autograd.grad(y_ref.square().sum(), x)
    layer.impl_name = "naive"
    y_naive = layer(x)
    (gx_naive,) = torch.autograd.grad(y_naive.square().sum(), x)
    torch.testing.assert_close(y_ref, y_naive, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx_ref, gx_naive, rtol=1e-12, atol=1e-12)
    assert int(layer.last_counts.sum()) == 2 * 5 * 3


def test_registry_names_unknown_impl_and_accepts_registration():
    with pytest.raises(MoEImplError, match="unknown MoE implementation 'nope'"):
        get_moe_impl("nope")
    register_moe_impl("test_double_naive", lambda *a: 2 * naive_experts(*a), supports=lambda dev: dev == "cpu")
    assert "test_double_naive" in available_moe_impls("cpu")
    assert "test_double_naive" not in available_moe_impls("cuda")
    with pytest.raises(MoEImplError, match="does not run on device 'cuda'"):
        get_moe_impl("test_double_naive", "cuda")
    x, ids, weights, ws = make_problem()
    doubled = get_moe_impl("test_double_naive").fn(x, ids, weights, *ws)
    torch.testing.assert_close(doubled, 2 * reference_experts(x, ids, weights, *ws))


def test_layer_runs_under_bf16_autocast_like_the_cuda_path():
    torch.manual_seed(1)
    layer = MoEFeedForward(16, MoEConfig(n_experts=4, top_k=2, d_expert=16))
    x = torch.randn(3, 8, 16, requires_grad=True)
    full = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = layer(x)
    assert low.dtype == torch.float32  # the layer returns the input dtype
    torch.testing.assert_close(low, full, rtol=0.05, atol=0.02)
    low.sum().backward()
    assert layer.w_gate.grad is not None and layer.w_gate.grad.dtype == torch.float32
