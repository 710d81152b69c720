"""`python -m kiln_kernels.train --config cfg.json [--output-dir DIR] [--resume]`: the trainer.

Owns the training loop: AdamW (or Muon + AdamW, see optim.py), warmup + cosine /
warmup-stable-decay / constant learning rate (a pure function of the step, so resuming needs no
scheduler object), global-norm gradient clipping, bf16 autocast on CUDA and float32 on CPU, fixed
seeds, the aux-loss-free router bias update, atomic checkpoints every N steps and at the end, and
automatic resume from `<output_dir>/checkpoint.pt`. Because the sampler, schedule and RNG state are
restored exactly, a killed-and-resumed CPU run ends bit-identical to an uninterrupted one. Progress
goes to stdout as JSON lines and to `<output_dir>/metrics.jsonl`; see kernels/README.md.
"""

from __future__ import annotations

from .cli import guard_torch_import

guard_torch_import(__name__)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Optional  # noqa: E402

import torch  # noqa: E402

from . import checkpoint as ckpt  # noqa: E402
from .cli import EventLog, parse_cli, run_main  # noqa: E402
from .config import RunConfig, ScheduleConfig, load_run_config, to_dict  # noqa: E402
from .data import MixtureSampler, TokenSource  # noqa: E402
from .errors import EXIT_INTERRUPTED, ConfigError, DataError, TrainingDivergedError  # noqa: E402
from .model import TransformerLM, count_parameters  # noqa: E402
from .moe import get_moe_impl  # noqa: E402
from .optim import build_optimizer  # noqa: E402

METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"


def lr_at(step: int, total_steps: int, base_lr: float, sched: ScheduleConfig) -> float:
    """Learning rate for optimizer step `step` (0-based) of `total_steps`."""
    warmup = min(sched.warmup_steps, total_steps)
    if step < warmup:
        return base_lr * (step + 1) / warmup
    min_lr = base_lr * sched.min_lr_ratio
    if sched.kind == "constant":
        return base_lr
    if sched.kind == "cosine":
        progress = (step - warmup) / max(1, total_steps - warmup)
        return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * min(1.0, progress)))
    decay_steps = max(1, round(total_steps * sched.decay_fraction))
    decay_start = total_steps - decay_steps
    if step < decay_start:
        return base_lr
    return base_lr + (min_lr - base_lr) * min(1.0, (step - decay_start + 1) / decay_steps)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but torch sees no CUDA device", "use 'auto' or 'cpu'")
    return torch.device(name)


def _truncate_metrics(path: Path, last_step: int) -> None:
    """Drops metrics lines a killed run wrote after its last checkpoint (they will be re-emitted)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            step = json.loads(line).get("step")
        except json.JSONDecodeError:
            continue  # a line cut by the kill
        if step is None or step <= last_step:
            kept.append(line)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)


class Trainer:
    def __init__(self, cfg: RunConfig, output_dir: Path, log: Optional[EventLog] = None) -> None:
        self.cfg = cfg
        self.output_dir = output_dir
        self.log = log or EventLog()
        self.stop_requested = False
        self.last_loss = float("nan")
        self.device = resolve_device(cfg.train.device)
        self.autocast_dtype = torch.bfloat16 if self.device.type == "cuda" else None
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        if cfg.model.ffn == "moe":
            get_moe_impl(cfg.model.moe.impl, self.device.type)
        self.config_dict = to_dict(cfg)
        # Testing knob: slows each step so a test can kill the process mid-run. Not for real runs.
        self._test_delay_s = float(os.environ.get("KILN_TRAIN_TEST_STEP_DELAY_S", "0") or 0)

    def _checkpoint(self, step: int, tokens_seen: int, elapsed: float) -> Path:
        state = {
            "last_loss": self.last_loss,
            "format": ckpt.CHECKPOINT_FORMAT,
            "version": ckpt.FORMAT_VERSION,
            "step": step,
            "tokens_seen": tokens_seen,
            "elapsed_s": elapsed,
            "config": self.config_dict,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": ckpt.rng_state(),
            "loader": self.sampler.state_dict(),
        }
        path = self.output_dir / ckpt.CHECKPOINT_NAME
        ckpt.save_atomic(state, path)
        self.log.emit({"event": "checkpoint", "step": step, "path": str(path)})
        return path

    def run(self, stop_after: Optional[int] = None) -> Optional[dict]:
        """Trains to cfg.train.steps; returns the done event. `stop_after=k` returns None right after
        step k as if the process died there (tests use it to check resume)."""
        cfg, t = self.cfg, self.cfg.train
        self.output_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(t.seed)
        sources = [TokenSource(s.name, s.shards, s.max_tokens) for s in cfg.data.sources]
        self.sampler = MixtureSampler(sources, [s.weight for s in cfg.data.sources], cfg.data.seq_len, t.seed)
        self.model = TransformerLM(cfg.model).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg)
        start_step, tokens_seen, elapsed = 0, 0, 0.0
        existing = ckpt.existing_checkpoint(self.output_dir)
        metrics_path = self.output_dir / METRICS_NAME
        if existing is not None:
            state = ckpt.load_checkpoint(existing, self.config_dict)
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.sampler.load_state_dict(state["loader"])
            ckpt.restore_rng(state["rng"])
            start_step, tokens_seen, elapsed = state["step"], state["tokens_seen"], state["elapsed_s"]
            self.last_loss = state["last_loss"]
            _truncate_metrics(metrics_path, start_step)
        elif metrics_path.exists():
            metrics_path.unlink()
        self.log.open_metrics(metrics_path)
        try:
            return self._loop(start_step, tokens_seen, elapsed, existing is not None, stop_after)
        finally:
            self.log.close()

    def _loop(self, step: int, tokens_seen: int, elapsed: float, resumed: bool, stop_after: Optional[int]):
        cfg, t = self.cfg, self.cfg.train
        tokens_per_step = t.batch_size * cfg.data.seq_len
        self.log.emit({
            "event": "start", "step": step, "total_steps": t.steps, "resumed": resumed,
            "device": str(self.device), "dtype": "bfloat16" if self.autocast_dtype else "float32",
            "threads": torch.get_num_threads(), "torch": torch.__version__, "params": count_parameters(self.model),
            "tokens_per_step": tokens_per_step, "output_dir": str(self.output_dir),
            "moe_impl": cfg.model.moe.impl if cfg.model.ffn == "moe" else None,
        })
        names = [s.name for s in cfg.data.sources]
        while step < t.steps:
            if self.stop_requested:
                self._checkpoint(step, tokens_seen, elapsed)
                self.log.emit({"event": "interrupted", "step": step})
                return {"event": "interrupted", "step": step, "exit_code": EXIT_INTERRUPTED}
            started = time.perf_counter()
            batch, picked = self.sampler.next_batch(t.batch_size)
            if int(batch.max()) >= cfg.model.vocab_size:
                bad = sorted({names[picked[i]] for i in range(len(picked)) if batch[i].max() >= cfg.model.vocab_size})
                raise DataError(
                    f"source(s) {', '.join(bad)}: token id {int(batch.max())} >= model.vocab_size={cfg.model.vocab_size}",
                    "raise model.vocab_size to the tokenizer's vocabulary size",
                )
            tokens = torch.from_numpy(batch).to(self.device)
            lr = lr_at(step, t.steps, cfg.optimizer.lr, cfg.schedule)
            for group in self.optimizer.param_groups:
                group["lr"] = group["base_lr"] * (lr / cfg.optimizer.lr)
            with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                                enabled=self.autocast_dtype is not None):
                loss, parts = self.model.loss(tokens[:, :-1], tokens[:, 1:])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip = cfg.optimizer.grad_clip if cfg.optimizer.grad_clip > 0 else float("inf")
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
            self.optimizer.step()
            self.model.update_router_biases()
            self.last_loss = last_loss = float(parts["ce"])
            if not math.isfinite(last_loss):
                raise TrainingDivergedError(
                    f"loss is {last_loss} at step {step + 1}", "lower optimizer.lr or raise schedule.warmup_steps"
                )
            step += 1
            tokens_seen += tokens_per_step
            if self._test_delay_s:
                time.sleep(self._test_delay_s)
            dt = time.perf_counter() - started
            elapsed += dt
            if step % t.log_every == 0 or step == t.steps:
                self.log.emit({
                    "event": "step", "step": step, "loss": last_loss, "aux_loss": float(parts["aux"]), "lr": lr,
                    "grad_norm": grad_norm, "tokens": tokens_seen, "tokens_per_s": tokens_per_step / dt,
                    "elapsed_s": elapsed,
                })
            if t.checkpoint_every and step % t.checkpoint_every == 0 and step < t.steps:
                self._checkpoint(step, tokens_seen, elapsed)
            if stop_after is not None and step == stop_after:
                return None
        return self._finish(step, tokens_seen, elapsed, self.last_loss)

    def _finish(self, step: int, tokens_seen: int, elapsed: float, last_loss: float) -> dict:
        checkpoint_path = self._checkpoint(step, tokens_seen, elapsed)
        model_path = self.output_dir / ckpt.MODEL_NAME
        model_state = {"format": ckpt.MODEL_FORMAT, "version": ckpt.FORMAT_VERSION, "step": step,
                       "model_config": self.config_dict["model"], "state_dict": self.model.state_dict()}
        ckpt.save_atomic(model_state, model_path)
        done = {
            "event": "done", "step": step, "final_loss": last_loss, "tokens": tokens_seen, "elapsed_s": elapsed,
            "tokens_per_s": tokens_seen / elapsed if elapsed > 0 else None, "epochs": self.sampler.epochs_seen(),
            "model_path": str(model_path), "checkpoint_path": str(checkpoint_path),
            "metrics_path": str(self.output_dir / METRICS_NAME),
        }
        summary = self.output_dir / SUMMARY_NAME
        tmp = summary.with_name(f".{summary.name}.tmp")
        tmp.write_text(json.dumps(done, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, summary)
        self.log.emit(done)
        return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiln_kernels.train", description="Train the kiln MoE LM.")
    parser.add_argument("--config", required=True, help="train config JSON (schema: kernels/README.md)")
    parser.add_argument("--output-dir", help="output folder; overrides train.output_dir")
    parser.add_argument("--resume", action="store_true", help="require a checkpoint in the output folder")
    args = parse_cli(parser, argv)
    if args is None:
        return 0
    cfg = load_run_config(args.config)
    out = args.output_dir or cfg.train.output_dir
    if not out:
        raise ConfigError(f"{args.config}: no output folder", "set train.output_dir or pass --output-dir")
    output_dir = Path(out)
    if not output_dir.is_absolute() and not args.output_dir:
        output_dir = Path(args.config).resolve().parent / output_dir
    if args.resume and ckpt.existing_checkpoint(output_dir) is None:
        raise ConfigError(f"--resume: no {ckpt.CHECKPOINT_NAME} in {output_dir}", "drop --resume to start fresh")
    trainer = Trainer(cfg, output_dir)

    def request_stop(signum, _frame):
        trainer.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    result = trainer.run()
    return result.get("exit_code", 0) if result else 0


if __name__ == "__main__":
    run_main(main)
