"""Token shards and the training-sequence sampler.

Owns the fixed kiln token-shard format (little-endian, 32-byte header: magic b"KILNTOK\\0", u32
version=1, u32 dtype code 2=uint16 / 4=uint32, u64 token count, u64 reserved=0, then the tokens),
a validating memory-mapped reader, a tiny writer (tests, tools), a `TokenSource` presenting several
shards as one token stream, and `MixtureSampler`, which draws fixed-length sequences from several
sources by mixture weight. Sampling is a pure function of (seed, sample index) plus per-source
cursors, so its whole state is a small JSON-able dict saved in checkpoints.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .errors import DataError, ShardFormatError

MAGIC = b"KILNTOK\0"
VERSION = 1
HEADER = struct.Struct("<8sIIQQ")  # 32 bytes
HEADER_SIZE = HEADER.size
DTYPE_CODES = {2: np.dtype("<u2"), 4: np.dtype("<u4")}


@dataclass(frozen=True)
class ShardHeader:
    version: int
    dtype_code: int
    token_count: int

    @property
    def dtype(self) -> np.dtype:
        return DTYPE_CODES[self.dtype_code]


def read_header(path: str) -> ShardHeader:
    fix = "re-run the tokenize step for this shard, or remove it from the config"
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(HEADER_SIZE)
    except OSError as e:
        raise ShardFormatError(f"{path}: cannot open token shard ({e.strerror})", "check the shard path in the config")
    if len(raw) < HEADER_SIZE:
        raise ShardFormatError(f"{path}: file is {len(raw)} bytes, shorter than the 32-byte token-shard header", fix)
    magic, version, dtype_code, count, reserved = HEADER.unpack(raw)
    if magic != MAGIC:
        raise ShardFormatError(f"{path}: bad magic {magic!r}, expected {MAGIC!r}: not a kiln token shard", fix)
    if version != VERSION:
        raise ShardFormatError(f"{path}: unsupported token-shard version {version} (this reader knows {VERSION})", fix)
    if dtype_code not in DTYPE_CODES:
        raise ShardFormatError(f"{path}: unknown dtype code {dtype_code} (expected 2=uint16 or 4=uint32)", fix)
    if reserved != 0:
        raise ShardFormatError(f"{path}: reserved header field is {reserved}, expected 0", fix)
    expected = HEADER_SIZE + count * dtype_code
    if size != expected:
        raise ShardFormatError(
            f"{path}: header says {count} tokens ({expected} bytes with header) but the file has {size} bytes "
            "(truncated or trailing data)",
            fix,
        )
    return ShardHeader(version, dtype_code, count)


def open_shard(path: str) -> np.ndarray:
    """Memory-maps a shard's tokens after validating its header; returns a read-only 1-D array."""
    header = read_header(path)
    if header.token_count == 0:
        return np.zeros(0, dtype=header.dtype)
    return np.memmap(path, dtype=header.dtype, mode="r", offset=HEADER_SIZE, shape=(header.token_count,))


def write_shard(path: str, tokens: Sequence[int] | np.ndarray, dtype_code: Optional[int] = None) -> None:
    """Writes tokens as a shard (temp file + rename). dtype defaults to uint16 when every id fits."""
    arr = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if arr.size and arr.min() < 0:
        raise DataError(f"{path}: negative token id {int(arr.min())}", "token ids must be >= 0")
    if dtype_code is None:
        dtype_code = 2 if (arr.size == 0 or arr.max() < 2**16) else 4
    if dtype_code not in DTYPE_CODES:
        raise DataError(f"{path}: dtype code {dtype_code} is not 2 or 4", "use 2 (uint16) or 4 (uint32)")
    if arr.size and arr.max() >= 2 ** (8 * dtype_code):
        raise DataError(f"{path}: token id {int(arr.max())} does not fit dtype code {dtype_code}", "use dtype 4")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(HEADER.pack(MAGIC, VERSION, dtype_code, arr.size, 0))
        f.write(arr.astype(DTYPE_CODES[dtype_code]).tobytes())
    os.replace(tmp, path)


class TokenSource:
    """Several shards read as one token stream, optionally capped at `max_tokens`."""

    def __init__(self, name: str, paths: Sequence[str], max_tokens: Optional[int] = None) -> None:
        self.name = name
        self.paths = list(paths)
        self.arrays = [open_shard(p) for p in self.paths]
        lengths = np.array([a.shape[0] for a in self.arrays], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.total_tokens = int(self.offsets[-1])
        self.usable_tokens = self.total_tokens if max_tokens is None else min(self.total_tokens, int(max_tokens))

    def read(self, start: int, length: int) -> np.ndarray:
        if start < 0 or start + length > self.total_tokens:
            raise DataError(f"source {self.name}: read [{start}, {start + length}) past {self.total_tokens} tokens", "")
        out = np.empty(length, dtype=np.int64)
        filled = 0
        shard = int(np.searchsorted(self.offsets, start, side="right") - 1)
        pos = start - int(self.offsets[shard])
        while filled < length:
            arr = self.arrays[shard]
            take = min(length - filled, arr.shape[0] - pos)
            out[filled : filled + take] = arr[pos : pos + take]
            filled += take
            shard += 1
            pos = 0
        return out


class MixtureSampler:
    """Draws (inputs, targets) batches of `seq_len` tokens from sources by mixture weight.

    Each source is cut into non-overlapping windows of seq_len + 1 tokens over its usable (capped)
    prefix; one epoch visits every window once in an order shuffled by (seed, source, epoch); when
    the windows run out the source starts its next epoch (repeats). The source of sample i is drawn
    from a generator seeded by (seed, i), so a resumed sampler continues identically.
    """

    def __init__(self, sources: Sequence[TokenSource], weights: Sequence[float], seq_len: int, seed: int) -> None:
        self.sources = list(sources)
        self.seq_len = seq_len
        self.seed = seed
        w = np.asarray(weights, dtype=np.float64)
        self.probs = w / w.sum()
        self.windows = []
        for s in self.sources:
            n = (s.usable_tokens - 1) // seq_len
            if n < 1 and w[len(self.windows)] > 0:
                raise DataError(
                    f"source {s.name}: {s.usable_tokens} usable tokens (shards {', '.join(s.paths)}) are fewer than "
                    f"seq_len + 1 = {seq_len + 1}",
                    "add data, raise max_tokens, lower data.seq_len, or give the source weight 0",
                )
            self.windows.append(max(n, 0))
        self.samples_drawn = 0
        self.epoch = [0] * len(self.sources)
        self.cursor = [0] * len(self.sources)
        self._orders: dict = {}

    def _order(self, source: int, epoch: int) -> np.ndarray:
        key = (source, epoch)
        if key not in self._orders:
            self._orders = {k: v for k, v in self._orders.items() if k[0] != source}
            rng = np.random.default_rng([self.seed, 1 + source, epoch])
            self._orders[key] = rng.permutation(self.windows[source])
        return self._orders[key]

    def next_sequence(self) -> tuple[int, np.ndarray]:
        rng = np.random.default_rng([self.seed, 0, self.samples_drawn])
        source = int(rng.choice(len(self.sources), p=self.probs))
        self.samples_drawn += 1
        if self.cursor[source] >= self.windows[source]:
            self.epoch[source] += 1
            self.cursor[source] = 0
        window = int(self._order(source, self.epoch[source])[self.cursor[source]])
        self.cursor[source] += 1
        return source, self.sources[source].read(window * self.seq_len, self.seq_len + 1)

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, list[int]]:
        rows, picked = [], []
        for _ in range(batch_size):
            source, seq = self.next_sequence()
            rows.append(seq)
            picked.append(source)
        return np.stack(rows), picked

    def state_dict(self) -> dict:
        return {"samples_drawn": self.samples_drawn, "epoch": list(self.epoch), "cursor": list(self.cursor)}

    def load_state_dict(self, state: dict) -> None:
        if len(state["epoch"]) != len(self.sources):
            raise DataError("loader state has a different number of sources than the config", "resume with the same data")
        self.samples_drawn = int(state["samples_drawn"])
        self.epoch = [int(x) for x in state["epoch"]]
        self.cursor = [int(x) for x in state["cursor"]]

    def epochs_seen(self) -> dict:
        """Fractional epochs consumed per source name."""
        return {
            s.name: (self.epoch[i] + self.cursor[i] / self.windows[i]) if self.windows[i] else 0.0
            for i, s in enumerate(self.sources)
        }

