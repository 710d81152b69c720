"""Registry of MoE expert-computation implementations, chosen by name.

Every implementation computes the same function: given tokens x [T, d], the router's choice
topk_ids [T, k] (int64 expert ids, distinct per row) and topk_weights [T, k], and stacked SwiGLU
expert weights w_gate [E, d, h], w_up [E, d, h], w_down [E, h, d], return
y[t] = sum_j topk_weights[t, j] * expert_{topk_ids[t, j]}(x[t]) with no token dropped. Built in:
`reference` (sort by expert, one matmul per expert or torch._grouped_mm; the oracle) and `naive`
(a per-token loop, for tests). An accelerator implementation registers itself with
`register_moe_impl`; a name not yet registered is looked up as a module `kiln_kernels.moe.<name>`
(for example a future `triton` module) whose import must call `register_moe_impl`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import MoEImplError

ExpertsFn = Callable[..., "object"]


@dataclass(frozen=True)
class MoEImpl:
    name: str
    fn: ExpertsFn
    supports: Callable[[str], bool]  # device type ("cpu", "cuda") -> usable there
    description: str = ""


_REGISTRY: dict[str, MoEImpl] = {}


def register_moe_impl(
    name: str, fn: ExpertsFn, supports: Optional[Callable[[str], bool]] = None, description: str = ""
) -> None:
    _REGISTRY[name] = MoEImpl(name, fn, supports or (lambda device_type: True), description)


def _load_builtins() -> None:
    from . import naive, reference  # noqa: F401  (modules register themselves)


def get_moe_impl(name: str, device_type: str = "cpu") -> MoEImpl:
    _load_builtins()
    if name not in _REGISTRY:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    impl = _REGISTRY.get(name)
    if impl is None:
        raise MoEImplError(
            f"model.moe.impl: unknown MoE implementation {name!r}; registered: {', '.join(sorted(_REGISTRY))}",
            "use one of the registered names, or add a module kiln_kernels/moe/<name>.py calling register_moe_impl",
        )
    if not impl.supports(device_type):
        raise MoEImplError(
            f"model.moe.impl: implementation {name!r} does not run on device {device_type!r}",
            "pick an implementation for this device (reference runs everywhere)",
        )
    return impl


def available_moe_impls(device_type: str = "cpu") -> list[str]:
    _load_builtins()
    return sorted(n for n, impl in _REGISTRY.items() if impl.supports(device_type))
