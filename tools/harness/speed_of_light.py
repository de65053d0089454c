"""The speed-of-light floor: the least time any kernel could take for the problem on this device,
from the reference's FLOPs and the fewest bytes it must move."""

from __future__ import annotations

import functools

import torch

from tools.harness.device_peaks import Peaks


def tensor_bytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(o) for o in obj)
    return 0


def count_flops(fn) -> tuple[float, object]:
    """FLOPs of the matrix-like ops (matmul, conv, attention) fn runs, and fn's output."""
    from torch.utils.flop_counter import FlopCounterMode

    without_dynamo_guard()
    with FlopCounterMode(display=False) as counter:
        out = fn()
    return float(counter.get_total_flops()), out


@functools.cache
def without_dynamo_guard() -> None:
    """torch wraps every TorchDispatchMode's __torch_dispatch__ so that torch.compile skips it, and that
    wrapper imports dynamo on its first call: 4-6 s of CPU per worker on the H200 machines, for a guard
    the FLOP count of a reference (never compiled) does not need. The counter's mode gets its own
    method back; where a torch version wraps it otherwise, it stays as it is."""
    from torch.utils import flop_counter

    mode = getattr(flop_counter, "_FlopCounterMode", None)
    wrapped = mode.__dict__.get("__torch_dispatch__") if mode is not None else None
    raw = getattr(wrapped, "__wrapped__", None)
    if raw is not None:
        mode.__torch_dispatch__ = raw


def main_dtype(tensors) -> str:
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            return str(t.dtype).removeprefix("torch.")
    return "float32"


def floor_ms(flops: float, min_bytes: float, peaks: Peaks | None, dtype: str) -> tuple[float | None, str | None]:
    if peaks is None:
        return None, None
    t_compute = flops / peaks.flops_for(dtype)
    t_memory = min_bytes / peaks.bytes_per_s
    return max(t_compute, t_memory) * 1e3, ("compute" if t_compute > t_memory else "memory")
