"""Typed errors and process exit codes shared by the kiln_kernels command-line entry points.

Every deliberate failure is a KernelError subclass carrying a stable `code`, a message naming the
file/field at fault and a `hint` saying what to do. The CLI turns one into a JSON line
`{"event":"error","code":..,"message":..,"hint":..}` on stdout, the message on stderr, and the
exit code of its class, so the Node side can map failures without parsing prose.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # an uncaught exception: Python traceback on stderr
EXIT_CONFIG = 2  # bad command line or config JSON
EXIT_DATA = 3  # bad token shard, source or byte count
EXIT_TORCH_MISSING = 4  # `import torch` failed
EXIT_CHECKPOINT = 5  # unreadable checkpoint, or one written by a different config
EXIT_INTERRUPTED = 130  # SIGINT/SIGTERM: a checkpoint was written first, resume continues


class KernelError(Exception):
    code = "KERNEL_ERROR"
    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_event(self) -> dict:
        return {"event": "error", "code": self.code, "message": self.message, "hint": self.hint}


class ConfigError(KernelError):
    code = "CONFIG_INVALID"
    exit_code = EXIT_CONFIG


class DataError(KernelError):
    code = "DATA_INVALID"
    exit_code = EXIT_DATA


class ShardFormatError(DataError):
    code = "SHARD_INVALID"


class CheckpointError(KernelError):
    code = "CHECKPOINT_INVALID"
    exit_code = EXIT_CHECKPOINT


class TorchMissingError(KernelError):
    code = "TORCH_MISSING"
    exit_code = EXIT_TORCH_MISSING


class MoEImplError(ConfigError):
    code = "MOE_IMPL_UNKNOWN"


EXIT_DIVERGED = 6  # the loss became NaN or infinite


class TrainingDivergedError(KernelError):
    code = "LOSS_NONFINITE"
    exit_code = EXIT_DIVERGED
