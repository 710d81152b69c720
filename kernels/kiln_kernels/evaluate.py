"""`python -m kiln_kernels.evaluate --config eval.json [--output PATH]`: bits per byte per source.

Owns scoring validation token shards with a trained model. Each source's shards are read as one
stream; in stream mode every token but the first is predicted from up to `seq_len` preceding tokens;
in document mode (`eos_id` set) the stream is cut after each eos_id and every document is scored on
its own with eos_id prepended as its first context token, so all its tokens are predicted. Windows
hold seq_len inputs and advance by `stride` (<= seq_len); each target is scored exactly once, in the
first window that reaches it. bpb = summed NLL in nats / (ln 2 × UTF-8 bytes of the scored text),
the bytes coming from the config (the tokenize step's stats.json). Macro average = mean over sources.
"""

from __future__ import annotations

from .cli import guard_torch_import

guard_torch_import(__name__)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Optional  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from .checkpoint import load_model_file  # noqa: E402
from .cli import EventLog, parse_cli, run_main  # noqa: E402
from .config import EvalConfig, load_eval_config, model_config_from_dict  # noqa: E402
from .data import TokenSource  # noqa: E402
from .errors import ConfigError, DataError, MoEImplError  # noqa: E402
from .model import TransformerLM  # noqa: E402
from .moe import get_moe_impl  # noqa: E402

IGNORE = -100


def plan_windows(length: int, seq_len: int, stride: int) -> list[tuple[int, int, int]]:
    """Windows over a stream of `length` tokens as (begin, end, first_target): inputs are
    stream[begin:end-1], targets stream[begin+1:end]; positions < first_target were scored earlier."""
    windows, scored_upto, begin = [], 0, 0
    while scored_upto < length - 1:
        end = min(begin + seq_len + 1, length)
        windows.append((begin, end, scored_upto + 1))
        scored_upto = end - 1
        begin += stride
    return windows


def split_documents(stream: np.ndarray, eos_id: int) -> list[np.ndarray]:
    cuts = np.flatnonzero(stream == eos_id) + 1
    docs = np.split(stream, cuts)
    return [d for d in docs if d.size > 0]


def score_streams(model, streams, seq_len: int, stride: int, batch_size: int, device) -> tuple[float, int]:
    """Summed NLL (nats, float64) and number of scored tokens over the streams."""
    rows_in, rows_tgt, widths = [], [], []
    for stream in streams:
        for begin, end, first_target in plan_windows(len(stream), seq_len, stride):
            inputs = np.zeros(seq_len, dtype=np.int64)
            targets = np.full(seq_len, IGNORE, dtype=np.int64)
            inputs[: end - 1 - begin] = stream[begin : end - 1]
            skip = first_target - (begin + 1)
            targets[skip : end - 1 - begin] = stream[first_target:end]
            rows_in.append(inputs)
            rows_tgt.append(targets)
            widths.append(end - 1 - begin)
    # Windows of similar length share a batch, trimmed to its longest window: padding sits after the
    # real tokens, so under causal attention it never changes a scored position.
    order = sorted(range(len(widths)), key=lambda i: (widths[i], i))
    total, count = 0.0, 0
    autocast = device.type == "cuda"
    model.eval()
    with torch.no_grad():
        for i in range(0, len(order), batch_size):
            chosen = order[i : i + batch_size]
            width = max(widths[j] for j in chosen)
            inputs = torch.from_numpy(np.stack([rows_in[j][:width] for j in chosen])).to(device)
            targets = torch.from_numpy(np.stack([rows_tgt[j][:width] for j in chosen])).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(inputs)
            nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                  ignore_index=IGNORE, reduction="sum")
            total += float(nll.double())
            count += int((targets != IGNORE).sum())
    return total, count


def bits_per_byte(nll_nats: float, n_bytes: float) -> float:
    return nll_nats / (math.log(2) * n_bytes)


def load_model(path: str, device: torch.device) -> tuple[TransformerLM, dict, Optional[str]]:
    state = load_model_file(path)
    model_cfg = model_config_from_dict(state["model_config"])
    note = None
    if model_cfg.ffn == "moe":
        try:
            get_moe_impl(model_cfg.moe.impl, device.type)
        except MoEImplError:
            note = f"MoE implementation {model_cfg.moe.impl!r} unavailable on {device.type}; using 'reference'"
            model_cfg.moe.impl = "reference"
    model = TransformerLM(model_cfg)
    model.load_state_dict(state["state_dict"])
    return model.to(device), state, note


def evaluate(cfg: EvalConfig, output: Path, log: Optional[EventLog] = None) -> dict:
    log = log or EventLog()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device is 'cuda' but torch sees no CUDA device", "use 'auto' or 'cpu'")
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if cfg.device == "auto" else cfg.device))
    model, state, note = load_model(cfg.model, device)
    seq_len = cfg.seq_len or model.cfg.max_seq_len
    stride = cfg.stride or seq_len
    if seq_len > model.cfg.max_seq_len:
        raise ConfigError(f"seq_len={seq_len} exceeds the model's max_seq_len={model.cfg.max_seq_len}", "lower seq_len")
    if stride > seq_len:
        raise ConfigError(f"stride={stride} exceeds seq_len={seq_len}; tokens would go unscored", "lower stride")
    log.emit({"event": "start", "model": cfg.model, "step": state.get("step"), "seq_len": seq_len, "stride": stride,
              "sources": [s.name for s in cfg.sources], "device": str(device), "note": note})
    results = {}
    for s in cfg.sources:
        source = TokenSource(s.name, s.shards)
        n_tokens = source.total_tokens if cfg.max_tokens is None else min(cfg.max_tokens, source.total_tokens)
        stream = source.read(0, n_tokens)
        if n_tokens and int(stream.max()) >= model.cfg.vocab_size:
            raise DataError(f"source {s.name}: token id {int(stream.max())} >= the model's vocab_size "
                            f"{model.cfg.vocab_size}", "evaluate with shards from the model's tokenizer")
        if cfg.eos_id is None:
            streams = [stream]
        else:
            streams = [np.concatenate([[cfg.eos_id], d]) for d in split_documents(stream, cfg.eos_id)]
        nll, scored = score_streams(model, streams, seq_len, stride, cfg.batch_size, device)
        if scored == 0:
            raise DataError(f"source {s.name}: no tokens to score in {', '.join(s.shards)}", "check the shards")
        n_bytes = s.bytes * (n_tokens / source.total_tokens)
        results[s.name] = {
            "bpb": bits_per_byte(nll, n_bytes), "nll_nats": nll, "tokens_scored": scored, "tokens": n_tokens,
            "bytes": n_bytes, "bytes_scaled": n_tokens < source.total_tokens,
            "bits_per_token": nll / (math.log(2) * scored),
        }
        log.emit({"event": "source", "name": s.name, **results[s.name]})
    total_nll = sum(r["nll_nats"] for r in results.values())
    total_bytes = sum(r["bytes"] for r in results.values())
    report = {
        "model": cfg.model, "step": state.get("step"), "seq_len": seq_len, "stride": stride, "eos_id": cfg.eos_id,
        "sources": results, "macro_bpb": sum(r["bpb"] for r in results.values()) / len(results),
        "micro_bpb": bits_per_byte(total_nll, total_bytes),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, output)
    log.emit({"event": "done", "macro_bpb": report["macro_bpb"], "micro_bpb": report["micro_bpb"],
              "output": str(output)})
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiln_kernels.evaluate", description="Bits per byte per source.")
    parser.add_argument("--config", required=True, help="eval config JSON (schema: kernels/README.md)")
    parser.add_argument("--output", help="eval.json path; overrides the config's `output`")
    args = parse_cli(parser, argv)
    if args is None:
        return 0
    cfg = load_eval_config(args.config)
    out = args.output or cfg.output
    if not out:
        raise ConfigError(f"{args.config}: no output path", "set `output` or pass --output")
    output = Path(out)
    if not output.is_absolute() and not args.output:
        output = Path(args.config).resolve().parent / output
    evaluate(cfg, output)
    return 0


if __name__ == "__main__":
    run_main(main)
