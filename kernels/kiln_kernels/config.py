"""Typed configuration for training and evaluation, loaded from JSON.

Owns the dataclasses (model, MoE, optimizer, schedule, data, train, eval) and one strict loader:
unknown keys, wrong types and out-of-range values raise ConfigError naming the dotted field path
(e.g. `model.moe.top_k`) and the file. Defaults here are the quickstart model. Field meanings are
documented in kernels/README.md; this module is the single source of truth for names and defaults.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ConfigError


@dataclass
class MoEConfig:
    n_experts: int = 8
    top_k: int = 2
    d_expert: int = 256  # hidden width of each SwiGLU expert
    renormalize: bool = True  # top-k weights divided by their sum
    balance: str = "aux_loss"  # "aux_loss" (switch-style) | "aux_free" (bias rule) | "none"
    aux_loss_coef: float = 0.01
    bias_update_rate: float = 0.001  # aux_free: bias step per optimizer step
    impl: str = "reference"  # name in the MoE implementation registry


@dataclass
class ModelConfig:
    vocab_size: int = 50304  # GPT-2 / r50k_base (50257 ids) rounded up to a multiple of 64
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    max_seq_len: int = 256
    ffn: str = "moe"  # "moe" | "dense"
    d_ff: int = 512  # hidden width of the dense SwiGLU FFN (ffn = "dense")
    moe: MoEConfig = field(default_factory=MoEConfig)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    init_std: float = 0.02


@dataclass
class OptimizerConfig:
    name: str = "adamw"  # "adamw" | "muon" (Muon for hidden matrices, AdamW for the rest)
    lr: float = 3e-3  # AdamW learning rate (all parameters, or the non-Muon ones)
    betas: list = field(default_factory=lambda: [0.9, 0.95])
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0  # max global grad norm; 0 disables
    muon_lr: float = 0.02
    muon_momentum: float = 0.95
    muon_ns_steps: int = 5


@dataclass
class ScheduleConfig:
    kind: str = "cosine"  # "cosine" | "wsd" | "constant"
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1  # final lr = lr * min_lr_ratio
    decay_fraction: float = 0.2  # wsd: share of steps spent in the final linear decay


@dataclass
class SourceConfig:
    name: str
    shards: list  # token shard paths (relative paths resolve against the config file's folder)
    weight: float = 1.0
    max_tokens: Optional[int] = None  # cap on the usable tokens; reuse repeats them (epochs)


@dataclass
class DataConfig:
    sources: list  # list[SourceConfig]
    seq_len: int = 256


@dataclass
class TrainConfig:
    steps: int = 200
    batch_size: int = 4
    seed: int = 0
    checkpoint_every: int = 50  # 0: only the final checkpoint
    log_every: int = 1
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    threads: Optional[int] = None  # torch CPU threads; null keeps torch's default
    output_dir: Optional[str] = None  # may also come from --output-dir


@dataclass
class RunConfig:
    data: DataConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class EvalSourceConfig:
    name: str
    shards: list
    bytes: int  # UTF-8 bytes of the text these tokens encode (from the tokenize step's stats.json)


@dataclass
class EvalConfig:
    model: str  # path to model.pt (or a checkpoint.pt, or a train output folder holding model.pt)
    sources: list  # list[EvalSourceConfig]
    seq_len: Optional[int] = None  # context window; null = the model's max_seq_len
    stride: Optional[int] = None  # tokens the window advances; null = seq_len (no overlap)
    eos_id: Optional[int] = None  # set: score each document (ending in eos_id) on its own
    batch_size: int = 8
    max_tokens: Optional[int] = None  # score at most this many tokens per source (bytes scaled)
    device: str = "auto"
    threads: Optional[int] = None
    output: Optional[str] = None  # eval.json path; may also come from --output


_LIST_ITEM_TYPES = {
    (DataConfig, "sources"): SourceConfig,
    (EvalConfig, "sources"): EvalSourceConfig,
    (SourceConfig, "shards"): str,
    (EvalSourceConfig, "shards"): str,
    (OptimizerConfig, "betas"): float,
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str, owner: type, name: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], path, owner, name)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if tp is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}", "fix the field's JSON type")
        item_tp = _LIST_ITEM_TYPES.get((owner, name), Any)
        return [_convert(v, item_tp, f"{path}[{i}]", owner, name) for i, v in enumerate(value)]
    if tp is Any:
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) and tp is not bool:
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got a boolean", "fix the field's JSON type")
    if not isinstance(value, tp):
        raise ConfigError(
            f"{path}: expected {_type_name(tp)}, got {type(value).__name__} ({value!r})", "fix the field's JSON type"
        )
    return value


def _build(cls: type, data: Any, path: str) -> Any:
    where = path or "<root>"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}", "fix the config structure")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}",
            "remove or rename the key (see kernels/README.md for the schema)",
        )
    kwargs = {}
    for name, f in known.items():
        sub = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], sub, cls, name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: required field is missing", "add the field to the config")
    return cls(**kwargs)


def _require(cond: bool, path: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"{path}: {message}", "fix the value in the config")


def validate_run(cfg: RunConfig) -> None:
    m, moe = cfg.model, cfg.model.moe
    _require(m.vocab_size > 0, "model.vocab_size", "must be > 0")
    _require(m.n_layers > 0 and m.d_model > 0, "model", "d_model and n_layers must be > 0")
    _require(m.d_model % m.n_heads == 0, "model.n_heads", f"must divide d_model={m.d_model}")
    _require((m.d_model // m.n_heads) % 2 == 0, "model.n_heads", "head size d_model/n_heads must be even (rotary)")
    _require(m.ffn in ("moe", "dense"), "model.ffn", "must be 'moe' or 'dense'")
    _require(1 <= moe.top_k <= moe.n_experts, "model.moe.top_k", f"must be in [1, n_experts={moe.n_experts}]")
    _require(moe.balance in ("aux_loss", "aux_free", "none"), "model.moe.balance", "must be aux_loss|aux_free|none")
    _require(cfg.optimizer.name in ("adamw", "muon"), "optimizer.name", "must be 'adamw' or 'muon'")
    _require(len(cfg.optimizer.betas) == 2, "optimizer.betas", "must be [beta1, beta2]")
    _require(cfg.optimizer.lr > 0, "optimizer.lr", "must be > 0")
    _require(cfg.schedule.kind in ("cosine", "wsd", "constant"), "schedule.kind", "must be cosine|wsd|constant")
    _require(0 <= cfg.schedule.decay_fraction <= 1, "schedule.decay_fraction", "must be in [0, 1]")
    _require(cfg.data.seq_len >= 2, "data.seq_len", "must be >= 2")
    _require(cfg.data.seq_len <= m.max_seq_len, "data.seq_len", f"must be <= model.max_seq_len={m.max_seq_len}")
    _require(len(cfg.data.sources) > 0, "data.sources", "needs at least one source")
    for i, s in enumerate(cfg.data.sources):
        _require(s.weight >= 0, f"data.sources[{i}].weight", "must be >= 0")
        _require(len(s.shards) > 0, f"data.sources[{i}].shards", "needs at least one shard")
        _require(s.max_tokens is None or s.max_tokens > 0, f"data.sources[{i}].max_tokens", "must be > 0 or null")
    _require(sum(s.weight for s in cfg.data.sources) > 0, "data.sources", "weights must not all be 0")
    t = cfg.train
    _require(t.steps > 0 and t.batch_size > 0, "train", "steps and batch_size must be > 0")
    _require(t.checkpoint_every >= 0 and t.log_every > 0, "train", "checkpoint_every >= 0 and log_every > 0")
    _require(t.device in ("auto", "cpu", "cuda"), "train.device", "must be auto|cpu|cuda")


def validate_eval(cfg: EvalConfig) -> None:
    _require(len(cfg.sources) > 0, "sources", "needs at least one source")
    for i, s in enumerate(cfg.sources):
        _require(s.bytes > 0, f"sources[{i}].bytes", "must be > 0 (UTF-8 bytes of the scored text)")
        _require(len(s.shards) > 0, f"sources[{i}].shards", "needs at least one shard")
    _require(cfg.seq_len is None or cfg.seq_len >= 2, "seq_len", "must be >= 2")
    _require(cfg.stride is None or cfg.stride >= 1, "stride", "must be >= 1")
    _require(cfg.batch_size >= 1, "batch_size", "must be >= 1")
    _require(cfg.device in ("auto", "cpu", "cuda"), "device", "must be auto|cpu|cuda")


def _resolve_paths(shards: list, base: Path) -> list:
    return [str(p if Path(p).is_absolute() else (base / p)) for p in shards]


def run_config_from_dict(data: dict, base_dir: Optional[Path] = None) -> RunConfig:
    cfg = _build(RunConfig, data, "")
    if base_dir is not None:
        for s in cfg.data.sources:
            s.shards = _resolve_paths(s.shards, base_dir)
    validate_run(cfg)
    return cfg


def eval_config_from_dict(data: dict, base_dir: Optional[Path] = None) -> EvalConfig:
    cfg = _build(EvalConfig, data, "")
    if base_dir is not None:
        for s in cfg.sources:
            s.shards = _resolve_paths(s.shards, base_dir)
        if not Path(cfg.model).is_absolute():
            cfg.model = str(base_dir / cfg.model)
    validate_eval(cfg)
    return cfg


def read_json_file(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e.strerror})", "pass an existing JSON file to --config")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", "fix the JSON syntax")


def _with_file(fn, path: str):
    data = read_json_file(path)
    try:
        return fn(data, Path(path).resolve().parent)
    except ConfigError as e:
        raise type(e)(f"{path}: {e.message}", e.hint) from None


def load_run_config(path: str) -> RunConfig:
    return _with_file(run_config_from_dict, path)


def load_eval_config(path: str) -> EvalConfig:
    return _with_file(eval_config_from_dict, path)


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def model_config_from_dict(data: dict, where: str = "model") -> ModelConfig:
    return _build(ModelConfig, data, where)
