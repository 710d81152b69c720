"""Router invariants: distinct top-k ids, renormalised weights summing to 1, counts summing to T*k,
dropless routing (every token gets exactly k expert outputs), the switch balance loss, and the
aux-loss-free bias rule steering selection."""

from __future__ import annotations

import torch

from kiln_kernels.moe.reference import reference_experts
from kiln_kernels.moe.router import route, switch_aux_loss, update_balance_bias


def test_topk_ids_distinct_weights_normalised_counts_sum():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(200, 16, generator=g), torch.randn(8, 16, generator=g)
    for k in (1, 2, 3, 8):
        out = route(x, w, k, renormalize=True)
        assert out.topk_ids.shape == (200, k)
        assert all(len(set(row.tolist())) == k for row in out.topk_ids)
        torch.testing.assert_close(out.topk_weights.sum(-1), torch.ones(200))
        assert int(out.counts.sum()) == 200 * k
        assert torch.equal(out.counts, torch.bincount(out.topk_ids.reshape(-1), minlength=8))
        # the chosen experts are the highest-scoring ones
        kth = out.scores.topk(k, dim=-1).values[:, -1:]
        assert bool((out.scores.gather(1, out.topk_ids) >= kth).all())


def test_without_renormalisation_weights_are_raw_softmax_scores():
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(50, 8, generator=g), torch.randn(6, 8, generator=g)
    out = route(x, w, 2, renormalize=False)
    torch.testing.assert_close(out.topk_weights, out.scores.gather(1, out.topk_ids))
    assert bool((out.topk_weights.sum(-1) < 1).all())


def test_dropless_every_token_gets_all_k_experts_even_when_all_pick_one_expert():
    d, e, h = 4, 4, 3
    x = torch.randn(64, d, dtype=torch.float64)
    router = torch.zeros(e, d, dtype=torch.float64)
    bias = torch.tensor([10.0, 9.0, 0.0, 0.0], dtype=torch.float64)  # every token picks experts 0 and 1
    out = route(x, router, 2, True, bias)
    assert out.counts.tolist() == [64, 64, 0, 0]
    ws = [torch.randn(e, d, h, dtype=torch.float64), torch.randn(e, d, h, dtype=torch.float64),
          torch.randn(e, h, d, dtype=torch.float64)]
    y = reference_experts(x, out.topk_ids, out.topk_weights, *ws, grouped=False)

    def expert(i, v):
        return (torch.nn.functional.silu(v @ ws[0][i]) * (v @ ws[1][i])) @ ws[2][i]

    expected = 0.5 * expert(0, x) + 0.5 * expert(1, x)  # zero router → equal scores → weights 1/2
    torch.testing.assert_close(y, expected)


def test_switch_aux_loss_is_one_when_balanced_and_larger_when_skewed():
    t, e, k = 40, 4, 1
    uniform = torch.full((t, e), 1.0 / e)
    balanced_counts = torch.full((e,), t * k // e)
    assert abs(float(switch_aux_loss(uniform, balanced_counts, k)) - 1.0) < 1e-6
    skewed_scores = torch.tensor([[0.7, 0.1, 0.1, 0.1]]).repeat(t, 1)
    skewed_counts = torch.tensor([t, 0, 0, 0])
    assert abs(float(switch_aux_loss(skewed_scores, skewed_counts, k)) - 4 * 0.7) < 1e-6


def test_balance_bias_moves_load_towards_underused_experts():
    bias = torch.zeros(4)
    update_balance_bias(bias, torch.tensor([10, 2, 2, 2]), rate=0.5)
    assert bias.tolist() == [-0.5, 0.5, 0.5, 0.5]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(300, 8, generator=g)
    w = torch.randn(4, 8, generator=g)
    w[0] += 3 * x.mean(0)  # expert 0 is favoured
    bias = torch.zeros(4)
    before = route(x, w, 1, True, bias).counts.float()
    for _ in range(100):
        update_balance_bias(bias, route(x, w, 1, True, bias).counts, rate=0.01)
    after = route(x, w, 1, True, bias).counts.float()
    assert after.std() < before.std()
