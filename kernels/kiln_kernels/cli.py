"""Shared command-line plumbing: JSON-lines events, error reporting, exit codes, torch detection.

Entry points (`train`, `evaluate`, `check`) call `require_torch()` before importing torch-using
modules, so a missing or broken torch becomes `{"event":"error","code":"TORCH_MISSING",...}` and
exit code 4 rather than a traceback. `run_main` maps KernelError subclasses to their exit codes.
This module must not import torch at module level.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Callable, Optional, TextIO

from .errors import EXIT_OK, ConfigError, KernelError, TorchMissingError


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def dumps_event(event: dict) -> str:
    return json.dumps({k: _json_safe(v) for k, v in event.items()}, separators=(",", ":"))


class EventLog:
    """Writes each event as one JSON line to stdout and, when given, appends it to a metrics file."""

    def __init__(self, stream: Optional[TextIO] = None, metrics_path: Optional[Path] = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.metrics_path = metrics_path
        self._metrics = None

    def open_metrics(self, path: Path) -> None:
        self.metrics_path = path
        self._metrics = open(path, "a", encoding="utf-8")

    def emit(self, event: dict, to_metrics: bool = True) -> None:
        line = dumps_event(event)
        self.stream.write(line + "\n")
        self.stream.flush()
        if to_metrics and self._metrics is not None:
            self._metrics.write(line + "\n")
            self._metrics.flush()

    def close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None


def parse_cli(parser, argv: list[str]):
    """Parses argv; returns None after --help, and turns argparse's exits into ConfigError (exit 2)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        if e.code == 0:
            return None
        raise ConfigError(f"bad command line: {' '.join(argv)}", "see --help") from None


def require_torch() -> str:
    """Returns torch's version, or raises TorchMissingError naming the interpreter."""
    try:
        import torch  # noqa: F401
    except Exception as e:  # ImportError, or a broken install raising anything else
        raise TorchMissingError(
            f"cannot import torch with {sys.executable}: {type(e).__name__}: {e}",
            "run scripts/setup-python.sh and start kiln_kernels with .venv/bin/python",
        ) from None
    return torch.__version__


def report_error(e: KernelError) -> int:
    """Prints the error event on stdout and a readable copy on stderr; returns the exit code."""
    print(dumps_event(e.to_event()), flush=True)
    print(f"error [{e.code}]: {e.message}" + (f"\n  hint: {e.hint}" if e.hint else ""), file=sys.stderr, flush=True)
    return e.exit_code


def run_main(main: Callable[[list[str]], int], argv: Optional[list[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = main(args)
    except KernelError as e:
        code = report_error(e)
    sys.exit(EXIT_OK if code is None else code)


def guard_torch_import(module_name: str) -> None:
    """Called at the top of an entry module before `import torch`: when that module runs as the
    program (`python -m ...`), a missing torch exits with the TORCH_MISSING event and code 4."""
    if module_name != "__main__":
        return
    try:
        require_torch()
    except TorchMissingError as e:
        sys.exit(report_error(e))
