"""A basic profile from torch.profiler: which kernels (or, on the CPU, which ATen ops) ran and for how
long, and how much of the device time was the candidate's own code."""
from __future__ import annotations

import re
from typing import Callable

from tools.harness.results import KernelRecord

# ATen ops on the CPU that only allocate or re-view memory: they do none of the problem's work.
_CPU_BOOKKEEPING = re.compile(r"^aten::(empty|empty_like|empty_strided|view|reshape|_reshape_alias|as_strided|"
                              r"detach|alias|t|transpose|permute|expand|unsqueeze|squeeze|select|slice|"
                              r"resize_|contiguous|lift_fresh|to|_to_copy|numel|size|stride|item|"
                              r"_local_scalar_dense|is_nonzero|result_type)$")


def kernel_base_name(name: str) -> str:
    """'void ns::relu_kernel<float>(float const*, float*, long)' -> 'relu_kernel'."""
    head = name.split("(", 1)[0].strip()
    depth, cut = 0, len(head)
    for i, ch in enumerate(head):
        if ch == "<":
            if depth == 0:
                cut = min(cut, i)
            depth += 1
        elif ch == ">":
            depth -= 1
    head = head[:cut].strip().split()[-1] if head[:cut].strip() else head
    return head.split("::")[-1]


def run_profiled(platform, fn: Callable[[], object], repeats: int = 3) -> list[KernelRecord]:
    from torch.profiler import profile

    platform.synchronize()
    with profile(activities=platform.profiler_activities()) as prof:
        for _ in range(repeats):
            out = fn()
            platform.synchronize()
            del out
    return _digest(prof, platform.device_type)


def _digest(prof, device_type: str) -> list[KernelRecord]:
    from torch.autograd import DeviceType

    totals: dict[str, list[float]] = {}
    for e in prof.events():
        if device_type == "cpu":
            if e.device_type != DeviceType.CPU or not e.name.startswith("aten::") or _CPU_BOOKKEEPING.match(e.name):
                continue
            us = float(e.self_cpu_time_total)
        else:
            if e.device_type != DeviceType.CUDA:
                continue
            us = float(e.time_range.elapsed_us())
        rec = totals.setdefault(e.name, [0, 0.0])
        rec[0] += 1
        rec[1] += us
    total = sum(v[1] for v in totals.values()) or 1.0
    out = [KernelRecord(name=n, calls=c, total_us=t, share=t / total) for n, (c, t) in totals.items()]
    return sorted(out, key=lambda r: -r.total_us)


def mark_own(records: list[KernelRecord], own_names: list[str]) -> float:
    """Flag records launched from the candidate's source; return their share of device time."""
    own = set(own_names)
    for r in records:
        r.own = kernel_base_name(r.name) in own
    return sum(r.share for r in records if r.own)
