"""Config loading: defaults are the quickstart model, unknown keys / wrong types / bad values are
rejected with the dotted field path and the file, relative shard paths resolve against the config
file, and the environment probe CLI reports torch and the registered MoE implementations."""

from __future__ import annotations

import json

import pytest

from conftest import run_module
from kiln_kernels.config import load_eval_config, load_run_config, run_config_from_dict
from kiln_kernels.errors import ConfigError

MINIMAL = {"data": {"sources": [{"name": "web", "shards": ["tok/web.bin"]}]}}


def test_defaults_are_the_quickstart_model_and_paths_resolve(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(MINIMAL))
    cfg = load_run_config(str(path))
    assert (cfg.model.d_model, cfg.model.n_layers, cfg.model.moe.n_experts, cfg.model.moe.top_k) == (128, 2, 8, 2)
    assert cfg.data.seq_len == 256 and cfg.optimizer.betas == [0.9, 0.95]
    assert cfg.data.sources[0].shards == [str(tmp_path / "tok" / "web.bin")]


@pytest.mark.parametrize("patch, message", [
    ({"model": {"moe": {"topk": 2}}}, "model.moe: unknown key(s) topk"),
    ({"optimizer": {"lr": "fast"}}, "optimizer.lr: expected float, got str"),
    ({"train": {"steps": True}}, "train.steps: expected int, got a boolean"),
    ({"model": {"n_heads": 5}}, "model.n_heads: must divide d_model=128"),
    ({"model": {"moe": {"top_k": 9}}}, "model.moe.top_k: must be in [1, n_experts=8]"),
    ({"data": {"seq_len": 512, "sources": MINIMAL["data"]["sources"]}}, "data.seq_len: must be <= model.max_seq_len"),
    ({"data": {"sources": [{"shards": ["a.bin"]}]}}, "data.sources[0].name: required field is missing"),
    ({"schedule": {"kind": "linear"}}, "schedule.kind: must be cosine|wsd|constant"),
    ({"extra": 1}, "<root>: unknown key(s) extra"),
])
def test_bad_configs_name_the_field(patch, message):
    data = {**MINIMAL, **patch}
    with pytest.raises(ConfigError) as err:
        run_config_from_dict(data)
    assert message in err.value.message and err.value.hint


def test_file_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{\"data\": ")
    with pytest.raises(ConfigError, match=r"broken\.json: invalid JSON at line 1"):
        load_run_config(str(broken))
    evalcfg = tmp_path / "eval.json"
    evalcfg.write_text(json.dumps({"model": "m.pt", "sources": [{"name": "a", "shards": ["a.bin"]}]}))
    with pytest.raises(ConfigError, match=r"eval\.json: sources\[0\]\.bytes: required field is missing"):
        load_eval_config(str(evalcfg))


def test_check_cli_reports_environment():
    res = run_module("kiln_kernels.check")
    assert res.returncode == 0, res.stderr
    event = json.loads(res.stdout)
    assert event["event"] == "env" and event["torch"] and {"reference", "naive"} <= set(event["moe_impls"])
