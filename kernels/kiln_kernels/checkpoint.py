"""Atomic checkpoint and model files for the trainer.

A checkpoint (`checkpoint.pt`) holds everything needed to continue bit-for-bit: model and optimizer
state, step, tokens seen, torch RNG states, the data sampler's state and the run config it was made
with. The final model (`model.pt`) holds the model config and weights only. Both are written to a
temporary name in the same folder and renamed, so a reader never sees a partial file; a resume with
a config that differs in anything but bookkeeping fields is refused (CheckpointError).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Optional

import torch

from .errors import CheckpointError

CHECKPOINT_NAME = "checkpoint.pt"
MODEL_NAME = "model.pt"
CHECKPOINT_FORMAT = "kiln-checkpoint"
MODEL_FORMAT = "kiln-model"
FORMAT_VERSION = 1

# Fields that may change between a run and its resume without changing the result.
_BOOKKEEPING = {"train": ("checkpoint_every", "log_every", "output_dir", "threads", "device")}


def save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def comparable_config(config: dict) -> dict:
    cfg = copy.deepcopy(config)
    for section, keys in _BOOKKEEPING.items():
        for key in keys:
            cfg.get(section, {}).pop(key, None)
    return cfg


def load_checkpoint(path: Path, config: dict) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({type(e).__name__}: {e})",
            "delete the corrupt checkpoint to restart the run, or restore it from a copy",
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a kiln training checkpoint", "point the run at its own output folder")
    if comparable_config(state["config"]) != comparable_config(config):
        raise CheckpointError(
            f"{path}: checkpoint was written by a different config (model/optimizer/schedule/data/train differ)",
            "resume with the original config, or use a new output folder for the new config",
        )
    return state


def load_model_file(path: str) -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_NAME
    try:
        state = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CheckpointError(
            f"{p}: cannot read model file ({type(e).__name__}: {e})", "point `model` at a finished train output's model.pt"
        ) from None
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt == CHECKPOINT_FORMAT:
        return {"model_config": state["config"]["model"], "state_dict": state["model"], "step": state["step"]}
    if fmt != MODEL_FORMAT:
        raise CheckpointError(f"{p}: not a kiln model or checkpoint file", "point `model` at a train output's model.pt")
    return state


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def existing_checkpoint(output_dir: Path) -> Optional[Path]:
    path = output_dir / CHECKPOINT_NAME
    return path if path.is_file() else None
