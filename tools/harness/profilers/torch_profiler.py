"""A basic profile from torch.profiler: which kernels (or, on the CPU, which ATen ops) ran and for how
long, and how much of the device time was the candidate's own code. Which events count is the
platform's choice (`Platform.profile_records`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tools.harness.results import KernelRecord


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
    # torch.autograd's profiler, which torch.profiler.profile drives, used directly: the latter's start
    # asks hasattr(torch, "_inductor"), which imports inductor and dynamo (4-6 s of CPU per worker on
    # the H200 machines) for a cudagraphs setting this profile never reads.
    from torch.autograd.profiler import profile
    from torch.profiler import ProfilerActivity

    activities = platform.profiler_activities()
    device = "cuda" if ProfilerActivity.CUDA in activities else None  # a HIP build of torch answers to "cuda" too
    platform.synchronize()
    with profile(use_cpu=ProfilerActivity.CPU in activities, use_device=device, use_kineto=True) as prof:
        for _ in range(repeats):
            out = fn()
            platform.synchronize()
            del out
    return platform.profile_records(prof.function_events)


def records_from(events: Iterable[tuple[str, float]]) -> list[KernelRecord]:
    """(name, microseconds) per event -> one record per name with its calls, total and share, longest first."""
    totals: dict[str, list[float]] = {}
    for name, us in events:
        rec = totals.setdefault(name, [0, 0.0])
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
