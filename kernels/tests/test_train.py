"""Trainer: bitwise checkpoint-resume equivalence (in process, and with a real SIGKILL of the CLI),
SIGTERM checkpointing, learning-rate schedules, the loss actually falling, the aux-loss-free bias
moving, and the CLI's events, files and exit codes for bad configs and a missing torch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import KERNELS_DIR, run_module, tiny_run_config
from kiln_kernels.cli import EventLog
from kiln_kernels.config import ScheduleConfig, run_config_from_dict
from kiln_kernels.errors import CheckpointError
from kiln_kernels.train import Trainer, lr_at


class Capture:
    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.extend(line for line in s.splitlines() if line)

    def flush(self):
        pass

    def events(self, kind):
        return [e for e in map(json.loads, self.lines) if e["event"] == kind]


def train_in_process(cfg_dict, out: Path, stop_after=None):
    cap = Capture()
    result = Trainer(run_config_from_dict(cfg_dict), out, EventLog(cap)).run(stop_after=stop_after)
    return result, cap


def final_params(out: Path) -> dict:
    return torch.load(out / "model.pt", weights_only=False)["state_dict"]


def assert_bitwise_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"parameter {name} differs"


@pytest.mark.parametrize("balance, optimizer", [("aux_loss", "adamw"), ("aux_free", "adamw"), ("aux_loss", "muon")])
def test_resume_after_crash_is_bitwise_identical(tmp_path, shard_dir, balance, optimizer):
    cfg = tiny_run_config(shard_dir, steps=8, checkpoint_every=4)
    cfg["model"]["moe"]["balance"] = balance
    cfg["optimizer"]["name"] = optimizer
    whole, whole_log = train_in_process(cfg, tmp_path / "whole")
    crashed, _ = train_in_process(cfg, tmp_path / "split", stop_after=6)  # dies 2 steps after the checkpoint
    assert crashed is None and not (tmp_path / "split" / "model.pt").exists()
    resumed, resumed_log = train_in_process(cfg, tmp_path / "split")
    assert resumed_log.events("start")[0]["resumed"] is True and resumed_log.events("start")[0]["step"] == 4
    assert resumed["final_loss"] == whole["final_loss"]
    assert_bitwise_equal(final_params(tmp_path / "whole"), final_params(tmp_path / "split"))
    whole_steps = [json.loads(l) for l in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    split_steps = [json.loads(l) for l in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    losses = lambda rows: [(r["step"], r["loss"]) for r in rows if r["event"] == "step"]  # noqa: E731
    assert losses(split_steps) == losses(whole_steps) and len(losses(whole_steps)) == 8
    again, again_log = train_in_process(cfg, tmp_path / "split")  # a finished folder: nothing left to train
    assert again_log.events("step") == [] and again["final_loss"] == whole["final_loss"]
    if balance == "aux_free":
        assert final_params(tmp_path / "whole")["blocks.0.ffn.selection_bias"].abs().sum() > 0


def test_killed_cli_run_resumes_to_the_same_result(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir, steps=10, checkpoint_every=2)
    config_path = tmp_path / "train.json"
    config_path.write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=str(KERNELS_DIR), KILN_TRAIN_TEST_STEP_DELAY_S="0.2")
    cmd = [sys.executable, "-m", "kiln_kernels.train", "--config", str(config_path), "--output-dir", str(tmp_path / "a")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if json.loads(line)["event"] == "checkpoint":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "a" / "model.pt").exists()
    resumed = run_module("kiln_kernels.train", "--config", str(config_path), "--output-dir", str(tmp_path / "a"),
                         "--resume")
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(l) for l in resumed.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["resumed"] and events[0]["step"] >= 2
    assert events[-1]["event"] == "done" and events[-1]["step"] == 10
    whole, _ = train_in_process(cfg, tmp_path / "b")
    assert events[-1]["final_loss"] == whole["final_loss"]
    assert_bitwise_equal(final_params(tmp_path / "a"), final_params(tmp_path / "b"))
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["final_loss"] == whole["final_loss"]


def test_sigterm_writes_a_checkpoint_and_exits_130(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir, steps=50, checkpoint_every=0)
    config_path = tmp_path / "train.json"
    config_path.write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=str(KERNELS_DIR), KILN_TRAIN_TEST_STEP_DELAY_S="0.1")
    cmd = [sys.executable, "-m", "kiln_kernels.train", "--config", str(config_path), "--output-dir", str(tmp_path / "o")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "step":
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    seen += [json.loads(l) for l in rest.splitlines()]
    assert proc.returncode == 130
    assert seen[-1]["event"] == "interrupted" and seen[-2]["event"] == "checkpoint"
    assert (tmp_path / "o" / "checkpoint.pt").exists()


def test_resume_with_a_different_config_is_refused(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir, steps=4, checkpoint_every=2)
    train_in_process(cfg, tmp_path / "o", stop_after=2)
    cfg["optimizer"]["lr"] = 0.02
    with pytest.raises(CheckpointError, match="different config"):
        train_in_process(cfg, tmp_path / "o")


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_loss_falls_on_a_learnable_stream(tmp_path, shard_dir, optimizer):
    cfg = tiny_run_config(shard_dir, steps=30, checkpoint_every=0)
    cfg["optimizer"]["name"] = optimizer
    cfg["data"]["sources"] = cfg["data"]["sources"][:1]  # the periodic source is perfectly predictable
    _, cap = train_in_process(cfg, tmp_path / "o")
    losses = [e["loss"] for e in cap.events("step")]
    assert losses[-1] < 0.5 * losses[0]
    done = cap.events("done")[0]
    assert done["tokens"] == 30 * 4 * 16 and done["tokens_per_s"] > 0


def test_dense_ffn_trains_too(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir, steps=3, checkpoint_every=0)
    cfg["model"]["ffn"] = "dense"
    cfg["model"]["d_ff"] = 32
    cfg["model"]["tie_embeddings"] = False
    done, _ = train_in_process(cfg, tmp_path / "o")
    assert done["step"] == 3 and "blocks.0.ffn.gate.weight" in final_params(tmp_path / "o")


def test_schedules():
    cos = ScheduleConfig(kind="cosine", warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, 100, 1.0, cos) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, cos) == pytest.approx(1.0)
    assert lr_at(10, 100, 1.0, cos) == pytest.approx(1.0)
    assert lr_at(55, 100, 1.0, cos) == pytest.approx(0.55)
    assert lr_at(100, 100, 1.0, cos) == pytest.approx(0.1)
    wsd = ScheduleConfig(kind="wsd", warmup_steps=5, min_lr_ratio=0.0, decay_fraction=0.2)
    assert lr_at(50, 100, 2.0, wsd) == 2.0 and lr_at(79, 100, 2.0, wsd) == 2.0
    assert lr_at(89, 100, 2.0, wsd) == pytest.approx(1.0) and lr_at(99, 100, 2.0, wsd) == pytest.approx(0.0)


def test_cli_bad_config_exit_code_and_error_event(tmp_path, shard_dir):
    cfg = tiny_run_config(shard_dir)
    cfg["model"]["moe"]["topk"] = 2
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cfg))
    res = run_module("kiln_kernels.train", "--config", str(path), "--output-dir", str(tmp_path / "o"))
    assert res.returncode == 2
    event = json.loads(res.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and event["code"] == "CONFIG_INVALID"
    assert "model.moe" in event["message"] and "topk" in event["message"] and str(path) in event["message"]


def test_cli_reports_missing_torch_with_exit_code_4(tmp_path):
    # -S hides site-packages, so torch cannot be imported; the guard must run before any torch import.
    for module in ("kiln_kernels.train", "kiln_kernels.evaluate", "kiln_kernels.check"):
        res = run_module(module, "--config", str(tmp_path / "x.json"), python_flags=("-S",))
        assert res.returncode == 4, (module, res.stdout, res.stderr)
        assert json.loads(res.stdout.strip())["code"] == "TORCH_MISSING"
