"""pytest setup for kiln_kernels: makes the package importable from the repository root, pins torch
to a small thread count (the suite must stay fast on 2 shared cores), and provides helpers to write
tiny token shards and configs and to run the command-line entry points as real child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KERNELS_DIR = Path(__file__).resolve().parents[1]
if str(KERNELS_DIR) not in sys.path:
    sys.path.insert(0, str(KERNELS_DIR))

import torch  # noqa: E402

torch.set_num_threads(1)


def tiny_run_config(shard_dir: Path, **train_overrides) -> dict:
    train = {"steps": 8, "batch_size": 4, "seed": 3, "checkpoint_every": 4, "threads": 1}
    train.update(train_overrides)
    return {
        "model": {"vocab_size": 32, "d_model": 32, "n_layers": 2, "n_heads": 4, "max_seq_len": 16,
                  "moe": {"n_experts": 4, "top_k": 2, "d_expert": 16}},
        "optimizer": {"lr": 0.01},
        "schedule": {"kind": "cosine", "warmup_steps": 2},
        "data": {"seq_len": 16, "sources": [
            {"name": "periodic", "shards": [str(shard_dir / "periodic.bin")], "weight": 0.7},
            {"name": "random", "shards": [str(shard_dir / "random.bin")], "weight": 0.3, "max_tokens": 200},
        ]},
        "train": train,
    }


@pytest.fixture
def shard_dir(tmp_path: Path) -> Path:
    import numpy as np

    from kiln_kernels.data import write_shard

    d = tmp_path / "shards"
    d.mkdir()
    write_shard(str(d / "periodic.bin"), np.arange(2000) % 7)
    write_shard(str(d / "random.bin"), np.random.default_rng(1).integers(0, 32, 1500))
    return d


def run_module(module: str, *args: str, env_extra: dict | None = None, python_flags: tuple = (),
               timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(KERNELS_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *python_flags, "-m", module, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
