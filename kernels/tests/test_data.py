"""Token shard format (round trip, every header validation error names the file), multi-shard
sources, and the mixture sampler (determinism, per-source caps repeating as epochs, weights, state
save/restore)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from kiln_kernels.data import HEADER_SIZE, MAGIC, MixtureSampler, TokenSource, open_shard, read_header, write_shard
from kiln_kernels.errors import DataError, ShardFormatError


def test_round_trip_uint16_and_uint32(tmp_path):
    small, big = tmp_path / "s.bin", tmp_path / "b.bin"
    write_shard(str(small), [1, 2, 65535])
    write_shard(str(big), [0, 70000, 5])
    assert read_header(str(small)).dtype_code == 2 and read_header(str(big)).dtype_code == 4
    assert open_shard(str(small)).tolist() == [1, 2, 65535]
    assert open_shard(str(big)).tolist() == [0, 70000, 5]
    raw = small.read_bytes()
    assert raw[:8] == MAGIC and struct.unpack("<IIQQ", raw[8:32]) == (1, 2, 3, 0)
    assert len(raw) == HEADER_SIZE + 6


def _header(magic=MAGIC, version=1, dtype=2, count=2, reserved=0):
    return struct.pack("<8sIIQQ", magic, version, dtype, count, reserved)


@pytest.mark.parametrize("content, message", [
    (_header(magic=b"NOTKILN\0") + b"\0" * 4, "bad magic"),
    (_header(version=2) + b"\0" * 4, "unsupported token-shard version 2"),
    (_header(dtype=3) + b"\0" * 6, "unknown dtype code 3"),
    (_header(reserved=9) + b"\0" * 4, "reserved header field is 9"),
    (_header(count=5) + b"\0" * 4, "header says 5 tokens"),
    (_header(count=1) + b"\0" * 4, "truncated or trailing"),
    (b"KILN", "shorter than the 32-byte"),
])
def test_header_validation_names_file(tmp_path, content, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(ShardFormatError, match=message) as err:
        open_shard(str(path))
    assert str(path) in err.value.message and err.value.hint


def test_missing_shard_is_a_clear_error(tmp_path):
    with pytest.raises(ShardFormatError, match="cannot open token shard"):
        TokenSource("web", [str(tmp_path / "absent.bin")])


def test_source_reads_across_shard_boundaries(tmp_path):
    paths = []
    for i, chunk in enumerate([np.arange(0, 5), np.arange(5, 7), np.arange(7, 20)]):
        paths.append(str(tmp_path / f"p{i}.bin"))
        write_shard(paths[-1], chunk)
    src = TokenSource("s", paths, max_tokens=15)
    assert src.total_tokens == 20 and src.usable_tokens == 15
    assert src.read(3, 8).tolist() == list(range(3, 11))


def _sampler(tmp_path, cap=None, weights=(1.0, 1.0), seed=5):
    write_shard(str(tmp_path / "a.bin"), np.arange(1000) % 500)
    write_shard(str(tmp_path / "b.bin"), 1000 + np.arange(400))
    sources = [TokenSource("a", [str(tmp_path / "a.bin")], max_tokens=cap), TokenSource("b", [str(tmp_path / "b.bin")])]
    return MixtureSampler(sources, list(weights), seq_len=10, seed=seed)


def test_sampler_is_deterministic_by_seed(tmp_path):
    a = _sampler(tmp_path).next_batch(16)[0]
    b = _sampler(tmp_path).next_batch(16)[0]
    c = _sampler(tmp_path, seed=6).next_batch(16)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (16, 11)
    rows_from_b = [row for row in a if row[0] >= 1000]
    assert rows_from_b and all(np.array_equal(np.diff(row), np.ones(10)) for row in rows_from_b)


def test_cap_limits_tokens_and_repeats_as_epochs(tmp_path):
    sampler = _sampler(tmp_path, cap=51, weights=(1.0, 0.0))  # 5 windows of 11 tokens fit in 51 tokens
    rows = [sampler.next_sequence()[1] for _ in range(15)]
    assert all(row.max() <= 50 for row in rows)
    first_epoch = sorted(int(r[0]) for r in rows[:5])
    assert first_epoch == [0, 10, 20, 30, 40]
    assert sorted(int(r[0]) for r in rows[5:10]) == first_epoch  # the epoch repeats
    assert sampler.epochs_seen()["a"] == pytest.approx(3.0)


def test_mixture_weights_and_zero_weight(tmp_path):
    sampler = _sampler(tmp_path, weights=(3.0, 1.0))
    picks = [sampler.next_sequence()[0] for _ in range(400)]
    share = picks.count(0) / len(picks)
    assert 0.68 < share < 0.82
    only_b = _sampler(tmp_path, weights=(0.0, 1.0))
    assert {only_b.next_sequence()[0] for _ in range(50)} == {1}


def test_sampler_state_restores_the_same_stream(tmp_path):
    full = _sampler(tmp_path)
    expected = full.next_batch(40)[0]
    first = _sampler(tmp_path)
    head = first.next_batch(17)[0]
    state = first.state_dict()
    second = _sampler(tmp_path)
    second.load_state_dict(state)
    tail = second.next_batch(23)[0]
    assert np.array_equal(np.concatenate([head, tail]), expected)


def test_source_too_small_for_one_sequence(tmp_path):
    write_shard(str(tmp_path / "tiny.bin"), [1, 2, 3])
    with pytest.raises(DataError, match="fewer than seq_len"):
        MixtureSampler([TokenSource("tiny", [str(tmp_path / "tiny.bin")])], [1.0], seq_len=8, seed=0)
