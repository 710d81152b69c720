"""`python -m kiln_kernels.check`: reports whether this interpreter can train and evaluate.

Prints one JSON line `{"event":"env","python":..,"torch":..,"cuda":..,"devices":..,"moe_impls":[..]}`
and exits 0, or prints the TORCH_MISSING error event and exits 4. The Node side runs it once to
detect a missing torch before spawning a long training run.
"""

from __future__ import annotations

import sys

from .cli import dumps_event, require_torch, run_main


def main(argv: list[str]) -> int:
    version = require_torch()
    import torch

    from .moe import available_moe_impls

    cuda = torch.cuda.is_available()
    device_type = "cuda" if cuda else "cpu"
    event = {
        "event": "env",
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "torch": version,
        "cuda": cuda,
        "devices": torch.cuda.device_count() if cuda else 0,
        "cpu_threads": torch.get_num_threads(),
        "moe_impls": available_moe_impls(device_type),
    }
    print(dumps_event(event), flush=True)
    return 0


if __name__ == "__main__":
    run_main(main)
