"""Bits per byte: a hand-computed uniform-model case, window planning (every target scored exactly
once for any stride), the sliding-window NLL against a hand-computed previous-token model, document
mode, and the CLI end to end (eval.json, macro average, exit code for a wrong byte count)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import run_module, tiny_run_config
from kiln_kernels.cli import EventLog
from kiln_kernels.config import ModelConfig, eval_config_from_dict, run_config_from_dict
from kiln_kernels.data import write_shard
from kiln_kernels.evaluate import bits_per_byte, evaluate, plan_windows, score_streams, split_documents
from kiln_kernels.model import TransformerLM
from kiln_kernels.train import Trainer


class Sink:
    def write(self, s):
        pass

    def flush(self):
        pass


def save_uniform_model(path, vocab=16):
    cfg = ModelConfig(vocab_size=vocab, d_model=8, n_layers=1, n_heads=2, max_seq_len=8, ffn="dense", d_ff=8)
    model = TransformerLM(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # zero embeddings → zero logits → uniform prediction over the vocabulary
    from dataclasses import asdict
    torch.save({"format": "kiln-model", "version": 1, "step": 0, "model_config": asdict(cfg),
                "state_dict": model.state_dict()}, path)


def test_uniform_model_bpb_is_hand_computable(tmp_path):
    save_uniform_model(tmp_path / "model.pt", vocab=16)
    write_shard(str(tmp_path / "v.bin"), [3, 1, 4, 1, 5, 9, 2, 6, 5, 3])  # 10 tokens, 9 scored in stream mode
    write_shard(str(tmp_path / "w.bin"), [7, 0, 7, 7, 0])  # documents: [7, 0] [7, 7, 0] with eos_id 0
    sources = [{"name": "v", "shards": [str(tmp_path / "v.bin")], "bytes": 12},
               {"name": "w", "shards": [str(tmp_path / "w.bin")], "bytes": 10}]
    cfg = eval_config_from_dict({"model": str(tmp_path / "model.pt"), "seq_len": 4, "stride": 3, "sources": sources})
    report = evaluate(cfg, tmp_path / "eval.json", EventLog(Sink()))
    # stream mode, v: 9 tokens * log2(16) = 36 bits over 12 bytes = 3.0 bits per byte
    assert report["sources"]["v"]["bpb"] == pytest.approx(3.0)
    assert report["sources"]["v"]["tokens_scored"] == 9
    assert report["sources"]["v"]["nll_nats"] == pytest.approx(9 * math.log(16))
    # stream mode, w: 4 tokens * 4 bits over 10 bytes
    assert report["sources"]["w"]["tokens_scored"] == 4 and report["sources"]["w"]["bpb"] == pytest.approx(1.6)
    assert report["macro_bpb"] == pytest.approx(2.3)
    assert report["micro_bpb"] == pytest.approx((36 + 16) / 22)
    assert json.loads((tmp_path / "eval.json").read_text())["macro_bpb"] == pytest.approx(2.3)
    # document mode (eos_id 0): documents [7, 0] and [7, 7, 0], eos prepended, all 5 tokens scored
    docs = eval_config_from_dict({"model": str(tmp_path / "model.pt"), "seq_len": 4, "eos_id": 0,
                                  "sources": sources[1:]})
    report = evaluate(docs, tmp_path / "eval-docs.json", EventLog(Sink()))
    assert report["sources"]["w"]["tokens_scored"] == 5 and report["sources"]["w"]["bpb"] == pytest.approx(2.0)


@pytest.mark.parametrize("length, seq_len, stride", [(2, 4, 4), (10, 4, 4), (10, 4, 1), (37, 8, 3), (9, 8, 8)])
def test_windows_score_every_target_exactly_once(length, seq_len, stride):
    scored = []
    for begin, end, first in plan_windows(length, seq_len, stride):
        assert end - 1 - begin <= seq_len and begin + 1 <= first < end
        scored.extend(range(first, end))
        if begin > 0:  # a later window gives its first new target at least seq_len - stride of context
            assert first - begin >= min(seq_len - stride, first)
    assert scored == list(range(1, length))


class PreviousTokenModel(torch.nn.Module):
    """logits[t] = table[token[t]]: its NLL is computable by hand for any windowing."""

    def __init__(self, vocab):
        super().__init__()
        self.table = torch.randn(vocab, vocab, generator=torch.Generator().manual_seed(0))

    def forward(self, tokens):
        return self.table[tokens]


def test_sliding_window_nll_matches_hand_computation():
    vocab, stream = 11, np.random.default_rng(4).integers(0, 11, 50)
    model = PreviousTokenModel(vocab)
    log_probs = torch.log_softmax(model.table.double(), dim=-1)
    expected = -sum(float(log_probs[stream[i - 1], stream[i]]) for i in range(1, len(stream)))
    for stride in (1, 3, 8):
        nll, count = score_streams(model, [stream], 8, stride, 4, torch.device("cpu"))
        assert count == 49 and nll == pytest.approx(expected, rel=1e-6)


def test_split_documents_keeps_eos_and_tail():
    docs = split_documents(np.array([5, 0, 6, 6, 0, 7]), 0)
    assert [d.tolist() for d in docs] == [[5, 0], [6, 6, 0], [7]]
    assert bits_per_byte(math.log(2) * 8, 4) == pytest.approx(2.0)


def test_eval_cli_on_a_trained_model(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir, steps=3, checkpoint_every=0)
    Trainer(run_config_from_dict(cfg), tmp_path / "train", EventLog(Sink())).run()
    eval_cfg = {"model": str(tmp_path / "train"), "seq_len": 16, "stride": 8, "batch_size": 3, "max_tokens": 300,
                "output": "eval.json", "sources": [
                    {"name": "periodic", "shards": [str(shard_dir / "periodic.bin")], "bytes": 4000},
                    {"name": "random", "shards": [str(shard_dir / "random.bin")], "bytes": 3000}]}
    path = tmp_path / "eval-config.json"
    path.write_text(json.dumps(eval_cfg))
    res = run_module("kiln_kernels.evaluate", "--config", str(path))
    assert res.returncode == 0, res.stderr
    events = [json.loads(l) for l in res.stdout.splitlines()]
    assert [e["event"] for e in events] == ["start", "source", "source", "done"]
    report = json.loads((tmp_path / "eval.json").read_text())
    per_source = report["sources"]
    assert per_source["periodic"]["bytes"] == pytest.approx(4000 * 300 / 2000) and per_source["periodic"]["bytes_scaled"]
    assert report["macro_bpb"] == pytest.approx((per_source["periodic"]["bpb"] + per_source["random"]["bpb"]) / 2)
    for r in per_source.values():
        assert r["bpb"] == pytest.approx(r["nll_nats"] / (math.log(2) * r["bytes"]))
    eval_cfg["sources"][0]["bytes"] = 0
    path.write_text(json.dumps(eval_cfg))
    bad = run_module("kiln_kernels.evaluate", "--config", str(path))
    assert bad.returncode == 2 and "sources[0].bytes" in json.loads(bad.stdout.strip())["message"]


def test_document_scores_do_not_depend_on_padding_or_batching():
    from kiln_kernels.config import MoEConfig

    torch.manual_seed(0)
    model = TransformerLM(ModelConfig(vocab_size=20, d_model=16, n_layers=1, n_heads=2, max_seq_len=8,
                                      moe=MoEConfig(n_experts=4, top_k=2, d_expert=8)))
    model.eval()
    docs = [np.array([0, 3, 4, 5]), np.array([0, 7]), np.array([0, 1, 2, 3, 4, 5, 6])]  # eos 0 prepended
    with torch.no_grad():
        expected = sum(float(torch.nn.functional.cross_entropy(model(torch.from_numpy(d[None, :-1]))[0],
                                                               torch.from_numpy(d[1:]), reduction="sum"))
                       for d in docs)
    for batch_size in (1, 2, 3):
        nll, count = score_streams(model, docs, 8, 8, batch_size, torch.device("cpu"))
        assert count == 3 + 1 + 6 and nll == pytest.approx(expected, rel=1e-5)
